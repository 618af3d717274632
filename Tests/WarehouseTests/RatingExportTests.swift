import Features
import Runtime
import TestSupport
import XCTest
@testable import Warehouse

/// The ratings export against a real load: the matrix equals the source files,
/// the cache serves the same data version and is rebuilt when it cannot be trusted.
final class RatingExportTests: DatabaseTestCase {
    override var databasePrefix: String { "export" }

    func testMatrixMatchesTheSourceAndIsCachedPerDataVersion() throws {
        let data = folder.appendingPathComponent("data")
        try generate(.netflix, into: data, ratings: 20_000, customers: 700, movies: 90, seed: 11)
        let db = try TestServer.connect(conninfo)
        XCTAssertThrowsError(try RatingExport.matrix(db, home: home))   // nothing loaded yet
        try load(LoadOptions(dataDirectory: data))

        let truth = try SourceTruth.netflix(data)
        let first = try RatingExport.matrix(db, home: home)
        XCTAssertFalse(first.cached)
        let m = first.matrix
        XCTAssertEqual(m.count, truth.ratings)
        XCTAssertEqual(Int(m.customerRating.reduce(0) { $0 + Double($1) } * 2), truth.halfStarSum)
        var perMovie: [Int: Int] = [:]
        for i in 0..<m.movieCount { perMovie[Int(m.movieIDs[i])] = m.movieStart[i + 1] - m.movieStart[i] }
        XCTAssertEqual(perMovie.filter { $0.value > 0 }, truth.perMovie)
        for c in 0..<m.customerCount {
            let row = m.customerStart[c]..<m.customerStart[c + 1]
            XCTAssertEqual(row.count, truth.customers[Int(m.customerIDs[c])]?.count)
        }
        // Days since the epoch: the earliest day is the source's earliest date.
        let earliest = CivilDate(daysSinceEpoch: Int(m.customerDay.min()!)).iso
        XCTAssertEqual(earliest, truth.minDate)

        let second = try RatingExport.matrix(db, home: home)
        XCTAssertTrue(second.cached)
        XCTAssertEqual(second.matrix, m)
        XCTAssertEqual(second.dataVersion, first.dataVersion)

        // A damaged cache file is not trusted: the matrix is exported again.
        let file = home.cache.appendingPathComponent("ratings-\(first.dataVersion).bin")
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count / 2).write(to: file)
        let third = try RatingExport.matrix(db, home: home)
        XCTAssertFalse(third.cached)
        XCTAssertEqual(third.matrix, m)

        // A new load is a new data version, with its own cache file; the old one goes.
        var fresh = LoadOptions(dataDirectory: data)
        fresh.fresh = true
        Thread.sleep(forTimeInterval: 1.1)   // data versions carry the second they were made
        try load(fresh)
        let fourth = try RatingExport.matrix(db, home: home)
        XCTAssertNotEqual(fourth.dataVersion, first.dataVersion)
        XCTAssertFalse(fourth.cached)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home.cache.path), ["ratings-\(fourth.dataVersion).bin"])
    }

    /// A MovieLens load lays the table out by user; the export still arrives in
    /// key order (the database sorts) and equals the source.
    func testMovieLensExportMatchesTheSource() throws {
        let data = folder.appendingPathComponent("ml")
        try generate(.movielens, into: data, ratings: 8_000, customers: 300, movies: 200, seed: 5)
        try load(LoadOptions(dataDirectory: data))
        let truth = try SourceTruth.movieLens(data)
        let m = try RatingExport.matrix(try TestServer.connect(conninfo), home: home).matrix
        XCTAssertEqual(m.count, truth.ratings)
        XCTAssertEqual(Int((m.movieRating.reduce(0) { $0 + Double($1) } * 2).rounded()), truth.halfStarSum)
        for c in 0..<m.customerCount {
            XCTAssertEqual(m.customerStart[c + 1] - m.customerStart[c], truth.customers[Int(m.customerIDs[c])]?.count)
        }
    }
}
