import Runtime
import Features
import Foundation
import Models
@testable import Workflows
import XCTest

/// The recommend policy on a hand-made rank-1 model, no database: which basis
/// a customer gets, fold-in, the seen filter.
///
/// Model: μ = 3; movies 10, 20, 30 with factors +1, 0, −1 and biases 0, 0.5, 0;
/// customer 100 (5 training ratings) has factor 2, customer 200 none (factor 0,
/// no training ratings). Scores of customer 100: 3 + 2 = 5, 3.5, 3 − 2 = 1.
final class RecommendPolicyTests: XCTestCase {
    var folder: URL!
    var file: ModelFile!
    let titles: [Int64: (title: String, year: Int?)] = [10: ("Ten", 2001), 20: ("Twenty", nil), 30: ("Thirty", 1999)]

    override func setUpWithError() throws {
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("policy-\(UUID().uuidString.prefix(8))")
        let model = FactorModel(kind: "als", parameters: #"{"regularization": 0.1}"#, dataVersion: "v1", splitID: 1, scale: .netflix,
                                customerIDs: [100, 200], movieIDs: [10, 20, 30], globalMean: 3, customerBias: [0, 0],
                                movieBias: [0, 0.5, 0], rank: 1, customerFactors: [2, 0], movieFactors: [1, 0, -1],
                                customerTrainCount: [5, 0])
        let url = folder.appendingPathComponent("m.rsm")
        try ModelFile.write(model, to: url)
        file = try ModelFile(contentsOf: url)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    func list(_ id: Int64, _ ratings: [(movieID: Int64, rating: Double)], version: String? = "v1", top: Int = 10,
              includeRated: Bool = false) throws -> RecommendationList {
        try Recommender.list(customer: id, ratings: ratings, file: file, currentDataVersion: version, top: top,
                             includeRated: includeRated) { ids in self.titles.filter { ids.contains($0.key) } }
    }

    func testATrainedCustomerGetsTheModelAndNeverARatedMovie() throws {
        let seen = try list(100, [(10, 5)])
        XCTAssertEqual(seen.basis, .model)
        XCTAssertEqual(seen.recommendations.map(\.movieId), [20, 30])
        XCTAssertEqual(seen.recommendations.map(\.predictedRating), [3.5, 1])
        XCTAssertEqual(seen.recommendations.map(\.title), ["Twenty", "Thirty"])
        XCTAssertEqual(seen.ratingsKnown, 1)
        let all = try list(100, [(10, 5)], includeRated: true)
        XCTAssertEqual(all.recommendations.map(\.movieId), [10, 20, 30])
        XCTAssertEqual(all.recommendations.first?.predictedRating, 5)   // 3 + 2, inside the scale
        XCTAssertEqual(try list(100, [], top: 1).recommendations.map(\.movieId), [10])
    }

    /// No training ratings, or not in the model at all: μ + movie bias, movie 20 first.
    func testACustomerTheModelKnowsNothingOfGetsTheBaseline() throws {
        for id: Int64 in [200, 999] {
            let baseline = try list(id, [(30, 2)])
            XCTAssertEqual(baseline.basis, .baseline, "\(id)")
            XCTAssertEqual(baseline.recommendations.map(\.movieId), [20, 10], "\(id)")
            XCTAssertEqual(baseline.recommendations.map(\.predictedRating), [3.5, 3])
        }
    }

    /// Ratings newer than the model: factors solved against the fixed movie factors.
    func testRatingsNewerThanTheModelAreFoldedIn() throws {
        let liked10 = try list(200, [(10, 5), (30, 1)], version: "v2", includeRated: true)
        XCTAssertEqual(liked10.basis, .foldedIn)
        XCTAssertEqual(liked10.recommendations.first?.movieId, 10, "a customer who loved 10 and hated 30 gets 10 first")
        XCTAssertEqual(liked10.recommendations.last?.movieId, 30)
        let liked30 = try list(200, [(10, 1), (30, 5)], version: "v2", includeRated: true)
        XCTAssertEqual(liked30.recommendations.first?.movieId, 30)
        XCTAssertEqual(try list(200, [(10, 5), (30, 1)], version: "v2").recommendations.map(\.movieId), [20])
        // Nothing the model can use (a movie it does not know): the baseline.
        XCTAssertEqual(try list(200, [(77, 5)], version: "v2").basis, .baseline)
    }

    func testFoldInUsesTheModelsRegularization() {
        var als = ALSConfiguration()
        als.regularization = 0.1
        XCTAssertEqual(Recommender.foldInRegularization(kind: "als", parameters: als.json), 0.1)
        XCTAssertEqual(Recommender.foldInRegularization(kind: "sgd", parameters: SGDConfiguration().json), 0.02)
        XCTAssertEqual(Recommender.foldInRegularization(kind: "svd", parameters: SVDConfiguration().json), ALSConfiguration().regularization)
        XCTAssertEqual(Recommender.foldInRegularization(kind: "als", parameters: "{}"), ALSConfiguration().regularization)
    }

    func testTheOneJSONFormIsSortedSnakeCaseWithANewline() throws {
        let text = String(decoding: try JSON.document(try list(100, [])), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\n  \"basis\" : \"model\",\n  \"customer_id\" : 100,"), text)
        XCTAssertTrue(text.hasSuffix("}\n"))
    }

    /// Customer 100 scores movie 10 at 5 (bias 0 + 2·1), 20 at 3.5, 30 at 1.
    /// Movie 10 has 2 training ratings, 20 has 40, 30 has 9.
    func testMinimumSupportDropsThinMoviesAndShrinkagePullsTowardTheBaseline() throws {
        func list(_ support: SupportPolicy) throws -> [Int64] {
            try Recommender.list(customer: 100, ratings: [], file: file, currentDataVersion: "v1", top: 3, includeRated: false,
                                 support: support, movieSupport: [2, 40, 9]) { ids in self.titles.filter { ids.contains($0.key) } }
                .recommendations.map(\.movieId)
        }
        XCTAssertEqual(try list(.none), [10, 20, 30])
        XCTAssertEqual(try list(SupportPolicy(minSupport: 5)), [20, 30], "movie 10 has 2 training ratings")
        XCTAssertEqual(try list(SupportPolicy(minSupport: 41)), [], "nothing is supported")
        // β = 18: movie 10's interaction 2 × 2/20 = 0.2 → 3.2, below movie 20's 3.5 (its interaction is 0).
        let shrunk = try Recommender.list(customer: 100, ratings: [], file: file, currentDataVersion: "v1", top: 3, includeRated: false,
                                          support: SupportPolicy(shrinkage: 18), movieSupport: [2, 40, 9]) { _ in [:] }
        XCTAssertEqual(shrunk.recommendations.map(\.movieId), [20, 10, 30])
        for (got, expected) in zip(shrunk.recommendations.compactMap(\.predictedRating), [3.5, 3.2, 3 - 2 * 9.0 / 27]) {
            XCTAssertEqual(got, expected, accuracy: 1e-6, "30: 3 − 2 × 9/27")
        }
        XCTAssertThrowsError(try SupportPolicy(minSupport: -1).validate())
        XCTAssertThrowsError(try SupportPolicy(shrinkage: .nan).validate())
    }
}
