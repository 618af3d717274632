import Features
import XCTest

final class VocabularyTests: XCTestCase {
    func testAscendingIdsAreFoundByIndexAndKey() {
        let v = Vocabulary(ids: [3, 17, 1_000_000_007, 2_649_429])
        XCTAssertFalse(v.ascending, "2,649,429 follows 1,000,000,007")
        let sorted = Vocabulary(ids: [3, 17, 2_649_429, 1_000_000_007])
        XCTAssertTrue(sorted.ascending)
        for vocabulary in [v, sorted] {
            for (index, id) in vocabulary.ids.enumerated() {
                XCTAssertEqual(vocabulary.index(of: id), index)
                XCTAssertEqual(vocabulary[index], id)
                XCTAssertEqual(vocabulary.key(of: id), Int32(index + 1))
            }
            for absent: Int64 in [-1, 0, 4, 18, 2_649_430, .max, .min] { XCTAssertNil(vocabulary.index(of: absent)) }
        }
    }

    func testKeysAreIndexesPlusOneAndOutOfRangeKeysAreRefused() {
        XCTAssertEqual(Vocabulary.key(ofIndex: 0), 1)
        XCTAssertEqual(Vocabulary.key(ofIndex: 480_188), 480_189)
        XCTAssertEqual(Vocabulary.index(ofKey: Int32(1)), 0)
        XCTAssertEqual(Vocabulary.index(ofKey: 17_770), 17_769)
        XCTAssertEqual(Vocabulary.index(ofKey: 3, count: 3), 2)
        XCTAssertNil(Vocabulary.index(ofKey: 4, count: 3))
        XCTAssertNil(Vocabulary.index(ofKey: 0, count: 3))
        XCTAssertNil(Vocabulary.index(ofKey: Int32(-7), count: 3))
        for index in [0, 1, 99, 65_535] { XCTAssertEqual(Vocabulary.index(ofKey: Vocabulary.key(ofIndex: index)), index) }
    }

    func testARepeatedIdKeepsItsFirstIndex() {
        let v = Vocabulary(ids: [5, 2, 5, 9])
        XCTAssertFalse(v.ascending)
        XCTAssertEqual(v.index(of: 5), 0)
        XCTAssertEqual(v.index(of: 9), 3)
    }

    func testLookupOverForeignStorageMatchesTheVocabulary() {
        let ids: [Int64] = (0..<1000).map { Int64($0) * 7 + 3 }
        XCTAssertTrue(Vocabulary.strictlyAscending(ids))
        XCTAssertTrue(Vocabulary.strictlyAscending([Int64]()))
        XCTAssertFalse(Vocabulary.strictlyAscending([1, 1]))
        XCTAssertEqual(Vocabulary.firstOutOfOrder([1, 5, 9, 9, 2] as [Int64]), 3)
        ids.withUnsafeBufferPointer { buffer in
            for probe: Int64 in [3, 10, 6996, 4, 7000, -1] {
                XCTAssertEqual(Vocabulary.index(of: probe, in: buffer, ascending: true), Vocabulary(ids: ids).index(of: probe))
                XCTAssertEqual(Vocabulary.index(of: probe, in: buffer, ascending: false), Vocabulary(ids: ids).index(of: probe))
            }
        }
    }

    func testTheMatrixCarriesOneVocabularyPerSide() {
        let m = RatingMatrix(customerIDs: [10, 4], movieIDs: [7, 8, 9],
                             entries: [.init(customer: 0, movie: 2, rating: 4, day: 0), .init(customer: 1, movie: 0, rating: 3, day: 0)])
        XCTAssertEqual(m.customers.index(of: 4), 1)
        XCTAssertEqual(m.movies.index(of: 9), 2)
        XCTAssertEqual(m.customerIDs, [10, 4])
        XCTAssertNil(m.movies.index(of: 10))
    }
}
