import Features
import XCTest
@testable import Models

final class MetricsTests: XCTestCase {
    /// Pairs (actual, predicted): (4, 3.5), (2, 3), (5, 6.2 → clipped to 5), (1, 0.4 → clipped to 1).
    /// Errors 0.5, −1, 0, 0 → MSE = (0.25 + 1) / 4 = 0.3125, RMSE = 0.5590…, MAE = 1.5 / 4 = 0.375,
    /// MAPE = 100 · (0.5/4 + 1/2 + 0 + 0) / 4 = 15.625 %.
    func testHandComputedValuesWithClipping() throws {
        var acc = Metrics.Accumulator(scale: .netflix)
        acc.add(actual: 4, predicted: 3.5)
        acc.add(actual: 2, predicted: 3, fallback: true)
        acc.add(actual: 5, predicted: 6.2)
        acc.add(actual: 1, predicted: 0.4)
        let m = try XCTUnwrap(acc.metrics)
        XCTAssertEqual(m.mse, 0.3125, accuracy: 1e-12)
        XCTAssertEqual(m.rmse, 0.3125.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(m.mae, 0.375, accuracy: 1e-12)
        XCTAssertEqual(m.mape, 15.625, accuracy: 1e-12)
        XCTAssertEqual(m.n, 4)
        XCTAssertEqual(m.fallbacks, 1)
    }

    /// A metric over zero ratings is absent: an empty part used to report RMSE 0.0000.
    func testNoPairsGiveNoMetrics() {
        XCTAssertNil(Metrics.Accumulator(scale: .netflix).metrics)
    }
}
