import Models
import XCTest
@testable import Workflows

final class TrainingOptionsTests: XCTestCase {
    func testOptionsOverrideTheDefaultsAndForeignOnesAreRefused() throws {
        var options = TrainingOptions()
        XCTAssertEqual(try options.configuration(for: .sgd), ModelKind.sgd.defaults, "nothing given: the trainer's own defaults")
        options.iterations = 4
        options.seed = 9
        options.threads = 1
        guard case .sgd(let sgd) = try options.configuration(for: .sgd) else { return XCTFail("not SGD") }
        XCTAssertEqual([sgd.epochs, Int(sgd.seed), sgd.threads], [4, 9, 1], "iterations are SGD's epochs")
        guard case .als(let als) = try options.configuration(for: .als) else { return XCTFail("not ALS") }
        XCTAssertEqual([als.iterations, als.rank], [4, 10])

        func refusal(_ model: ModelKind, _ change: (inout TrainingOptions) -> Void) -> String {
            var o = TrainingOptions()
            change(&o)
            do { _ = try o.configuration(for: model); return "" } catch let error as WorkflowError {
                XCTAssertEqual(error.kind, .badRequest)
                return error.description
            } catch { return "unexpected \(error)" }
        }
        XCTAssertEqual(refusal(.als) { $0.learningRate = 0.1 }, "option `lr` does not apply to als")
        XCTAssertEqual(refusal(.svd) { $0.biases = .fixed }, "option `biases` applies to als only")
        XCTAssertEqual(refusal(.svd) { $0.oversampling = -1 }, "invalid SVD configuration: oversampling must be 0…1000, got -1")
        XCTAssertEqual(refusal(.sgd) { $0.threads = 0 }, "invalid SGD configuration: threads must be at least 1, got 0")
    }
}
