import Features
import XCTest
@testable import Models

final class RankingTests: XCTestCase {
    /// A rank-1 model with p = 1 for both customers and q = (0.9, 0.8, 0.5, 0.1),
    /// no biases: every customer ranks the movies 0, 1, 2, 3.
    func model(_ train: RatingMatrix, movieFactors: [Float] = [0.9, 0.8, 0.5, 0.1]) -> FactorModel {
        FactorModel(kind: "test", parameters: "{}", dataVersion: "", splitID: 0, scale: .netflix,
                    customerIDs: train.customerIDs, movieIDs: train.movieIDs, globalMean: 3,
                    customerBias: [0, 0], movieBias: [0, 0, 0, 0], rank: 1, customerFactors: [1, 1],
                    movieFactors: movieFactors, customerTrainCount: [1, 1])
    }

    func heldOut(_ triples: [(Int32, Int32, Float)]) -> HeldOutRatings {
        var out = HeldOutRatings()
        out.customer = triples.map(\.0)
        out.movie = triples.map(\.1)
        out.rating = triples.map(\.2)
        return out
    }

    /// Customer 0 rated movie 0 in training, customer 1 movie 1. Top-2 lists
    /// with the seen filter: customer 0 gets (1, 2), customer 1 gets (0, 2).
    /// Held out: customer 0 has 2 → 5 and 3 → 4 (both relevant at ≥ 4);
    /// customer 1 has 3 → 5 (relevant) and 0 → 1 (not).
    ///
    ///     customer 0: one hit (movie 2, position 2): P = 1/2, R = 1/2,
    ///                 NDCG = (1/log₂3) / (1 + 1/log₂3) = 0.386853…
    ///     customer 1: no hit: P = R = NDCG = 0
    ///     means: P = 0.25, R = 0.25, NDCG = 0.193426…; coverage {0, 1, 2} = 3/4
    func testHandComputedPrecisionRecallNDCGAndCoverage() {
        let train = RatingMatrix(customerIDs: [10, 11], movieIDs: [1, 2, 3, 4],
                                 entries: [.init(customer: 0, movie: 0, rating: 3, day: 0), .init(customer: 1, movie: 1, rating: 3, day: 0)])
        let test = heldOut([(0, 2, 5), (0, 3, 4), (1, 3, 5), (1, 0, 1)])
        let metrics = Ranking.evaluate(model(train), on: test, trainedOn: train, k: 2, threshold: 4, threads: 2)
        let g = 1 / log2(3.0)
        XCTAssertEqual(metrics.customers, 2)
        XCTAssertEqual(metrics.precision, 0.25, accuracy: 1e-12)
        XCTAssertEqual(metrics.recall, 0.25, accuracy: 1e-12)
        XCTAssertEqual(metrics.ndcg, (g / (1 + g)) / 2, accuracy: 1e-12)
        XCTAssertEqual(metrics.coverage, 0.75, accuracy: 1e-12)

        // Only relevant ratings count: at threshold 5 customer 0 keeps movie 2 alone.
        let strict = Ranking.evaluate(model(train), on: test, trainedOn: train, k: 2, threshold: 5, threads: 1)
        XCTAssertEqual(strict.customers, 2)
        XCTAssertEqual(strict.recall, 0.5, accuracy: 1e-12)        // (1/1 + 0/1) / 2
        XCTAssertEqual(strict.ndcg, g / 2, accuracy: 1e-12)        // customer 0: (1/log₂3) / 1

        // A model that ranks movie 3 first finds customer 1's movie at position 1.
        let other = Ranking.evaluate(model(train, movieFactors: [0.1, 0.2, 0.3, 0.9]), on: test, trainedOn: train, k: 2, threshold: 4, threads: 1)
        XCTAssertEqual(other.precision, (1.0 + 0.5) / 2, accuracy: 1e-12)   // customer 0: (3, 2) two hits; customer 1: (3, 2) one
        XCTAssertEqual(other.ndcg, 1, accuracy: 1e-12)
        XCTAssertEqual(other.coverage, 0.5, accuracy: 1e-12)
    }

    func testNoRelevantRatingsGiveZeroCustomers() {
        let train = RatingMatrix(customerIDs: [10, 11], movieIDs: [1, 2, 3, 4],
                                 entries: [.init(customer: 0, movie: 0, rating: 3, day: 0)])
        let metrics = Ranking.evaluate(model(train), on: heldOut([(0, 1, 2)]), trainedOn: train, k: 10, threshold: 4)
        XCTAssertEqual(metrics.customers, 0)
        XCTAssertEqual(metrics.precision, 0)
    }

    /// Customers with 1, 2 and 3 training ratings, every prediction 3 (rank 0,
    /// no biases): each is its own group, with RMSE 2, 1 and 0.
    func testErrorByDecileGroupsByTrainingActivity() {
        var entries: [RatingMatrix.Entry] = []
        for (c, n) in [(0, 1), (1, 2), (2, 3)] {
            for m in 0..<n { entries.append(.init(customer: Int32(c), movie: Int32(m), rating: 3, day: 0)) }
        }
        let train = RatingMatrix(customerIDs: [1, 2, 3], movieIDs: [1, 2, 3, 4], entries: entries)
        let flat = Ranking.baselineModel(BiasModel(globalMean: 3, customerBias: [0, 0, 0], movieBias: [0, 0, 0, 0]),
                                         train: train, scale: .netflix)
        let test = heldOut([(1, 3, 4), (0, 3, 5), (2, 3, 3), (1, 2, 2)])
        let deciles = Evaluation.errorByDecile(flat, on: test, trainedOn: train, by: .customerActivity)
        XCTAssertEqual(deciles.map(\.decile), [1, 2, 3])
        XCTAssertEqual(deciles.map(\.lowTrainRatings), [1, 2, 3])
        XCTAssertEqual(deciles.map(\.n), [1, 2, 1])
        XCTAssertEqual(deciles.map(\.rmse), [2, 1, 0])

        // By movie: movie 3 (no training rating) then movie 2 (one): ascending popularity.
        let movies = Evaluation.errorByDecile(flat, on: test, trainedOn: train, by: .moviePopularity)
        XCTAssertEqual(movies.map(\.lowTrainRatings), [0, 1])
        XCTAssertEqual(movies.map(\.n), [3, 1])
        XCTAssertEqual(movies[0].rmse, ((1.0 + 4 + 0) / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(movies[1].rmse, 1, accuracy: 1e-12)
    }

    /// 25 customers with 1…25 training ratings: ten groups of two or three, in order.
    func testDecilesAreEqualSizedAndOrdered() {
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<25 { for m in 0...c { entries.append(.init(customer: Int32(c), movie: Int32(m), rating: 4, day: 0)) } }
        let train = RatingMatrix(customerIDs: (0..<25).map { Int64($0) }, movieIDs: (0..<30).map { Int64($0) }, entries: entries)
        let flat = Ranking.baselineModel(BiasModel(globalMean: 3, customerBias: .init(repeating: 0, count: 25), movieBias: .init(repeating: 0, count: 30)),
                                         train: train, scale: .netflix)
        let test = heldOut((0..<25).map { (Int32($0), 29, 4) })
        let deciles = Evaluation.errorByDecile(flat, on: test, trainedOn: train, by: .customerActivity)
        XCTAssertEqual(deciles.count, 10)
        XCTAssertEqual(deciles.reduce(0) { $0 + $1.members }, 25)
        XCTAssertTrue(deciles.allSatisfy { (2...3).contains($0.members) })
        XCTAssertEqual(deciles.first?.lowTrainRatings, 1)
        XCTAssertEqual(deciles.last?.highTrainRatings, 25)
        XCTAssertTrue(zip(deciles, deciles.dropFirst()).allSatisfy { $0.highTrainRatings < $1.lowTrainRatings })
    }

    /// Predictions 3.4 (rounded to 3) against actual 1, 3, 5, 5.
    func testDistributionCountsActualAndRoundedPredictions() {
        let train = RatingMatrix(customerIDs: [1], movieIDs: [1], entries: [.init(customer: 0, movie: 0, rating: 3, day: 0)])
        let flat = Ranking.baselineModel(BiasModel(globalMean: 3.4, customerBias: [0], movieBias: [0]), train: train, scale: .netflix)
        let d = Evaluation.distribution(flat, on: heldOut([(0, 0, 1), (0, 0, 3), (0, 0, 5), (0, 0, 5)]))
        XCTAssertEqual(d.values, [1, 2, 3, 4, 5])
        XCTAssertEqual(d.actual, [1, 0, 1, 0, 2])
        XCTAssertEqual(d.predicted, [0, 0, 4, 0, 0])
    }
}
