import Features
import Foundation
import Runtime

/// Parameters of the truncated SVD of the bias residuals by a randomized range finder.
public struct SVDConfiguration: TrainerConfiguration {
    /// Singular triplets kept, k, 1…1000 (and at most min(customers, movies)).
    public var rank = 10
    /// Extra random directions p sampled beyond k, 0…1000: the range finder works
    /// on l = k + p columns (capped at min(rows, columns)). Halko et al. find
    /// p = 5…10 enough once power iterations are used.
    public var oversampling = 10
    /// Power (subspace) iterations q, 0…100: each costs two more sparse
    /// products and sharpens the basis by a factor (σ_{l+1}/σ_k)² on the
    /// error. Halko et al. suggest 1…2 for matrices whose spectrum decays
    /// slowly; scikit-learn's `randomized_svd` uses 4…7.
    public var powerIterations = 2
    /// Seeds the Gaussian test matrix; with the thread count, fixes every bit of the result.
    public var seed: UInt64 = 42
    /// Worker threads for the sparse products, and OpenBLAS's threads for the dense steps, ≥ 1.
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    public func validate() throws {
        func fail(_ text: String) -> SVDError { .invalidConfiguration(text) }
        guard (1...1000).contains(rank) else { throw fail("rank must be 1…1000, got \(rank)") }
        guard (0...1000).contains(oversampling) else { throw fail("oversampling must be 0…1000, got \(oversampling)") }
        guard (0...100).contains(powerIterations) else { throw fail("power iterations must be 0…100, got \(powerIterations)") }
        guard threads >= 1 else { throw fail("threads must be at least 1, got \(threads)") }
    }

}

public enum SVDError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    /// More singular triplets were asked for than the matrix has.
    case rankExceedsMatrix(rank: Int, rows: Int, columns: Int)
    /// The decomposition produced NaN or ±∞ (a non-finite rating or bias).
    case nonFiniteFactors

    public var description: String {
        switch self {
        case .invalidConfiguration(let text): return "invalid SVD configuration: \(text)"
        case .rankExceedsMatrix(let rank, let rows, let columns):
            return "rank \(rank) exceeds the \(rows) × \(columns) matrix; choose a rank of at most \(min(rows, columns))"
        case .nonFiniteFactors: return "the SVD produced non-finite factors; check the ratings and biases for NaN"
        }
    }
}

/// The top-k singular triplets A ≈ U_k Σ_k V_kᵀ, and where the time went.
public struct SVDResult: Sendable {
    /// σ_1 ≥ … ≥ σ_k ≥ 0.
    public var singularValues: [Double]
    /// U_k, rows × k, row-major, orthonormal columns.
    public var left: [Double]
    /// V_k, columns × k, row-major, orthonormal columns.
    public var right: [Double]
    public var rows: Int
    public var columns: Int
    public var timings: SVDTimings

    public var rank: Int { singularValues.count }
}

/// Seconds spent in each phase of one decomposition.
public struct SVDTimings: Sendable, Codable, Equatable {
    /// Operator applications (A·X or Aᵀ·X), 2q + 2 for q power iterations.
    public var products = 0
    /// Width l of the blocks the operator was applied to.
    public var blockWidth = 0
    /// Seconds inside the operator (the sparse products, for a rating matrix), both directions.
    public var productSeconds = 0.0
    /// The part of `productSeconds` spent in the products by Aᵀ.
    public var transposedProductSeconds = 0.0
    /// Seconds in the QR factorizations (`geqrf` + `orgqr`).
    public var orthonormalizationSeconds = 0.0
    /// Seconds in the small SVD and the two products that lift its vectors back.
    public var smallSVDSeconds = 0.0
    /// The whole decomposition, test matrix included.
    public var totalSeconds = 0.0
}

/// Truncated SVD by a randomized range finder with power iterations (Halko,
/// Martinsson & Tropp, "Finding Structure with Randomness", SIAM Review 2011:
/// Algorithm 4.4, randomized subspace iteration, then Algorithm 5.1, direct SVD).
///
/// For A m×n, k wanted triplets and l = k + p columns:
///
///     Ω  n×l Gaussian;  Q = orth(A Ω)
///     q times:          W = orth(Aᵀ Q);  Q = orth(A W)
///     Bᵀ = Aᵀ Q (n×l) = W R        (thin QR; B = Qᵀ A = Rᵀ Wᵀ)
///     Rᵀ = Ũ Σ Ṽᵀ                   (small dense SVD, l×l, `gesdd`)
///     A ≈ Q B = (Q Ũ) Σ (W Ṽ)ᵀ;  U_k, V_k = the first k columns
///
/// `orth` is the Q of a thin QR (CholeskyQR2, `Linalg.orthonormalize`); re-orthonormalizing after
/// every application, not only at the end, keeps the power iterations from
/// losing the small directions to rounding (Halko et al. §4.5). The expected
/// error of the basis is about (σ_{l+1}/σ_k)^{2q+1} times the best rank-k
/// error, so well-separated spectra converge in a few iterations.
///
/// Deviation from Algorithm 5.1: B is not decomposed directly; its l×l
/// triangular factor is, so the dense SVD never sees a dimension of A.
///
/// Everything runs in double precision (the tests hold it to 1e-6 relative of
/// LAPACK's dense SVD); only the factors stored in the `FactorModel` are float.
public struct RandomizedSVD: Sendable {
    public let configuration: SVDConfiguration

    public init(_ configuration: SVDConfiguration) { self.configuration = configuration }

    /// A linear operator applied to a block: reads X (row-major, l columns) and
    /// overwrites Y (row-major, l columns). `multiply` maps columns×l to rows×l,
    /// `multiplyTransposed` rows×l to columns×l.
    public typealias BlockProduct = (_ x: UnsafePointer<Double>, _ l: Int, _ y: UnsafeMutablePointer<Double>) throws -> Void

    /// The top-k singular triplets of the rows × columns operator given by its
    /// two block products (a dense matrix in the tests, the sparse residuals in
    /// `fit`).
    /// - Throws: `SVDError` for a bad configuration or a rank above min(rows,
    ///   columns); `LinalgError` / `LinalgConvergenceError` from LAPACK.
    public func decompose(rows m: Int, columns n: Int, multiply: BlockProduct,
                          multiplyTransposed: BlockProduct) throws -> SVDResult {
        try configuration.validate()
        let k = configuration.rank
        guard k <= min(m, n) else { throw SVDError.rankExceedsMatrix(rank: k, rows: m, columns: n) }
        let l = min(k + configuration.oversampling, min(m, n))
        let started = Date()
        var timings = SVDTimings()
        timings.blockWidth = l

        // Dense phases use OpenBLAS's own threads; the operator's loops run
        // without BLAS calls, so the two pools never overlap.
        let previousBLASThreads = Linalg.blasThreads
        Linalg.setBLASThreads(configuration.threads)
        defer { Linalg.setBLASThreads(previousBLASThreads) }

        func timed<T>(_ seconds: inout Double, _ body: () throws -> T) rethrows -> T {
            let start = Date()
            defer { seconds += Date().timeIntervalSince(start) }
            return try body()
        }
        var tall = [Double](repeating: 0, count: m * l)    // Q: the basis of A's range
        var wide = [Double](repeating: 0, count: n * l)    // Ω, then W: the basis of Aᵀ's range
        func applyA() throws {
            try Interruption.check()
            try timed(&timings.productSeconds) { try multiply(wide, l, &tall) }
            timings.products += 1
        }
        func applyAT() throws {
            try Interruption.check()
            let start = Date()
            try multiplyTransposed(tall, l, &wide)
            let seconds = Date().timeIntervalSince(start)
            timings.transposedProductSeconds += seconds
            timings.productSeconds += seconds
            timings.products += 1
        }

        // Range finder: Q = orth(A Ω), then q rounds of subspace iteration.
        var generator = SeededGenerator(seed: configuration.seed)
        for i in 0..<(n * l) { wide[i] = generator.nextGaussian() }
        try applyA()
        try timed(&timings.orthonormalizationSeconds) { try Linalg.orthonormalize(rows: m, columns: l, a: &tall) }
        for _ in 0..<configuration.powerIterations {
            try applyAT()
            try timed(&timings.orthonormalizationSeconds) { try Linalg.orthonormalize(rows: n, columns: l, a: &wide) }
            try applyA()
            try timed(&timings.orthonormalizationSeconds) { try Linalg.orthonormalize(rows: m, columns: l, a: &tall) }
        }

        // Bᵀ = Aᵀ Q = W R; B = Rᵀ Wᵀ.
        try applyAT()
        var r = [Double](repeating: 0, count: l * l)
        try timed(&timings.orthonormalizationSeconds) { try Linalg.orthonormalize(rows: n, columns: l, a: &wide, r: &r) }

        // Rᵀ = Ũ Σ Ṽᵀ, then U_k = Q Ũ_k and V_k = W Ṽ_k.
        var singularValues = [Double](repeating: 0, count: l)
        var left = [Double](repeating: 0, count: m * k), right = [Double](repeating: 0, count: n * k)
        try timed(&timings.smallSVDSeconds) {
            var small = [Double](repeating: 0, count: l * l)
            for i in 0..<l { for j in 0..<l { small[i * l + j] = r[j * l + i] } }
            var u = [Double](repeating: 0, count: l * l), vt = [Double](repeating: 0, count: l * l)
            try Linalg.singularValueDecomposition(rows: l, columns: l, a: &small, s: &singularValues, u: &u, vt: &vt)
            var uk = [Double](repeating: 0, count: l * k)
            for i in 0..<l { for j in 0..<k { uk[i * k + j] = u[i * l + j] } }
            Linalg.gemm(m: m, n: k, k: l, a: tall, b: uk, c: &left)
            // Ṽ_k = the first k rows of Ṽᵀ, transposed: W Ṽ_k = W (Ṽᵀ_{1..k})ᵀ.
            Linalg.gemmTransposedB(m: n, n: k, k: l, a: wide, b: vt, c: &right)
        }
        try Interruption.check()
        timings.totalSeconds = Date().timeIntervalSince(started)
        return SVDResult(singularValues: Array(singularValues.prefix(k)), left: left, right: right,
                         rows: m, columns: n, timings: timings)
    }

    /// The top-k singular triplets of the residual matrix of `matrix`
    /// (customers × movies):
    ///
    ///     A_ui = r_ui − μ − b_u − b_i   where u rated i,   0 elsewhere.
    ///
    /// Unobserved entries count as a zero residual — a missing rating is taken
    /// to be the baseline's prediction — as in PureSVD (Cremonesi, Koren &
    /// Turrin, RecSys 2010) and scikit-learn's `TruncatedSVD` on a sparse
    /// matrix. This is the classic approach, not a fit to the observed entries
    /// alone: the low-rank part is shrunk toward zero roughly in proportion to
    /// the matrix's density, which is why SGD and ALS, which fit only observed
    /// ratings, predict better.
    public func decompose(_ matrix: RatingMatrix, biases: BiasModel) throws -> SVDResult {
        let threads = configuration.threads
        let byCustomer = ResidualProduct(rows: matrix.customerCount, start: matrix.customerStart,
                                         partner: matrix.customerMovie, rating: matrix.customerRating,
                                         globalMean: biases.globalMean, rowBias: biases.customerBias,
                                         partnerBias: biases.movieBias, threads: threads, chunk: 256)
        let byMovie = ResidualProduct(rows: matrix.movieCount, start: matrix.movieStart,
                                      partner: matrix.movieCustomer, rating: matrix.movieRating,
                                      globalMean: biases.globalMean, rowBias: biases.movieBias,
                                      partnerBias: biases.customerBias, threads: threads, chunk: 4)
        return try decompose(rows: matrix.customerCount, columns: matrix.movieCount,
                             multiply: { x, l, y in byCustomer.apply(x, l, y) },
                             multiplyTransposed: { x, l, y in byMovie.apply(x, l, y) })
    }

    /// Fits on `matrix` (the train part): the predictions are
    ///
    ///     r̂_ui = clip(μ + b_u + b_i + (U_k Σ_k V_kᵀ)_ui)
    ///
    /// stored as customer factors p_u = (U_k Σ_k^½)_u and movie factors
    /// q_i = (V_k Σ_k^½)_i, so p_u · q_i is the rank-k residual. The square
    /// root splits the scale evenly between the two sides, so both hold
    /// values of the same size (float storage, fold-in's ridge on p). The
    /// biases are those given, unchanged (`kind` "svd").
    /// - Parameters:
    ///   - dataVersion, splitID: recorded in the model for provenance.
    public func fit(_ matrix: RatingMatrix, biases: BiasModel, scale: RatingScale = .netflix, dataVersion: String = "",
                    splitID: Int = 0) throws -> FactorModel {
        try factorModel(decompose(matrix, biases: biases), matrix: matrix, biases: biases, scale: scale,
                        dataVersion: dataVersion, splitID: splitID)
    }

    /// The model `fit` returns, from a decomposition already made by
    /// `decompose(_:biases:)` (for callers that also report the singular values).
    public func factorModel(_ result: SVDResult, matrix: RatingMatrix, biases: BiasModel, scale: RatingScale = .netflix,
                            dataVersion: String = "", splitID: Int = 0) throws -> FactorModel {
        let k = result.rank
        precondition(result.rows == matrix.customerCount && result.columns == matrix.movieCount,
                     "the decomposition must be of this matrix")
        let root = result.singularValues.map { $0.squareRoot() }
        var customerFactors = [Float](repeating: 0, count: matrix.customerCount * k)
        for i in 0..<customerFactors.count { customerFactors[i] = Float(result.left[i] * root[i % k]) }
        var movieFactors = [Float](repeating: 0, count: matrix.movieCount * k)
        for i in 0..<movieFactors.count { movieFactors[i] = Float(result.right[i] * root[i % k]) }
        guard customerFactors.allSatisfy(\.isFinite), movieFactors.allSatisfy(\.isFinite) else {
            throw SVDError.nonFiniteFactors
        }
        return FactorModel(kind: "svd", parameters: configuration.json, dataVersion: dataVersion, splitID: splitID,
                           scale: scale, customerIDs: matrix.customerIDs, movieIDs: matrix.movieIDs,
                           globalMean: biases.globalMean, customerBias: biases.customerBias.map { Float($0) },
                           movieBias: biases.movieBias.map { Float($0) }, rank: k,
                           customerFactors: customerFactors, movieFactors: movieFactors,
                           customerTrainCount: matrix.customerSupport)
    }
}

/// Y ← A·X for the sparse residual matrix held by rows (CSR for A, CSC for
/// Aᵀ): Y_r = Σ_{s ∈ row r} a_s X_{partner(s)}, X and Y row-major with l
/// columns. The product by A and the product by Aᵀ are this same code with the
/// roles of customers and movies swapped.
///
/// The reads of X are the random accesses: at Netflix scale X is 480k × l
/// doubles (230 MB at l = 60) for Aᵀ. So X is cut into tiles of partner rows
/// that fit in the cache, and the rows are swept once per tile, each resuming
/// where the previous tile left it (partners ascend within a row); Y's rows
/// are streamed once per tile instead.
///
/// Each row of Y is summed by one worker, in ascending partner order, four
/// ratings per pass (a quarter of the loads and stores of Y's row; 30 %
/// faster at Netflix scale), so the result depends on the tiling but not on
/// the thread count. The residual is computed on the fly (no residual copy of
/// the ratings) by `residual`, whose form is symmetric in the two biases: the
/// entries of A and Aᵀ are exact transposes, bit for bit.
struct ResidualProduct {
    let rows: Int
    let start: [Int]
    let partner: [Int32]
    let rating: [Float]
    let globalMean: Double
    let rowBias: [Double]
    let partnerBias: [Double]
    let threads: Int
    /// Rows per work item: many for the short customer rows, few for the long movie rows.
    let chunk: Int
    /// Bytes of X per tile. Measured at Netflix scale, l = 60 (32 MB L3, 512 kB
    /// L2 per core): 0.5–4 MB tiles within noise of each other, 16 MB 30 %
    /// slower, untiled 3× slower for the product by A and 4.5× for Aᵀ.
    var tileBytes = 4 << 20

    /// r − μ − b_u − b_i, the same bits whichever side is the row.
    @inline(__always)
    static func residual(_ rating: Float, globalMean: Double, _ bias1: Double, _ bias2: Double) -> Double {
        (Double(rating) - globalMean) - (bias1 + bias2)
    }

    func apply(_ x: UnsafePointer<Double>, _ l: Int, _ y: UnsafeMutablePointer<Double>) {
        let partners = partnerBias.count
        let tileRows = max(1, tileBytes / (l * MemoryLayout<Double>.stride))
        let tiles = max(1, (partners + tileRows - 1) / tileRows)
        var cursor = start
        start.withUnsafeBufferPointer { start in
            partner.withUnsafeBufferPointer { partner in
                rating.withUnsafeBufferPointer { rating in
                    rowBias.withUnsafeBufferPointer { rowBias in
                        partnerBias.withUnsafeBufferPointer { partnerBias in
                            cursor.withUnsafeMutableBufferPointer { cursor in
                                for tile in 0..<tiles {
                                    let limit = tile == tiles - 1 ? Int32.max : Int32((tile + 1) * tileRows)
                                    Parallel.forEachChunk(count: rows, chunkSize: chunk, threads: threads) { range in
                                        for row in range {
                                            let target = y + row * l
                                            if tile == 0 { target.update(repeating: 0, count: l) }
                                            let bias = rowBias[row]
                                            var s = cursor[row]
                                            let end = start[row + 1]
                                            // Four ratings per pass over the row of Y: a quarter of its loads and stores.
                                            while s + 3 < end, partner[s + 3] < limit {
                                                let p0 = Int(partner[s]), p1 = Int(partner[s + 1])
                                                let p2 = Int(partner[s + 2]), p3 = Int(partner[s + 3])
                                                let a0 = Self.residual(rating[s], globalMean: globalMean, bias, partnerBias[p0])
                                                let a1 = Self.residual(rating[s + 1], globalMean: globalMean, bias, partnerBias[p1])
                                                let a2 = Self.residual(rating[s + 2], globalMean: globalMean, bias, partnerBias[p2])
                                                let a3 = Self.residual(rating[s + 3], globalMean: globalMean, bias, partnerBias[p3])
                                                let x0 = x + p0 * l, x1 = x + p1 * l, x2 = x + p2 * l, x3 = x + p3 * l
                                                for j in 0..<l { target[j] += (a0 * x0[j] + a1 * x1[j]) + (a2 * x2[j] + a3 * x3[j]) }
                                                s += 4
                                            }
                                            while s < end, partner[s] < limit {
                                                let p = Int(partner[s])
                                                let a = Self.residual(rating[s], globalMean: globalMean, bias, partnerBias[p])
                                                let source = x + p * l
                                                for j in 0..<l { target[j] += a * source[j] }
                                                s += 1
                                            }
                                            cursor[row] = s
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
