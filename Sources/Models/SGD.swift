import Features
import Foundation
import Runtime

/// Parameters of biased matrix factorization by stochastic gradient descent.
/// The defaults are those of Surprise's `SVD` (lr_all 0.005, reg_all 0.02,
/// 20 epochs, 100 factors, init_std_dev 0.1, constant rate).
public struct SGDConfiguration: TrainerConfiguration {
    /// Number of latent factors k, 1…1000.
    public var rank = 100
    /// γ, the step size of every update, 0 < γ ≤ 1.
    public var learningRate = 0.005
    /// λ, the L2 penalty on the factors p_u and q_i, ≥ 0.
    public var regularization = 0.02
    /// λ_b, the L2 penalty on the biases b_u and b_i, ≥ 0.
    public var biasRegularization = 0.02
    /// γ is multiplied by this after every epoch, 0 < d ≤ 1 (1: constant rate,
    /// as Surprise; Koren, KDD 2008, shrinks it by 0.9 per sweep).
    public var learningRateDecay = 1.0
    /// Passes over the training ratings, ≥ 1.
    public var epochs = 20
    /// Standard deviation of the N(0, σ²) initial factors, > 0 (0 would leave
    /// every factor gradient zero).
    public var initialStandardDeviation = 0.1
    /// Seeds the initial factors and the visiting order; with the thread count,
    /// fixes every bit of the result.
    public var seed: UInt64 = 42
    /// Worker threads, ≥ 1; also the number of customer and movie strata, so a
    /// different thread count is a different (equally valid) visiting order.
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// The order of the ratings within a block (default: by customer, for speed).
    public var order = Order.customers

    /// How the ratings of a block are ordered, once, seeded; the order is kept over the epochs.
    public enum Order: String, Sendable, Codable, CaseIterable {
        /// All ratings of a block in random order (the textbook order; LIBMF):
        /// every step reads a random customer's factors from main memory.
        case ratings
        /// Customers in random order, each one's ratings together, in random
        /// order (Surprise also visits customer by customer, unshuffled): p_u
        /// stays in cache over a customer's ratings, and the movie factors of
        /// one stratum (17770 / T × k floats) stay in the last-level cache.
        case customers
    }

    public init() {}

    public func validate() throws {
        func fail(_ text: String) -> SGDError { .invalidConfiguration(text) }
        guard (1...1000).contains(rank) else { throw fail("rank must be 1…1000, got \(rank)") }
        guard learningRate > 0, learningRate <= 1 else { throw fail("learning rate must be in (0, 1], got \(learningRate)") }
        guard regularization >= 0, regularization.isFinite else { throw fail("regularization must be ≥ 0, got \(regularization)") }
        guard biasRegularization >= 0, biasRegularization.isFinite else {
            throw fail("bias regularization must be ≥ 0, got \(biasRegularization)")
        }
        guard learningRateDecay > 0, learningRateDecay <= 1 else {
            throw fail("learning rate decay must be in (0, 1], got \(learningRateDecay)")
        }
        guard epochs >= 1 else { throw fail("epochs must be at least 1, got \(epochs)") }
        guard initialStandardDeviation > 0, initialStandardDeviation.isFinite else {
            throw fail("initial standard deviation must be > 0, got \(initialStandardDeviation)")
        }
        guard threads >= 1 else { throw fail("threads must be at least 1, got \(threads)") }
    }

    private enum CodingKeys: String, CodingKey {
        case rank, learningRate, regularization, biasRegularization, learningRateDecay, epochs, seed, threads, order
        case initialStandardDeviation = "initialStd"
    }
}

public enum SGDError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    /// An epoch produced NaN or ±∞ factors or biases: the descent diverged.
    case nonFiniteFactors(epoch: Int)

    public var description: String {
        switch self {
        case .invalidConfiguration(let text): return "invalid SGD configuration: \(text)"
        case .nonFiniteFactors(let epoch):
            return "SGD produced non-finite factors in epoch \(epoch); lower the learning rate or raise the regularization"
        }
    }
}

/// Biased matrix factorization learned by stochastic gradient descent — the
/// "SVD" of the Netflix Prize (Funk 2006; Koren, Bell & Volinsky, "Matrix
/// Factorization Techniques for Recommender Systems", IEEE Computer 2009) and
/// of Surprise:
///
///     r̂_ui = μ + b_u + b_i + p_u · q_i
///     e_ui = r_ui − r̂_ui
///     b_u ← b_u + γ (e_ui − λ_b b_u)          b_i ← b_i + γ (e_ui − λ_b b_i)
///     p_u ← p_u + γ (e_ui q_i − λ p_u)        q_i ← q_i + γ (e_ui p_u − λ q_i)
///
/// for each training rating in turn, both factor updates reading the values
/// from before the step. μ stays the global mean; b_u and b_i start from the
/// given (damped) biases rather than Surprise's zeros, p and q from N(0, σ²).
///
/// Parallel and reproducible by stratification (DSGD; Gemulla, Nijkamp, Haas &
/// Sismanis, "Large-Scale Matrix Factorization with Distributed Stochastic
/// Gradient Descent", KDD 2011): customers and movies are split into T groups
/// each (T = threads, balanced by rating count), making T×T blocks. An epoch is
/// T sub-epochs; sub-epoch s runs the T blocks (a, (a + σ_s) mod T) of one
/// diagonal in parallel — they share no customer and no movie, so no two
/// workers touch the same p, q or b — with σ a seeded permutation per epoch.
/// Within a block the ratings are visited in an order shuffled once, seeded,
/// and kept over the epochs (as LIBMF does): by default customer by customer
/// (customers shuffled, each one's ratings shuffled), or all ratings shuffled
/// (`SGDConfiguration.Order`). The result is thus a function of the data,
/// the seed and T alone: the same bits on every run, while a different thread
/// count visits the ratings in a different order.
///
/// Deviations: biases start from the damped baseline; per-block rather than
/// global random order (the stratification of DSGD), customer by customer by
/// default — at Netflix scale, k = 100, 2.5–3× faster per epoch than the fully
/// shuffled order with the same training RMSE after two epochs (0.628 against
/// 0.631), because the steps then read p_u from cache instead of main memory;
/// an optional per-epoch decay of γ (Koren, "Factorization Meets the
/// Neighborhood", KDD 2008).
public struct SGDTrainer: Sendable {
    public let configuration: SGDConfiguration

    public init(_ configuration: SGDConfiguration) { self.configuration = configuration }

    /// Fits on `matrix` (the train part), starting from `biases`.
    /// - Parameters:
    ///   - validation: ratings to report an RMSE on after every epoch (indexes of `matrix`).
    ///   - dataVersion, splitID: recorded in the model for provenance.
    ///   - snapshots: epochs after which `snapshot` gets the model as it stands (grid search
    ///     scores several epoch counts from one run this way).
    ///   - onStep: called after every epoch; the RMSEs are only computed when it is given.
    /// - Throws: `SGDError.nonFiniteFactors` when an epoch diverges.
    public func fit(_ matrix: RatingMatrix, biases: BiasModel, scale: RatingScale = .netflix, dataVersion: String = "",
                    splitID: Int = 0, validation: HeldOutRatings? = nil, start: FactorModel? = nil,
                    snapshots: Set<Int> = [], snapshot: ((Int, FactorModel) -> Void)? = nil,
                    onStep: ((TrainingStep) -> Void)? = nil) throws -> FactorModel {
        try configuration.validate()
        let k = configuration.rank, threads = configuration.threads
        if let start, start.rank != k {
            throw ALSError.warmStartRank(model: start.rank, configured: k)
        }
        let observer = StepObserver(matrix: matrix, validation: validation, snapshots: snapshots, snapshot: snapshot,
                                    onStep: onStep, threads: threads)
        let blocks = StratifiedRatings(matrix, globalMean: biases.globalMean, strata: threads, seed: configuration.seed,
                                       order: configuration.order)

        // Initial state: N(0, σ²) factors, customers first, then movies; the given biases.
        var model = FactorModel(kind: "sgd", parameters: configuration.json, dataVersion: dataVersion, splitID: splitID,
                                scale: scale, customerIDs: matrix.customerIDs, movieIDs: matrix.movieIDs,
                                globalMean: biases.globalMean, customerBias: biases.customerBias.map { Float($0) },
                                movieBias: biases.movieBias.map { Float($0) }, rank: k,
                                customerFactors: [Float](repeating: 0, count: matrix.customerCount * k),
                                movieFactors: [Float](repeating: 0, count: matrix.movieCount * k),
                                customerTrainCount: matrix.customerSupport)
        var generator = SeededGenerator(seed: configuration.seed)
        let sigma = configuration.initialStandardDeviation
        for i in 0..<model.customerFactors.count { model.customerFactors[i] = Float(generator.nextGaussian() * sigma) }
        for i in 0..<model.movieFactors.count { model.movieFactors[i] = Float(generator.nextGaussian() * sigma) }
        // A warm start continues from a previous model's factors and biases, by id;
        // customers and movies it lacks keep their draws.
        if let start {
            var customer: [Int64: Int] = [:], movie: [Int64: Int] = [:]
            for (i, id) in start.customerIDs.enumerated() { customer[id] = i }
            for (i, id) in start.movieIDs.enumerated() { movie[id] = i }
            for c in 0..<matrix.customerCount {
                guard let i = customer[matrix.customerIDs[c]] else { continue }
                for f in 0..<k { model.customerFactors[c * k + f] = start.customerFactors[i * k + f] }
                model.customerBias[c] = start.customerBias[i]
            }
            for m in 0..<matrix.movieCount {
                guard let i = movie[matrix.movieIDs[m]] else { continue }
                for f in 0..<k { model.movieFactors[m * k + f] = start.movieFactors[i * k + f] }
                model.movieBias[m] = start.movieBias[i]
            }
        }
        // No step ever moves the factors of a customer or movie without training
        // ratings: zeroed, they answer with the baseline, as ALS's and the SVD's do
        // (drawn first, so every other factor keeps its bits).
        for c in 0..<matrix.customerCount where matrix.customerStart[c + 1] == matrix.customerStart[c] {
            for f in 0..<k { model.customerFactors[c * k + f] = 0 }
        }
        for m in 0..<matrix.movieCount where matrix.movieStart[m + 1] == matrix.movieStart[m] {
            for f in 0..<k { model.movieFactors[m * k + f] = 0 }
        }

        var rate = configuration.learningRate
        let lambda = Float(configuration.regularization), lambdaBias = Float(configuration.biasRegularization)
        for epoch in 1...configuration.epochs {
            let started = Date()
            var diagonals = Array(0..<threads)
            var order = SeededGenerator(seed: configuration.seed, stream: 0x5347_4400_0000_0000 | UInt64(epoch))
            diagonals.shuffle(using: &order)
            let step = Float(rate)
            model.customerFactors.withUnsafeMutableBufferPointer { p in
                model.movieFactors.withUnsafeMutableBufferPointer { q in
                    model.customerBias.withUnsafeMutableBufferPointer { bu in
                        model.movieBias.withUnsafeMutableBufferPointer { bi in
                            blocks.ratings.withUnsafeBufferPointer { ratings in
                                for shift in diagonals where !Interruption.isRequested {
                                    // One diagonal: worker a owns customer group a and movie group (a + shift) mod T.
                                    DispatchQueue.concurrentPerform(iterations: threads) { a in
                                        let block = a * threads + (a + shift) % threads
                                        for s in blocks.start[block]..<blocks.start[block + 1] {
                                            let rating = ratings[s]
                                            let c = Int(rating.customer), m = Int(rating.movie)
                                            _ = Self.step(target: rating.target, p: p.baseAddress! + c * k,
                                                          q: q.baseAddress! + m * k, customerBias: bu.baseAddress! + c,
                                                          movieBias: bi.baseAddress! + m, rank: k, rate: step,
                                                          regularization: lambda, biasRegularization: lambdaBias)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            try Interruption.check()
            guard model.customerFactors.allSatisfy(\.isFinite), model.movieFactors.allSatisfy(\.isFinite),
                  model.customerBias.allSatisfy(\.isFinite), model.movieBias.allSatisfy(\.isFinite) else {
                throw SGDError.nonFiniteFactors(epoch: epoch)
            }
            // The epoch's time, not the report's: the RMSEs below are extra work.
            let seconds = Date().timeIntervalSince(started)
            observer.stepped(epoch, model: model, seconds: seconds, learningRate: rate)
            rate *= configuration.learningRateDecay
        }
        return model
    }

    /// One gradient step on one rating, in place; returns the error e_ui before the step.
    ///
    ///     e = t − (b_u + b_i + p·q)          (t = r − μ)
    ///     b_u += γ (e − λ_b b_u);  b_i += γ (e − λ_b b_i)
    ///     p += γ (e q − λ p);      q += γ (e p − λ q)   (both from the old p, q)
    ///
    /// Eight factors at a time in SIMD registers, then the rest one by one; the
    /// order of the dot product's additions is fixed by k alone.
    @inline(__always)
    static func step(target: Float, p: UnsafeMutablePointer<Float>, q: UnsafeMutablePointer<Float>,
                     customerBias: UnsafeMutablePointer<Float>, movieBias: UnsafeMutablePointer<Float>,
                     rank k: Int, rate: Float, regularization lambda: Float, biasRegularization lambdaBias: Float) -> Float {
        let pr = UnsafeMutableRawPointer(p), qr = UnsafeMutableRawPointer(q)
        let wide = k & ~7
        var sum = SIMD8<Float>()
        var f = 0
        while f < wide {
            sum += pr.loadUnaligned(fromByteOffset: f * 4, as: SIMD8<Float>.self)
                * qr.loadUnaligned(fromByteOffset: f * 4, as: SIMD8<Float>.self)
            f += 8
        }
        var dot = sum.sum()
        while f < k {
            dot += p[f] * q[f]
            f += 1
        }
        let error = target - (customerBias.pointee + movieBias.pointee + dot)
        customerBias.pointee += rate * (error - lambdaBias * customerBias.pointee)
        movieBias.pointee += rate * (error - lambdaBias * movieBias.pointee)

        let e8 = SIMD8<Float>(repeating: error), rate8 = SIMD8<Float>(repeating: rate)
        let lambda8 = SIMD8<Float>(repeating: lambda)
        f = 0
        while f < wide {
            let pf = pr.loadUnaligned(fromByteOffset: f * 4, as: SIMD8<Float>.self)
            let qf = qr.loadUnaligned(fromByteOffset: f * 4, as: SIMD8<Float>.self)
            pr.storeBytes(of: pf + rate8 * (e8 * qf - lambda8 * pf), toByteOffset: f * 4, as: SIMD8<Float>.self)
            qr.storeBytes(of: qf + rate8 * (e8 * pf - lambda8 * qf), toByteOffset: f * 4, as: SIMD8<Float>.self)
            f += 8
        }
        while f < k {
            let pf = p[f], qf = q[f]
            p[f] = pf + rate * (error * qf - lambda * pf)
            q[f] = qf + rate * (error * pf - lambda * qf)
            f += 1
        }
        return error
    }
}

/// The training ratings cut into T×T blocks for stratified SGD: block
/// a·T + b holds the ratings of customer group a and movie group b, at
/// `ratings[start[block] ..< start[block + 1]]`, in a seeded random order
/// (`SGDConfiguration.Order`).
struct StratifiedRatings {
    struct Rating {
        var customer: Int32
        var movie: Int32
        /// r − μ.
        var target: Float
    }

    let strata: Int
    let start: [Int]
    let ratings: [Rating]
    /// Group of each customer and of each movie, 0..<strata.
    let customerGroup: [Int32]
    let movieGroup: [Int32]

    init(_ matrix: RatingMatrix, globalMean: Double, strata t: Int, seed: UInt64,
         order: SGDConfiguration.Order = .customers) {
        strata = t
        let customerCounts = (0..<matrix.customerCount).map { matrix.customerStart[$0 + 1] - matrix.customerStart[$0] }
        let movieCounts = (0..<matrix.movieCount).map { matrix.movieStart[$0 + 1] - matrix.movieStart[$0] }
        customerGroup = Self.balancedGroups(customerCounts, groups: t)
        movieGroup = Self.balancedGroups(movieCounts, groups: t)

        // Counting sort into blocks, customers in a seeded random order: each
        // block then lists its customers in that order, each one's ratings together.
        var customers = Array(0..<matrix.customerCount)
        var shuffler = SeededGenerator(seed: seed, stream: 0)
        customers.shuffle(using: &shuffler)
        var start = [Int](repeating: 0, count: t * t + 1)
        for c in 0..<matrix.customerCount {
            let row = Int(customerGroup[c]) * t
            for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                start[row + Int(movieGroup[Int(matrix.customerMovie[s])]) + 1] += 1
            }
        }
        for b in 0..<(t * t) { start[b + 1] += start[b] }
        var next = start
        var ratings = [Rating](repeating: Rating(customer: 0, movie: 0, target: 0), count: matrix.count)
        for c in customers {
            let row = Int(customerGroup[c]) * t
            for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                let m = matrix.customerMovie[s]
                let block = row + Int(movieGroup[Int(m)])
                ratings[next[block]] = Rating(customer: Int32(c), movie: m,
                                              target: Float(Double(matrix.customerRating[s]) - globalMean))
                next[block] += 1
            }
        }
        // Seeded Fisher–Yates shuffles, each block from its own stream: of the
        // whole block, or of each customer's run within it.
        ratings.withUnsafeMutableBufferPointer { all in
            func shuffle(_ range: Range<Int>, _ generator: inout SeededGenerator) {
                var i = range.count - 1
                while i > 0 {
                    let j = Int(generator.next() % UInt64(i + 1))
                    all.swapAt(range.lowerBound + i, range.lowerBound + j)
                    i -= 1
                }
            }
            for block in 0..<(t * t) {
                var generator = SeededGenerator(seed: seed, stream: UInt64(block) + 1)
                switch order {
                case .ratings:
                    shuffle(start[block]..<start[block + 1], &generator)
                case .customers:
                    var first = start[block]
                    while first < start[block + 1] {
                        var end = first + 1
                        while end < start[block + 1], all[end].customer == all[first].customer { end += 1 }
                        shuffle(first..<end, &generator)
                        first = end
                    }
                }
            }
        }
        self.start = start
        self.ratings = ratings
    }

    /// Rows spread over `groups` groups of near-equal total count: the longest
    /// row first, each to the group with the smallest total so far (Graham's
    /// LPT rule; ties to the lower index, so it is deterministic).
    static func balancedGroups(_ counts: [Int], groups: Int) -> [Int32] {
        var group = [Int32](repeating: 0, count: counts.count)
        guard groups > 1 else { return group }
        let order = counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        var load = [Int](repeating: 0, count: groups)
        for row in order {
            var lightest = 0
            for g in 1..<groups where load[g] < load[lightest] { lightest = g }
            group[row] = Int32(lightest)
            load[lightest] += counts[row]
        }
        return group
    }
}
