import Foundation

/// The warehouse's business questions, answered from the analytics
/// materialized views (`mv_movie_rating_counts`, `mv_daily_rating_counts`,
/// `mv_customer_activity`, and the plain views `analytics_movie`,
/// `analytics_month` over them; schema.sql).
///
/// The views are refreshed by the load at the end of post-processing; live
/// batches and appends then record signed deltas (`delta_*` tables) that the
/// views `movie_rating_counts`, `daily_rating_counts` and `customer_activity`
/// add in. Every figure here is a read of a few thousand pre-aggregated rows
/// rather than a pass over the facts.
public enum Analytics {
    /// The materialized views, in refresh order.
    public static let materializedViews = ["mv_movie_rating_counts", "mv_daily_rating_counts", "mv_customer_activity"]

    /// Refreshes every analytics view: two passes over fact_ratings.
    /// Returns the seconds it took.
    @discardableResult
    public static func refresh(_ connection: Connection) throws -> Double {
        let started = Date()
        try connection.transaction {
            // The per-(movie, rating) and per-(day, rating) hash tables hold
            // 82k and 11k groups at Netflix scale: enough memory keeps them off disk.
            try connection.execute("SET LOCAL work_mem = '256MB'")
            for view in materializedViews { try connection.execute("REFRESH MATERIALIZED VIEW \(view)") }
            // The refreshed views hold what the deltas recorded.
            try connection.execute("TRUNCATE delta_movie_rating_counts, delta_daily_rating_counts, delta_customer_activity")
        }
        return Date().timeIntervalSince(started)
    }

    /// False when a view was never refreshed (created by a migration after the load).
    public static func isPopulated(_ connection: Connection) throws -> Bool {
        let names = materializedViews.map { "'\($0)'" }.joined(separator: ", ")
        let result = try connection.execute("SELECT count(*) FILTER (WHERE relispopulated), count(*) FROM pg_class WHERE relkind = 'm' AND relname IN (\(names))")
        return result.rows.first?[0] == String(materializedViews.count) && result.rows.first?[1] == String(materializedViews.count)
    }

    /// Which lists to produce.
    public struct Options: Sendable {
        /// Length of the most-rated and best-rated lists.
        public var top = 10
        /// Best-rated counts only movies with at least this many ratings.
        public var minRatings = 100

        public init(top: Int = 10, minRatings: Int = 100) {
            self.top = top
            self.minRatings = minRatings
        }
    }

    /// Reads every figure. The views must be populated (`isPopulated`).
    public static func report(_ connection: Connection, options: Options = .init()) throws -> AnalyticsReport {
        let run = try connection.execute("SELECT format, data_version FROM etl_run").rows.first

        let totalsRow = try connection.execute("""
            SELECT (SELECT coalesce(sum(ratings), 0) FROM movie_rating_counts),
                   (SELECT count(DISTINCT movie_key) FROM movie_rating_counts),
                   (SELECT coalesce(sum(customers), 0) FROM customer_activity),
                   (SELECT sum(rating * ratings) / nullif(sum(ratings), 0) FROM movie_rating_counts),
                   (SELECT min(d.date_actual)::text FROM daily_rating_counts r JOIN dim_date d USING (date_key)),
                   (SELECT max(d.date_actual)::text FROM daily_rating_counts r JOIN dim_date d USING (date_key))
            """).rows[0]
        let totals = AnalyticsReport.Totals(ratings: int(totalsRow[0]), movies: int(totalsRow[1]), customers: int(totalsRow[2]),
                                            meanRating: totalsRow[3].flatMap(Double.init), firstDate: totalsRow[4], lastDate: totalsRow[5])

        func movies(_ sql: String, _ parameters: [String?]) throws -> [AnalyticsReport.Movie] {
            try connection.execute(sql, parameters).rows.map {
                AnalyticsReport.Movie(movieId: int($0[0]), title: $0[1] ?? "", releaseYear: $0[2].flatMap { Int($0) },
                                      ratings: int($0[3]), meanRating: double($0[4]))
            }
        }
        let columns = "movie_id, title, release_year, ratings, mean_rating"
        let mostRated = try movies("SELECT \(columns) FROM analytics_movie ORDER BY ratings DESC, movie_id LIMIT $1", [String(options.top)])
        let bestRated = try movies("SELECT \(columns) FROM analytics_movie WHERE ratings >= $1 ORDER BY mean_rating DESC, ratings DESC, movie_id LIMIT $2",
                                   [String(options.minRatings), String(options.top)])

        let months = try connection.execute("SELECT year, month, ratings, mean_rating FROM analytics_month ORDER BY year, month").rows.map {
            AnalyticsReport.Month(year: int($0[0]), month: int($0[1]), ratings: int($0[2]), meanRating: double($0[3]))
        }

        // Power-of-two bins: 1, 2–3, 4–7, 8–15, … (activity is heavy-tailed).
        var bins: [Int: Int] = [:]
        for row in try connection.execute("SELECT total_ratings, customers FROM customer_activity").rows {
            let n = int(row[0])
            guard n > 0 else { continue }
            bins[Int.bitWidth - n.leadingZeroBitCount - 1, default: 0] += int(row[1])
        }
        let frequency = (0..<((bins.keys.max() ?? -1) + 1)).map { k in
            AnalyticsReport.FrequencyBin(lo: 1 << k, hi: (1 << (k + 1)) - 1, customers: bins[k] ?? 0)
        }

        let distribution = try connection.execute("""
            SELECT rating::text, sum(ratings)::bigint FROM movie_rating_counts GROUP BY rating ORDER BY rating
            """).rows.map { AnalyticsReport.RatingCount(rating: double($0[0]), ratings: int($0[1])) }

        let years = try connection.execute("""
            SELECT release_year, count(*), sum(ratings)::bigint, sum(mean_rating * ratings) / sum(ratings)
            FROM analytics_movie WHERE release_year IS NOT NULL GROUP BY release_year ORDER BY release_year
            """).rows.map {
            AnalyticsReport.ReleaseYear(releaseYear: int($0[0]), movies: int($0[1]), ratings: int($0[2]), meanRating: double($0[3]))
        }

        return AnalyticsReport(format: run?[0] ?? nil, dataVersion: run?[1] ?? nil, top: options.top, minRatings: options.minRatings,
                               totals: totals, mostRated: mostRated, bestRated: bestRated, byMonth: months,
                               customerFrequency: frequency, ratingDistribution: distribution, releaseYears: years)
    }

    private static func int(_ text: String?) -> Int { text.flatMap { Int($0) } ?? 0 }
    private static func double(_ text: String?) -> Double { text.flatMap { Double($0) } ?? .nan }
}

/// Every figure of `recsys analytics` (also written as analytics.json).
public struct AnalyticsReport: Codable, Sendable {
    public struct Totals: Codable, Sendable {
        public var ratings: Int
        /// Movies with at least one rating.
        public var movies: Int
        public var customers: Int
        public var meanRating: Double?
        public var firstDate: String?
        public var lastDate: String?
    }

    public struct Movie: Codable, Sendable {
        public var movieId: Int
        public var title: String
        public var releaseYear: Int?
        public var ratings: Int
        public var meanRating: Double
    }

    public struct Month: Codable, Sendable {
        public var year: Int
        public var month: Int
        public var ratings: Int
        public var meanRating: Double
    }

    /// Customers with lo…hi ratings (inclusive).
    public struct FrequencyBin: Codable, Sendable {
        public var lo, hi: Int
        public var customers: Int
    }

    public struct RatingCount: Codable, Sendable {
        public var rating: Double
        public var ratings: Int
    }

    /// Movies released in a year and their ratings; the mean is over ratings, not movies.
    public struct ReleaseYear: Codable, Sendable {
        public var releaseYear: Int
        public var movies: Int
        public var ratings: Int
        public var meanRating: Double
    }

    public var format: String?
    public var dataVersion: String?
    public var top: Int
    public var minRatings: Int
    public var totals: Totals
    public var mostRated: [Movie]
    public var bestRated: [Movie]
    public var byMonth: [Month]
    public var customerFrequency: [FrequencyBin]
    public var ratingDistribution: [RatingCount]
    public var releaseYears: [ReleaseYear]
}
