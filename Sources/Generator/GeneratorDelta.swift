import Foundation
import Runtime

/// A follow-up batch for a generated dataset (`recsys generate --delta K --from BASE`):
/// the ratings of the next days, drawn from the same planted model and the same
/// activity and popularity weights as the base, so an append, a refresh or a
/// warm start has realistic work to do and an oracle to be measured against.
public struct DeltaConfiguration: Sendable {
    /// Which batch (1, 2, …): batch K covers the `days` after batch K − 1's and
    /// draws its own random streams, so the batches of one base never repeat each other.
    public var index = 1
    public var ratings = 10_000
    public var days = 1
    /// Share of the ratings given by customers the base never saw.
    public var newCustomerShare = 0.05
    /// Share of the ratings given to movies new in this batch (titles in the batch's titles file).
    public var newMovieShare = 0.01
    /// Share of the ratings that rate again a pair the base rated (a re-rating).
    public var rerateShare = 0.02
    /// New movies in this batch; nil: one per thousand of the base's movies (at least one).
    public var newMovies: Int?
    /// Existing movies whose release year is corrected in this batch's titles file; nil: one per two thousand (at least one).
    public var titleChanges: Int?
    public var threads = Parallel.defaultThreads

    public init() {}

    /// Ids of new customers and movies are spaced by batch so that batches never collide.
    static let customerStride = 100_000
    static let movieStride = 1_000

    public func validate() throws {
        func fail(_ message: String) -> GeneratorError { GeneratorError(description: "invalid delta: \(message)") }
        guard (1...1_000).contains(index) else { throw fail("--delta must be between 1 and 1000 (got \(index))") }
        guard ratings >= 1, ratings <= 50_000_000 else { throw fail("--ratings must be between 1 and 50,000,000 (got \(ratings))") }
        guard (1...366).contains(days) else { throw fail("--days must be between 1 and 366 (got \(days))") }
        for (name, share) in [("new-customer share", newCustomerShare), ("new-movie share", newMovieShare), ("re-rating share", rerateShare)] {
            guard share >= 0, share <= 1 else { throw fail("the \(name) must be in [0, 1] (got \(share))") }
        }
        guard newCustomerShare + newMovieShare + rerateShare <= 1 else {
            throw fail("the new-customer, new-movie and re-rating shares add up to more than 1")
        }
        if let newMovies, !(0..<Self.movieStride).contains(newMovies) {
            throw fail("new movies per batch must be between 0 and \(Self.movieStride - 1) (got \(newMovies))")
        }
        if let titleChanges, titleChanges < 0 { throw fail("title changes must not be negative (got \(titleChanges))") }
        guard Int(Double(ratings) * newCustomerShare) / 10 < Self.customerStride else {
            throw fail("at most \(Self.customerStride - 1) new customers per batch: lower --ratings or the new-customer share")
        }
    }
}

/// What a batch holds; written beside it as `delta.json`. Counts are against the
/// base: batch K may also rate again a pair an earlier batch added.
public struct DeltaSummary: Sendable, Codable {
    public var format: String
    public var base: String
    public var directory: String
    public var files: [String]
    public var index: Int
    public var ratings: Int
    /// Pairs the base did not rate, by customers and movies it has.
    public var newPairs: Int
    /// Pairs the base rated, rated again (their stars may or may not differ).
    public var rerated: Int
    public var newCustomers: Int
    public var newCustomerRatings: Int
    public var newMovies: Int
    public var newMovieRatings: Int
    public var changedTitles: Int
    public var firstDate: String
    public var lastDate: String
    public var seed: UInt64
    /// The planted model's own RMSE on this batch.
    public var oracleRMSE: Double
    public var seconds: Double

    private enum CodingKeys: String, CodingKey {
        case format, base, directory, files, index, ratings, newPairs, rerated, newCustomers, newCustomerRatings, newMovies,
             newMovieRatings, changedTitles, firstDate, lastDate, seed, seconds
        case oracleRMSE = "oracleRmse"
    }
}

extension DeltaSummary {
    /// What `recsys generate --delta` prints.
    public var text: String {
        """
        wrote batch \(index) (\(firstDate) … \(lastDate)) of \(base) to \(directory): \(files.joined(separator: ", "))
          \(ratings) ratings: \(newPairs) new pairs, \(rerated) re-ratings, \(newCustomerRatings) by \(newCustomers) new customers, \(newMovieRatings) of \(newMovies) new movies; \(changedTitles) corrected titles
          oracle RMSE \(String(format: "%.4f", oracleRMSE)) (delta.json)
        """
    }
}

public enum DeltaGenerator {
    /// Writes batch `delta.index` for the dataset in `base` (which must hold the
    /// `truth.json` and `planted_model.bin` that `DatasetGenerator` wrote) into `directory`.
    public static func generate(_ delta: DeltaConfiguration, base: URL, to directory: URL) throws -> DeltaSummary {
        try delta.validate()
        let started = DispatchTime.now().uptimeNanoseconds
        let plan = try reconstruct(base, threads: delta.threads)
        let world = DeltaWorld(plan, delta: delta)
        defer { world.deallocate() }

        let netflix = plan.format == .netflix
        let dayOffset = (delta.index - 1) * delta.days
        let firstDay = (netflix ? GenPlan.netflixLastDay : Int(GenPlan.movielensLastSecond / 86_400)) + 1 + dayOffset
        let lastDay = firstDay + delta.days - 1
        guard lastDay <= CivilDate.today.daysSinceEpoch else {
            throw GeneratorError(description: "batch \(delta.index) would end on \(CivilDate(daysSinceEpoch: lastDay).iso), after today: a load refuses ratings from the future")
        }

        var rng = GenRNG(seed: plan.seed, stream: .deltaRatings, index: delta.index)
        let pairs = try world.drawPairs(&rng)

        // Stars and days, in draw order; the oracle error against the clipped truth.
        let (lo, hi, step) = (plan.scaleMin, plan.scaleMax, plan.scaleStep)
        var lines: [DeltaLine] = []
        lines.reserveCapacity(pairs.count)
        var sse = 0.0
        for p in pairs {
            let truth = world.truth(customer: p.customer, movie: p.movie)
            let observed = min(max(truth + plan.noise * rng.normal(), lo), hi)
            let value = (observed / step).rounded() * step
            let error = value - min(max(truth, lo), hi)
            sse += error * error
            let day = firstDay + rng.below(delta.days)
            let second = Int64(day) * 86_400 + Int64(rng.below(86_400))
            lines.append(DeltaLine(customer: p.customer, movie: p.movie, halves: Int((value * 2).rounded()), day: day, second: second))
        }

        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [String] = []
        let firstDate = CivilDate(daysSinceEpoch: firstDay).iso
        if netflix {
            let name = "combined_data_\(firstDate).txt"
            try world.writeNetflix(lines, to: directory.appendingPathComponent(name))
            files.append(name)
        } else {
            try world.writeMovieLens(lines, to: directory.appendingPathComponent("ratings.csv"))
            files.append("ratings.csv")
        }
        var titlesRNG = GenRNG(seed: plan.seed, stream: .deltaTitles, index: delta.index)
        let changed = world.pickTitleChanges(&titlesRNG)
        if world.newMovieCount > 0 || !changed.isEmpty {
            let name = netflix ? "movie_titles.csv" : "movies.csv"
            try world.writeTitles(changed: changed, rng: &titlesRNG, to: directory.appendingPathComponent(name))
            files.append(name)
        }
        files.append("delta.json")

        let newCustomerRatings = pairs.lazy.filter { $0.kind == .newCustomer }.count
        let summary = DeltaSummary(
            format: plan.format.rawValue, base: base.path, directory: directory.path, files: files, index: delta.index,
            ratings: lines.count,
            newPairs: pairs.lazy.filter { $0.kind == .newPair }.count,
            rerated: pairs.lazy.filter { $0.kind == .rerate }.count,
            newCustomers: Set(pairs.lazy.filter { $0.kind == .newCustomer }.map(\.customer)).count,
            newCustomerRatings: newCustomerRatings,
            newMovies: world.newMovieCount,
            newMovieRatings: pairs.lazy.filter { $0.kind == .newMovie }.count,
            changedTitles: changed.count,
            firstDate: firstDate, lastDate: CivilDate(daysSinceEpoch: lastDay).iso, seed: plan.seed,
            oracleRMSE: lines.isEmpty ? 0 : (sse / Double(lines.count)).squareRoot(),
            seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        try JSON.document(summary).write(to: directory.appendingPathComponent("delta.json"), options: .atomic)
        return summary
    }

    /// The base's plan, rebuilt from its `truth.json` and checked against its `planted_model.bin`.
    static func reconstruct(_ base: URL, threads: Int) throws -> GenPlan {
        let truthURL = base.appendingPathComponent("truth.json")
        guard let data = FileManager.default.contents(atPath: truthURL.path) else {
            throw GeneratorError(description: "\(truthURL.path): missing — --from takes a folder `recsys generate` wrote")
        }
        let truth: GenerationSummary
        do { truth = try JSON.decode(GenerationSummary.self, from: data) } catch {
            throw GeneratorError(description: "\(truthURL.path): not a generator summary (\(error))")
        }
        guard let format = GeneratedFormat(rawValue: truth.format) else {
            throw GeneratorError(description: "\(truthURL.path): unknown format \"\(truth.format)\"")
        }
        var config = GeneratorConfiguration()
        config.format = format
        config.ratings = truth.ratings
        config.customers = truth.customers
        config.movies = truth.movies
        config.rank = truth.rank
        config.noise = truth.noise
        config.taste = truth.taste ?? 0
        config.seed = truth.seed
        config.threads = threads
        try config.validate()
        let plan = GenPlan(config)
        try verify(plan, base.appendingPathComponent("planted_model.bin"))
        return plan
    }

    /// The rebuilt plan must be the one that wrote the base: same counts, and the
    /// first customer's id, bias and factors bit for bit.
    static func verify(_ plan: GenPlan, _ url: URL) throws {
        let head = 8 + 12 + 8 + 8 + 4 + 4 * plan.rank
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw GeneratorError(description: "\(url.path): missing — --from takes a folder `recsys generate` wrote")
        }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.read(upToCount: head)) ?? Data())
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        let netflix = plan.format == .netflix
        let customerRated = netflix ? plan.minorRated : (0..<plan.majorCount).map { plan.degree[$0] > 0 }
        let movieRated = netflix ? (0..<plan.majorCount).map { plan.degree[$0] > 0 } : plan.minorRated
        let mismatch = GeneratorError(description: "\(url.path) is not what its truth.json rebuilds (customers or movies without ratings, or edited files): a delta needs a base generated with every customer and movie rated")
        guard bytes.count == head, bytes.prefix(8).elementsEqual("RSPLANT1".utf8), u32(8) == UInt32(plan.rank),
              u32(12) == UInt32(customerRated.lazy.filter { $0 }.count), u32(16) == UInt32(movieRated.lazy.filter { $0 }.count),
              let c = customerRated.firstIndex(of: true) else { throw mismatch }
        let ids = netflix ? plan.minorIDs : plan.majorIDs
        let bias = netflix ? plan.minorBias : plan.majorBias
        let factors = netflix ? plan.minorFactors : plan.majorFactors
        guard Int64(bitPattern: u64(28)) == ids[c], u32(36) == bias[c].bitPattern,
              (0..<plan.rank).allSatisfy({ u32(40 + 4 * $0) == factors[c * plan.rank + $0].bitPattern }) else { throw mismatch }
    }
}

struct DeltaLine {
    var customer: Int
    var movie: Int
    var halves: Int
    var day: Int
    var second: Int64
}

struct DeltaPair {
    enum Kind { case newPair, rerate, newCustomer, newMovie }
    var customer: Int
    var movie: Int
    var kind: Kind
}

/// The base's customers and movies (indexes as in the plan) followed by the batch's new
/// ones, with their planted parameters; which base pairs exist is found by replaying
/// the generator's own draw for the majors concerned.
final class DeltaWorld {
    let plan: GenPlan
    let delta: DeltaConfiguration
    let netflix: Bool
    let rank: Int
    let baseCustomers: Int, baseMovies: Int
    let newCustomerCount: Int, newMovieCount: Int
    var customerIDs: [Int64], movieIDs: [Int64]
    var customerBias: [Float], movieBias: [Float]
    var customerFactors: [Float], movieFactors: [Float]
    let customerAlias: GenAliasTable, movieAlias: GenAliasTable, degreeAlias: GenAliasTable
    /// Sorted minor indexes each replayed major rated in the base.
    var replayed: [Int: [Int32]] = [:]

    init(_ plan: GenPlan, delta: DeltaConfiguration) {
        self.plan = plan
        self.delta = delta
        netflix = plan.format == .netflix
        rank = plan.rank
        baseCustomers = netflix ? plan.minorCount : plan.majorCount
        baseMovies = netflix ? plan.majorCount : plan.minorCount
        let newCustomerRatings = Int((Double(delta.ratings) * delta.newCustomerShare).rounded())
        newCustomerCount = newCustomerRatings > 0 ? max(1, newCustomerRatings / 10) : 0
        let moviesWanted = delta.newMovies ?? max(1, baseMovies / 1000)
        newMovieCount = delta.newMovieShare > 0 || delta.newMovies != nil ? moviesWanted : 0

        func copy(_ p: UnsafeMutableBufferPointer<Float>, _ n: Int) -> [Float] { Array(p[0..<n]) }
        customerIDs = netflix ? plan.minorIDs : plan.majorIDs
        movieIDs = netflix ? plan.majorIDs : plan.minorIDs
        customerBias = copy(netflix ? plan.minorBias : plan.majorBias, baseCustomers)
        movieBias = copy(netflix ? plan.majorBias : plan.minorBias, baseMovies)
        customerFactors = copy(netflix ? plan.minorFactors : plan.majorFactors, baseCustomers * rank)
        movieFactors = copy(netflix ? plan.majorFactors : plan.minorFactors, baseMovies * rank)

        // New entities: ids past every id the base could have, spaced by batch.
        let sigmaF = Float((0.5 / Double(rank).squareRoot()).squareRoot())
        let customerBase = netflix ? Int64(max(baseCustomers, (baseCustomers * 2_649_429 + 240_094) / 480_189)) : Int64(baseCustomers)
        for i in 0..<newCustomerCount {
            var rng = GenRNG(seed: plan.seed, stream: .deltaCustomer, index: delta.index * DeltaConfiguration.customerStride + i)
            customerIDs.append(customerBase + Int64((delta.index - 1) * DeltaConfiguration.customerStride + i + 1))
            customerBias.append(Float(0.4 * rng.normal()))
            for _ in 0..<rank { customerFactors.append(sigmaF * Float(rng.normal())) }
        }
        let movieBase = Int64(netflix ? baseMovies : baseMovies * 3)
        for i in 0..<newMovieCount {
            var rng = GenRNG(seed: plan.seed, stream: .deltaMovie, index: delta.index * DeltaConfiguration.movieStride + i)
            movieIDs.append(movieBase + Int64((delta.index - 1) * DeltaConfiguration.movieStride + i + 1))
            movieBias.append(Float(0.5 * rng.normal()))
            for _ in 0..<rank { movieFactors.append(sigmaF * Float(rng.normal())) }
        }

        // Who rates: by the base's activity weights, mostly customers still active at its end
        // (a customer whose active span ended long ago is ten times less likely to come back).
        let customerRated = netflix ? plan.minorRated : (0..<plan.majorCount).map { plan.degree[$0] > 0 }
        let movieRated = netflix ? (0..<plan.majorCount).map { plan.degree[$0] > 0 } : plan.minorRated
        let end: Int64 = netflix ? Int64(GenPlan.netflixLastDay - GenPlan.netflixFirstDay) : GenPlan.movielensLastSecond
        let recent: Int64 = netflix ? 60 : 60 * 86_400
        var customerWeights = [Double](repeating: 0, count: baseCustomers)
        for c in 0..<baseCustomers where customerRated[c] {
            let active = plan.customerStart[c] + plan.customerSpan[c] >= end - recent
            customerWeights[c] = (netflix ? plan.minorWeight[c] : plan.majorWeight[c]) * (active ? 1 : 0.1)
        }
        var movieWeights = [Double](repeating: 0, count: baseMovies)
        for m in 0..<baseMovies where movieRated[m] { movieWeights[m] = netflix ? plan.majorWeight[m] : plan.minorWeight[m] }
        customerAlias = GenAliasTable(weights: customerWeights.contains { $0 > 0 } ? customerWeights : [1])
        movieAlias = GenAliasTable(weights: movieWeights.contains { $0 > 0 } ? movieWeights : [1])
        let degrees = (0..<plan.majorCount).map { Double(plan.degree[$0]) }
        degreeAlias = GenAliasTable(weights: degrees.contains { $0 > 0 } ? degrees : [1])
    }

    func deallocate() { customerAlias.deallocate(); movieAlias.deallocate(); degreeAlias.deallocate() }

    @inline(__always)
    func dot(customer c: Int, movie m: Int) -> Float {
        var s: Float = 0
        let a = c * rank, b = m * rank
        for f in 0..<rank { s += customerFactors[a + f] * movieFactors[b + f] }
        return s
    }

    /// μ + b_u + b_i + p·q, unclipped — the plan's `truth` for base pairs.
    func truth(customer c: Int, movie m: Int) -> Double {
        plan.mu + Double(customerBias[c]) + Double(movieBias[m]) + Double(dot(customer: c, movie: m))
    }

    /// Whether planted taste lets the pair be rated (always when the base had no taste).
    @inline(__always)
    func tasteKeeps(_ c: Int, _ m: Int, _ rng: inout GenRNG) -> Bool {
        plan.taste <= 0 || rng.uniform() < 1 / (1 + exp(-plan.taste * Double(dot(customer: c, movie: m))))
    }

    @inline(__always)
    func majorMinor(_ c: Int, _ m: Int) -> (major: Int, minor: Int) { netflix ? (m, c) : (c, m) }

    /// Replays the generator's draw for the majors not replayed yet, in parallel.
    func replay(_ majors: [Int]) {
        let todo = Array(Set(majors.filter { replayed[$0] == nil })).sorted()
        guard !todo.isEmpty else { return }
        let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: todo.count)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }
        let plan = self.plan
        Parallel.forEachChunk(count: todo.count, chunkSize: 16, threads: delta.threads,
                              makeScratch: { _ in GenScratch(minorCount: plan.minorCount) }) { scratch, range in
            for i in range {
                let j = todo[i]
                guard plan.degree[j] > 0 else { continue }
                var rng = GenRNG(seed: plan.seed, stream: .ratings, index: j)
                plan.choose(major: j, rng: &rng, scratch: scratch)
                results[i] = scratch.chosen.sorted()
            }
        }
        for (i, j) in todo.enumerated() { replayed[j] = results[i] }
    }

    func baseRated(_ c: Int, _ m: Int) -> Bool {
        let (j, k) = majorMinor(c, m)
        guard let list = replayed[j] else { preconditionFailure("major \(j) not replayed") }
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(list[mid]) < k { lo = mid + 1 } else { hi = mid }
        }
        return lo < list.count && Int(list[lo]) == k
    }

    /// A movie this customer would pick: by popularity, kept by planted taste (a few tries).
    func pickMovie(for c: Int, _ rng: inout GenRNG) -> Int {
        var m = movieAlias.draw(&rng)
        for _ in 0..<32 where !tasteKeeps(c, m, &rng) { m = movieAlias.draw(&rng) }
        return m
    }

    func pickCustomer(for m: Int, _ rng: inout GenRNG) -> Int {
        var c = customerAlias.draw(&rng)
        for _ in 0..<32 where !tasteKeeps(c, m, &rng) { c = customerAlias.draw(&rng) }
        return c
    }

    /// Distinct pairs: re-ratings of base pairs, new pairs of base customers and movies,
    /// then the new customers' and the new movies' ratings.
    func drawPairs(_ rng: inout GenRNG) throws -> [DeltaPair] {
        let total = delta.ratings
        let newCustomerRatings = newCustomerCount > 0 ? Int((Double(total) * delta.newCustomerShare).rounded()) : 0
        let newMovieRatings = newMovieCount > 0 ? Int((Double(total) * delta.newMovieShare).rounded()) : 0
        var needRerate = min(Int((Double(total) * delta.rerateShare).rounded()), total - newCustomerRatings - newMovieRatings)
        var needNew = total - newCustomerRatings - newMovieRatings - needRerate
        var pairs: [DeltaPair] = []
        pairs.reserveCapacity(total)
        var seen = Set<Int64>(minimumCapacity: total)
        @inline(__always) func add(_ c: Int, _ m: Int, _ kind: DeltaPair.Kind) -> Bool {
            guard seen.insert(Int64(c) << 32 | Int64(m)).inserted else { return false }
            pairs.append(DeltaPair(customer: c, movie: m, kind: kind))
            return true
        }
        // Rounds: draw candidates, replay the majors they need, keep the ones that qualify.
        // Popular customers meet popular movies often, so many candidates were rated in the
        // base: each round draws as many as the previous round's yield says it needs.
        var yield = 0.8
        for _ in 0..<32 where needRerate > 0 || needNew > 0 {
            let rerateMajors = (0..<needRerate).map { _ in degreeAlias.draw(&rng) }
            var candidates: [(c: Int, m: Int)] = []
            let draws = needNew > 0 ? Int(Double(needNew) * 1.1 / max(yield, 0.02)) + 16 : 0
            candidates.reserveCapacity(draws)
            for _ in 0..<draws {
                let c = customerAlias.draw(&rng)
                candidates.append((c, pickMovie(for: c, &rng)))
            }
            replay(rerateMajors + candidates.map { majorMinor($0.c, $0.m).major })
            for j in rerateMajors where needRerate > 0 {
                guard let list = replayed[j], !list.isEmpty else { continue }
                let k = Int(list[rng.below(list.count)])
                let (c, m) = netflix ? (k, j) : (j, k)
                if add(c, m, .rerate) { needRerate -= 1 }
            }
            var fresh = 0
            for p in candidates where !baseRated(p.c, p.m) {
                fresh += 1
                if needNew > 0 && add(p.c, p.m, .newPair) { needNew -= 1 }
            }
            if !candidates.isEmpty { yield = Double(fresh) / Double(candidates.count) }
        }
        guard needRerate == 0, needNew == 0 else {
            throw GeneratorError(description: "could not draw \(delta.ratings) distinct pairs the base has not rated: the base is too dense for a batch this large")
        }
        var left = newCustomerRatings, attempts = 0
        while left > 0 && attempts < 64 * newCustomerRatings {
            attempts += 1
            let c = baseCustomers + rng.below(newCustomerCount)
            if add(c, pickMovie(for: c, &rng), .newCustomer) { left -= 1 }
        }
        var leftMovies = newMovieRatings
        attempts = 0
        while leftMovies > 0 && attempts < 64 * newMovieRatings {
            attempts += 1
            let m = baseMovies + rng.below(newMovieCount)
            if add(pickCustomer(for: m, &rng), m, .newMovie) { leftMovies -= 1 }
        }
        guard left == 0, leftMovies == 0 else {
            throw GeneratorError(description: "could not draw the new customers' and movies' ratings without repeating a pair: raise the number of new movies or lower --ratings")
        }
        return pairs
    }

    // MARK: writing

    func writeNetflix(_ lines: [DeltaLine], to url: URL) throws {
        // A day's Netflix-style file: one block per movie, its lines in the order they came.
        let order = lines.indices.sorted { lines[$0].movie != lines[$1].movie ? lines[$0].movie < lines[$1].movie : $0 < $1 }
        let file = try GenFile(url)
        let buffer = GenBytes(capacity: 1 << 22)
        var current = -1
        for i in order {
            let line = lines[i]
            if line.movie != current {
                current = line.movie
                buffer.append("\(movieIDs[current]):\n")
            }
            buffer.append("\(customerIDs[line.customer]),\(line.halves / 2),\(CivilDate(daysSinceEpoch: line.day).iso)\n")
            if buffer.count >= 1 << 22 { try file.write(buffer); buffer.count = 0 }
        }
        try file.write(buffer)
        try file.close()
    }

    func writeMovieLens(_ lines: [DeltaLine], to url: URL) throws {
        // A day's feed comes sorted by time, not by user.
        let order = lines.indices.sorted { lines[$0].second != lines[$1].second ? lines[$0].second < lines[$1].second : $0 < $1 }
        let file = try GenFile(url)
        let buffer = GenBytes(capacity: 1 << 22)
        buffer.append("userId,movieId,rating,timestamp\n")
        for i in order {
            let line = lines[i]
            buffer.append("\(customerIDs[line.customer]),\(movieIDs[line.movie]),\(line.halves / 2).\(line.halves & 1 == 1 ? 5 : 0),\(line.second)\n")
            if buffer.count >= 1 << 22 { try file.write(buffer); buffer.count = 0 }
        }
        try file.write(buffer)
        try file.close()
    }

    /// Distinct base movies (indexes, ascending) whose release year this batch corrects.
    func pickTitleChanges(_ rng: inout GenRNG) -> [Int] {
        let wanted = min(delta.titleChanges ?? max(1, baseMovies / 2000), baseMovies)
        var picked = Set<Int>()
        while picked.count < wanted { picked.insert(rng.below(baseMovies)) }
        return picked.sorted()
    }

    /// The titles file: corrected years for `changed` and the new movies' titles, in id order.
    func writeTitles(changed: [Int], rng: inout GenRNG, to url: URL) throws {
        let file = try GenFile(url)
        let buffer = GenBytes(capacity: 1 << 16)
        if !netflix { buffer.append("movieId,title,genres\n") }
        for m in changed {
            if netflix {
                let old = DatasetGenerator.netflixTitle(plan, movie: m)
                buffer.append("\(movieIDs[m]),\(old.year.map { String($0 - 1) } ?? "2000"),")
                buffer.append(GenTitles.latin1(old.title))
            } else {
                let old = DatasetGenerator.movieLensMovie(plan, movie: m)
                buffer.append("\(movieIDs[m]),\(GenTitles.csvField("\(old.title) (\(old.year - 1))")),\(old.genres)")
            }
            buffer.append([10])
        }
        for i in 0..<newMovieCount {
            let m = baseMovies + i
            let title = GenTitles.make(&rng, style: .plain, unicode: !netflix)
            if netflix {
                buffer.append("\(movieIDs[m]),2006,")
                buffer.append(GenTitles.latin1(title))
            } else {
                buffer.append("\(movieIDs[m]),\(GenTitles.csvField("\(title) (2024)")),\(GenTitles.genres[rng.below(GenTitles.genres.count)])")
            }
            buffer.append([10])
        }
        try file.write(buffer)
        try file.close()
    }
}
