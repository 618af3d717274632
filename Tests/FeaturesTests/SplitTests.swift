import XCTest
import Runtime
@testable import Features

final class SplitTests: XCTestCase {
    /// 60 customers × 40 movies, each pair rated with probability ½, days random.
    private func matrix(seed: UInt64 = 1) -> RatingMatrix {
        var rng = SeededGenerator(seed: seed)
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<60 {
            for m in 0..<40 where rng.next() % 2 == 0 {
                entries.append(.init(customer: Int32(c), movie: Int32(m), rating: Float(1 + rng.next() % 5), day: Int32(rng.next() % 500)))
            }
        }
        return RatingMatrix(customerIDs: (0..<60).map { Int64(1000 + 7 * $0) }, movieIDs: (0..<40).map { Int64(1 + 3 * $0) },
                            entries: entries)
    }

    func testRandomSplitIsReproducibleAndNearItsFraction() throws {
        let m = matrix()
        let definition = SplitDefinition(kind: .random, testFraction: 0.2, validationFraction: 0.1, seed: 9)
        let a = try Splitter.assign(m, definition), b = try Splitter.assign(m, definition)
        XCTAssertEqual(a, b)
        let tests = a.filter { $0 == .test }.count, validations = a.filter { $0 == .validation }.count
        // Binomial(n ≈ 1200, 0.2): 4 standard deviations is about ±55.
        XCTAssertEqual(Double(tests), 0.2 * Double(m.count), accuracy: 4 * (0.16 * Double(m.count)).squareRoot())
        XCTAssertEqual(Double(validations), 0.08 * Double(m.count), accuracy: 4 * (0.0736 * Double(m.count)).squareRoot())
        var other = definition
        other.seed = 10
        XCTAssertNotEqual(try Splitter.assign(m, other), a)
    }

    /// The assignment of a pair depends on its ids only: a matrix with one
    /// customer more assigns every shared pair the same way.
    func testRandomAssignmentDependsOnThePairOnly() throws {
        let m = matrix()
        let definition = SplitDefinition(kind: .random, testFraction: 0.3, seed: 5)
        let parts = try Splitter.assign(m, definition)
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<m.customerCount {
            for s in m.customerStart[c]..<m.customerStart[c + 1] {
                entries.append(.init(customer: Int32(c), movie: m.customerMovie[s], rating: m.customerRating[s], day: m.customerDay[s]))
            }
        }
        entries.append(.init(customer: Int32(m.customerCount), movie: 0, rating: 3, day: 0))
        let bigger = RatingMatrix(customerIDs: m.customerIDs + [99_999], movieIDs: m.movieIDs, entries: entries)
        XCTAssertEqual(Array(try Splitter.assign(bigger, definition).prefix(m.count)), parts)
    }

    /// Each customer's latest ratings by date are test; the next latest validation.
    func testTemporalSplitTakesEachCustomersLatest() throws {
        let m = matrix()
        let parts = try Splitter.assign(m, SplitDefinition(kind: .temporal, testFraction: 0.25, validationFraction: 0.2))
        for c in 0..<m.customerCount {
            let range = m.customerStart[c]..<m.customerStart[c + 1]
            let n = range.count
            func key(_ s: Int) -> (Int32, Int64) { (m.customerDay[s], m.movieIDs[Int(m.customerMovie[s])]) }
            let tests = range.filter { parts[$0] == .test }, validations = range.filter { parts[$0] == .validation }
            let trains = range.filter { parts[$0] == .train }
            XCTAssertEqual(tests.count, min(n - 1, Int((0.25 * Double(n)).rounded())))
            XCTAssertEqual(validations.count, min(n - tests.count - 1, Int((0.2 * Double(n - tests.count)).rounded())))
            for t in tests { for v in validations + trains { XCTAssertTrue(key(v) < key(t)) } }
            for v in validations { for t in trains { XCTAssertTrue(key(t) < key(v)) } }
        }
    }

    func testPairSplitMarksExactlyTheListedRatings() throws {
        let m = matrix()
        // Every third rating of the first ten customers, plus one pair that is not a rating.
        var pairs: [(customer: Int32, movie: Int32)] = []
        for c in 0..<10 {
            for s in stride(from: m.customerStart[c], to: m.customerStart[c + 1], by: 3) { pairs.append((Int32(c), m.customerMovie[s])) }
        }
        let rated = Set(pairs.map { "\($0.customer)-\($0.movie)" })
        var missing = 0
        while rated.contains("0-\(missing)") || m.ratings(ofCustomer: 0).movies.contains(Int32(missing)) { missing += 1 }
        let parts = try Splitter.assign(m, SplitDefinition(kind: .file, validationFraction: 0.1), testPairs: pairs + [(0, Int32(missing))])
        XCTAssertEqual(parts.filter { $0 == .test }.count, pairs.count)
        for c in 0..<m.customerCount {
            for s in m.customerStart[c]..<m.customerStart[c + 1] {
                XCTAssertEqual(parts[s] == .test, rated.contains("\(c)-\(m.customerMovie[s])"))
            }
        }
        XCTAssertThrowsError(try Splitter.assign(m, SplitDefinition(kind: .probe), testPairs: [])) {
            XCTAssertEqual($0 as? SplitError, .emptyTest("none of the 0 listed pairs is a rating"))
        }
    }

    /// The train part holds exactly the train ratings in both layouts; the held-out parts the rest.
    func testPartitionKeepsEveryRatingOnce() throws {
        let m = matrix()
        let parts = try Splitter.assign(m, SplitDefinition(kind: .random, testFraction: 0.2, validationFraction: 0.1, seed: 3))
        var expectedTrain: [RatingMatrix.Entry] = [], expectedTest: [String] = []
        for c in 0..<m.customerCount {
            for s in m.customerStart[c]..<m.customerStart[c + 1] {
                let e = RatingMatrix.Entry(customer: Int32(c), movie: m.customerMovie[s], rating: m.customerRating[s], day: m.customerDay[s])
                if parts[s] == .train { expectedTrain.append(e) }
                if parts[s] == .test { expectedTest.append("\(c) \(m.customerMovie[s]) \(m.customerRating[s])") }
            }
        }
        let reference = RatingMatrix(customerIDs: m.customerIDs, movieIDs: m.movieIDs, entries: expectedTrain)
        let split = m.partitioned(by: parts)
        XCTAssertEqual(split.train, reference)
        XCTAssertEqual((0..<split.test.count).map { "\(split.test.customer[$0]) \(split.test.movie[$0]) \(split.test.rating[$0])" }, expectedTest)
        XCTAssertEqual(split.train.count + split.validation.count + split.test.count, m.count)
        XCTAssertEqual(split.validation.count, parts.filter { $0 == .validation }.count)
    }

    func testInvalidDefinitionsAreRefused() {
        XCTAssertThrowsError(try SplitDefinition(kind: .random, testFraction: 0).validate())
        XCTAssertThrowsError(try SplitDefinition(kind: .temporal, testFraction: 1).validate())
        XCTAssertThrowsError(try SplitDefinition(kind: .random, validationFraction: 1).validate())
        XCTAssertNoThrow(try SplitDefinition(kind: .probe, testFraction: 0).validate())
    }
}
