import Features
import Foundation

/// Parameters of explicit-feedback ALS on the bias residuals.
public struct ALSConfiguration: Sendable, Equatable {
    /// Number of latent factors k, 1…1000.
    public var rank = 10
    /// λ in the ALS-WR penalty λ·(n_u‖p_u‖² + n_i‖q_i‖²), > 0.
    public var regularization = 0.05
    /// Full sweeps (customers, then movies), ≥ 1.
    public var iterations = 10
    /// Seeds the initial movie factors; with the thread count, fixes every bit of the result.
    public var seed: UInt64 = 42
    /// Worker threads for the per-row solves, ≥ 1. OpenBLAS runs single-threaded inside them.
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    public func validate() throws {
        func fail(_ text: String) -> ALSError { .invalidConfiguration(text) }
        guard (1...1000).contains(rank) else { throw fail("rank must be 1…1000, got \(rank)") }
        guard regularization > 0, regularization.isFinite else { throw fail("regularization must be > 0, got \(regularization)") }
        guard iterations >= 1 else { throw fail("iterations must be at least 1, got \(iterations)") }
        guard threads >= 1 else { throw fail("threads must be at least 1, got \(threads)") }
    }
}

public enum ALSError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    /// A sweep produced NaN or ±∞ factors: the fit diverged.
    case nonFiniteFactors(iteration: Int)

    public var description: String {
        switch self {
        case .invalidConfiguration(let text): return "invalid ALS configuration: \(text)"
        case .nonFiniteFactors(let iteration): return "ALS produced non-finite factors in iteration \(iteration); raise the regularization"
        }
    }
}

/// A fitted ALS model: r̂_ui = clip(μ + b_u + b_i + p_u·q_i).
public struct ALSModel: Sendable {
    public let biases: BiasModel
    public let rank: Int
    /// customers × rank, row-major, single precision (as Spark MLlib and implicit keep them).
    public let customerFactors: [Float]
    /// movies × rank, row-major.
    public let movieFactors: [Float]

    /// The unclipped prediction for dense indexes.
    public func score(customer: Int, movie: Int) -> Double {
        var dot: Float = 0
        for f in 0..<rank { dot += customerFactors[customer * rank + f] * movieFactors[movie * rank + f] }
        return biases.baseline(customer: customer, movie: movie) + Double(dot)
    }
}

/// What one ALS iteration did.
public struct ALSIteration: Sendable {
    public var iteration: Int
    public var trainRMSE: Double
    public var seconds: Double
}

/// Alternating least squares with weighted-λ regularization (ALS-WR; Zhou,
/// Wilkinson, Schreiber & Pan, "Large-scale Parallel Collaborative Filtering
/// for the Netflix Prize", AAIM 2008), fitted to the residuals of a fixed
/// bias model (r_ui − μ − b_u − b_i) rather than to raw ratings.
///
/// Each half-sweep solves, for every row u with rated set I(u) (n_u = |I(u)|),
///
///     (Q_Iᵀ Q_I + λ n_u E) p_u = Q_Iᵀ r_I
///
/// where Q_I gathers the fixed side's factor rows. QᵀQ is built with BLAS
/// `dsyrk` on the gathered rows and solved by Cholesky (`dpotrf`/`dpotrs`);
/// rows are spread over worker threads with per-thread scratch. A row's
/// solution depends only on the fixed side, so results do not depend on how
/// rows are spread: the same seed gives the same bits on any thread count.
public struct ALSTrainer: Sendable {
    public let configuration: ALSConfiguration

    public init(_ configuration: ALSConfiguration) { self.configuration = configuration }

    public func fit(_ matrix: RatingMatrix, biases: BiasModel,
                    onIteration: ((ALSIteration) -> Void)? = nil) throws -> ALSModel {
        try configuration.validate()
        let k = configuration.rank
        Linalg.setBLASThreads(1)

        // Residuals in both layouts, in the order of their rating arrays.
        var byCustomer = [Float](repeating: 0, count: matrix.count)
        for c in 0..<matrix.customerCount {
            for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                byCustomer[s] = Float(Double(matrix.customerRating[s]) - biases.baseline(customer: c, movie: Int(matrix.customerMovie[s])))
            }
        }
        var byMovie = [Float](repeating: 0, count: matrix.count)
        for m in 0..<matrix.movieCount {
            for s in matrix.movieStart[m]..<matrix.movieStart[m + 1] {
                byMovie[s] = Float(Double(matrix.movieRating[s]) - biases.baseline(customer: Int(matrix.movieCustomer[s]), movie: m))
            }
        }

        var generator = SeededGenerator(seed: configuration.seed)
        let scale = 1 / Double(k).squareRoot()
        var movieFactors = (0..<(matrix.movieCount * k)).map { _ in Float(generator.nextGaussian() * 0.1 * scale) }
        var customerFactors = [Float](repeating: 0, count: matrix.customerCount * k)

        for iteration in 1...configuration.iterations {
            let started = Date()
            try HalfSweep(rows: matrix.customerCount, start: matrix.customerStart, partner: matrix.customerMovie,
                          residual: byCustomer, rank: k, regularization: configuration.regularization,
                          threads: configuration.threads).solve(fixed: movieFactors, into: &customerFactors)
            try HalfSweep(rows: matrix.movieCount, start: matrix.movieStart, partner: matrix.movieCustomer,
                          residual: byMovie, rank: k, regularization: configuration.regularization,
                          threads: configuration.threads).solve(fixed: customerFactors, into: &movieFactors)
            guard customerFactors.allSatisfy(\.isFinite), movieFactors.allSatisfy(\.isFinite) else {
                throw ALSError.nonFiniteFactors(iteration: iteration)
            }
            // The sweep's time, not the report's: the train RMSE below is extra work.
            let seconds = Date().timeIntervalSince(started)
            if let onIteration {
                var squared = 0.0
                for c in 0..<matrix.customerCount {
                    for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                        let m = Int(matrix.customerMovie[s])
                        var dot: Float = 0
                        for f in 0..<k { dot += customerFactors[c * k + f] * movieFactors[m * k + f] }
                        let error = Double(byCustomer[s] - dot)
                        squared += error * error
                    }
                }
                onIteration(ALSIteration(iteration: iteration, trainRMSE: (squared / Double(max(1, matrix.count))).squareRoot(),
                                         seconds: seconds))
            }
        }
        return ALSModel(biases: biases, rank: k, customerFactors: customerFactors, movieFactors: movieFactors)
    }
}

/// One half-sweep: solves every row of one side against the fixed other side.
/// The customer pass and the movie pass are this same code with the roles swapped.
struct HalfSweep {
    let rows: Int
    let start: [Int]
    let partner: [Int32]
    let residual: [Float]
    let rank: Int
    let regularization: Double
    let threads: Int

    func solve(fixed: [Float], into solved: inout [Float]) throws {
        let k = rank
        let longest = (0..<rows).reduce(0) { max($0, start[$1 + 1] - start[$1]) }
        let chunk = 64
        let chunks = (rows + chunk - 1) / chunk
        let next = ChunkCounter()
        let failure = FirstError()
        solved.withUnsafeMutableBufferPointer { output in
            let out = output
            DispatchQueue.concurrentPerform(iterations: min(threads, max(1, chunks))) { _ in
                // Per-worker scratch, allocated once per sweep.
                var gathered = [Float](repeating: 0, count: max(1, longest) * k)
                var targets = [Float](repeating: 0, count: max(1, longest))
                var normal = [Float](repeating: 0, count: k * k)
                var rhs = [Float](repeating: 0, count: k)
                while let c = next.take(below: chunks), failure.error == nil {
                    for row in (c * chunk)..<min(rows, (c + 1) * chunk) {
                        do {
                            try solveRow(row, fixed: fixed, gathered: &gathered, targets: &targets, normal: &normal, rhs: &rhs)
                        } catch {
                            failure.record(error)
                            return
                        }
                        for f in 0..<k { out[row * k + f] = rhs[f] }
                    }
                }
            }
        }
        if let error = failure.error { throw error }
    }

    /// Fills `rhs` with row `row`'s solution (zeros for a row with no ratings).
    @inline(__always)
    func solveRow(_ row: Int, fixed: [Float], gathered: inout [Float], targets: inout [Float],
                  normal: inout [Float], rhs: inout [Float]) throws {
        let k = rank
        let n = start[row + 1] - start[row]
        guard n > 0 else {
            for f in 0..<k { rhs[f] = 0 }
            return
        }
        // Gather the partners' factor rows (a row copy each; the reads are the
        // random accesses of the sweep) and the targets, without bounds checks.
        let first = start[row]
        fixed.withUnsafeBufferPointer { fixed in
            partner.withUnsafeBufferPointer { partner in
                residual.withUnsafeBufferPointer { residual in
                    gathered.withUnsafeMutableBufferPointer { gathered in
                        targets.withUnsafeMutableBufferPointer { targets in
                            let source = fixed.baseAddress!, destination = gathered.baseAddress!
                            for j in 0..<n {
                                let p = Int(partner[first + j])
                                (destination + j * k).update(from: source + p * k, count: k)
                                targets[j] = residual[first + j]
                            }
                        }
                    }
                }
            }
        }
        // normal = GᵀG (upper triangle) + λ n E; rhs = Gᵀ r. Row-major G (n×k), normal k×k.
        Linalg.syrkTransposed(n: n, k: k, g: gathered, c: &normal)
        let ridge = Float(regularization * Double(n))
        for f in 0..<k { normal[f * k + f] += ridge }
        Linalg.gemvTransposed(n: n, k: k, g: gathered, x: targets, y: &rhs)
        try Linalg.choleskySolve(n: k, a: &normal, b: &rhs)
    }
}

/// Hands out chunk numbers to worker threads.
final class ChunkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take(below limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}

/// The first error any worker met.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
    func record(_ error: Error) { lock.lock(); if stored == nil { stored = error }; lock.unlock() }
}
