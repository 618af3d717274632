import TestSupport
import XCTest
@testable import Warehouse

/// The pre-load scan over several files: the parallel path must decide what a
/// sequential reader decides, in file order.
final class ScanTests: TemporaryFolderTestCase {
    override var folderPrefix: String { "scan" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try "1,2001,One\n2,2002,Two\n3,2003,Three\n".write(to: folder.appendingPathComponent("movie_titles.csv"), atomically: true, encoding: .utf8)
    }

    func write(_ files: [String]) throws -> SourceSet {
        for (i, text) in files.enumerated() {
            try text.write(to: folder.appendingPathComponent("combined_data_\(i + 1).txt"), atomically: true, encoding: .utf8)
        }
        return try SourceSet.resolve(directory: folder, format: nil)
    }

    func testCustomersMergeAcrossFilesWithKeysInIdOrder() throws {
        let source = try write(["1:\n30,3,2005-01-05\n10,4,2005-01-01\n", "2:\n10,5,2004-06-01\n20,1,2005-03-01\n"])
        let catalog = try SourceScanner(maxRejects: 0).scan(source)
        XCTAssertEqual(catalog.totalRatings, 4)
        XCTAssertEqual(catalog.customerCount, 3)
        var byID: [Int64: (key: Int32, first: Int32, last: Int32, count: Int32)] = [:]
        for (i, id) in catalog.customerIndex.ids.enumerated() {
            byID[id] = (catalog.customerKey[i], catalog.firstDate[i], catalog.lastDate[i], catalog.ratingCount[i])
        }
        // Keys by id: 10 → 1, 20 → 2, 30 → 3. Customer 10 rated in both files.
        XCTAssertEqual(byID[10]?.key, 1)
        XCTAssertEqual(byID[20]?.key, 2)
        XCTAssertEqual(byID[30]?.key, 3)
        XCTAssertEqual(byID[10]?.first, 20040601)
        XCTAssertEqual(byID[10]?.last, 20050101)
        XCTAssertEqual(byID[10]?.count, 2)
        XCTAssertEqual(catalog.minDate, 20040601)
        XCTAssertEqual(catalog.maxDate, 20050301)
    }

    func testAMovieReopenedInALaterFileIsNamedThere() throws {
        let source = try write(["1:\n10,3,2005-01-05\n", "2:\n10,5,2004-06-01\n1:\n11,2,2005-01-01\n"])
        XCTAssertThrowsError(try SourceScanner(maxRejects: 0).scan(source)) { error in
            let input = error as! InputError
            XCTAssertEqual(input.file, "combined_data_2.txt")
            XCTAssertEqual(input.line, 3)
            XCTAssertTrue(input.problem.contains("MovieID 1 opens a second block (the first is at combined_data_1.txt:1)"), input.problem)
        }
    }

    func testRejectLimitCountsBadLinesInFileOrder() throws {
        let source = try write(["1:\n10,9,2005-01-05\n", "2:\n10,5,2004-06-01\n11,0,2005-01-01\n"])
        // One bad line per file: a limit of 1 stops at the second, in file 2.
        XCTAssertThrowsError(try SourceScanner(maxRejects: 1).scan(source)) { error in
            let input = error as! InputError
            XCTAssertEqual([input.file, String(input.line)], ["combined_data_2.txt", "3"])
        }
        let catalog = try SourceScanner(maxRejects: 2).scan(source)
        XCTAssertEqual(catalog.rejects.map { "\($0.file):\($0.line)" }, ["combined_data_1.txt:2", "combined_data_2.txt:3"])
        XCTAssertEqual(catalog.totalRatings, 1)
    }

    // Fuzzing findings (experiments/fuzz/findings), one test each.

    /// A line that ends in ':' but is no valid header closes the open block:
    /// its rating lines were loaded into the previous movie, silently.
    func testAGarbledHeaderRejectsItsBlockInsteadOfFeedingThePreviousMovie() throws {
        let source = try write(["1:\n10,3,2005-01-05\n2x:\n11,4,2005-01-01\n12,5,2005-01-02\n3:\n13,2,2005-01-03\n"])
        let catalog = try SourceScanner(maxRejects: 5).scan(source)
        XCTAssertEqual(catalog.rejects.map(\.line), [3, 4, 5])
        XCTAssertTrue(catalog.rejects[1].reason.contains("line 3, which was rejected"), catalog.rejects[1].reason)
        XCTAssertEqual(catalog.totalRatings, 2)   // 10 → movie 1, 13 → movie 3; nothing for movie 1 from the bad block
    }

    /// The parallel scan reports a reopened block exactly where the sequential scan does,
    /// even when bad lines in later files would reach --max-rejects first.
    func testAReopenedBlockIsReportedWhereTheSequentialScanMeetsIt() throws {
        let source = try write(["1:\n10,3,2005-01-05\n", "1:\n11,9,2005-01-01\n2:\n12,0,2005-01-01\n"])
        XCTAssertThrowsError(try SourceScanner(maxRejects: 1).scan(source)) { error in
            let input = error as! InputError
            XCTAssertEqual([input.file, String(input.line)], ["combined_data_2.txt", "2"], input.description)
        }
    }

    /// `(YYYY)` means four digits: "-995" and "+200" are part of the title.
    func testAMovieLensYearIsFourDigits() throws {
        let url = folder.appendingPathComponent("movies.csv")
        try "movieId,title,genres\n1,Heat (-995),Drama\n2,Up (+200),Comedy\n3,Heat (1995),Drama\n".write(to: url, atomically: true, encoding: .utf8)
        let movies = try TitlesReader.read(url, format: .movielens) { line, _, reason in XCTFail("\(line): \(reason)") }
        XCTAssertEqual(movies.map(\.title), ["Heat (-995)", "Up (+200)", "Heat"])
        XCTAssertEqual(movies.map(\.year), [nil, nil, 1995])
    }
}
