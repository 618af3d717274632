import Features
import XCTest
@testable import Models

final class ModelConfigurationTests: XCTestCase {
    /// What a model file or model_runs row stores reads back as the same configuration.
    func testEveryConfigurationRoundTripsThroughItsJSON() throws {
        var als = ALSConfiguration()
        (als.rank, als.regularization, als.biases, als.threads) = (7, 0.125, .fixed, 3)
        var sgd = SGDConfiguration()
        (sgd.initialStandardDeviation, sgd.order, sgd.learningRateDecay) = (0.3, .ratings, 0.9)
        var svd = SVDConfiguration()
        svd.powerIterations = 5
        var ials = ImplicitALSConfiguration()
        (ials.alpha, ials.confidence, ials.cgSteps) = (7.5, .log, 2)
        for configuration in [ModelConfiguration.als(als), .sgd(sgd), .svd(svd), .ials(ials)] {
            XCTAssertEqual(try ModelConfiguration(kind: configuration.kind.rawValue, json: configuration.json), configuration)
        }
        // The keys model files written before typed configurations carry.
        XCTAssertEqual(sgd.json, #"{"bias_regularization":0.02,"epochs":20,"initial_std":0.3,"learning_rate":0.005,"learning_rate_decay":0.9,"order":"ratings","rank":100,"regularization":0.02,"seed":42,"threads":\#(sgd.threads)}"#)
        let old = #"{"biases": "joint", "iterations": 10, "rank": 10, "regularization": 0.05, "seed": 42, "threads": 2}"#
        guard case .als(let read) = try ModelConfiguration(kind: "als", json: old) else { return XCTFail("not ALS") }
        XCTAssertEqual(read.threads, 2)
        XCTAssertThrowsError(try ModelConfiguration(kind: "knn", json: "{}")) {
            XCTAssertEqual(String(describing: $0), "no trainer is called `knn`; the trainers are als, svd, sgd, ials, ease, itemknn")
        }
    }

    /// Grid keys set the typed fields, and every range is the trainer's own.
    func testGridKeysSetTheFieldsAndRangesAreTheTrainers() throws {
        var c = ModelKind.sgd.defaults
        XCTAssertEqual(c.gridValues, ["epochs": 20, "lr": 0.005, "rank": 100, "reg": 0.02], "SGD's documented defaults apply")
        try c.set("epochs", 3)
        try c.set("lr", 0.01)
        guard case .sgd(let sgd) = c else { return XCTFail("not SGD") }
        XCTAssertEqual(sgd.epochs, 3)
        XCTAssertEqual(sgd.learningRate, 0.01)
        func message(_ key: String, _ value: Double) -> String {
            var probe = ModelKind.als.defaults
            do { try probe.set(key, value); return "" } catch { return String(describing: error) }
        }
        XCTAssertEqual(message("lr", 0.1), "unknown key `lr`; als's keys are iterations, rank, reg")
        XCTAssertEqual(message("rank", 1001), "invalid ALS configuration: rank must be 1…1000, got 1001")
        XCTAssertEqual(message("reg", 0), "invalid ALS configuration: regularization must be > 0, got 0.0")
        XCTAssertEqual(message("iterations", 2.5), "iterations must be a whole number, got 2.5")
        XCTAssertEqual(message("rank", 12), "")
    }
}
