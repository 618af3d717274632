import Foundation
import Runtime
#if canImport(Glibc)
import Glibc
#endif

// Internal machinery of `DatasetGenerator`: random numbers, weighted sampling,
// degree allocation and the planted model. Every internal name starts with
// `Gen` because other files of this module are written concurrently.

// MARK: - Random numbers

/// Independent random streams, so that e.g. adding a title word never shifts
/// the ratings.
enum GenStream: UInt64 {
    case sparseIDs = 1, customer, movie, homes, ratings, titles
    /// Follow-up batches (`DeltaGenerator`): their own streams, so the base's bytes never move.
    case deltaRatings, deltaCustomer, deltaMovie, deltaTitles
}

/// xoshiro256**. One generator is derived per entity (customer, movie, user)
/// from (seed, stream, index): what an entity draws never depends on which
/// thread processed it or in which order, which is what makes the output
/// byte-identical for any thread count.
struct GenRNG {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spare = 0.0
    private var hasSpare = false

    init(seed: UInt64, stream: GenStream, index: Int) {
        // SplitMix64 only expands the (seed, stream, index) triple into the 256-bit
        // xoshiro state: xoshiro must not start from correlated or all-zero states.
        var sm = SeededGenerator(seed: SeededGenerator.mix(seed)
            ^ SeededGenerator.mix(stream.rawValue &* 0xD1B5_4A32_D192_ED03)
            ^ SeededGenerator.mix(UInt64(truncatingIfNeeded: index) &+ 0x632B_E59B_D9B4_E019 &* (stream.rawValue &+ 1)))
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in (0, 1): safe to take the logarithm of.
    @inline(__always)
    mutating func uniformOpen() -> Double { (Double(next() >> 11) + 0.5) * 0x1.0p-53 }

    /// Uniform integer in 0..<n by Lemire's multiply-high (bias < n / 2^64, negligible).
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// Standard normal by Box–Muller; the second variate of each pair is kept.
    @inline(__always)
    mutating func normal() -> Double {
        if hasSpare { hasSpare = false; return spare }
        let radius = (-2 * log(uniformOpen())).squareRoot()
        let angle = 2 * Double.pi * uniform()
        spare = radius * sin(angle)
        hasSpare = true
        return radius * cos(angle)
    }

    /// Exponential with mean 1.
    @inline(__always)
    mutating func exponential() -> Double { -log(uniformOpen()) }
}

// MARK: - Weighted sampling

/// Walker/Vose alias table: after O(n) set-up, draws index k with probability
/// w_k / Σw in O(1) — two random numbers per draw.
struct GenAliasTable {
    let probability: UnsafeMutableBufferPointer<Double>
    let alias: UnsafeMutableBufferPointer<Int32>
    let count: Int

    init(weights: [Double]) {
        count = weights.count
        probability = .allocate(capacity: max(count, 1))
        alias = .allocate(capacity: max(count, 1))
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 * Double(weights.count) / total }
        var small: [Int32] = [], large: [Int32] = []
        small.reserveCapacity(count); large.reserveCapacity(count)
        for k in 0..<count { if scaled[k] < 1 { small.append(Int32(k)) } else { large.append(Int32(k)) } }
        while let s = small.last, let l = large.last {
            small.removeLast()
            probability[Int(s)] = scaled[Int(s)]
            alias[Int(s)] = l
            scaled[Int(l)] = (scaled[Int(l)] + scaled[Int(s)]) - 1
            if scaled[Int(l)] < 1 { large.removeLast(); small.append(l) }
        }
        // Leftovers are 1 up to rounding error.
        for k in large + small { probability[Int(k)] = 1; alias[Int(k)] = k }
    }

    func deallocate() { probability.deallocate(); alias.deallocate() }

    @inline(__always)
    func draw(_ rng: inout GenRNG) -> Int {
        let k = rng.below(count)
        return rng.uniform() < probability[k] ? k : Int(alias[k])
    }
}

// MARK: - Degrees and homes

enum GenAllocation {
    /// Integer degrees n_i with Σ n_i = total exactly and lo ≤ n_i ≤ hi:
    /// n_i ≈ max(lo, hi·(1 − e^{−λ·w_i/hi})), which is λ·w_i for the many small weights
    /// and saturates smoothly below hi for the few huge ones (a hard clamp would pile the
    /// most popular movies up at exactly hi). λ is found by bisection so that Σ ≤ total,
    /// then floors plus one unit for the largest fractional parts (largest remainder).
    /// Requires count·lo ≤ total ≤ count·hi.
    static func degrees(total: Int, weights: [Double], lo: Int, hi: Int) -> [Int32] {
        let n = weights.count
        let dlo = Double(lo), dhi = Double(hi)
        @inline(__always) func shape(_ lambda: Double, _ w: Double) -> Double {
            max(dlo, dhi * -expm1(-lambda * w / dhi))
        }
        func sum(_ lambda: Double) -> Double {
            var s = 0.0
            for w in weights { s += shape(lambda, w) }
            return s
        }
        let target = Double(total)
        var low = 0.0
        var high = target / max(weights.reduce(0, +), .leastNormalMagnitude)
        var doublings = 0
        while sum(high) < target && doublings < 1100 { high *= 2; doublings += 1 }
        for _ in 0..<90 {
            let mid = (low + high) / 2
            if mid <= low || mid >= high { break }
            if sum(mid) <= target { low = mid } else { high = mid }
        }
        var result = [Int32](repeating: 0, count: n)
        var fraction = [Double](repeating: 0, count: n)
        var assigned = 0
        for i in 0..<n {
            let t = min(shape(low, weights[i]), dhi)
            let f = t.rounded(.down)
            result[i] = Int32(f)
            fraction[i] = t - f
            assigned += Int(f)
        }
        var deficit = total - assigned
        if deficit > 0 {
            let order = (0..<n).sorted { fraction[$0] != fraction[$1] ? fraction[$0] > fraction[$1] : $0 < $1 }
            while deficit > 0 {
                var progressed = false
                for i in order where deficit > 0 && Int(result[i]) < hi {
                    result[i] += 1; deficit -= 1; progressed = true
                }
                precondition(progressed, "degree allocation cannot reach \(total)")
            }
        } else if deficit < 0 {
            // Only reachable through rounding noise at the bounds: take units back.
            var i = n - 1
            while deficit < 0 {
                if Int(result[i]) > lo { result[i] -= 1; deficit += 1 }
                i = i == 0 ? n - 1 : i - 1
            }
        }
        return result
    }

    /// Splits `homes` guaranteed slots over the majors in proportion to their
    /// degrees (largest remainder, exact integer arithmetic). Because homes ≤ Σ degree,
    /// each share is ≤ its degree: a home never exceeds the ratings available.
    static func homeShares(degrees: [Int32], homes: Int) -> [Int32] {
        let total = degrees.reduce(0) { $0 + Int($1) }
        guard total > 0 else { return [Int32](repeating: 0, count: degrees.count) }
        var shares = [Int32](repeating: 0, count: degrees.count)
        var remainders = [Int](repeating: 0, count: degrees.count)
        var assigned = 0
        for (i, d) in degrees.enumerated() {
            let product = Int(d) * homes
            shares[i] = Int32(product / total)
            remainders[i] = product % total
            assigned += product / total
        }
        let order = (0..<degrees.count).sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
        var k = 0
        while assigned < homes { shares[order[k]] += 1; assigned += 1; k += 1 }
        return shares
    }
}

// MARK: - Sparse ids

enum GenSparseIDs {
    /// `count` distinct ids from 1...upper, ascending, by Knuth's selection
    /// sampling (Algorithm S): candidate t is kept with probability
    /// (still needed) / (candidates left), which yields every subset equally likely.
    static func draw(count: Int, upper: Int, seed: UInt64, salt: Int) -> [Int64] {
        var rng = GenRNG(seed: seed, stream: .sparseIDs, index: salt)
        var ids = [Int64]()
        ids.reserveCapacity(count)
        var needed = count
        var t = 0
        while needed > 0 {
            let left = upper - t
            if left == needed || rng.uniform() * Double(left) < Double(needed) {
                ids.append(Int64(t + 1)); needed -= 1
            }
            t += 1
        }
        return ids
    }
}

// MARK: - The plan

/// Everything decided before any rating is written: the planted parameters of
/// both sides, every major entity's exact degree, the "home" partner of every
/// minor entity, and the sampling table. Read-only once built, shared by workers.
///
/// The *major* side is the one the files are grouped by (movies for Netflix,
/// users for MovieLens); the *minor* side is sampled for each major entity.
final class GenPlan: @unchecked Sendable {
    let format: GeneratedFormat
    let rank: Int
    let mu: Double
    let noise: Double
    let taste: Double
    let probeFraction: Double
    let seed: UInt64
    let scaleMin: Double, scaleMax: Double, scaleStep: Double

    let majorCount: Int, minorCount: Int
    let majorIDs: [Int64], minorIDs: [Int64]
    let majorBias: UnsafeMutableBufferPointer<Float>, minorBias: UnsafeMutableBufferPointer<Float>
    let majorFactors: UnsafeMutableBufferPointer<Float>, minorFactors: UnsafeMutableBufferPointer<Float>
    /// Activity (Netflix customers) or popularity (MovieLens movies): the weight of
    /// a minor entity in the per-major sampling.
    let minorWeight: UnsafeMutableBufferPointer<Double>
    /// The majors' activity (MovieLens users) or popularity (Netflix movies) weights.
    let majorWeight: [Double]
    let degree: UnsafeMutableBufferPointer<Int32>
    let homeStart: UnsafeMutableBufferPointer<Int>
    let homeList: UnsafeMutableBufferPointer<Int32>
    let minorRated: [Bool]
    let alias: GenAliasTable
    /// Per customer (minor side for Netflix, major side for MovieLens): first active
    /// day (Netflix, days since 1999-11-11) or second (MovieLens, unix), and activity span.
    let customerStart: UnsafeMutableBufferPointer<Int64>
    let customerSpan: UnsafeMutableBufferPointer<Int64>

    static let netflixFirstDay = CivilDate(year: 1999, month: 11, day: 11).daysSinceEpoch
    static let netflixLastDay = CivilDate(year: 2005, month: 12, day: 31).daysSinceEpoch
    static let movielensFirstSecond = Int64(CivilDate(year: 1996, month: 1, day: 1).daysSinceEpoch) * 86_400
    static let movielensLastSecond = Int64(CivilDate(year: 2024, month: 1, day: 1).daysSinceEpoch) * 86_400 - 1

    // swiftlint:disable:next function_body_length
    init(_ config: GeneratorConfiguration) {
        format = config.format
        rank = config.rank
        mu = 3.6
        noise = config.noise
        taste = config.taste
        probeFraction = config.format == .netflix ? config.probeFraction : 0
        seed = config.seed
        let netflix = config.format == .netflix
        (scaleMin, scaleMax, scaleStep) = netflix ? (1, 5, 1) : (0.5, 5, 0.5)

        let customers = config.customers, movies = config.movies
        majorCount = netflix ? movies : customers
        minorCount = netflix ? customers : movies

        // Customer ids: Netflix sparse over 1...max(C, round(C·2,649,429/480,189)); MovieLens dense.
        let customerIDs: [Int64]
        if netflix {
            let upper = max(customers, (customers * 2_649_429 + 240_094) / 480_189)
            customerIDs = GenSparseIDs.draw(count: customers, upper: upper, seed: config.seed, salt: 0)
        } else {
            customerIDs = (0..<customers).map { Int64($0 + 1) }
        }
        // Movie ids: Netflix dense 1...M; MovieLens sparse over 1...3M.
        let movieIDs: [Int64] = netflix
            ? (0..<movies).map { Int64($0 + 1) }
            : GenSparseIDs.draw(count: movies, upper: movies * 3, seed: config.seed, salt: 1)
        majorIDs = netflix ? movieIDs : customerIDs
        minorIDs = netflix ? customerIDs : movieIDs

        // p_u, q_i ~ N(0, σ_f²) with σ_f² = 0.5/√rank: then Var(p·q) = rank·σ_f⁴ = 0.25,
        // i.e. the interaction term has standard deviation 0.5 whatever the rank.
        let sigmaF = (0.5 / Double(config.rank).squareRoot()).squareRoot()

        // Customers: b_u ~ N(0, 0.4²); activity weight lognormal(0, 1.25²) for Netflix
        // (mean/median ≈ 2.2, like Netflix's 209/96 ratings per customer), degree
        // weight lognormal(0, 1.1²) for MovieLens users.
        let customerBias = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(customers, 1))
        let customerFactors = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(customers * rank, 1))
        var customerWeight = [Double](repeating: 0, count: customers)
        customerStart = .allocate(capacity: max(customers, 1))
        customerSpan = .allocate(capacity: max(customers, 1))
        let lastDay = Int64(GenPlan.netflixLastDay - GenPlan.netflixFirstDay)
        // Netflix's membership grew about 1.6× a year: first-active day t0 has density
        // ∝ e^{g·t}, g = ln 1.6 / 365, sampled by inverting the CDF t0 = ln(1 + u(e^{gD} − 1)) / g.
        // A member stays active for L ~ Exp(mean 2 years) and rates uniformly within
        // [t0, min(t0 + L, end)]. Together that puts ≈ 55% of ratings in 2005, ≈ 20% in
        // 2004, ≈ 11% in 2003, tailing off to 2000 — roughly the shape of the real data.
        let growth = log(1.6) / 365
        let growthSpan = exp(growth * Double(lastDay)) - 1
        let mlSpan = Double(GenPlan.movielensLastSecond - GenPlan.movielensFirstSecond)
        for c in 0..<customers {
            var rng = GenRNG(seed: config.seed, stream: .customer, index: c)
            customerBias[c] = Float(0.4 * rng.normal())
            for f in 0..<rank { customerFactors[c * rank + f] = Float(sigmaF * rng.normal()) }
            customerWeight[c] = exp((netflix ? 1.25 : 1.1) * rng.normal())
            if netflix {
                let t0 = log(1 + rng.uniform() * growthSpan) / growth
                customerStart[c] = min(Int64(t0), lastDay)
                customerSpan[c] = min(lastDay - customerStart[c], Int64(730 * rng.exponential()))
            } else {
                // MovieLens users rate in sessions: start skewed mildly later, span
                // lognormal with a median of about three weeks.
                let start = GenPlan.movielensFirstSecond + Int64(pow(rng.uniform(), 0.8) * mlSpan)
                let span = Int64(min(exp(log(21 * 86_400.0) + 2 * rng.normal()), mlSpan))
                customerStart[c] = start
                customerSpan[c] = max(0, min(span, GenPlan.movielensLastSecond - start))
            }
        }

        // Movies: popularity lognormal(0, σ²) from z_pop; b_i = 0.4936·z + 0.08·z_pop, so
        // b_i ~ N(0, 0.5²) overall while popular movies skew slightly higher.
        let movieBias = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(movies, 1))
        let movieFactors = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(movies * rank, 1))
        var movieWeight = [Double](repeating: 0, count: movies)
        // σ = 1.8: mean/median = e^{σ²/2} ≈ 5 (Netflix's movies: 5,654 mean, 561 median).
        let popularitySigma = 1.8
        for m in 0..<movies {
            var rng = GenRNG(seed: config.seed, stream: .movie, index: m)
            let zPop = rng.normal()
            movieWeight[m] = exp(popularitySigma * zPop)
            movieBias[m] = Float(0.4936 * rng.normal() + 0.08 * zPop)
            for f in 0..<rank { movieFactors[m * rank + f] = Float(sigmaF * rng.normal()) }
        }

        majorBias = netflix ? movieBias : customerBias
        minorBias = netflix ? customerBias : movieBias
        majorFactors = netflix ? movieFactors : customerFactors
        minorFactors = netflix ? customerFactors : movieFactors
        majorWeight = netflix ? movieWeight : customerWeight
        let minorWeights = netflix ? customerWeight : movieWeight
        minorWeight = .allocate(capacity: max(minorCount, 1))
        _ = minorWeight.initialize(from: minorWeights)

        // Degrees: every major gets ≥ 1 rating when the total allows; no major gets more
        // than half the minor side (the Netflix top movie had ~48% of customers) unless
        // the total forces it: hi = max(⌊minor/2⌋, ⌈R/major⌉) ≤ minor because R ≤ C·M/2.
        let ratings = config.ratings
        let lo = ratings >= majorCount ? 1 : 0
        let hi = min(minorCount, max(minorCount / 2, (ratings + majorCount - 1) / majorCount))
        let degrees = GenAllocation.degrees(total: ratings, weights: majorWeight, lo: lo, hi: hi)
        degree = .allocate(capacity: max(majorCount, 1))
        _ = degree.initialize(from: degrees)

        // Homes: H = min(minor, R) minor entities each get one guaranteed partner, so every
        // customer and movie is rated when R ≥ both counts. Shares proportional to degree;
        // the assignment is a seeded shuffle of the slot list. When R < minor, H = R and
        // every rating is a home rating, so "has a home" ⇔ "is rated".
        let homes = min(minorCount, ratings)
        let shares = GenAllocation.homeShares(degrees: degrees, homes: homes)
        var slots = [Int32](repeating: -1, count: minorCount)
        var position = 0
        for (j, share) in shares.enumerated() {
            for _ in 0..<Int(share) { slots[position] = Int32(j); position += 1 }
        }
        var shuffleRNG = GenRNG(seed: config.seed, stream: .homes, index: 0)
        if minorCount > 1 {
            for k in stride(from: minorCount - 1, to: 0, by: -1) {
                slots.swapAt(k, shuffleRNG.below(k + 1))
            }
        }
        homeStart = .allocate(capacity: majorCount + 1)
        homeStart[0] = 0
        for j in 0..<majorCount { homeStart[j + 1] = homeStart[j] + Int(shares[j]) }
        homeList = .allocate(capacity: max(homes, 1))
        var fill = Array(homeStart[0..<majorCount])
        for k in 0..<minorCount where slots[k] >= 0 {
            let j = Int(slots[k])
            homeList[fill[j]] = Int32(k); fill[j] += 1
        }
        minorRated = slots.map { $0 >= 0 }
        alias = GenAliasTable(weights: minorWeights.isEmpty ? [1] : minorWeights)
    }

    deinit {
        majorBias.deallocate(); minorBias.deallocate()
        majorFactors.deallocate(); minorFactors.deallocate()
        minorWeight.deallocate(); degree.deallocate()
        homeStart.deallocate(); homeList.deallocate()
        customerStart.deallocate(); customerSpan.deallocate()
        alias.deallocate()
    }

    /// p_major·q_minor, summed in Float32 in factor order.
    @inline(__always)
    func interaction(major j: Int, minor k: Int) -> Float {
        var dot: Float = 0
        let a = j * rank, b = k * rank
        for f in 0..<rank { dot += majorFactors[a + f] * minorFactors[b + f] }
        return dot
    }

    /// The chance that a drawn pair is rated: σ(β·p·q) — planted taste decides what is watched.
    @inline(__always)
    func keepProbability(major j: Int, minor k: Int) -> Double {
        1 / (1 + exp(-taste * Double(interaction(major: j, minor: k))))
    }

    /// r̂ = μ + b_major + b_minor + p·q, unclipped (dot product summed in Float32, as documented for planted_model.bin).
    @inline(__always)
    func truth(major j: Int, minor k: Int) -> Double {
        mu + Double(majorBias[j]) + Double(minorBias[k]) + Double(interaction(major: j, minor: k))
    }
}

/// One Netflix rating line before formatting: gathered in customer order (cache
/// friendly), written in shuffled order.
struct GenLine {
    var customerID: Int64
    var truth: Double
    var start: Int32
    var span: Int32
    var day: Int32 = 0
    var stars: UInt8 = 0
    var probe = false
}

/// Per-worker scratch: `marker[k] == j + 1` means minor k is already chosen for
/// major j. Since every major is processed exactly once, the array never needs
/// clearing between majors.
final class GenScratch {
    let marker: UnsafeMutableBufferPointer<UInt32>
    var chosen: [Int32] = []
    var keyed: [(key: Double, index: Int32)] = []
    var lines: [GenLine] = []

    init(minorCount: Int) {
        marker = .allocate(capacity: max(minorCount, 1))
        marker.initialize(repeating: 0)
    }

    deinit { marker.deallocate() }
}

extension GenPlan {
    /// Chooses degree[j] distinct minors for major j: its homes, then draws from the
    /// alias table weighted by minorWeight, rejecting repeats. Rejection is cheap while
    /// a major takes a small part of the minor side. For a dense major (more than a
    /// quarter of what is left), or when repeats pile up because it has used up most of
    /// the weight, the rest is drawn exactly by Efraimidis–Spirakis: among the unchosen,
    /// keep the `need` smallest keys E_k / w_k with E_k ~ Exp(1) — which is weighted
    /// sampling without replacement, the same law the rejection loop follows.
    /// With taste β > 0 a drawn minor is kept only with probability σ(β·p·q) (one
    /// more uniform draw), and the exact fallback weighs each key by w_k·σ(β·p·q).
    func choose(major j: Int, rng: inout GenRNG, scratch: GenScratch) {
        let tag = UInt32(truncatingIfNeeded: j + 1)
        let marker = scratch.marker
        // A local array: appending to a class property pays a dynamic exclusivity check each time.
        var chosen = scratch.chosen
        scratch.chosen = []
        defer { scratch.chosen = chosen }
        chosen.removeAll(keepingCapacity: true)
        let homes = homeStart[j + 1] - homeStart[j]
        for h in homeStart[j]..<homeStart[j + 1] {
            let k = homeList[h]
            marker[Int(k)] = tag
            chosen.append(k)
        }
        var need = Int(degree[j]) - homes
        let tasteful = taste > 0
        if need * 4 <= minorCount - homes {
            // Thinning keeps about half the draws (σ is ½ on average): room for four times as many.
            var attempts = (2 * need + 256) * (tasteful ? 4 : 1)
            while need > 0 && attempts > 0 {
                attempts -= 1
                let k = alias.draw(&rng)
                if tasteful && rng.uniform() >= keepProbability(major: j, minor: k) { continue }
                if marker[k] != tag {
                    marker[k] = tag
                    chosen.append(Int32(k))
                    need -= 1
                }
            }
        }
        guard need > 0 else { return }
        var keyed = scratch.keyed
        scratch.keyed = []
        defer { scratch.keyed = keyed }
        keyed.removeAll(keepingCapacity: true)
        for k in 0..<minorCount where marker[k] != tag {
            let weight = tasteful ? minorWeight[k] * keepProbability(major: j, minor: k) : minorWeight[k]
            keyed.append((rng.exponential() / weight, Int32(k)))
        }
        GenSelect.smallest(need, in: &keyed)
        for e in keyed.prefix(need) {
            marker[Int(e.index)] = tag
            chosen.append(e.index)
        }
    }
}

enum GenSelect {
    /// Moves the `k` smallest (key, index) pairs to the front, in no particular order:
    /// Hoare quickselect with a median-of-three pivot — O(n) on average instead of a
    /// full O(n log n) sort, and deterministic (no random pivots), so output bytes never
    /// depend on anything but the input. Pairs are distinct because indices are.
    static func smallest(_ k: Int, in a: inout [(key: Double, index: Int32)]) {
        guard k > 0, k < a.count else { return }
        @inline(__always) func less(_ x: (key: Double, index: Int32), _ y: (key: Double, index: Int32)) -> Bool {
            x.key != y.key ? x.key < y.key : x.index < y.index
        }
        a.withUnsafeMutableBufferPointer { b in
            var lo = 0, hi = b.count - 1
            let target = k - 1
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                if less(b[mid], b[lo]) { b.swapAt(mid, lo) }
                if less(b[hi], b[lo]) { b.swapAt(hi, lo) }
                if less(b[hi], b[mid]) { b.swapAt(hi, mid) }
                let pivot = b[mid]
                var i = lo, j = hi
                while i <= j {
                    while less(b[i], pivot) { i += 1 }
                    while less(pivot, b[j]) { j -= 1 }
                    if i <= j { b.swapAt(i, j); i += 1; j -= 1 }
                }
                if target <= j { hi = j } else if target >= i { lo = i } else { return }
            }
        }
    }
}
