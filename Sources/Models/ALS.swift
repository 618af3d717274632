import COpenBLAS
import Features
import Foundation
import Runtime

/// Parameters of explicit-feedback ALS on the bias residuals.
public struct ALSConfiguration: TrainerConfiguration {
    /// How the customer and movie biases are treated.
    public enum BiasMode: String, Sendable, Codable, CaseIterable {
        /// The damped biases of the features stay fixed; ALS fits their residuals.
        case fixed
        /// The biases start from the features and are re-solved with the factors
        /// in every half-sweep: each row solves for [p_u, b_u] against [q_i, 1]
        /// (the classic augmented-vector trick), so the fitted model has exactly
        /// the planted form μ + b_u + b_i + p_u·q_i.
        case joint
    }

    /// Number of latent factors k, 1…1000.
    public var rank = 10
    /// λ in the ALS-WR penalty λ·(n_u‖p_u‖² + n_i‖q_i‖²), > 0. In joint mode the bias shares it.
    public var regularization = 0.05
    /// Full sweeps (customers, then movies), ≥ 1.
    public var iterations = 10
    /// Seeds the initial movie factors; with the thread count, fixes every bit of the result.
    public var seed: UInt64 = 42
    /// Worker threads for the per-row solves, ≥ 1. OpenBLAS runs single-threaded inside them.
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Fixed or jointly learned biases (default joint: it predicts better; see experiments/RESULTS.md).
    public var biases = BiasMode.joint

    /// How each row's normal equations are solved. CG is the default: at Netflix scale, rank 50,
    /// 12.6–13.8 s per iteration against Cholesky's 19.8–21.1 s with the same train RMSE to four
    /// digits (experiments/RESULTS.md); the first sweep is exact on either path.
    public enum Solver: String, Sendable, Codable, CaseIterable {
        /// Exactly, by Cholesky of the row's Gram matrix (ssyrk + spotrf): rank² work per rating.
        case cholesky
        /// By a few conjugate-gradient steps from the row's previous solution
        /// (Takács, Pilászy & Tikk 2011): rank work per rating and step, no Gram matrix.
        case cg
    }

    public var solver = Solver.cg
    /// Conjugate-gradient steps per row and half-sweep (the cg solver), ≥ 1.
    public var cgSteps = 3

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case rank, regularization, iterations, seed, threads, biases, solver, cgSteps
    }

    // Model files and runs written before the solver existed read back as the Cholesky path they used.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rank = try c.decode(Int.self, forKey: .rank)
        regularization = try c.decode(Double.self, forKey: .regularization)
        iterations = try c.decode(Int.self, forKey: .iterations)
        seed = try c.decode(UInt64.self, forKey: .seed)
        threads = try c.decode(Int.self, forKey: .threads)
        biases = try c.decode(BiasMode.self, forKey: .biases)
        solver = try c.decodeIfPresent(Solver.self, forKey: .solver) ?? .cholesky
        cgSteps = try c.decodeIfPresent(Int.self, forKey: .cgSteps) ?? 3
    }

    public func validate() throws {
        func fail(_ text: String) -> ALSError { .invalidConfiguration(text) }
        guard (1...1000).contains(rank) else { throw fail("rank must be 1…1000, got \(rank)") }
        guard regularization > 0, regularization.isFinite else { throw fail("regularization must be > 0, got \(regularization)") }
        guard iterations >= 1 else { throw fail("iterations must be at least 1, got \(iterations)") }
        guard threads >= 1 else { throw fail("threads must be at least 1, got \(threads)") }
        guard (1...100).contains(cgSteps) else { throw fail("cg steps must be 1…100, got \(cgSteps)") }
    }

}

public enum ALSError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    /// A sweep produced NaN or ±∞ factors: the fit diverged.
    case nonFiniteFactors(iteration: Int)
    /// The model to continue from has another rank.
    case warmStartRank(model: Int, configured: Int)

    public var description: String {
        switch self {
        case .warmStartRank(let model, let configured):
            return "the warm-start model has rank \(model), the configuration \(configured): continue with --rank \(model), or train from scratch"
        case .invalidConfiguration(let text): return "invalid ALS configuration: \(text)"
        case .nonFiniteFactors(let iteration): return "ALS produced non-finite factors in iteration \(iteration); raise the regularization"
        }
    }
}

/// Alternating least squares with weighted-λ regularization (ALS-WR; Zhou,
/// Wilkinson, Schreiber & Pan, "Large-scale Parallel Collaborative Filtering
/// for the Netflix Prize", AAIM 2008), on the residuals r_ui − μ − b_u − b_i.
///
/// Each half-sweep solves, for every row u with rated set I(u) (n_u = |I(u)|),
///
///     (Q_Iᵀ Q_I + λ n_u E) p_u = Q_Iᵀ r_I
///
/// where Q_I gathers the fixed side's factor rows. QᵀQ is built with BLAS
/// `ssyrk` on the gathered rows and solved by Cholesky (`spotrf`/`spotrs`);
/// rows are spread over worker threads with per-thread scratch. A row's
/// solution depends only on the fixed side, so results do not depend on how
/// rows are spread: the same seed gives the same bits on any thread count.
///
/// Deviation from the paper: with `BiasMode.joint` each row's unknowns are
/// [p_u, b_u] and the fixed rows are [q_i, 1] with targets r_ui − μ − b_i, so
/// the biases are re-estimated with the factors instead of staying fixed
/// (Koren, Bell & Volinsky 2009 learn them jointly too, by SGD).
public struct ALSTrainer: Sendable {
    public let configuration: ALSConfiguration

    public init(_ configuration: ALSConfiguration) { self.configuration = configuration }

    /// Fits on `matrix` (the train part), starting from `biases`.
    /// - Parameters:
    ///   - validation: ratings to report an RMSE on after every iteration (indexes of `matrix`).
    ///   - dataVersion, splitID: recorded in the model for provenance.
    ///   - snapshots: iterations after which `snapshot` gets the model as it stands (grid
    ///     search scores several iteration counts from one run this way).
    ///   - start: a previous model to continue from (warm start): its movie and customer factors
    ///     (and biases, when learned jointly) by id; those it lacks start as a cold fit does.
    public func fit(_ matrix: RatingMatrix, biases: BiasModel, scale: RatingScale = .netflix, dataVersion: String = "",
                    splitID: Int = 0, validation: HeldOutRatings? = nil, start: FactorModel? = nil,
                    snapshots: Set<Int> = [], snapshot: ((Int, FactorModel) -> Void)? = nil,
                    onStep: ((TrainingStep) -> Void)? = nil) throws -> FactorModel {
        try configuration.validate()
        let k = configuration.rank
        if let start, start.rank != k {
            throw ALSError.warmStartRank(model: start.rank, configured: k)
        }
        let joint = configuration.biases == .joint
        let width = joint ? k + 2 : k
        Linalg.setBLASThreads(1)

        // Targets in both layouts, in the order of their rating arrays: the
        // residual of the fixed biases, or of μ alone when biases are learned.
        func target(_ rating: Float, _ c: Int, _ m: Int) -> Float {
            Float(joint ? Double(rating) - biases.globalMean : Double(rating) - biases.baseline(customer: c, movie: m))
        }
        var byCustomer = [Float](repeating: 0, count: matrix.count)
        for c in 0..<matrix.customerCount {
            for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                byCustomer[s] = target(matrix.customerRating[s], c, Int(matrix.customerMovie[s]))
            }
        }
        var byMovie = [Float](repeating: 0, count: matrix.count)
        for m in 0..<matrix.movieCount {
            for s in matrix.movieStart[m]..<matrix.movieStart[m + 1] {
                byMovie[s] = target(matrix.movieRating[s], Int(matrix.movieCustomer[s]), m)
            }
        }

        // Rows are [q_i] (fixed) or [q_i, 1, b_i] (joint), starting from the features' biases.
        var generator = SeededGenerator(seed: configuration.seed)
        let scale0 = 1 / Double(k).squareRoot()
        var movieRows = [Float](repeating: 0, count: matrix.movieCount * width)
        for m in 0..<matrix.movieCount {
            for f in 0..<k { movieRows[m * width + f] = Float(generator.nextGaussian() * 0.1 * scale0) }
            if joint {
                movieRows[m * width + k] = 1
                movieRows[m * width + k + 1] = Float(biases.movieBias[m])
            }
        }
        // Only the movie side needs a start: the first half-sweep solves every customer against it.
        if let start {
            var previous: [Int64: Int] = [:]
            for (i, id) in start.movieIDs.enumerated() { previous[id] = i }
            for m in 0..<matrix.movieCount {
                guard let i = previous[matrix.movieIDs[m]] else { continue }
                for f in 0..<k { movieRows[m * width + f] = start.movieFactors[i * k + f] }
                if joint { movieRows[m * width + k + 1] = start.movieBias[i] }
            }
        }
        var customerRows = [Float](repeating: 0, count: matrix.customerCount * width)
        // The customers continue too when nearly all of them are in the older model: CG then steps
        // from their old solutions from the first sweep on. With many new customers (they start
        // at 0, where three CG steps fall short) the first customer sweep stays exact.
        var customersContinue = false
        if let start {
            var previous: [Int64: Int] = [:]
            for (i, id) in start.customerIDs.enumerated() { previous[id] = i }
            var known = 0
            for c in 0..<matrix.customerCount {
                guard let i = previous[matrix.customerIDs[c]] else { continue }
                for f in 0..<k { customerRows[c * width + f] = start.customerFactors[i * k + f] }
                if joint {
                    customerRows[c * width + k] = 1
                    customerRows[c * width + k + 1] = start.customerBias[i]
                }
                known += 1
            }
            customersContinue = known * 20 >= matrix.customerCount * 19
        }

        let threads = configuration.threads, lambda = configuration.regularization
        let observer = StepObserver(matrix: matrix, validation: validation, snapshots: snapshots, snapshot: snapshot,
                                    onStep: onStep, threads: threads)
        var model = FactorModel(kind: "als", parameters: configuration.json, dataVersion: dataVersion, splitID: splitID,
                                scale: scale, customerIDs: matrix.customerIDs, movieIDs: matrix.movieIDs,
                                globalMean: biases.globalMean, customerBias: biases.customerBias.map { Float($0) },
                                movieBias: biases.movieBias.map { Float($0) }, rank: k,
                                customerFactors: [Float](repeating: 0, count: matrix.customerCount * k),
                                movieFactors: [Float](repeating: 0, count: matrix.movieCount * k),
                                customerTrainCount: matrix.customerSupport)
        func unpack() {
            for c in 0..<matrix.customerCount {
                for f in 0..<k { model.customerFactors[c * k + f] = customerRows[c * width + f] }
                if joint { model.customerBias[c] = customerRows[c * width + k + 1] }
            }
            for m in 0..<matrix.movieCount {
                for f in 0..<k { model.movieFactors[m * k + f] = movieRows[m * width + f] }
                if joint { model.movieBias[m] = movieRows[m * width + k + 1] }
            }
        }

        for iteration in 1...configuration.iterations {
            let started = Date()
            // CG continues from the previous solution. The first sweep has none for the customers (they
            // start at 0) nor, in a cold fit, for the movies (small random factors): those are solved
            // exactly. A warm start's movies continue from the older model's, and its customers too
            // when nearly all are known.
            func solver(continuing: Bool) -> HalfSweep.Solver {
                configuration.solver == .cg && continuing ? .conjugateGradient(steps: configuration.cgSteps) : .cholesky
            }
            try HalfSweep(rows: matrix.customerCount, start: matrix.customerStart, partner: matrix.customerMovie,
                          residual: byCustomer, rank: k, regularization: lambda, threads: threads,
                          jointBias: joint, solver: solver(continuing: iteration > 1 || customersContinue)).solve(fixed: movieRows, into: &customerRows)
            try HalfSweep(rows: matrix.movieCount, start: matrix.movieStart, partner: matrix.movieCustomer,
                          residual: byMovie, rank: k, regularization: lambda, threads: threads,
                          jointBias: joint, solver: solver(continuing: iteration > 1 || start != nil)).solve(fixed: customerRows, into: &movieRows)
            // A stop request leaves the sweeps half done: nothing of them is returned.
            try Interruption.check()
            guard customerRows.allSatisfy(\.isFinite), movieRows.allSatisfy(\.isFinite) else {
                throw ALSError.nonFiniteFactors(iteration: iteration)
            }
            // The sweep's time, not the report's: the RMSEs below are extra work.
            let seconds = Date().timeIntervalSince(started)
            if observer.wantsModel(after: iteration) {
                unpack()
                observer.stepped(iteration, model: model, seconds: seconds)
            }
        }
        unpack()
        return model
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
    /// Rows are [factors, 1, bias]: solve for [p, b] against the fixed rows'
    /// [q, 1], after taking the fixed rows' own biases off the targets.
    var jointBias = false

    enum Solver {
        case cholesky
        /// Steps from the row's current value in the output (warm start).
        case conjugateGradient(steps: Int)
    }
    var solver = Solver.cholesky

    /// Floats per stored row.
    var width: Int { jointBias ? rank + 2 : rank }
    /// Unknowns per row solve.
    var unknowns: Int { jointBias ? rank + 1 : rank }

    func solve(fixed: [Float], into solved: inout [Float]) throws {
        if case .conjugateGradient(let steps) = solver { return solveByConjugateGradient(fixed: fixed, into: &solved, steps: steps) }
        let k = unknowns, w = width
        let longest = (0..<rows).reduce(0) { max($0, start[$1 + 1] - start[$1]) }
        struct Scratch {
            var gathered: [Float], targets: [Float], normal: [Float], rhs: [Float]
        }
        let failure = FirstError()
        solved.withUnsafeMutableBufferPointer { output in
            let out = output
            // Per-worker scratch, allocated once per sweep.
            Parallel.forEachChunk(count: rows, chunkSize: 64, threads: threads, makeScratch: { _ in
                Scratch(gathered: [Float](repeating: 0, count: max(1, min(longest, Self.block)) * k),
                        targets: [Float](repeating: 0, count: max(1, min(longest, Self.block))),
                        normal: [Float](repeating: 0, count: k * k), rhs: [Float](repeating: 0, count: k))
            }) { s, range in
                for row in range where failure.error == nil {
                    do {
                        try solveRow(row, fixed: fixed, gathered: &s.gathered, targets: &s.targets, normal: &s.normal, rhs: &s.rhs)
                    } catch {
                        failure.record(error)
                        return
                    }
                    for f in 0..<k { out[row * w + f] = s.rhs[f] }
                    if jointBias {
                        // [p, b] → [p, 1, b]
                        out[row * w + k] = s.rhs[k - 1]
                        out[row * w + k - 1] = 1
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
        let k = unknowns, w = width, joint = jointBias
        let n = start[row + 1] - start[row]
        guard n > 0 else {
            for f in 0..<k { rhs[f] = 0 }
            return
        }
        // Gather the partners' factor rows (a row copy each; the reads are the
        // random accesses of the sweep) and the targets, without bounds checks,
        // in blocks of `HalfSweep.block` rows: each block is accumulated into
        // normal = GᵀG (upper triangle) and rhs = Gᵀ r while it is still in the
        // core's cache, instead of a movie's whole gathered matrix (up to tens
        // of MB at Netflix scale) going out to memory and being read back.
        // The block size is fixed, so the sums are the same on any thread count.
        let first = start[row]
        var done = 0
        while done < n {
            let count = Swift.min(Self.block, n - done)
            fixed.withUnsafeBufferPointer { fixed in
                partner.withUnsafeBufferPointer { partner in
                    residual.withUnsafeBufferPointer { residual in
                        gathered.withUnsafeMutableBufferPointer { gathered in
                            targets.withUnsafeMutableBufferPointer { targets in
                                let source = fixed.baseAddress!, destination = gathered.baseAddress!
                                let base = first + done
                                // Rows `ahead` places on are requested now, so that their cache
                                // lines are on the way while this row is copied.
                                let ahead = 8
                                for j in 0..<Swift.min(count, ahead) { Self.prefetchRow(source + Int(partner[base + j]) * w, floats: k) }
                                for j in 0..<count {
                                    if j + ahead < count { Self.prefetchRow(source + Int(partner[base + j + ahead]) * w, floats: k) }
                                    let p = Int(partner[base + j])
                                    (destination + j * k).update(from: source + p * w, count: k)
                                    targets[j] = joint ? residual[base + j] - source[p * w + k] : residual[base + j]
                                }
                            }
                        }
                    }
                }
            }
            let beta: Float = done == 0 ? 0 : 1
            Linalg.syrkTransposed(n: count, k: k, g: gathered, beta: beta, c: &normal)
            Linalg.gemvTransposed(n: count, k: k, g: gathered, x: targets, beta: beta, y: &rhs)
            done += count
        }
        let ridge = Float(regularization * Double(n))
        for f in 0..<k { normal[f * k + f] += ridge }
        try Linalg.choleskySolve(n: k, a: &normal, b: &rhs)
    }
}

extension HalfSweep {
    /// Rows gathered and accumulated at a time: 512 × 51 floats = 102 KB, which
    /// stays in a 512 KB L2 beside OpenBLAS's packing buffers (measured at
    /// Netflix scale, rank 50: 17.8–20.0 s per iteration, against 20.2–21.0 s
    /// for 1,024 rows and 23.6–23.7 s unblocked).
    static let block = 512

    /// Requests every cache line of a `floats`-long row.
    @inline(__always)
    static func prefetchRow(_ row: UnsafePointer<Float>, floats: Int) {
        var offset = 0
        while offset < floats {
            recsys_prefetch(row + offset)
            offset += 16   // 64-byte lines
        }
        recsys_prefetch(row + floats - 1)   // rows are not line-aligned: the last line too
    }
}

extension HalfSweep {
    /// Every row a few CG steps closer to its normal equations
    /// (GᵀG + λn·E) x = Gᵀt, from the row's current value in `solved`.
    ///
    /// The partners' fixed rows are gathered once per row into a contiguous
    /// block (`ConjugateGradient`: one pass over it per step, O(n·rank)
    /// instead of the O(n·rank²) of the Gram matrix). Rows are independent and
    /// summed in a fixed order: the same bits on any thread count.
    func solveByConjugateGradient(fixed: [Float], into solved: inout [Float], steps: Int) {
        let k = unknowns, w = width, joint = jointBias
        let padded = ConjugateGradient.width(unknowns: k)
        solved.withUnsafeMutableBufferPointer { output in
            let out = output
            fixed.withUnsafeBufferPointer { fixed in
            partner.withUnsafeBufferPointer { partner in
            residual.withUnsafeBufferPointer { residual in
                let source = fixed.baseAddress!
                Parallel.forEachChunk(count: rows, chunkSize: 64, threads: threads, makeScratch: { _ in
                    ConjugateGradient.Scratch(width: padded)
                }) { scratch, range in
                    for row in range {
                        let first = start[row], n = start[row + 1] - first
                        let current = out.baseAddress! + row * w
                        guard n > 0 else {
                            // No ratings: the solution is 0 (as the exact path gives).
                            for f in 0..<k { current[f] = 0 }
                            if joint { current[k] = 0; current[k - 1] = 1 }
                            continue
                        }
                        let row = UnsafeBufferPointer(rebasing: partner[first..<(first + n)])
                        let block = scratch.gather(row, from: source, stride: w, floats: k), targets = scratch.targets
                        for (j, p) in row.enumerated() {
                            targets[j] = joint ? residual[first + j] - source[Int(p) * w + k] : residual[first + j]
                        }
                        // x = [p, b] from the stored [p, 1, b] (or p).
                        let x = scratch.x
                        x.update(from: current, count: k)
                        if joint { x[k - 1] = current[k] }
                        for f in k..<padded { x[f] = 0 }
                        ConjugateGradient.solve(block: block, n: n, width: padded, targets: targets, weights: nil,
                                                ridge: Float(regularization * Double(n)), dense: nil, steps: steps, scratch: scratch)
                        current.update(from: x, count: k)
                        if joint {
                            current[k] = x[k - 1]
                            current[k - 1] = 1
                        }
                    }
                }
            }}}
        }
    }
}
