import COpenBLAS
import Features
import Foundation
import Runtime

/// Parameters of EASE.
public struct EASEConfiguration: TrainerConfiguration {
    /// λ on the diagonal of the Gram matrix, > 0 (Steck's MovieLens and Netflix values are in the hundreds).
    public var lambda = 500.0
    /// Unused by the closed form (it draws nothing); kept so every trainer's configuration has one.
    public var seed: UInt64 = 42
    /// Worker threads for the Gram matrix; LAPACK runs its own.
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    // Only λ is stored: the closed form gives the same bits for any seed and thread count.
    private enum CodingKeys: String, CodingKey { case lambda }

    public func validate() throws {
        guard lambda > 0, lambda.isFinite else { throw ConfigurationError("invalid EASE configuration: lambda must be > 0, got \(lambda)") }
        guard threads >= 1 else { throw ConfigurationError("invalid EASE configuration: threads must be at least 1, got \(threads)") }
    }
}

/// EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW
/// 2019): the item-item weights B that best reconstruct who-rated-what X from
/// itself, ‖X − XB‖² + λ‖B‖² with diag(B) = 0, in closed form
///
///     P = (XᵀX + λI)⁻¹,   B_ij = −P_ij / P_jj  (i ≠ j),   B_jj = 0.
///
/// A customer's score for movie i is Σ_{j rated} B_ji. X is binary (rated or
/// not). The Gram matrix XᵀX counts co-ratings, built per movie row in
/// parallel; the inverse is one Cholesky factorisation and inversion in double
/// precision (LAPACK dpotrf + dpotri); B is kept in single precision.
///
/// The result is a `FactorModel` of rank 0, μ = 0 and zero biases, whose
/// `itemWeights` hold B and whose history holds the training ratings: it ranks,
/// it predicts no ratings.
public struct EASETrainer: Sendable {
    public let configuration: EASEConfiguration

    public init(_ configuration: EASEConfiguration) {
        self.configuration = configuration
    }

    public func fit(_ matrix: RatingMatrix, scale: RatingScale, dataVersion: String = "", splitID: Int = 0) throws -> FactorModel {
        try configuration.validate()
        let n = matrix.movieCount
        // LAPACK reads one triangle: only it is counted (half the co-rating increments).
        var gram = Self.gram(matrix, threads: configuration.threads, lowerTriangle: true)
        try Interruption.check()
        // The factorization and inverse are LAPACK's blocked level-3 code: on every core (a trainer before may have left one).
        Linalg.setBLASThreads(configuration.threads)
        for i in 0..<n { gram[i * n + i] += configuration.lambda }
        // The inverse of a symmetric positive definite matrix: upper triangle (column-major = our lower).
        let upper = Int8(UInt8(ascii: "U"))
        var info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, upper, Int32(n), &gram, Int32(n))
        guard info == 0 else { throw ConfigurationError("EASE: XᵀX + λI is not positive definite (LAPACK dpotrf info \(info)); raise lambda") }
        try Interruption.check()
        info = LAPACKE_dpotri(LAPACK_COL_MAJOR, upper, Int32(n), &gram, Int32(n))
        guard info == 0 else { throw ConfigurationError("EASE: the inverse failed (LAPACK dpotri info \(info))") }
        // Column-major upper = row-major lower: P_ij for i ≥ j sits at gram[i * n + j]. Mirrored into
        // the upper triangle in 64 × 64 tiles, so that the weights below read P by rows.
        let tile = 64, tiles = (n + tile - 1) / tile
        gram.withUnsafeMutableBufferPointer { g in
            let g = g
            Parallel.forEachChunk(count: tiles, chunkSize: 1, threads: configuration.threads) { range in
                for ti in range {
                    for tj in 0...ti {
                        for i in (ti * tile)..<min(n, (ti + 1) * tile) {
                            for j in (tj * tile)..<min(i, (tj + 1) * tile) { g[j * n + i] = g[i * n + j] }
                        }
                    }
                }
            }
        }
        var weights = [Float](repeating: 0, count: n * n)
        gram.withUnsafeBufferPointer { p in
            weights.withUnsafeMutableBufferPointer { w in
                let w = w
                Parallel.forEachChunk(count: n, chunkSize: 64, threads: configuration.threads) { range in
                    for j in range {
                        // Row j of W: the weights from rated movie j to every candidate i, B_ji = −P_ji / P_ii.
                        for i in 0..<n where i != j { w[j * n + i] = Float(-p[j * n + i] / p[i * n + i]) }
                    }
                }
            }
        }
        return .itemBased(kind: .ease, parameters: configuration.json, weights: weights, trainedOn: matrix,
                          scale: scale, dataVersion: dataVersion, splitID: splitID)
    }

    /// XᵀX for binary X, dense row-major n × n: entry (a, b) counts the
    /// customers who rated both a and b (the diagonal: a's ratings). Rows are
    /// filled independently — movie a's customers, then their movies — so any
    /// thread count gives the same matrix. With `lowerTriangle` only b ≤ a is
    /// counted (a customer's movies are ascending, so the scan stops at a) and
    /// the rest stays 0.
    static func gram(_ matrix: RatingMatrix, threads: Int, lowerTriangle: Bool = false) -> [Double] {
        let n = matrix.movieCount
        var gram = [Double](repeating: 0, count: n * n)
        gram.withUnsafeMutableBufferPointer { g in
            let g = g
            matrix.movieStart.withUnsafeBufferPointer { movieStart in
            matrix.movieCustomer.withUnsafeBufferPointer { movieCustomer in
            matrix.customerStart.withUnsafeBufferPointer { customerStart in
            matrix.customerMovie.withUnsafeBufferPointer { customerMovie in
                Parallel.forEachChunk(count: n, chunkSize: 16, threads: threads) { range in
                    for a in range {
                        let row = g.baseAddress! + a * n
                        for s in movieStart[a]..<movieStart[a + 1] {
                            let c = Int(movieCustomer[s])
                            if lowerTriangle {
                                var t = customerStart[c]
                                let end = customerStart[c + 1]
                                while t < end, Int(customerMovie[t]) <= a { row[Int(customerMovie[t])] += 1; t += 1 }
                            } else {
                                for t in customerStart[c]..<customerStart[c + 1] { row[Int(customerMovie[t])] += 1 }
                            }
                        }
                    }
                }
            }}}}
        }
        return gram
    }
}
