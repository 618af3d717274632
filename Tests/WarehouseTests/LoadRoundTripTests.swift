import Generator
import Logging
import TestSupport
import XCTest
@testable import Warehouse

/// Loads generated datasets into a real PostgreSQL and checks every table
/// against an independent reading of the files (TestSupport.SourceTruth).
final class LoadRoundTripTests: DatabaseTestCase {
    override var databasePrefix: String { "roundtrip" }

    func generate(_ format: GeneratedFormat, ratings: Int = 30_000, customers: Int = 900, movies: Int = 120) throws {
        try generate(format, into: folder, ratings: ratings, customers: customers, movies: movies, seed: 7)
    }

    func check(_ truth: SourceTruth, _ db: Connection) throws {
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), truth.ratings)
        XCTAssertEqual(try db.int("SELECT (sum(rating) * 2)::bigint FROM fact_ratings"), truth.halfStarSum)
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_movie"), truth.movies)
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_customer"), truth.customers.count)
        // Per-movie counts, joined through the surrogate key back to the source id.
        let perMovie = try db.execute("SELECT m.movie_id, count(*) FROM fact_ratings f JOIN dim_movie m USING (movie_key) GROUP BY 1")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: perMovie.rows.map { (Int($0[0]!)!, Int($0[1]!)!) }), truth.perMovie)
        // Customer aggregates.
        let customers = try db.execute("SELECT customer_id, total_ratings, first_rating_date::text, last_rating_date::text FROM dim_customer")
        var seen: [Int: SourceTruth.Customer] = [:]
        for row in customers.rows { seen[Int(row[0]!)!] = .init(count: Int(row[1]!)!, first: row[2]!, last: row[3]!) }
        XCTAssertEqual(seen, truth.customers)
        // Aggregates agree with the facts too.
        XCTAssertEqual(try db.int("""
            SELECT count(*) FROM dim_customer c JOIN (SELECT customer_key, count(*) n FROM fact_ratings GROUP BY 1) f USING (customer_key)
            WHERE f.n <> c.total_ratings
            """), 0)
        // The date dimension spans the ratings' dates day by day, with correct attributes.
        XCTAssertEqual(try db.execute("SELECT min(date_actual)::text, max(date_actual)::text FROM dim_date").rows.first!,
                       [truth.minDate, truth.maxDate])
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_date"), try db.int("SELECT max(date_actual) - min(date_actual) + 1 FROM dim_date"))
        XCTAssertEqual(try db.int("""
            SELECT count(*) FROM dim_date WHERE date_key <> to_char(date_actual, 'YYYYMMDD')::int
              OR year <> extract(year FROM date_actual) OR month <> extract(month FROM date_actual)
              OR day <> extract(day FROM date_actual) OR quarter <> extract(quarter FROM date_actual)
              OR day_of_week <> extract(isodow FROM date_actual) OR month_name <> trim(to_char(date_actual, 'Month'))
              OR is_weekend <> (extract(isodow FROM date_actual) >= 6)
            """), 0)
        // Keys and constraints are in place after post-processing.
        let constraints = Set(try db.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'fact_ratings'::regclass").rows.map { $0[0]! })
        XCTAssertTrue(constraints.isSuperset(of: ["fact_ratings_pkey", "fact_ratings_customer_fk", "fact_ratings_movie_fk", "fact_ratings_date_fk"]))
    }

    func testNetflixRoundTrip() throws {
        try generate(.netflix)
        let report = try load(LoadOptions(dataDirectory: folder))
        XCTAssertEqual(report.format, "netflix")
        let db = try TestServer.connect(conninfo)
        try check(try SourceTruth.netflix(folder), db)
        // ISO-8859-1 titles arrive as proper text: every title the file holds with a byte ≥ 0x80 is stored decoded.
        let accented = try db.int("SELECT count(*) FROM dim_movie WHERE title ~ '[^\\x01-\\x7F]'")
        let raw = try Data(contentsOf: folder.appendingPathComponent("movie_titles.csv"))
        let rawAccented = raw.split(separator: UInt8(ascii: "\n")).filter { $0.contains { $0 >= 0x80 } }.count
        XCTAssertEqual(accented, rawAccented)
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_movie WHERE release_year IS NULL"),
                       String(decoding: raw, as: UTF8.self).components(separatedBy: ",NULL,").count - 1)
        // A second run finds nothing to do.
        XCTAssertTrue(try load(LoadOptions(dataDirectory: folder)).alreadyComplete)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), try SourceTruth.netflix(folder).ratings)
    }

    func testMovieLensRoundTripKeepsHalfStars() throws {
        try generate(.movielens, ratings: 20_000, customers: 400, movies: 300)
        try load(LoadOptions(dataDirectory: folder))
        let db = try TestServer.connect(conninfo)
        try check(try SourceTruth.movieLens(folder), db)
        XCTAssertGreaterThan(try db.int("SELECT count(*) FROM fact_ratings WHERE rating IN (0.5, 1.5, 2.5, 3.5, 4.5)"), 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings WHERE rating * 2 <> trunc(rating * 2)"), 0)
        XCTAssertGreaterThan(try db.int("SELECT count(*) FROM dim_movie WHERE genres IS NOT NULL"), 0)
    }

    func testSmallBatchesGiveTheSameRowsAsOneBatch() throws {
        try generate(.netflix, ratings: 5_000, customers: 300, movies: 40)
        var options = LoadOptions(dataDirectory: folder)
        options.batchRows = 333
        try load(options)
        let db = try TestServer.connect(conninfo)
        try check(try SourceTruth.netflix(folder), db)
        let checkpoints = try db.execute("SELECT sum(rows), bool_and(done) FROM etl_checkpoint WHERE stage = 'fact_ratings'").rows.first!
        XCTAssertEqual(checkpoints, ["5000", "t"])
    }
}
