import Features
import Runtime
import XCTest
@testable import Models

/// The randomized SVD against LAPACK's dense `gesdd` on small matrices, and its dense kernels.
final class RandomizedSVDTests: XCTestCase {
    /// A = U diag(σ) Vᵀ, 60 × 40, with random orthonormal U, V and σ_j = 10 · 0.8^j.
    /// With k = 6, p = 10 (l = 16) and q = 3 power iterations the basis error
    /// is about (σ_17/σ_6)^(2q+1) = 0.8^77 ≈ 3·10⁻⁸ relative, so the singular
    /// values agree with `gesdd` on the dense A to 1e-6 relative (in fact to
    /// ~1e-12: a singular value's error is second order in the basis error).
    func testSingularValuesMatchGesddOnADenseMatrix() throws {
        let m = 60, n = 40
        let sigma = (0..<n).map { 10 * pow(0.8, Double($0)) }
        let a = try Self.matrix(rows: m, columns: n, singularValues: sigma, seed: 1)
        let expected = try Self.gesdd(a, rows: m, columns: n)
        let result = try Self.decompose(a, rows: m, columns: n, SVDConfiguration(rank: 6, oversampling: 10, powerIterations: 3))
        XCTAssertEqual(result.singularValues.count, 6)
        for j in 0..<6 {
            XCTAssertEqual(result.singularValues[j], expected[j], accuracy: 1e-6 * expected[j], "σ_\(j + 1)")
        }
        XCTAssertEqual(result.timings.products, 2 * 3 + 2)
        XCTAssertEqual(result.timings.blockWidth, 16)
    }

    /// A Gaussian matrix has a flat spectrum, the hard case for a range finder;
    /// with k + p ≥ min(m, n) the sample spans the whole range and the result is
    /// exact up to rounding, with no power iteration at all.
    func testFullWidthSampleIsExactOnAFlatSpectrum() throws {
        let m = 30, n = 20
        var rng = SeededGenerator(seed: 3)
        let a = (0..<(m * n)).map { _ in rng.nextGaussian() }
        let expected = try Self.gesdd(a, rows: m, columns: n)
        let result = try Self.decompose(a, rows: m, columns: n, SVDConfiguration(rank: 8, oversampling: 12, powerIterations: 0))
        for j in 0..<8 { XCTAssertEqual(result.singularValues[j], expected[j], accuracy: 1e-10 * expected[0]) }
    }

    /// Eckart–Young: the best rank-k approximation leaves ‖A − U_k Σ_k V_kᵀ‖_F =
    /// √(σ_{k+1}² + … + σ_p²), with σ from `gesdd`; U_k and V_k are orthonormal.
    /// Same spectrum and parameters as the first test, k = 5.
    func testRankKReconstructionErrorIsTheTailSingularValues() throws {
        let m = 50, n = 35, k = 5
        let sigma = (0..<n).map { 5 * pow(0.75, Double($0)) }
        let a = try Self.matrix(rows: m, columns: n, singularValues: sigma, seed: 6)
        let expected = try Self.gesdd(a, rows: m, columns: n)
        let result = try Self.decompose(a, rows: m, columns: n, SVDConfiguration(rank: k, oversampling: 10, powerIterations: 3))

        var residual = a
        for i in 0..<m {
            for j in 0..<n {
                for f in 0..<k { residual[i * n + j] -= result.left[i * k + f] * result.singularValues[f] * result.right[j * k + f] }
            }
        }
        let error = residual.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let tail = expected[k...].reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(error, tail, accuracy: 1e-6 * tail)
        for (vectors, rows) in [(result.left, m), (result.right, n)] {
            for f in 0..<k {
                for g in 0..<k {
                    let dot = (0..<rows).reduce(0.0) { $0 + vectors[$1 * k + f] * vectors[$1 * k + g] }
                    XCTAssertEqual(dot, f == g ? 1 : 0, accuracy: 1e-10)
                }
            }
        }
    }

    /// The residual matrix of ratings (r − μ − b_u − b_i observed, 0 elsewhere),
    /// through the sparse products, against `gesdd` on the same matrix written
    /// out densely. Planted rank 3 plus N(0, 0.2²) noise: σ_3 stands far above
    /// the noise's σ_4…, so k = 3, p = 10, q = 4 converge to 1e-6 relative.
    func testResidualMatrixSingularValuesMatchGesdd() throws {
        let data = PlantedRatings(customers: 70, movies: 50, rank: 3, density: 0.5, sigma: 0.2, seed: 9)
        let matrix = data.train, biases = BiasModel(fitting: matrix)
        let result = try RandomizedSVD(SVDConfiguration(rank: 3, powerIterations: 4, threads: 2)).decompose(matrix, biases: biases)

        let m = matrix.customerCount, n = matrix.movieCount
        var dense = [Double](repeating: 0, count: m * n)
        for c in 0..<m {
            for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                let i = Int(matrix.customerMovie[s])
                dense[c * n + i] = ResidualProduct.residual(matrix.customerRating[s], globalMean: biases.globalMean,
                                                            biases.customerBias[c], biases.movieBias[i])
            }
        }
        let expected = try Self.gesdd(dense, rows: m, columns: n)
        for j in 0..<3 {
            XCTAssertEqual(result.singularValues[j], expected[j], accuracy: 1e-6 * expected[j], "σ_\(j + 1)")
        }
    }

    /// The model's factors are U_k Σ_k^½ and V_k Σ_k^½: p_u · q_i is the rank-k
    /// residual, on top of the unchanged biases.
    func testFactorModelHoldsTheSquareRootScaledFactors() throws {
        let data = PlantedRatings(customers: 40, movies: 30, rank: 2, density: 0.5, sigma: 0.2, seed: 4)
        let biases = BiasModel(fitting: data.train)
        let svd = RandomizedSVD(SVDConfiguration(rank: 2))
        let result = try svd.decompose(data.train, biases: biases)
        let model = try svd.factorModel(result, matrix: data.train, biases: biases, dataVersion: "v1", splitID: 3)
        XCTAssertEqual(model.kind, "svd")
        XCTAssertEqual(model.rank, 2)
        XCTAssertEqual(model.splitID, 3)
        XCTAssertEqual(model.customerBias, biases.customerBias.map { Float($0) })
        for (c, i) in [(0, 0), (5, 7), (39, 29)] {
            var low = 0.0
            for f in 0..<2 { low += result.left[c * 2 + f] * result.singularValues[f] * result.right[i * 2 + f] }
            XCTAssertEqual(model.score(customer: c, movie: i), biases.baseline(customer: c, movie: i) + low, accuracy: 1e-5)
        }
        XCTAssertEqual(Double(model.customerFactors[0]), result.left[0] * result.singularValues[0].squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(try svd.fit(data.train, biases: biases, dataVersion: "v1", splitID: 3), model)
    }

    /// Same seed and thread count → the same bits (the sparse products sum
    /// each row on one worker; OpenBLAS's dense steps are deterministic for a
    /// fixed thread count); another seed → other bits.
    func testSameSeedSameBits() throws {
        let data = PlantedRatings(customers: 60, movies: 40, rank: 3, density: 0.4, sigma: 0.3, seed: 12)
        let biases = BiasModel(fitting: data.train)
        var config = SVDConfiguration(rank: 4, threads: 2)
        let one = try RandomizedSVD(config).decompose(data.train, biases: biases)
        let two = try RandomizedSVD(config).decompose(data.train, biases: biases)
        XCTAssertEqual(one.singularValues, two.singularValues)
        XCTAssertEqual(one.left, two.left)
        XCTAssertEqual(one.right, two.right)
        config.seed = 7
        let other = try RandomizedSVD(config).decompose(data.train, biases: biases)
        XCTAssertNotEqual(one.right, other.right)
    }

    func testInvalidConfigurationAndRankAreRefused() {
        var config = SVDConfiguration()
        XCTAssertNoThrow(try config.validate())
        config.rank = 0
        XCTAssertThrowsError(try config.validate())
        config.rank = 5
        config.oversampling = -1
        XCTAssertThrowsError(try config.validate())
        config.oversampling = 10
        config.powerIterations = -1
        XCTAssertThrowsError(try config.validate())
        config.powerIterations = 2
        config.rank = 11
        let a = [Double](repeating: 1, count: 12 * 10)
        XCTAssertThrowsError(try Self.decompose(a, rows: 12, columns: 10, config)) { error in
            XCTAssertEqual(error as? SVDError, .rankExceedsMatrix(rank: 11, rows: 12, columns: 10))
        }
    }

    // MARK: The dense kernels

    /// Thin QR of a 7 × 3 matrix: QᵀQ = E, R upper triangular, Q·R = A.
    func testQRFactorsATallMatrix() throws {
        let m = 7, n = 3
        let a = (0..<(m * n)).map { Double(($0 * 5) % 11) - 3 }
        var q = a, r = [Double](repeating: 9, count: n * n)
        try Linalg.qr(rows: m, columns: n, a: &q, r: &r)
        for i in 0..<n {
            for j in 0..<n {
                if j < i { XCTAssertEqual(r[i * n + j], 0) }
                let dot = (0..<m).reduce(0.0) { $0 + q[$1 * n + i] * q[$1 * n + j] }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-12)
            }
        }
        var product = [Double](repeating: 0, count: m * n)
        Linalg.gemm(m: m, n: n, k: n, a: q, b: r, c: &product)
        for i in 0..<(m * n) { XCTAssertEqual(product[i], a[i], accuracy: 1e-12) }
        var wide = [Double](repeating: 0, count: 6)
        XCTAssertThrowsError(try Linalg.qr(rows: 2, columns: 3, a: &wide))
    }

    /// CholeskyQR2 on a 2,000 × 40 block whose columns span six orders of
    /// magnitude (condition number 10⁶): ‖QᵀQ − I‖ at rounding, R upper
    /// triangular with a positive diagonal, Q·R = A; and a rank-deficient block
    /// (Cholesky fails) still comes back orthonormal through the Householder fallback.
    func testCholeskyQR2IsOrthonormalToRounding() throws {
        let m = 2_000, n = 40
        var generator = SeededGenerator(seed: 77)
        var a = (0..<(m * n)).map { _ in generator.nextGaussian() }
        for i in 0..<m { for j in 0..<n { a[i * n + j] *= pow(10, -6 * Double(j) / Double(n - 1)) } }
        var q = a, r = [Double](repeating: 9, count: n * n)
        try Linalg.orthonormalize(rows: m, columns: n, a: &q, r: &r)
        func orthogonalityError(_ q: [Double]) -> Double {
            var worst = 0.0
            for i in 0..<n {
                for j in 0..<n {
                    let dot = (0..<m).reduce(0.0) { $0 + q[$1 * n + i] * q[$1 * n + j] }
                    worst = max(worst, abs(dot - (i == j ? 1 : 0)))
                }
            }
            return worst
        }
        XCTAssertLessThan(orthogonalityError(q), 1e-12)
        for i in 0..<n {
            XCTAssertGreaterThan(r[i * n + i], 0)
            for j in 0..<i { XCTAssertEqual(r[i * n + j], 0) }
        }
        var product = [Double](repeating: 0, count: m * n)
        Linalg.gemm(m: m, n: n, k: n, a: q, b: r, c: &product)
        for i in 0..<(m * n) { XCTAssertEqual(product[i], a[i], accuracy: 1e-12 * max(1, abs(a[i]))) }

        var deficient = a
        for i in 0..<m { deficient[i * n + 5] = deficient[i * n + 4] }   // two equal columns: AᵀA is singular
        try Linalg.orthonormalize(rows: m, columns: n, a: &deficient)
        XCTAssertLessThan(orthogonalityError(deficient), 1e-12)
        var wide = [Double](repeating: 0, count: 6)
        XCTAssertThrowsError(try Linalg.orthonormalize(rows: 2, columns: 3, a: &wide))
    }

    /// The transposed products against loops: C ← 2·AᵀB + 0.5·C, then C ← A·Bᵀ, on small row-major matrices.
    func testTransposedProductsMatchNaiveLoops() {
        let m = 4, n = 3, k = 5
        let a = (0..<(k * m)).map { Double($0 % 7) - 2 }   // k×m for AᵀB; read as m×k for ABᵀ below
        let b = (0..<(k * n)).map { Double(($0 * 3) % 5) / 2 }
        var c = [Double](repeating: 1, count: m * n)
        Linalg.gemmTransposedA(m: m, n: n, k: k, alpha: 2, a: a, b: b, beta: 0.5, c: &c)
        for i in 0..<m {
            for j in 0..<n {
                let sum = (0..<k).reduce(0.0) { $0 + a[$1 * m + i] * b[$1 * n + j] }
                XCTAssertEqual(c[i * n + j], 2 * sum + 0.5, accuracy: 1e-12)
            }
        }
        // A m×k and B n×k (the same numbers read in the other shape).
        Linalg.gemmTransposedB(m: m, n: n, k: k, a: a, b: b, c: &c)
        for i in 0..<m {
            for j in 0..<n {
                let sum = (0..<k).reduce(0.0) { $0 + a[i * k + $1] * b[j * k + $1] }
                XCTAssertEqual(c[i * n + j], sum, accuracy: 1e-12)
            }
        }
    }

    /// gesdd on diag(3, 2) rotated: the singular values 3 and 2, and U Σ Vᵀ = A.
    func testGesddWrapperReconstructsTheMatrix() throws {
        let (cs, sn) = (0.6, 0.8)   // a rotation by atan2(0.8, 0.6)
        let a: [Double] = [3 * cs, -2 * sn, 3 * sn, 2 * cs]   // R · diag(3, 2)
        var copy = a
        var s = [Double](repeating: 0, count: 2), u = [Double](repeating: 0, count: 4), vt = [Double](repeating: 0, count: 4)
        try Linalg.singularValueDecomposition(rows: 2, columns: 2, a: &copy, s: &s, u: &u, vt: &vt)
        XCTAssertEqual(s[0], 3, accuracy: 1e-14)
        XCTAssertEqual(s[1], 2, accuracy: 1e-14)
        for i in 0..<2 {
            for j in 0..<2 {
                let value = (0..<2).reduce(0.0) { $0 + u[i * 2 + $1] * s[$1] * vt[$1 * 2 + j] }
                XCTAssertEqual(value, a[i * 2 + j], accuracy: 1e-14)
            }
        }
        var nan: [Double] = [.nan, 1, 1, 1]
        XCTAssertThrowsError(try Linalg.singularValues(rows: 2, columns: 2, a: &nan))
    }

    // MARK: Helpers

    /// U diag(σ) Vᵀ with U, V the Q factors of Gaussian matrices.
    static func matrix(rows m: Int, columns n: Int, singularValues sigma: [Double], seed: UInt64) throws -> [Double] {
        var rng = SeededGenerator(seed: seed)
        var u = (0..<(m * n)).map { _ in rng.nextGaussian() }
        var v = (0..<(n * n)).map { _ in rng.nextGaussian() }
        try Linalg.qr(rows: m, columns: n, a: &u)
        try Linalg.qr(rows: n, columns: n, a: &v)
        for i in 0..<m { for j in 0..<n { u[i * n + j] *= sigma[j] } }
        var a = [Double](repeating: 0, count: m * n)
        Linalg.gemmTransposedB(m: m, n: n, k: n, a: u, b: v, c: &a)
        return a
    }

    /// All singular values of A (m×n row-major) by LAPACK on the dense matrix: the reference.
    static func gesdd(_ a: [Double], rows m: Int, columns n: Int) throws -> [Double] {
        var copy = a
        return try Linalg.singularValues(rows: m, columns: n, a: &copy)
    }

    /// The randomized SVD of a dense matrix, its products by BLAS.
    static func decompose(_ a: [Double], rows m: Int, columns n: Int, _ config: SVDConfiguration) throws -> SVDResult {
        try RandomizedSVD(config).decompose(
            rows: m, columns: n,
            multiply: { x, l, y in a.withUnsafeBufferPointer { Linalg.gemm(m: m, n: l, k: n, a: $0.baseAddress!, b: x, c: y) } },
            multiplyTransposed: { x, l, y in
                a.withUnsafeBufferPointer { Linalg.gemmTransposedA(m: n, n: l, k: m, a: $0.baseAddress!, b: x, c: y) }
            })
    }
}

extension RandomizedSVDTests {
    /// The tiled sparse product (tiles of 3 partner rows, so rows resume
    /// across many tiles, with and without the four-rating passes) against the
    /// dense residual matrix times X by loops; the same bits on one thread and two.
    func testTiledResidualProductMatchesTheDenseProduct() {
        let data = PlantedRatings(customers: 30, movies: 20, rank: 2, density: 0.6, sigma: 0.3, seed: 14)
        let matrix = data.train, biases = BiasModel(fitting: matrix)
        let m = matrix.customerCount, n = matrix.movieCount, l = 5
        var rng = SeededGenerator(seed: 2)
        let x = (0..<(n * l)).map { _ in rng.nextGaussian() }
        var expected = [Double](repeating: 0, count: m * l)
        for c in 0..<m {
            for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                let i = Int(matrix.customerMovie[s])
                let a = ResidualProduct.residual(matrix.customerRating[s], globalMean: biases.globalMean,
                                                 biases.customerBias[c], biases.movieBias[i])
                for j in 0..<l { expected[c * l + j] += a * x[i * l + j] }
            }
        }
        var results: [[Double]] = []
        for (threads, tileBytes) in [(1, 3 * l * 8), (2, 3 * l * 8), (2, 1 << 20)] {
            var product = ResidualProduct(rows: m, start: matrix.customerStart, partner: matrix.customerMovie,
                                          rating: matrix.customerRating, globalMean: biases.globalMean,
                                          rowBias: biases.customerBias, partnerBias: biases.movieBias,
                                          threads: threads, chunk: 4)
            product.tileBytes = tileBytes
            var y = [Double](repeating: .nan, count: m * l)
            product.apply(x, l, &y)
            for i in 0..<(m * l) { XCTAssertEqual(y[i], expected[i], accuracy: 1e-12 * max(1, abs(expected[i]))) }
            results.append(y)
        }
        XCTAssertEqual(results[0], results[1])
    }
}
