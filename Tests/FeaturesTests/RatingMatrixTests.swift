import XCTest
import Runtime
@testable import Features

final class RatingMatrixTests: XCTestCase {
    /// 3 customers × 3 movies, given out of order:
    ///   c0: m2 = 4, m0 = 5      c1: m1 = 2      c2: m0 = 1, m1 = 3, m2 = 0.5
    func testBothLayoutsFromUnorderedEntries() {
        let entries: [RatingMatrix.Entry] = [
            .init(customer: 2, movie: 1, rating: 3, day: 12),
            .init(customer: 0, movie: 2, rating: 4, day: 10),
            .init(customer: 1, movie: 1, rating: 2, day: 11),
            .init(customer: 2, movie: 0, rating: 1, day: 13),
            .init(customer: 0, movie: 0, rating: 5, day: 14),
            .init(customer: 2, movie: 2, rating: 0.5, day: 15),
        ]
        let m = RatingMatrix(customerIDs: [100, 200, 300], movieIDs: [7, 8, 9], entries: entries)
        XCTAssertEqual(m.count, 6)
        XCTAssertEqual(m.customerStart, [0, 2, 3, 6])
        XCTAssertEqual(m.customerMovie, [0, 2, 1, 0, 1, 2])          // ascending within each customer
        XCTAssertEqual(m.customerRating, [5, 4, 2, 1, 3, 0.5])
        XCTAssertEqual(m.customerDay, [14, 10, 11, 13, 12, 15])
        XCTAssertEqual(m.movieStart, [0, 2, 4, 6])
        XCTAssertEqual(m.movieCustomer, [0, 2, 1, 2, 0, 2])          // ascending within each movie
        XCTAssertEqual(m.movieRating, [5, 1, 2, 3, 4, 0.5])
        XCTAssertEqual(Array(m.ratings(ofCustomer: 2).movies), [0, 1, 2])
        XCTAssertEqual(Array(m.ratings(ofMovie: 1).ratings), [2, 3])
    }

    func testBuildingFromTheMovieLayoutGivesTheSameMatrix() {
        var rng = SeededGenerator(seed: 4)
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<40 { for m in 0..<25 where rng.next() % 3 == 0 {
            entries.append(.init(customer: Int32(c), movie: Int32(m), rating: Float(rng.next() % 10 + 1) / 2, day: Int32(rng.next() % 1000)))
        } }
        entries.shuffle(using: &rng)
        let ids = { (n: Int) in (0..<n).map { Int64($0 * 3 + 1) } }
        let fromEntries = RatingMatrix(customerIDs: ids(40), movieIDs: ids(25), entries: entries)
        // The CSC half with days, as the export streams it in (movie, customer) order.
        let ordered = entries.sorted { ($0.movie, $0.customer) < ($1.movie, $1.customer) }
        var movieStart = [Int](repeating: 0, count: 26)
        for e in ordered { movieStart[Int(e.movie) + 1] += 1 }
        for m in 0..<25 { movieStart[m + 1] += movieStart[m] }
        let fromMovies = RatingMatrix(customerIDs: ids(40), movieIDs: ids(25), movieStart: movieStart,
                                      movieCustomer: ordered.map(\.customer), movieRating: ordered.map(\.rating),
                                      movieDay: ordered.map(\.day))
        XCTAssertEqual(fromMovies, fromEntries)
    }

    func testRestoringChecksShapes() {
        XCTAssertNil(RatingMatrix(customerIDs: [1], movieIDs: [1], customerStart: [0, 2], customerMovie: [0],
                                  customerRating: [1], customerDay: [0], movieStart: [0, 1], movieCustomer: [0], movieRating: [1]))
        XCTAssertNotNil(RatingMatrix(customerIDs: [1], movieIDs: [1], customerStart: [0, 1], customerMovie: [0],
                                     customerRating: [1], customerDay: [0], movieStart: [0, 1], movieCustomer: [0], movieRating: [1]))
    }

    func testApplyingChangesEqualsBuildingFromTheChangedEntries() {
        var generator = SeededGenerator(seed: 3)
        var entries: [RatingMatrix.Entry] = []
        var seen = Set<[Int32]>()
        while entries.count < 500 {
            let c = Int32.random(in: 0..<60, using: &generator), m = Int32.random(in: 0..<25, using: &generator)
            if seen.insert([c, m]).inserted {
                entries.append(.init(customer: c, movie: m, rating: Float(Int.random(in: 1...5, using: &generator)), day: Int32.random(in: 0..<999, using: &generator)))
            }
        }
        let customers = (0..<60).map { Int64($0 * 3 + 1) }, movies = (0..<25).map { Int64($0 + 1) }
        let base = RatingMatrix(customerIDs: customers, movieIDs: movies, entries: entries)
        // Replace 40 held pairs, add pairs for a new customer and a new movie.
        var changes = entries.prefix(40).map { RatingMatrix.Entry(customer: $0.customer, movie: $0.movie, rating: 6 - $0.rating, day: $0.day + 1) }
        changes += [.init(customer: 60, movie: 3, rating: 2, day: 5), .init(customer: 60, movie: 25, rating: 4, day: 6),
                    .init(customer: 0, movie: 25, rating: 1, day: 7)]
        var expected = Dictionary(uniqueKeysWithValues: entries.map { ([$0.customer, $0.movie], $0) })
        for c in changes { expected[[c.customer, c.movie]] = c }
        let grown = base.applying(changes.shuffled(using: &generator), customerIDs: customers + [999], movieIDs: movies + [26])
        XCTAssertEqual(grown, RatingMatrix(customerIDs: customers + [999], movieIDs: movies + [26], entries: Array(expected.values)))
        XCTAssertEqual(grown?.count, 503)
        // Vocabularies may only grow.
        XCTAssertNil(base.applying([], customerIDs: Array(customers.dropLast()), movieIDs: movies))
        XCTAssertNil(base.applying([], customerIDs: customers.reversed(), movieIDs: movies))
    }
}
