import TestSupport
import XCTest
@testable import Warehouse

/// The data-quality expectations on a real load: all pass on a clean one, and
/// each breakage below — made inside a transaction that is rolled back — fails
/// exactly the expectation it targets while every other one still passes.
/// Breakages that add a row also fix up what the row would otherwise break
/// (the load's bookkeeping counts, the customer's aggregates), so that only
/// the target expectation sees a fault.
final class CheckTests: DatabaseTestCase {
    override var databasePrefix: String { "check" }

    var db: Connection!
    var format: SourceFormat = .netflix

    func loadNetflix() throws {
        try generate(.netflix, into: folder, ratings: 4_000, customers: 300, movies: 40, seed: 11)
        try load(LoadOptions(dataDirectory: folder))
        db = try TestServer.connect(conninfo)
    }

    /// Runs every expectation inside the current transaction.
    func results() throws -> [CheckResult] {
        try db.execute("SET LOCAL work_mem = '64MB'")
        return try DataQuality.run(DataQuality.expectations(format: format), on: db).results
    }

    /// Applies `breakage` in a transaction, checks, rolls back; returns the names that failed.
    func failures(_ breakage: String) throws -> [String] {
        try db.execute("BEGIN")
        defer { _ = try? db.execute("ROLLBACK") }
        try db.execute(breakage)
        return try results().filter { !$0.passed }.map(\.name)
    }

    /// SQL that moves the bookkeeping of `stage` (checkpoint rows and expected, etl_run.expected) by `delta`.
    func bookkeeping(_ stage: String, _ delta: Int) -> String {
        """
        UPDATE etl_checkpoint SET rows = rows + \(delta), expected = expected + \(delta)
          WHERE stage = '\(stage)' AND file = (SELECT min(file) FROM etl_checkpoint WHERE stage = '\(stage)');
        UPDATE etl_run SET expected = jsonb_set(expected, '{\(stage)}', to_jsonb((expected ->> '\(stage)')::bigint + \(delta)));
        """
    }

    /// A customer whose rating dates span February–March 2005, and a movie they did not rate.
    func customerAndUnratedMovie() throws -> (customer: Int, movie: Int) {
        let customer = try db.int("""
            SELECT customer_key FROM dim_customer WHERE first_rating_date < '2005-02-01' AND last_rating_date > '2005-03-31'
            ORDER BY customer_key LIMIT 1
            """)
        let movie = try db.int("SELECT min(movie_key) FROM dim_movie WHERE movie_key NOT IN (SELECT movie_key FROM fact_ratings WHERE customer_key = \(customer))")
        return (customer, movie)
    }

    /// SQL adding one fact for `customer` (bookkeeping and the customer's count kept consistent).
    func addFact(customer: Int, movie: Int, dateKey: Int = 20050215, rating: String = "3") -> String {
        """
        INSERT INTO fact_ratings (customer_key, movie_key, date_key, rating) VALUES (\(customer), \(movie), \(dateKey), \(rating));
        UPDATE dim_customer SET total_ratings = total_ratings + 1 WHERE customer_key = \(customer);
        \(bookkeeping("fact_ratings", 1))
        """
    }

    func testEveryExpectationPassesOnACleanLoadAndEachBreakageFailsOnlyItsOwn() throws {
        try loadNetflix()
        let clean = try DataQuality.run(db)
        XCTAssertTrue(clean.passed, clean.results.filter { !$0.passed }.map { "\($0.name): \($0.observed) vs \($0.expected)" }.joined(separator: "; "))
        XCTAssertEqual(clean.results.count, 20)
        XCTAssertEqual(clean.format, "netflix")
        // Observed values are the real counts.
        let facts = try db.int("SELECT count(*) FROM fact_ratings")
        XCTAssertEqual(clean.results.first { $0.name == "row_count.fact_ratings" }?.observed, String(facts))
        XCTAssertEqual(clean.results.first { $0.name == "row_count.dim_customer" }?.observed, "300")
        // With the primary key in place its unique index vouches for the pairs; without it they are counted.
        XCTAssertEqual(clean.results.first { $0.name == "unique.fact_ratings.key" }?.detail,
                       "guaranteed by the valid unique index fact_ratings_pkey")
        try db.execute("BEGIN; ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_pkey")
        let counted = try results().first { $0.name == "unique.fact_ratings.key" }
        try db.execute("ROLLBACK")
        XCTAssertEqual(counted?.detail, "counted: no unique index on the pair")
        XCTAssertEqual(counted?.passed, true)

        let (c, m) = try customerAndUnratedMovie()
        let anyFact = "(SELECT customer_key, movie_key, date_key, rating FROM fact_ratings WHERE customer_key = \(c) ORDER BY movie_key LIMIT 1)"
        let cases: [(expectation: String, sql: String)] = [
            ("unique_not_null.dim_date.date_key", """
                ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_date_fk;
                ALTER TABLE dim_date DROP CONSTRAINT dim_date_pkey, DROP CONSTRAINT dim_date_date_actual_key;
                INSERT INTO dim_date SELECT * FROM dim_date ORDER BY date_key LIMIT 1;
                \(bookkeeping("dim_date", 1))
                """),
            ("unique_not_null.dim_movie.movie_key", """
                ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_movie_fk;
                ALTER TABLE dim_movie DROP CONSTRAINT dim_movie_pkey;
                INSERT INTO dim_movie SELECT movie_key, movie_id + 100000, title, release_year, genres FROM dim_movie ORDER BY movie_key LIMIT 1;
                \(bookkeeping("dim_movie", 1))
                """),
            ("unique_not_null.dim_customer.customer_key", """
                ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_customer_fk;
                ALTER TABLE dim_customer DROP CONSTRAINT dim_customer_pkey, DROP CONSTRAINT dim_customer_customer_id_key;
                INSERT INTO dim_customer SELECT * FROM dim_customer WHERE customer_key = \(c);
                \(bookkeeping("dim_customer", 1))
                """),
            ("not_null.fact_ratings.key", """
                ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_pkey;
                ALTER TABLE fact_ratings ALTER COLUMN customer_key DROP NOT NULL;
                INSERT INTO fact_ratings VALUES (NULL, \(m), 20050215, 3);
                \(bookkeeping("fact_ratings", 1))
                """),
            ("unique.fact_ratings.key", """
                ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_pkey;
                INSERT INTO fact_ratings SELECT * FROM \(anyFact) one;
                UPDATE dim_customer SET total_ratings = total_ratings + 1 WHERE customer_key = \(c);
                \(bookkeeping("fact_ratings", 1))
                """),
            ("relationships.fact_ratings.customer_key", """
                ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_customer_fk;
                INSERT INTO fact_ratings VALUES (999999, \(m), 20050215, 3);
                \(bookkeeping("fact_ratings", 1))
                """),
            ("relationships.fact_ratings.movie_key",
             "ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_movie_fk;\n" + addFact(customer: c, movie: 999999)),
            // 2005-02-30 is no day, so no dim_date row, yet inside the documented range and the customer's dates.
            ("relationships.fact_ratings.date_key",
             "ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_date_fk;\n" + addFact(customer: c, movie: m, dateKey: 20050230)),
            // A half star: the table's check allows it (MovieLens), a Netflix load must not hold it.
            ("accepted_values.fact_ratings.rating", addFact(customer: c, movie: m, rating: "3.5")),
            ("date_range", """
                INSERT INTO dim_date VALUES (20300101, '2030-01-01', 2030, 1, 1, 1, 2, 'January', false);
                \(bookkeeping("dim_date", 1))
                """),
            ("row_count.fact_ratings", "UPDATE etl_checkpoint SET rows = rows - 1 WHERE stage = 'fact_ratings' AND file = (SELECT min(file) FROM etl_checkpoint WHERE stage = 'fact_ratings')"),
            ("row_count.dim_movie", "UPDATE etl_run SET expected = jsonb_set(expected, '{dim_movie}', '41')"),
            ("row_count.dim_customer", "UPDATE etl_checkpoint SET expected = expected + 1 WHERE stage = 'dim_customer'"),
            ("row_count.dim_date", "UPDATE etl_checkpoint SET rows = rows + 1, expected = expected + 1 WHERE stage = 'dim_date'"),
            ("row_count.etl_rejects", "INSERT INTO etl_rejects (file, line, text, reason) VALUES ('combined_data_1.txt', 1, 'x', 'test')"),
            ("customer_aggregates", "UPDATE dim_customer SET last_rating_date = last_rating_date + 1 WHERE customer_key = \(c)"),
            ("freshness.etl_run", "UPDATE etl_run SET finished_at = now() - interval '31 days'"),
            // A replaced value that no batch accounts for.
            ("row_count.fact_ratings_history", """
                INSERT INTO fact_ratings_history VALUES (\(c), \(m), 20050215, 3, now() - interval '2 days', now() - interval '1 day', NULL, 1)
                """),
            // A movie with two current versions.
            ("history.dim_movie", """
                DROP INDEX dim_movie_history_current_idx;
                INSERT INTO dim_movie_history SELECT movie_key, movie_id, title, release_year, genres, now() - interval '1 day', NULL, true
                FROM dim_movie WHERE movie_key = \(m);
                INSERT INTO dim_movie_history SELECT movie_key, movie_id, title, release_year, genres, now(), NULL, true
                FROM dim_movie WHERE movie_key = \(m)
                """),
            // Two values of one pair current at once (a batch that says it replaced both).
            ("history.intervals", """
                INSERT INTO rating_batch (request_hash, response, inserted, replaced, new_customers, new_dates, data_version)
                VALUES ('h', '{}', 0, 2, 0, 0, 'v');
                INSERT INTO fact_ratings_history VALUES (\(c), \(m), 20050215, 3, now() - interval '3 days', now() - interval '1 day', NULL, 1),
                                                        (\(c), \(m), 20050216, 4, now() - interval '2 days', now(), NULL, 1)
                """),
        ]
        for (expectation, sql) in cases {
            XCTAssertEqual(try failures(sql), [expectation], expectation)
        }
        // Every expectation was broken by some case.
        XCTAssertEqual(Set(cases.map(\.expectation)), Set(clean.results.map(\.name)))
        // An unfinished load is not fresh either, and a customer without ratings differs from the facts.
        XCTAssertEqual(try failures("UPDATE etl_run SET finished_at = NULL"), ["freshness.etl_run"])
        let ratingsOfC = try db.int("SELECT total_ratings FROM dim_customer WHERE customer_key = \(c)")
        XCTAssertEqual(try failures("DELETE FROM fact_ratings WHERE customer_key = \(c);\n" + bookkeeping("fact_ratings", -ratingsOfC)),
                       ["customer_aggregates"])
        // The clean warehouse is back.
        XCTAssertTrue(try DataQuality.run(db).passed)
    }

    func testObservedValuesAndTheFreshnessLimit() throws {
        try loadNetflix()
        try db.execute("UPDATE etl_run SET finished_at = now() - interval '3 days'")
        let strict = try DataQuality.run(db, configuration: CheckConfiguration(maxAgeDays: 2))
        let freshness = try XCTUnwrap(strict.results.first { $0.name == "freshness.etl_run" })
        XCTAssertFalse(freshness.passed)
        XCTAssertEqual(freshness.observed, "3 days")
        XCTAssertEqual(freshness.expected, "≤ 2 days")
        XCTAssertEqual(strict.failed, 1)
        XCTAssertTrue(try DataQuality.run(db, configuration: CheckConfiguration(maxAgeDays: 4)).passed)

        // Three orphan facts are counted as three.
        try db.execute("ALTER TABLE fact_ratings DROP CONSTRAINT fact_ratings_movie_fk")
        try db.execute("INSERT INTO fact_ratings SELECT customer_key, movie_key + 1000, date_key, rating FROM fact_ratings ORDER BY movie_key, customer_key LIMIT 3")
        let orphans = try DataQuality.run(db).results.first { $0.name == "relationships.fact_ratings.movie_key" }
        XCTAssertEqual(orphans?.observed, "3")
    }

    func testMovieLensHalfStarsAreAcceptedAndAnEmptyWarehouseFails() throws {
        let empty = try DataQuality.run(try TestServer.connect(conninfo))
        XCTAssertFalse(empty.passed)
        XCTAssertEqual(Set(empty.results.filter { !$0.passed }.map(\.name)),
                       ["row_count.fact_ratings", "row_count.dim_date", "row_count.dim_movie", "row_count.dim_customer",
                        "row_count.etl_rejects", "freshness.etl_run"])

        try generate(.movielens, into: folder, ratings: 3_000, customers: 150, movies: 120, seed: 5)
        try load(LoadOptions(dataDirectory: folder))
        db = try TestServer.connect(conninfo)
        XCTAssertGreaterThan(try db.int("SELECT count(*) FROM fact_ratings WHERE rating * 2 % 2 = 1"), 0)
        let report = try DataQuality.run(db)
        XCTAssertTrue(report.passed, report.results.filter { !$0.passed }.map(\.name).joined(separator: ", "))
        XCTAssertEqual(report.format, "movielens")
        format = .movielens
        XCTAssertEqual(try failures("INSERT INTO dim_date VALUES (19940101, '1994-01-01', 1994, 1, 1, 1, 6, 'January', true); \(bookkeeping("dim_date", 1))"),
                       ["date_range"])
    }
}
