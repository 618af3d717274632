import TestSupport
import XCTest
@testable import Warehouse

/// Every analytics figure — served from the materialized views — equals the
/// same question asked in plain SQL of fact_ratings and the dimensions.
final class AnalyticsTests: DatabaseTestCase {
    override var databasePrefix: String { "analytics" }

    var db: Connection!

    override func setUpWithError() throws {
        try super.setUpWithError()
        try generate(.netflix, into: folder, ratings: 6_000, customers: 400, movies: 60, seed: 21)
        try load(LoadOptions(dataDirectory: folder))
        db = try TestServer.connect(conninfo)
    }

    func rows(_ sql: String) throws -> [[String]] { try db.execute(sql).rows.map { $0.map { $0 ?? "NULL" } } }

    func double(_ text: String) -> Double { Double(text) ?? .nan }

    func testFiguresEqualPlainSQLOverTheFacts() throws {
        XCTAssertTrue(try Analytics.isPopulated(db), "the load refreshes the views")
        let r = try Analytics.report(db, options: .init(top: 7, minRatings: 80))

        let totals = try rows("""
            SELECT count(*), count(DISTINCT movie_key), count(DISTINCT customer_key), avg(rating), min(d.date_actual)::text, max(d.date_actual)::text
            FROM fact_ratings JOIN dim_date d USING (date_key)
            """)[0]
        XCTAssertEqual(r.totals.ratings, Int(totals[0]))
        XCTAssertEqual(r.totals.ratings, 6_000)
        XCTAssertEqual(r.totals.movies, Int(totals[1]))
        XCTAssertEqual(r.totals.customers, Int(totals[2]))
        XCTAssertEqual(r.totals.meanRating ?? .nan, double(totals[3]), accuracy: 1e-12)
        XCTAssertEqual(r.totals.firstDate, totals[4])
        XCTAssertEqual(r.totals.lastDate, totals[5])

        // Most rated: by count, ties by movie id.
        let most = try rows("""
            SELECT m.movie_id, m.title, count(*), avg(f.rating) FROM fact_ratings f JOIN dim_movie m USING (movie_key)
            GROUP BY m.movie_id, m.title ORDER BY count(*) DESC, m.movie_id LIMIT 7
            """)
        XCTAssertEqual(r.mostRated.count, 7)
        XCTAssertEqual(r.mostRated.map { [String($0.movieId), $0.title, String($0.ratings)] }, most.map { Array($0[0...2]) })
        for (figure, row) in zip(r.mostRated, most) { XCTAssertEqual(figure.meanRating, double(row[3]), accuracy: 1e-12) }

        // Best rated: mean among movies with at least 80 ratings; ties by count, then id.
        let best = try rows("""
            SELECT m.movie_id, count(*), avg(f.rating) FROM fact_ratings f JOIN dim_movie m USING (movie_key)
            GROUP BY m.movie_id HAVING count(*) >= 80 ORDER BY avg(f.rating) DESC, count(*) DESC, m.movie_id LIMIT 7
            """)
        XCTAssertFalse(best.isEmpty)
        XCTAssertEqual(r.bestRated.map { [String($0.movieId), String($0.ratings)] }, best.map { Array($0[0...1]) })
        for (figure, row) in zip(r.bestRated, best) { XCTAssertEqual(figure.meanRating, double(row[2]), accuracy: 1e-12) }
        XCTAssertTrue(r.bestRated.allSatisfy { $0.ratings >= 80 })

        // Volume and mean by calendar month.
        let months = try rows("""
            SELECT d.year, d.month, count(*), avg(f.rating) FROM fact_ratings f JOIN dim_date d USING (date_key)
            GROUP BY d.year, d.month ORDER BY d.year, d.month
            """)
        XCTAssertEqual(r.byMonth.map { [String($0.year), String($0.month), String($0.ratings)] }, months.map { Array($0[0...2]) })
        for (figure, row) in zip(r.byMonth, months) { XCTAssertEqual(figure.meanRating, double(row[3]), accuracy: 1e-12) }

        // Customers per power-of-two bin of their rating count: bin k holds 2^k ≤ n < 2^(k+1).
        let bins = try rows("""
            SELECT (2 ^ k)::int, count(c.n) FROM generate_series(0, (SELECT floor(log(2, max(n)::numeric))::int
                   FROM (SELECT count(*) AS n FROM fact_ratings GROUP BY customer_key) m)) k
            LEFT JOIN (SELECT count(*) AS n FROM fact_ratings GROUP BY customer_key) c ON c.n >= 2 ^ k AND c.n < 2 ^ (k + 1)
            GROUP BY k ORDER BY k
            """)
        XCTAssertEqual(r.customerFrequency.map { [String($0.lo), String($0.customers)] }, bins)
        XCTAssertEqual(r.customerFrequency.map(\.hi), r.customerFrequency.map { $0.lo * 2 - 1 })
        XCTAssertEqual(r.customerFrequency.reduce(0) { $0 + $1.customers }, 400)

        // Rating distribution.
        let distribution = try rows("SELECT rating::float8::text, count(*) FROM fact_ratings GROUP BY rating ORDER BY rating")
        XCTAssertEqual(r.ratingDistribution.map { [pgFloatText($0.rating), String($0.ratings)] }, distribution)

        // Release year against the mean of all ratings of that year's movies.
        let years = try rows("""
            SELECT m.release_year, count(DISTINCT m.movie_key), count(*), avg(f.rating) FROM fact_ratings f JOIN dim_movie m USING (movie_key)
            WHERE m.release_year IS NOT NULL GROUP BY m.release_year ORDER BY m.release_year
            """)
        XCTAssertEqual(r.releaseYears.map { [String($0.releaseYear), String($0.movies), String($0.ratings)] }, years.map { Array($0[0...2]) })
        for (figure, row) in zip(r.releaseYears, years) { XCTAssertEqual(figure.meanRating, double(row[3]), accuracy: 1e-12) }
    }

    func testViewsChangeOnlyWhenRefreshed() throws {
        let before = try Analytics.report(db).totals.ratings
        let (c, m) = (try db.int("SELECT min(customer_key) FROM dim_customer"),
                      try db.int("SELECT max(movie_key) + 1 FROM dim_movie"))
        try db.execute("INSERT INTO dim_movie VALUES (\(m), 999999, 'Added', 2001, NULL)")
        try db.execute("INSERT INTO fact_ratings VALUES (\(c), \(m), (SELECT max(date_key) FROM dim_date), 5)")
        XCTAssertEqual(try Analytics.report(db).totals.ratings, before)
        try Analytics.refresh(db)
        let after = try Analytics.report(db, options: .init(top: 100, minRatings: 1))
        XCTAssertEqual(after.totals.ratings, before + 1)
        XCTAssertEqual(after.bestRated.first?.movieId, 999999, "a single 5-star rating tops the list at --min-ratings 1")
    }

    func testAnEmptyWarehouseHasUnpopulatedViews() throws {
        let other = try TestServer.makeDatabase("analytics_empty")
        defer { TestServer.dropDatabase(other) }
        let empty = try TestServer.connect(other)
        try Database.migrate(empty)
        XCTAssertFalse(try Analytics.isPopulated(empty))
        try Analytics.refresh(empty)
        XCTAssertTrue(try Analytics.isPopulated(empty))
        let r = try Analytics.report(empty)
        XCTAssertEqual(r.totals.ratings, 0)
        XCTAssertTrue(r.mostRated.isEmpty && r.byMonth.isEmpty && r.customerFrequency.isEmpty)
    }
}

/// A rating as PostgreSQL prints a float8: 4 → "4", 3.5 → "3.5".
private func pgFloatText(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(value)
}
