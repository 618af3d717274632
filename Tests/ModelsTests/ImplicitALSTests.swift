import Features
import Runtime
import XCTest
@testable import Models

final class ImplicitALSTests: XCTestCase {
    /// Two tastes and four blockbusters (see `tasteRatings`).
    private func tasteData(seed: UInt64 = 7) -> (train: RatingMatrix, heldOut: HeldOutRatings) {
        tasteRatings(customers: 200, perTaste: 20, blockbusters: 4, seen: 6, heldOut: 2, seed: seed)
    }

    func testItRanksByTasteWhereMostPopularCannot() throws {
        let (train, heldOut) = tasteData()
        var c = ImplicitALSConfiguration()
        c.rank = 8
        c.iterations = 10
        let model = try ImplicitALSTrainer(c).fit(train, scale: .netflix)
        let ials = Ranking.evaluate(model, on: heldOut, trainedOn: train, k: 5, threshold: 4)
        let popular = Ranking.evaluate(Ranking.popularityModel(train: train, scale: .netflix), on: heldOut, trainedOn: train, k: 5, threshold: 4)
        XCTAssertEqual(ials.customers, 200)
        // Popularity's lists are the same few movies for everyone: after the
        // blockbusters (all seen by most) it can only guess among 40 taste movies.
        XCTAssertLessThan(popular.ndcg, 0.25)
        XCTAssertGreaterThan(ials.ndcg, 2 * popular.ndcg, "implicit ALS \(ials.ndcg) vs popularity \(popular.ndcg)")
        // Within a taste nothing more is planted: a list of 5 of the 14 unseen own-taste
        // movies holds one of the 2 held out with chance 1 − C(12,5)/C(14,5) ≈ 0.60.
        XCTAssertEqual(ials.hitRate, 0.6, accuracy: 0.12)
        XCTAssertGreaterThan(ials.hitRate, 1.5 * popular.hitRate)
        XCTAssertGreaterThan(ials.coverage, popular.coverage)
        // Every list stays within the customer's own taste.
        for customer in [0, 1, 57, 198] {
            let scores = (0..<40).map { m in model.score(customer: customer, movie: m) }
            let own = customer % 2 == 0 ? 0..<20 : 20..<40
            let best = scores.indices.max { scores[$0] < scores[$1] }!
            XCTAssertTrue(own.contains(best), "customer \(customer)'s best taste movie \(best)")
        }
    }

    func testConjugateGradientReachesTheExactSolveOfARow() throws {
        let (train, _) = tasteData()
        var c = ImplicitALSConfiguration()
        c.rank = 6
        c.iterations = 4
        let model = try ImplicitALSTrainer(c).fit(train, scale: .netflix)
        // One customer's row, solved exactly (Cholesky) and by CG from zero with k steps:
        // in exact arithmetic CG is exact after k steps; in float it is within rounding.
        let customer = 3
        let (movies, ratings) = train.ratings(ofCustomer: customer)
        let rated = zip(movies, ratings).map { (movie: $0, rating: $1) }
        let exact = try model.movieFactors.withUnsafeBufferPointer {
            try ImplicitALSTrainer.solve(ratings: rated, movieFactors: $0, rank: 6, configuration: c)
        }
        var cgConfiguration = c
        cgConfiguration.cgSteps = 6
        var x = [Float](repeating: 0, count: train.customerCount * 6)
        ImplicitALSTrainer(cgConfiguration).sweep(rows: train.customerCount, start: train.customerStart, partner: train.customerMovie,
                                                   confidence: train.customerRating.map { c.confidence(of: $0) },
                                                   fixed: model.movieFactors, solved: &x)
        let cg = Array(x[(customer * 6)..<(customer * 6 + 6)])
        let scale = exact.map(abs).max()!
        XCTAssertGreaterThan(scale, 1e-3)
        for (a, b) in zip(cg, exact) { XCTAssertEqual(a, b, accuracy: 1e-3 * scale) }
    }

    func testSameSeedSameBitsAnyThreadCountAndConfidenceForms() throws {
        let (train, _) = tasteData()
        var c = ImplicitALSConfiguration()
        c.rank = 5
        c.iterations = 3
        c.threads = 1
        let one = try ImplicitALSTrainer(c).fit(train, scale: .netflix)
        c.threads = 2
        let two = try ImplicitALSTrainer(c).fit(train, scale: .netflix)
        XCTAssertEqual(one.customerFactors.map(\.bitPattern), two.customerFactors.map(\.bitPattern))
        XCTAssertEqual(one.movieFactors.map(\.bitPattern), two.movieFactors.map(\.bitPattern))
        XCTAssertEqual(c.confidence(of: 4), 1 + 2 * 4)
        c.confidence = .log
        c.epsilon = 2
        XCTAssertEqual(Double(c.confidence(of: 4)), 1 + 2 * log(3), accuracy: 1e-6)
        XCTAssertEqual(one.globalMean, 0)
        XCTAssertTrue(one.customerBias.allSatisfy { $0 == 0 } && one.movieBias.allSatisfy { $0 == 0 })
    }

    func testBadConfigurationsAreRefusedWithTheField() {
        for (change, field) in [({ (c: inout ImplicitALSConfiguration) in c.alpha = 0 }, "alpha"),
                                ({ $0.cgSteps = 0 }, "cg steps"), ({ $0.rank = 0 }, "rank"),
                                ({ $0.regularization = -1 }, "regularization")] as [((inout ImplicitALSConfiguration) -> Void, String)] {
            var c = ImplicitALSConfiguration()
            change(&c)
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains(field), "\($0)") }
        }
        var grid = ModelConfiguration.ials(ImplicitALSConfiguration())
        XCTAssertNoThrow(try grid.set("alpha", 10))
        XCTAssertEqual(grid.value("alpha"), 10)
        XCTAssertThrowsError(try grid.set("lr", 0.1))
    }
}
