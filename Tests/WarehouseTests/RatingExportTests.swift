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

    func testLiveBatchesExtendTheCacheToExactlyWhatAFullExportReads() throws {
        let data = folder.appendingPathComponent("data")
        try generate(.netflix, into: data, ratings: 5_000, customers: 300, movies: 40, seed: 12)
        try load(LoadOptions(dataDirectory: data))
        let db = try TestServer.connect(conninfo)
        let before = try RatingExport.matrix(db, home: home)
        // A batch with a re-rating, a new pair and a new customer; then another.
        let rated = try db.execute("""
            SELECT c.customer_id, m.movie_id, f.rating::float8 FROM fact_ratings f JOIN dim_customer c USING (customer_key)
            JOIN dim_movie m USING (movie_key) ORDER BY 1, 2 LIMIT 1
            """).rows[0]
        let customer = Int64(rated[0]!)!, movie = Int64(rated[1]!)!
        let other: Double = rated[2] == "5" ? 1 : 5
        let unrated = Int64(try db.execute("""
            SELECT movie_id FROM dim_movie WHERE movie_key NOT IN (SELECT movie_key FROM fact_ratings f JOIN dim_customer c USING (customer_key)
            WHERE c.customer_id = \(customer)) LIMIT 1
            """).scalar()!)!
        let date = CivilDate(year: 2006, month: 1, day: 2)
        _ = try LiveRatings.ingest([IncomingRating(customerID: customer, movieID: movie, rating: other, date: date),
                                    IncomingRating(customerID: customer, movieID: unrated, rating: 3, date: date),
                                    IncomingRating(customerID: 9_999_999, movieID: movie, rating: 4, date: date)],
                                   idempotencyKey: nil, requestHash: "a", connection: db)
        _ = try LiveRatings.ingest([IncomingRating(customerID: 9_999_999, movieID: unrated, rating: 2, date: date)],
                                   idempotencyKey: nil, requestHash: "b", connection: db)
        let after = try RatingExport.matrix(db, home: home)
        XCTAssertFalse(after.cached)
        XCTAssertNotEqual(after.dataVersion, before.dataVersion)
        XCTAssertEqual(after.matrix.count, before.matrix.count + 3)
        XCTAssertEqual(after.matrix.customerCount, before.matrix.customerCount + 1)
        // Exactly what a full export of the warehouse reads.
        XCTAssertEqual(after.matrix, try RatingExport.export(db))
        let files = try FileManager.default.contentsOfDirectory(atPath: home.cache.path).filter { $0.hasPrefix("ratings-") }
        XCTAssertEqual(files, ["ratings-\(after.dataVersion).bin"], "the extended cache replaced the old one")
        XCTAssertTrue(try RatingExport.matrix(db, home: home).cached)
    }
}
