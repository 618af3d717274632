import Features
import Runtime
import XCTest
@testable import Models

final class EvaluationTests: XCTestCase {
    /// Customer 2 and movie 2 have no train ratings. ALS gives them zero
    /// factors (and, jointly learned, zero bias), so their predictions are the
    /// model's own baseline — finite, never NaN — and each such pair counts
    /// as a fallback.
    func testUnseenCustomersAndMoviesFallBackToTheBaselineAndAreCounted() throws {
        let train = RatingMatrix(customerIDs: [10, 20, 30], movieIDs: [1, 2, 3], entries: [
            .init(customer: 0, movie: 0, rating: 5, day: 0), .init(customer: 0, movie: 1, rating: 3, day: 0),
            .init(customer: 1, movie: 0, rating: 4, day: 0), .init(customer: 1, movie: 1, rating: 1, day: 0),
        ])
        var heldOut = HeldOutRatings()
        heldOut.customer = [0, 2, 1, 2]
        heldOut.movie = [1, 0, 2, 2]
        heldOut.rating = [3, 4, 2, 5]
        var config = ALSConfiguration()
        config.rank = 2
        config.iterations = 3
        let model = try ALSTrainer(config).fit(train, biases: BiasModel(fitting: train), validation: heldOut)
        XCTAssertEqual(model.customerBias[2], 0)
        XCTAssertEqual(model.customerFactors[4...5], [0, 0])
        XCTAssertEqual(model.score(customer: 2, movie: 0), model.globalMean + Double(model.movieBias[0]), accuracy: 1e-6)
        XCTAssertEqual(model.score(customer: 2, movie: 2), model.globalMean, accuracy: 1e-12)
        let metrics = try XCTUnwrap(Evaluation.metrics(model, on: heldOut, trainedOn: train))
        XCTAssertEqual(metrics.n, 4)
        XCTAssertEqual(metrics.fallbacks, 3)   // (2, 0), (1, 2), (2, 2)
        XCTAssertTrue(metrics.rmse.isFinite)

        // The bias baseline: μ = 13/4; the unseen pair (2, 2) gets μ alone.
        let baseline = BaselinePredictor.bias(BiasModel(fitting: train), scale: .netflix)
        XCTAssertEqual(baseline.score(customer: 2, movie: 2), 3.25, accuracy: 1e-12)
        XCTAssertEqual(Evaluation.metrics(baseline, on: heldOut, trainedOn: train)?.fallbacks, 3)
        XCTAssertEqual(BaselinePredictor.globalMean(BiasModel(fitting: train), scale: .netflix).score(customer: 0, movie: 0), 3.25)
    }

    /// The train RMSE helper against a direct computation, on any thread count.
    func testTrainRMSEMatchesADirectSum() throws {
        var rng = SeededGenerator(seed: 2)
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<50 { for m in 0..<30 where rng.next() % 3 == 0 {
            entries.append(.init(customer: Int32(c), movie: Int32(m), rating: Float(1 + rng.next() % 5), day: 0))
        } }
        let train = RatingMatrix(customerIDs: (0..<50).map { Int64($0) }, movieIDs: (0..<30).map { Int64($0) }, entries: entries)
        var config = ALSConfiguration()
        config.rank = 3
        config.iterations = 2
        let model = try ALSTrainer(config).fit(train, biases: BiasModel(fitting: train))
        var squared = 0.0
        for e in entries {
            let error = Double(e.rating) - RatingScale.netflix.clip(model.score(customer: Int(e.customer), movie: Int(e.movie)))
            squared += error * error
        }
        let direct = (squared / Double(entries.count)).squareRoot()
        XCTAssertEqual(Evaluation.trainRMSE(model, on: train, threads: 1), direct, accuracy: 1e-5)
        XCTAssertEqual(Evaluation.trainRMSE(model, on: train, threads: 3), Evaluation.trainRMSE(model, on: train, threads: 1))
    }
}
