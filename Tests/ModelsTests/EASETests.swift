import Features
import Runtime
import XCTest
@testable import Models

final class EASETests: XCTestCase {
    /// A small matrix whose closed form is worked by an independent route:
    /// Gauss–Jordan inversion of XᵀX + λI in double precision.
    func testTheWeightsAreTheClosedFormWithAZeroDiagonal() throws {
        var rng = SeededGenerator(seed: 3)
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<30 {
            for m in 0..<7 where rng.unit() < 0.45 { entries.append(.init(customer: Int32(c), movie: Int32(m), rating: 4, day: 0)) }
        }
        let matrix = RatingMatrix(customerIDs: (0..<30).map { Int64($0 + 1) }, movieIDs: (0..<7).map { Int64($0 + 1) }, entries: entries)
        var c = EASEConfiguration()
        c.lambda = 3
        let model = try EASETrainer(c).fit(matrix, scale: .netflix)
        let n = 7
        // G = XᵀX + λI by counting, then P = G⁻¹ by Gauss–Jordan.
        var a = [[Double]](repeating: [Double](repeating: 0, count: 2 * n), count: n)
        for customer in 0..<30 {
            let movies = matrix.ratings(ofCustomer: customer).movies.map(Int.init)
            for i in movies { for j in movies { a[i][j] += 1 } }
        }
        for i in 0..<n { a[i][i] += 3; a[i][n + i] = 1 }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            a.swapAt(col, pivot)
            let d = a[col][col]
            for j in 0..<(2 * n) { a[col][j] /= d }
            for r in 0..<n where r != col {
                let f = a[r][col]
                for j in 0..<(2 * n) { a[r][j] -= f * a[col][j] }
            }
        }
        for j in 0..<n {
            for i in 0..<n {
                let expected = i == j ? 0 : -a[j][n + i] / a[i][n + i]   // W[j, i] = B_ji = −P_ji / P_ii
                XCTAssertEqual(Double(model.itemWeights[j * n + i]), expected, accuracy: 1e-6, "W[\(j), \(i)]")
            }
        }
        XCTAssertEqual(model.kind, "ease")
        XCTAssertEqual(model.history, matrix.customerMovie)
        // A score is the sum of the rated movies' rows.
        let rated = matrix.ratings(ofCustomer: 4).movies
        let direct = rated.reduce(Float(0)) { $0 + model.itemWeights[Int($1) * n + 2] }
        XCTAssertEqual(model.score(customer: 4, movie: 2), Double(direct), accuracy: 1e-6)
        XCTAssertThrowsError(try { var bad = EASEConfiguration(); bad.lambda = 0; try bad.validate() }())
    }

    /// Two tastes plus blockbusters (`tasteRatings`): EASE learns
    /// which movies go together and beats "most popular" by far.
    func testItRanksByTasteWhereMostPopularCannot() throws {
        let (train, heldOut) = tasteRatings(customers: 200, perTaste: 20, blockbusters: 4, seen: 6, heldOut: 2, seed: 7)
        let model = try EASETrainer(EASEConfiguration()).fit(train, scale: .netflix)
        let ease = Ranking.evaluate(model, on: heldOut, trainedOn: train, k: 5, threshold: 4)
        let popular = Ranking.evaluate(Ranking.popularityModel(train: train, scale: .netflix), on: heldOut, trainedOn: train, k: 5, threshold: 4)
        XCTAssertGreaterThan(ease.ndcg, 2 * popular.ndcg, "EASE \(ease.ndcg) vs popularity \(popular.ndcg)")
        XCTAssertGreaterThan(ease.hitRate, 1.5 * popular.hitRate)
        // The batch kernel and the single-customer path give the same list.
        for customer in [0, 1, 99] {
            let seen = train.ratings(ofCustomer: customer).movies
            let single = model.itemWeights.withUnsafeBufferPointer { w in
                seen.withUnsafeBufferPointer { ex in
                    TopN.single(customerFactor: UnsafeBufferPointer(start: nil, count: 0), customerBias: 0, globalMean: 0,
                                movieBias: model.movieBias.withUnsafeBufferPointer { $0 }, movieFactors: UnsafeBufferPointer(start: nil, count: 0),
                                rank: 0, exclude: ex, count: 5, itemWeights: w, history: Array(seen))
                }
            }
            let bruteForce = (0..<44).filter { !seen.contains(Int32($0)) }
                .sorted { (model.score(customer: customer, movie: $0), -$0) > (model.score(customer: customer, movie: $1), -$1) }
            XCTAssertEqual(single.map { Int($0.movie) }, Array(bruteForce.prefix(5)), "customer \(customer)")
        }
    }
}

final class ItemKNNTests: XCTestCase {
    /// Cosine of who rated what, each movie's K most similar kept, worked by hand.
    func testNeighboursAreTheTopCosinesByHand() throws {
        // Customers × movies: 0 rates {0, 1}, 1 rates {0, 1, 2}, 2 rates {1, 2}, 3 rates {3}.
        let rated: [[Int32]] = [[0, 1], [0, 1, 2], [1, 2], [3]]
        let entries = rated.enumerated().flatMap { c, movies in movies.map { RatingMatrix.Entry(customer: Int32(c), movie: $0, rating: 4, day: 0) } }
        let matrix = RatingMatrix(customerIDs: [1, 2, 3, 4], movieIDs: [10, 20, 30, 40], entries: entries)
        var c = ItemKNNConfiguration()
        c.neighbours = 1
        let model = try ItemKNNTrainer(c).fit(matrix, scale: .netflix)
        let w = { (j: Int, i: Int) in Double(model.itemWeights[j * 4 + i]) }
        // n_0 = 2, n_1 = 3, n_2 = 2, n_3 = 1; n_01 = 2, n_02 = 1, n_12 = 2.
        XCTAssertEqual(w(0, 1), 2 / (2.0 * 3).squareRoot(), accuracy: 1e-6)   // 0's best: 1 (0.816) over 2 (0.5)
        XCTAssertEqual(w(0, 2), 0)
        XCTAssertEqual(w(1, 0), 2 / (3.0 * 2).squareRoot(), accuracy: 1e-6)   // 1's: 0 and 2 tie at 0.816, the lower index wins
        XCTAssertEqual(w(1, 2), 0)
        XCTAssertEqual(w(2, 1), 2 / (2.0 * 3).squareRoot(), accuracy: 1e-6)
        XCTAssertTrue((0..<4).allSatisfy { w(3, $0) == 0 && w($0, 3) == 0 }, "movie 3 shares no customer")
        XCTAssertTrue((0..<4).allSatisfy { w($0, $0) == 0 })
        // Customer 0 (rated 0, 1): score of 2 = w(0, 2) + w(1, 2) = 0.
        XCTAssertEqual(model.score(customer: 0, movie: 2), 0)
        XCTAssertEqual(model.score(customer: 2, movie: 0), w(1, 0) + w(2, 0), accuracy: 1e-6)
        c.shrinkage = 10
        let shrunk = try ItemKNNTrainer(c).fit(matrix, scale: .netflix)
        XCTAssertEqual(Double(shrunk.itemWeights[0 * 4 + 1]), 2 / ((2.0 * 3).squareRoot() + 10), accuracy: 1e-6)
    }
}

