import Features
import Foundation
import Runtime

/// Parameters of implicit-feedback ALS.
public struct ImplicitALSConfiguration: TrainerConfiguration {
    /// How a rating becomes a confidence c_ui (a pair without a rating has c = 1 and preference 0).
    public enum Confidence: String, Sendable, Codable, CaseIterable {
        /// c = 1 + α·r (Hu, Koren & Volinsky's linear form).
        case linear
        /// c = 1 + α·log(1 + r/ε) (their logarithmic form).
        case log
    }

    /// Number of latent factors k, 1…1000.
    public var rank = 64
    /// λ of the penalty λ(‖x_u‖² + ‖y_i‖²), > 0.
    public var regularization = 0.05
    /// The confidence scale α, > 0.
    public var alpha = 2.0
    public var confidence = Confidence.linear
    /// ε of the logarithmic confidence, > 0.
    public var epsilon = 1.0
    /// Full sweeps (customers, then movies), ≥ 1.
    public var iterations = 15
    /// Conjugate-gradient steps per row and sweep, warm-started from the
    /// previous factors (benfred/implicit's default, 3), ≥ 1.
    public var cgSteps = 3
    /// Seeds the initial factors; with the thread count, fixes every bit of the result.
    public var seed: UInt64 = 42
    /// Worker threads for the per-row solves, ≥ 1.
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    public func validate() throws {
        func fail(_ text: String) -> ConfigurationError { ConfigurationError("invalid implicit ALS configuration: \(text)") }
        guard (1...1000).contains(rank) else { throw fail("rank must be 1…1000, got \(rank)") }
        guard regularization > 0, regularization.isFinite else { throw fail("regularization must be > 0, got \(regularization)") }
        guard alpha > 0, alpha.isFinite else { throw fail("alpha must be > 0, got \(alpha)") }
        guard epsilon > 0, epsilon.isFinite else { throw fail("epsilon must be > 0, got \(epsilon)") }
        guard iterations >= 1 else { throw fail("iterations must be at least 1, got \(iterations)") }
        guard cgSteps >= 1 else { throw fail("cg steps must be at least 1, got \(cgSteps)") }
        guard threads >= 1 else { throw fail("threads must be at least 1, got \(threads)") }
    }

    private enum CodingKeys: String, CodingKey {
        case rank, regularization, alpha, confidence, epsilon, iterations, cgSteps, seed, threads
    }

    /// The confidence of a rating.
    @inline(__always)
    func confidence(of rating: Float) -> Float {
        switch confidence {
        case .linear: return Float(1 + alpha * Double(rating))
        case .log: return Float(1 + alpha * Foundation.log(1 + Double(rating) / epsilon))
        }
    }
}

/// Implicit-feedback ALS (Hu, Koren & Volinsky, "Collaborative Filtering for
/// Implicit Feedback Datasets", ICDM 2008): every (customer, movie) pair is an
/// observation — preference 1 with confidence c_ui where the customer rated
/// the movie, preference 0 with confidence 1 everywhere else — and the factors
/// minimise Σ c_ui (p_ui − x_uᵀy_i)² + λ(Σ‖x_u‖² + Σ‖y_i‖²). It is trained on
/// who rated what, so it ranks; its scores are preferences, not ratings.
///
/// Each row's normal equations (YᵀY + λI + Σ_{i∈I_u} (c_ui − 1) y_i y_iᵀ) x_u =
/// Σ_{i∈I_u} c_ui y_i are solved by a few conjugate-gradient steps from the
/// previous x_u (`ConjugateGradient`), as benfred/implicit does (Takács,
/// Pilászy & Tikk 2011): the Gram matrix YᵀY + λI is formed once per
/// half-sweep (k² per row and step), the rated movies cost O(n_u·k) per step,
/// and no k×k matrix is formed per row.
///
/// The result is a `FactorModel` with μ = 0 and zero biases: score = x_u·y_i.
public struct ImplicitALSTrainer: Sendable {
    public let configuration: ImplicitALSConfiguration

    public init(_ configuration: ImplicitALSConfiguration) {
        self.configuration = configuration
    }

    public func fit(_ matrix: RatingMatrix, scale: RatingScale, dataVersion: String = "", splitID: Int = 0,
                    onIteration: ((Int, Double) -> Void)? = nil) throws -> FactorModel {
        try configuration.validate()
        let c = configuration, k = c.rank
        // Small random starting factors for both sides, customers first (implicit's 0.01 scale).
        var generator = SeededGenerator(seed: c.seed)
        var x = (0..<(matrix.customerCount * k)).map { _ in Float(generator.nextGaussian() * 0.01) }
        var y = (0..<(matrix.movieCount * k)).map { _ in Float(generator.nextGaussian() * 0.01) }
        let customerConfidence = matrix.customerRating.map { c.confidence(of: $0) }
        let movieConfidence = matrix.movieRating.map { c.confidence(of: $0) }
        for iteration in 1...c.iterations {
            let started = Date()
            try Interruption.check()
            sweep(rows: matrix.customerCount, start: matrix.customerStart, partner: matrix.customerMovie,
                  confidence: customerConfidence, fixed: y, solved: &x)
            try Interruption.check()
            sweep(rows: matrix.movieCount, start: matrix.movieStart, partner: matrix.movieCustomer,
                  confidence: movieConfidence, fixed: x, solved: &y)
            guard x.allSatisfy(\.isFinite), y.allSatisfy(\.isFinite) else {
                throw ConfigurationError("implicit ALS produced non-finite factors in iteration \(iteration); raise the regularization or lower alpha")
            }
            onIteration?(iteration, Date().timeIntervalSince(started))
        }
        // A row without ratings solved to x = 0 already (its right-hand side is 0).
        return FactorModel(kind: ModelKind.ials.rawValue, parameters: c.json, dataVersion: dataVersion, splitID: splitID,
                           scale: scale, customerIDs: matrix.customerIDs, movieIDs: matrix.movieIDs, globalMean: 0,
                           customerBias: [Float](repeating: 0, count: matrix.customerCount),
                           movieBias: [Float](repeating: 0, count: matrix.movieCount), rank: k,
                           customerFactors: x, movieFactors: y,
                           customerTrainCount: matrix.customerSupport)
    }

    /// One half-sweep: every row of `solved` a few CG steps closer to its
    /// normal equations against the fixed other side. Rows are independent,
    /// so the result is the same for any thread count.
    func sweep(rows: Int, start: [Int], partner: [Int32], confidence: [Float], fixed: [Float], solved: inout [Float]) {
        let k = configuration.rank, steps = configuration.cgSteps
        let others = fixed.count / max(1, k)
        // G = YᵀY + λI, full (the CG products read whole rows).
        var gram = [Float](repeating: 0, count: k * k)
        // The Gram matrix on every core; inside the row workers OpenBLAS runs single-threaded.
        Linalg.setBLASThreads(configuration.threads)
        fixed.withUnsafeBufferPointer { y in
            Linalg.syrkTransposed(n: others, k: k, g: y.baseAddress!, c: &gram)
        }
        Linalg.setBLASThreads(1)
        for i in 0..<k {
            for j in 0..<i { gram[i * k + j] = gram[j * k + i] }
            gram[i * k + i] += Float(configuration.regularization)
        }
        // D = YᵀY + λI padded to the kernel's width (zeros beyond the rank).
        let width = ConjugateGradient.width(unknowns: k)
        var dense = [Float](repeating: 0, count: width * width)
        for i in 0..<k { for j in 0..<k { dense[i * width + j] = gram[i * k + j] } }
        solved.withUnsafeMutableBufferPointer { out in
            let out = out
            fixed.withUnsafeBufferPointer { y in
            dense.withUnsafeBufferPointer { dense in
            start.withUnsafeBufferPointer { start in
            partner.withUnsafeBufferPointer { partner in
            confidence.withUnsafeBufferPointer { confidence in
                let source = y.baseAddress!
                Parallel.forEachChunk(count: rows, chunkSize: 256, threads: configuration.threads, makeScratch: { _ in
                    ConjugateGradient.Scratch(width: width)
                }) { scratch, range in
                    for row in range {
                        let first = start[row], n = start[row + 1] - first
                        let x = out.baseAddress! + row * k
                        // b = 0 and A positive definite: the solution is 0.
                        guard n > 0 else { x.update(repeating: 0, count: k); continue }
                        // The partners' rows, gathered once: the random reads of the other side's
                        // factors (hundreds of MB for the customers at Netflix scale) happen once per
                        // row and sweep, and the steps then stream the block from cache.
                        let block = scratch.gather(UnsafeBufferPointer(rebasing: partner[first..<(first + n)]), from: source, stride: k, floats: k)
                        let targets = scratch.targets, weights = scratch.weights
                        for j in 0..<n {
                            let c = confidence[first + j]
                            targets[j] = c
                            weights[j] = c - 1
                        }
                        scratch.x.update(from: x, count: k)
                        for f in k..<width { scratch.x[f] = 0 }
                        ConjugateGradient.solve(block: block, n: n, width: width, targets: targets, weights: weights,
                                                ridge: 0, dense: dense.baseAddress!, steps: steps, scratch: scratch)
                        x.update(from: scratch.x, count: k)
                    }
                }
            }}}}}
        }
    }

    /// The exact solution of one row's normal equations (Cholesky), for a
    /// customer folded in without retraining and as the tests' reference.
    public static func solve(ratings: [(movie: Int32, rating: Float)], movieFactors: UnsafeBufferPointer<Float>, rank k: Int,
                             configuration: ImplicitALSConfiguration) throws -> [Float] {
        var a = [Float](repeating: 0, count: k * k)
        Linalg.syrkTransposed(n: movieFactors.count / max(1, k), k: k, g: movieFactors.baseAddress!, c: &a)
        for i in 0..<k {
            for j in 0..<i { a[i * k + j] = a[j * k + i] }
            a[i * k + i] += Float(configuration.regularization)
        }
        var b = [Float](repeating: 0, count: k)
        for (movie, rating) in ratings {
            let y = movieFactors.baseAddress! + Int(movie) * k, c = configuration.confidence(of: rating)
            for i in 0..<k {
                b[i] += c * y[i]
                for j in 0..<k { a[i * k + j] += (c - 1) * y[i] * y[j] }
            }
        }
        try Linalg.choleskySolve(n: k, a: &a, b: &b)
        return b
    }
}
