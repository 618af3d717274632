import XCTest
import Runtime
@testable import Features

final class BiasModelTests: XCTestCase {
    /// Two customers, two movies: c0 rates m0 = 5, m1 = 3; c1 rates m0 = 4.
    /// μ = 4. Damping 1:
    ///   b_m0 = ((5−4) + (4−4)) / (1 + 2) = 1/3;   b_m1 = (3−4) / (1 + 1) = −1/2
    ///   b_c0 = ((5−4−1/3) + (3−4+1/2)) / (1 + 2) = (2/3 − 1/2) / 3 = 1/18
    ///   b_c1 = (4−4−1/3) / (1 + 1) = −1/6
    func testDampedBiasesByHand() {
        let m = RatingMatrix(customerIDs: [1, 2], movieIDs: [10, 20], entries: [
            .init(customer: 0, movie: 0, rating: 5, day: 0),
            .init(customer: 0, movie: 1, rating: 3, day: 0),
            .init(customer: 1, movie: 0, rating: 4, day: 0),
        ])
        let b = BiasModel(fitting: m, customerDamping: 1, movieDamping: 1)
        XCTAssertEqual(b.globalMean, 4, accuracy: 1e-12)
        XCTAssertEqual(b.movieBias[0], 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(b.movieBias[1], -0.5, accuracy: 1e-12)
        XCTAssertEqual(b.customerBias[0], 1.0 / 18, accuracy: 1e-12)
        XCTAssertEqual(b.customerBias[1], -1.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(b.baseline(customer: 1, movie: 1), 4 - 1.0 / 6 - 0.5, accuracy: 1e-12)
    }

    func testSeededGeneratorIsReproducibleAndRoughlyNormal() {
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in b.next() })
        var g = SeededGenerator(seed: 1)
        let draws = (0..<20_000).map { _ in g.nextGaussian() }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)       // 4.2 standard errors of 1/√20000
        XCTAssertEqual(variance, 1, accuracy: 0.05)
    }
}
