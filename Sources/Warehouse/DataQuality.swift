import Foundation

// Data-quality expectations over the warehouse, in the spirit of dbt tests
// (unique, not_null, relationships, accepted_values) and DLT expectations:
// each is a named SQL measurement plus a pass rule, run against a connection,
// and reported as {name, passed, observed, expected, detail}.
//
// Cost at Netflix scale (100M facts) decides the shape: several expectations
// read the same measurement, and a measurement is one statement run once per
// check, so the fact table is read in two passes — one scan joined to the
// movie and date dimensions (not-null keys, orphan keys, rating values, date
// range, row count) and the per-customer aggregate (customer aggregates and
// orphan customers) — plus a third, the duplicate-pair count, only when no
// unique index already guarantees the pairs unique.

/// One SQL statement returning one row of named values. Several expectations
/// may read the same measurement; `DataQuality.run` runs each one once.
public struct Measurement: Sendable, Hashable {
    /// A short name, for timings.
    public var name: String
    /// Returns exactly one row.
    public var sql: String

    public init(name: String, sql: String) { (self.name, self.sql) = (name, sql) }
}

/// How an expectation decides from its measurement's row.
public enum ExpectationRule: Sendable, Hashable {
    /// `column` counts the violating rows; passes at zero.
    case zero(String)
    /// Passes when `observed` and `expected` hold the same non-null text.
    case equal(observed: String, expected: String)
    /// Passes when `column` is a number no greater than `limit`; NULL fails.
    case atMost(String, limit: Double, unit: String)
}

/// A data-quality expectation: what must hold, measured by SQL.
public struct Expectation: Sendable {
    /// dbt-style: `kind.table[.column]`, e.g. `relationships.fact_ratings.movie_key`.
    public var name: String
    public var description: String
    public var measurement: Measurement
    public var rule: ExpectationRule
    /// A column of the measurement shown as the detail, when it says more.
    public var detail: String?

    public init(name: String, description: String, measurement: Measurement, rule: ExpectationRule, detail: String? = nil) {
        self.name = name
        self.description = description
        self.measurement = measurement
        self.rule = rule
        self.detail = detail
    }
}

/// The outcome of one expectation.
public struct CheckResult: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var passed: Bool
    public var observed: String
    public var expected: String
    public var detail: String
}

/// The outcome of a whole check.
public struct CheckReport: Codable, Sendable {
    public struct Timing: Codable, Sendable {
        public var measurement: String
        public var seconds: Double
    }

    public var format: String?
    public var dataVersion: String?
    public var passed: Bool
    public var failed: Int
    public var results: [CheckResult]
    /// Seconds per measurement (one statement each, shared by expectations).
    public var timings: [Timing]
    public var seconds: Double
}

/// What the checks accept; the defaults suit both sources.
public struct CheckConfiguration: Sendable {
    /// The last load must have finished no longer ago than this.
    public var maxAgeDays: Double = 30

    public init(maxAgeDays: Double = 30) {
        self.maxAgeDays = maxAgeDays
    }
}

/// The warehouse's data-quality expectations and their runner.
public enum DataQuality {
    /// The rating values and date range the source documents.
    struct SourceRules {
        /// Ratings as PostgreSQL numeric literals.
        var ratings: [String]
        /// yyyymmdd bounds; the upper one is further capped at today.
        var firstDateKey: Int
        var lastDateKey: Int

        static func of(_ format: SourceFormat?) -> SourceRules {
            switch format {
            case .netflix:
                // DESIGN.md: Netflix Prize ratings are whole stars, dated 1999-11-11 … 2005-12-31.
                return SourceRules(ratings: ["1", "2", "3", "4", "5"], firstDateKey: 19991111, lastDateKey: 20051231)
            case .movielens, nil:
                // MovieLens: half stars 0.5 … 5.0; its first ratings date from January 1995.
                return SourceRules(ratings: stride(from: 1, through: 10, by: 1).map { String(format: "%.1f", Double($0) / 2) },
                                   firstDateKey: 19950101, lastDateKey: 99991231)
            }
        }
    }

    /// Every expectation, for a warehouse loaded from `format` (nil: no load recorded).
    public static func expectations(format: SourceFormat?, configuration: CheckConfiguration = .init()) -> [Expectation] {
        let rules = SourceRules.of(format)
        var list: [Expectation] = []

        // Dimension keys: count(*) − count(DISTINCT key) counts both the extra
        // copies of a duplicated key and the NULLs (which DISTINCT skips).
        for (table, key) in [("dim_date", "date_key"), ("dim_movie", "movie_key"), ("dim_customer", "customer_key")] {
            let m = Measurement(name: "\(table) key", sql: "SELECT count(*) - count(DISTINCT \(key)) AS violations FROM \(table)")
            list.append(Expectation(name: "unique_not_null.\(table).\(key)",
                                    description: "\(table).\(key) is never NULL and never repeated",
                                    measurement: m, rule: .zero("violations")))
        }

        // The one pass over the facts, joined to the small dimensions' distinct
        // keys by hash joins (distinct: a duplicated dimension key must not
        // count a fact twice). Orphans are queried, not inferred from the
        // foreign keys: the load drops them while it fills the table, and
        // another tool may never add them. Orphan customers are counted by the
        // customer-aggregate pass below, which groups the facts by customer
        // anyway: probing a 480k-entry hash table per fact here cost more than
        // the rest of this scan (61 s vs 30 s at Netflix scale).
        let today = "to_char(current_date, 'YYYYMMDD')::int"
        let lo = rules.firstDateKey, hi = "LEAST(\(rules.lastDateKey), \(today))"
        let facts = Measurement(name: "fact_ratings scan", sql: """
            WITH f AS (
                SELECT count(*) AS rows,
                       count(*) FILTER (WHERE f.customer_key IS NULL OR f.movie_key IS NULL) AS null_keys,
                       count(*) FILTER (WHERE f.movie_key IS NOT NULL AND m.movie_key IS NULL) AS orphan_movies,
                       count(*) FILTER (WHERE f.date_key IS NULL OR d.date_key IS NULL) AS orphan_dates,
                       count(*) FILTER (WHERE f.rating IS NULL OR f.rating NOT IN (\(rules.ratings.joined(separator: ", ")))) AS bad_ratings,
                       -- A live batch (POST /v1/ratings) may rate up to today, past the source's range.
                       count(*) FILTER (WHERE f.date_key < \(lo) OR f.date_key > CASE WHEN f.batch_id IS NULL THEN \(hi) ELSE \(today) END) AS facts_out_of_range,
                       min(f.date_key) AS first_key, max(f.date_key) AS last_key
                FROM fact_ratings f
                LEFT JOIN (SELECT DISTINCT movie_key FROM dim_movie) m ON m.movie_key = f.movie_key
                LEFT JOIN (SELECT DISTINCT date_key FROM dim_date) d ON d.date_key = f.date_key
            ), dd AS (
                SELECT count(*) FILTER (WHERE date_key < \(lo) OR date_key > CASE WHEN EXISTS (SELECT 1 FROM rating_batch WHERE new_dates > 0)
                                                                             THEN \(today) ELSE \(hi) END) AS dates_out_of_range,
                       min(date_actual) AS first_date, max(date_actual) AS last_date
                FROM dim_date
            ), book AS (
                SELECT (SELECT sum(rows) FROM etl_checkpoint WHERE stage = 'fact_ratings') AS checkpoint_rows,
                       (SELECT sum(expected) FROM etl_checkpoint WHERE stage = 'fact_ratings') AS checkpoint_expected,
                       (SELECT (expected ->> 'fact_ratings')::bigint FROM etl_run) AS run_expected,
                       (SELECT coalesce(sum(inserted), 0) FROM rating_batch) AS live
            )
            SELECT f.*, dd.*, f.rows::text AS rows_text,
                   \(agreedCount("book.checkpoint_rows", "book.checkpoint_expected", "book.run_expected", live: "book.live")) AS expected_rows,
                   f.facts_out_of_range + dd.dates_out_of_range AS dates_out_of_range_total,
                   format('facts %s … %s, dim_date %s … %s; %s rows out of range',
                          coalesce(to_date(f.first_key::text, 'YYYYMMDD')::text, '-'), coalesce(to_date(f.last_key::text, 'YYYYMMDD')::text, '-'),
                          coalesce(dd.first_date::text, '-'), coalesce(dd.last_date::text, '-'),
                          f.facts_out_of_range + dd.dates_out_of_range) AS date_detail,
                   format('%s … %s and not after today (%s)', to_date('\(lo)', 'YYYYMMDD'),
                          to_date(\(hi)::text, 'YYYYMMDD'), current_date) AS accepted_dates,
                   \(bookkeepingDetail("book.checkpoint_rows", "book.checkpoint_expected", "book.run_expected", live: "book.live")) AS count_detail
            FROM f, dd, book
            """)
        list.append(Expectation(name: "not_null.fact_ratings.key", description: "fact_ratings.(movie_key, customer_key) is never NULL",
                                measurement: facts, rule: .zero("null_keys")))
        // Counting duplicate pairs means grouping every pair: at Netflix scale
        // a 100M-group hash aggregate spilling to disk. A valid unique index
        // on exactly (movie_key, customer_key) — the primary key the load
        // builds — is PostgreSQL's own guarantee, so when one exists the count
        // is not run (the InitPlan of the ELSE branch is never executed), and
        // the detail says which index vouched. Without one, the pairs are counted.
        let unique = Measurement(name: "fact_ratings duplicate pairs", sql: """
            WITH guard AS (
                SELECT min(i.indexrelid::regclass::text) AS index_name
                FROM pg_index i
                WHERE i.indrelid = 'fact_ratings'::regclass AND i.indisunique AND i.indisvalid AND i.indimmediate
                  AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 2
                  AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                       WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['customer_key', 'movie_key']
            )
            SELECT CASE WHEN guard.index_name IS NOT NULL THEN 0
                        ELSE (SELECT count(*) FROM (SELECT 1 FROM fact_ratings GROUP BY movie_key, customer_key HAVING count(*) > 1) duplicated)
                   END AS duplicated_pairs,
                   CASE WHEN guard.index_name IS NOT NULL THEN 'guaranteed by the valid unique index ' || guard.index_name
                        ELSE 'counted: no unique index on the pair' END AS how
            FROM guard
            """)
        list.append(Expectation(name: "unique.fact_ratings.key", description: "no customer rates a movie twice ((movie_key, customer_key) pairs repeated)",
                                measurement: unique, rule: .zero("duplicated_pairs"), detail: "how"))
        // (relationships.fact_ratings.customer_key reads the customer pass; see there.)
        for (column, table, violations) in [("movie_key", "dim_movie", "orphan_movies"), ("date_key", "dim_date", "orphan_dates")] {
            list.append(Expectation(name: "relationships.fact_ratings.\(column)",
                                    description: "every fact_ratings.\(column) is a \(table) row (facts without one)",
                                    measurement: facts, rule: .zero(violations)))
        }
        let scale = format == .netflix ? "whole stars 1–5 (Netflix)" : "half stars 0.5–5.0 (MovieLens)"
        list.append(Expectation(name: "accepted_values.fact_ratings.rating",
                                description: "every rating is one of the source's values: \(scale)",
                                measurement: facts, rule: .zero("bad_ratings")))
        list.append(Expectation(name: "date_range",
                                description: "fact and dim_date dates lie in the source's documented range and not in the future",
                                measurement: facts, rule: .zero("dates_out_of_range_total"), detail: "date_detail"))

        // Row counts against the load's bookkeeping: the table, its checkpoint
        // rows, the checkpoint's expected rows and etl_run.expected must agree.
        list.append(Expectation(name: "row_count.fact_ratings",
                                description: "fact_ratings holds the rows its checkpoint committed and the scan expected",
                                measurement: facts, rule: .equal(observed: "rows_text", expected: "expected_rows"), detail: "count_detail"))
        // Live batches and appended files add customers and dates (counted in rating_batch),
        // appended titles files movies (etl_append_file).
        let liveAdded = ["dim_date": "(SELECT coalesce(sum(new_dates), 0) FROM rating_batch)",
                         "dim_movie": "(SELECT coalesce(sum(new_movies), 0) FROM etl_append_file)",
                         "dim_customer": "(SELECT coalesce(sum(new_customers), 0) FROM rating_batch)"]
        for table in ["dim_date", "dim_movie", "dim_customer"] {
            let m = Measurement(name: "\(table) count", sql: """
                WITH t AS (SELECT count(*) AS n FROM \(table)),
                     book AS (SELECT (SELECT rows FROM etl_checkpoint WHERE stage = '\(table)' AND file = '') AS checkpoint_rows,
                                     (SELECT expected FROM etl_checkpoint WHERE stage = '\(table)' AND file = '') AS checkpoint_expected,
                                     (SELECT (expected ->> '\(table)')::bigint FROM etl_run) AS run_expected,
                                     \(liveAdded[table]!) AS live)
                SELECT t.n::text AS rows_text,
                       \(agreedCount("book.checkpoint_rows", "book.checkpoint_expected", "book.run_expected", live: "book.live")) AS expected_rows,
                       \(bookkeepingDetail("book.checkpoint_rows", "book.checkpoint_expected", "book.run_expected", live: "book.live")) AS count_detail
                FROM t, book
                """)
            list.append(Expectation(name: "row_count.\(table)", description: "\(table) holds the rows its checkpoint committed and the scan expected",
                                    measurement: m, rule: .equal(observed: "rows_text", expected: "expected_rows"), detail: "count_detail"))
        }
        let rejects = Measurement(name: "etl_rejects count", sql: """
            SELECT (SELECT count(*) FROM etl_rejects)::text AS rows_text,
                   (SELECT expected ->> 'rejects' FROM etl_run) AS expected_rows
            """)
        list.append(Expectation(name: "row_count.etl_rejects", description: "etl_rejects holds the lines the scan rejected",
                                measurement: rejects, rule: .equal(observed: "rows_text", expected: "expected_rows")))

        // The expensive one: every customer's aggregates recomputed from the
        // facts (one hash aggregate over all of them, 480k groups at Netflix
        // scale), then compared with dim_customer on those 480k rows. A
        // customer without facts differs too. The same groups give the facts
        // whose customer is not in dim_customer (the relationships check).
        let aggregates = Measurement(name: "customer aggregates", sql: """
            WITH f AS MATERIALIZED (
                SELECT customer_key, count(*) AS n, min(date_key) AS first_key, max(date_key) AS last_key
                FROM fact_ratings WHERE customer_key IS NOT NULL GROUP BY customer_key
            ), mismatch AS (
                SELECT count(*) AS mismatched, coalesce('first: customer ' || min(c.customer_id), '') AS first_mismatch
                FROM dim_customer c LEFT JOIN f ON f.customer_key = c.customer_key
                WHERE f.n IS DISTINCT FROM c.total_ratings
                   OR f.first_key IS DISTINCT FROM to_char(c.first_rating_date, 'YYYYMMDD')::int
                   OR f.last_key IS DISTINCT FROM to_char(c.last_rating_date, 'YYYYMMDD')::int
            ), orphans AS (
                SELECT coalesce(sum(f.n), 0) AS orphan_customers
                FROM f WHERE NOT EXISTS (SELECT 1 FROM dim_customer c WHERE c.customer_key = f.customer_key)
            )
            SELECT * FROM mismatch, orphans
            """)
        list.append(Expectation(name: "relationships.fact_ratings.customer_key",
                                description: "every fact_ratings.customer_key is a dim_customer row (facts without one)",
                                measurement: aggregates, rule: .zero("orphan_customers")))
        list.append(Expectation(name: "customer_aggregates",
                                description: "dim_customer total_ratings, first and last rating dates equal the facts' (customers that differ)",
                                measurement: aggregates, rule: .zero("mismatched"), detail: "first_mismatch"))

        // The live batches' history: each replaced value once, with an interval
        // that ends where the next value's begins (never overlapping).
        let history = Measurement(name: "fact_ratings_history", sql: """
            WITH h AS (
                SELECT valid_from, valid_to,
                       lag(valid_to) OVER (PARTITION BY customer_key, movie_key ORDER BY valid_to) AS previous_to
                FROM fact_ratings_history
            )
            SELECT (SELECT count(*) FROM fact_ratings_history)::text AS rows_text,
                   (SELECT coalesce(sum(replaced), 0) FROM rating_batch)::text AS expected_rows,
                   (SELECT count(*) FROM h WHERE valid_from > valid_to OR valid_from < previous_to) AS overlapping
            """)
        list.append(Expectation(name: "row_count.fact_ratings_history",
                                description: "fact_ratings_history holds every value a live batch replaced (rating_batch.replaced)",
                                measurement: history, rule: .equal(observed: "rows_text", expected: "expected_rows")))
        list.append(Expectation(name: "history.intervals",
                                description: "no two values of one (customer, movie) pair were current at once (overlapping intervals)",
                                measurement: history, rule: .zero("overlapping")))

        // Appended titles: one current version per movie, the same as dim_movie, and versions that follow one another.
        let movieHistory = Measurement(name: "dim_movie_history", sql: """
            WITH h AS (
                SELECT movie_key, valid_from, valid_to, is_current,
                       lead(valid_from) OVER (PARTITION BY movie_key ORDER BY valid_from) AS next_from
                FROM dim_movie_history
            )
            SELECT (SELECT count(*) FROM (SELECT movie_key FROM dim_movie_history GROUP BY movie_key
                                          HAVING count(*) FILTER (WHERE is_current) <> 1) k)
                 + (SELECT count(*) FROM dim_movie_history h JOIN dim_movie m USING (movie_key)
                    WHERE h.is_current AND (h.title, h.release_year, h.genres) IS DISTINCT FROM (m.title, m.release_year, m.genres))
                 + (SELECT count(*) FROM h WHERE (is_current AND valid_to IS NOT NULL) OR (NOT is_current AND valid_to IS DISTINCT FROM next_from))
                   AS broken
            """)
        list.append(Expectation(name: "history.dim_movie",
                                description: "dim_movie_history has one current version per movie, equal to dim_movie, and gapless intervals (movies that break it)",
                                measurement: movieHistory, rule: .zero("broken")))

        let freshness = Measurement(name: "freshness", sql: """
            SELECT round((extract(epoch FROM now() - finished_at) / 86400)::numeric, 2) AS age_days,
                   coalesce('finished ' || to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), 'no finished load') AS finished
            FROM (SELECT 1) one LEFT JOIN etl_run ON true
            """)
        list.append(Expectation(name: "freshness.etl_run",
                                description: "the last load finished, no more than \(formatNumber(configuration.maxAgeDays)) days ago",
                                measurement: freshness, rule: .atMost("age_days", limit: configuration.maxAgeDays, unit: "days"),
                                detail: "finished"))
        return list
    }

    /// The count the bookkeeping agrees on, or a text naming the disagreement
    /// (which then never equals the table's count).
    /// `live`: rows the live batches added since the load (rating_batch).
    private static func agreedCount(_ rows: String, _ expected: String, _ run: String, live: String) -> String {
        "CASE WHEN \(rows) = \(expected) AND \(expected) = \(run) THEN (\(rows) + \(live))::text END"
    }

    private static func bookkeepingDetail(_ rows: String, _ expected: String, _ run: String, live: String) -> String {
        "format('checkpoint rows %s, checkpoint expected %s, etl_run expected %s%s', coalesce(\(rows)::text, 'none'), coalesce(\(expected)::text, 'none'), coalesce(\(run)::text, 'none'), CASE WHEN \(live) > 0 THEN format(', + %s from live batches and appends', \(live)) ELSE '' END)"
    }

    static func formatNumber(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// Runs every expectation (each measurement once) and reports.
    public static func run(_ connection: Connection, configuration: CheckConfiguration = .init()) throws -> CheckReport {
        let started = Date()
        try Database.migrate(connection)
        // One snapshot for every measurement, so that they describe the same
        // data even while something writes; memory enough for the hash
        // aggregates to stay off disk.
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { _ = try? connection.execute("COMMIT") }
        try connection.execute("SET LOCAL work_mem = '256MB'")
        let run = try connection.execute("SELECT format, data_version FROM etl_run").rows.first
        let format = run.flatMap { $0[0] }.flatMap(SourceFormat.init(rawValue:))
        return try self.run(expectations(format: format, configuration: configuration), on: connection, format: run?[0] ?? nil,
                            dataVersion: run?[1] ?? nil, started: started)
    }

    /// Runs the given expectations (each distinct measurement once) in the
    /// connection's current transaction, if any; applies no schema.
    public static func run(_ expectations: [Expectation], on connection: Connection, format: String? = nil, dataVersion: String? = nil,
                           started: Date = Date()) throws -> CheckReport {
        var measured: [Measurement: [String: String?]] = [:]
        var timings: [CheckReport.Timing] = []
        var results: [CheckResult] = []
        for expectation in expectations {
            let m = expectation.measurement
            if measured[m] == nil {
                let t = Date()
                let result = try connection.execute(m.sql)
                guard let row = result.rows.first, result.count == 1 else {
                    throw WarehouseError(.database, "the measurement '\(m.name)' returned \(result.count) rows, not one", statement: m.name)
                }
                measured[m] = Dictionary(uniqueKeysWithValues: zip(result.columns, row))
                timings.append(.init(measurement: m.name, seconds: Date().timeIntervalSince(t)))
            }
            results.append(evaluate(expectation, measured[m]!))
        }
        let failed = results.filter { !$0.passed }.count
        return CheckReport(format: format, dataVersion: dataVersion, passed: failed == 0, failed: failed, results: results,
                           timings: timings, seconds: Date().timeIntervalSince(started))
    }

    static func evaluate(_ expectation: Expectation, _ row: [String: String?]) -> CheckResult {
        func value(_ column: String) -> String? { row[column] ?? nil }
        let passed: Bool, observed: String, expected: String
        switch expectation.rule {
        case .zero(let column):
            observed = value(column) ?? "NULL"
            expected = "0"
            passed = observed == "0"
        case .equal(let o, let e):
            observed = value(o) ?? "none"
            expected = value(e) ?? "none (the bookkeeping disagrees or is missing)"
            passed = value(o) != nil && value(o) == value(e)
        case .atMost(let column, let limit, let unit):
            let number = value(column).flatMap(Double.init)
            observed = number.map { "\(formatNumber($0)) \(unit)" } ?? "none"
            expected = "≤ \(formatNumber(limit)) \(unit)"
            passed = number.map { $0 <= limit } ?? false
        }
        return CheckResult(name: expectation.name, description: expectation.description, passed: passed, observed: observed,
                           expected: expected, detail: expectation.detail.flatMap(value) ?? "")
    }
}
