import XCTest
@testable import Models

/// The BLAS/LAPACKE wrappers against naive references and hand-computed systems.
final class LinalgTests: XCTestCase {
    func testGemmMatchesNaiveProduct() {
        let m = 7, n = 5, k = 3
        let a = (0..<(m * k)).map { Double($0 % 11) - 4.5 }
        let b = (0..<(k * n)).map { Double(($0 * 7) % 13) / 3 }
        var c = [Double](repeating: 1, count: m * n)
        Linalg.gemm(m: m, n: n, k: k, alpha: 2, a: a, b: b, beta: 0.5, c: &c)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += a[i * k + p] * b[p * n + j] }
                XCTAssertEqual(c[i * n + j], 2 * sum + 0.5, accuracy: 1e-12)
            }
        }
    }

    func testCholeskySolvesASymmetricPositiveDefiniteSystem() throws {
        // A = [[4, 2], [2, 3]], b = [2, 1]: det = 8, x = A⁻¹b = [3·2 − 2·1, −2·2 + 4·1] / 8 = [0.5, 0].
        var a: [Double] = [4, 2, 2, 3]
        var b: [Double] = [2, 1]
        try Linalg.choleskySolve(n: 2, a: &a, b: &b)
        XCTAssertEqual(b[0], 0.5, accuracy: 1e-14)
        XCTAssertEqual(b[1], 0, accuracy: 1e-14)
        // The factor U: u11 = 2, u12 = 1, u22 = √2.
        XCTAssertEqual(a[0], 2, accuracy: 1e-14)
        XCTAssertEqual(a[1], 1, accuracy: 1e-14)
        XCTAssertEqual(a[3], 2.0.squareRoot(), accuracy: 1e-14)
    }

    func testCholeskyRefusesAnIndefiniteMatrixNamingTheMinor() {
        // The 2×2 leading minor 1·1 − 2·2 < 0.
        var a: [Double] = [1, 2, 0, 2, 1, 0, 0, 0, 1]
        var b: [Double] = [1, 1, 1]
        XCTAssertThrowsError(try Linalg.choleskySolve(n: 3, a: &a, b: &b)) { error in
            XCTAssertEqual(error as? LinalgError, .notPositiveDefinite(minor: 2))
        }
    }

    func testOpenBLASIsTheLinkedBLAS() {
        XCTAssertTrue(Linalg.blasConfiguration.contains("OpenBLAS"), Linalg.blasConfiguration)
    }
}
