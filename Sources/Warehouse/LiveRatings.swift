import Features
import Foundation
import Runtime

/// A rating that arrives one at a time (`POST /v1/ratings`), not from a source file.
public struct IncomingRating: Sendable, Equatable {
    public var customerID: Int64
    public var movieID: Int64
    public var rating: Double
    public var date: CivilDate

    public init(customerID: Int64, movieID: Int64, rating: Double, date: CivilDate) {
        (self.customerID, self.movieID, self.rating, self.date) = (customerID, movieID, rating, date)
    }
}

/// What one accepted batch did to the warehouse.
public struct IngestResult: Codable, Sendable, Equatable {
    public var batchId: Int
    public var accepted: Int
    /// New (customer, movie) pairs.
    public var inserted: Int
    /// Pairs that had another rating or date; the old one is in fact_ratings_history.
    public var replaced: Int
    /// Pairs that already had exactly this rating and date.
    public var unchanged: Int
    public var newCustomers: Int
    public var dataVersion: String
}

/// A batch the warehouse refuses; nothing of it was written.
public struct IngestError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// A value is out of range or inconsistent (HTTP 400).
        case invalid
        /// A movie the warehouse does not have (HTTP 404).
        case notFound
        /// The Idempotency-Key was used before for another body (HTTP 422).
        case keyReused
        /// The warehouse cannot take ratings now: no complete load, or a load running (HTTP 503).
        case unavailable
    }
    public var kind: Kind
    /// The request field at fault, e.g. `ratings[3].movie_id`.
    public var field: String?
    public var message: String
    public var description: String { message }

    public init(_ kind: Kind, field: String? = nil, _ message: String) {
        (self.kind, self.field, self.message) = (kind, field, message)
    }
}

/// Ratings written into the live star schema, one transaction per batch.
///
/// The warehouse stays what a load would have made of the same ratings: a new
/// customer gets the next dense key and a dim_customer row, new dates join
/// dim_date, the customers' counts and first/last dates are recomputed from
/// their facts. A pair rated again keeps its previous value in
/// fact_ratings_history. Every batch gives the warehouse a new data version,
/// so features and the ratings cache see the change.
public enum LiveRatings {
    /// The most ratings one batch may hold.
    public static let batchLimit = 10_000

    /// Serializes batches among themselves (the bytes of "recsys:ingest").
    static let ingestLock: Int64 = 0x7265_6373_7969_6e67

    /// Writes `ratings` in one transaction. `idempotencyKey`: a key seen before
    /// with the same `requestHash` returns the first result (`replayed`) and writes nothing.
    public static func ingest(_ ratings: [IncomingRating], idempotencyKey: String?, requestHash: String,
                              connection: Connection, today: CivilDate = .today) throws -> (result: IngestResult, replayed: Bool) {
        guard ratings.count <= batchLimit else {
            throw IngestError(.invalid, field: "ratings", "a batch holds at most \(batchLimit) ratings; this one has \(ratings.count)")
        }
        return try connection.transaction {
            // A load in progress owns the tables; batches wait for one another so
            // that keys, counts and data versions move in a line.
            guard try connection.execute("SELECT pg_try_advisory_xact_lock_shared(\(AdvisoryLocks.load))").scalar() == "t" else {
                throw IngestError(.unavailable, "a `recsys load` is running; send the ratings again when it has finished")
            }
            try connection.execute("SELECT pg_advisory_xact_lock(\(ingestLock))")
            if let idempotencyKey {
                if let row = try connection.execute("SELECT request_hash, response::text FROM rating_batch WHERE idempotency_key = $1",
                                                    [idempotencyKey]).rows.first {
                    guard row[0] == requestHash else {
                        throw IngestError(.keyReused, field: "Idempotency-Key", "this Idempotency-Key was used before for a different body; use a new key for new ratings")
                    }
                    return (try JSON.decode(IngestResult.self, from: row[1] ?? "{}"), true)
                }
            }
            guard let run = try connection.execute("SELECT format, data_version, finished_at IS NOT NULL FROM etl_run").rows.first,
                  run[2] == "t", let version = run[1] else {
                throw IngestError(.unavailable, "the warehouse holds no complete load yet: run `recsys load --data DIR` first")
            }
            let scale: RatingScale = run[0] == "movielens" ? .movieLens : .netflix
            try validate(ratings, scale: scale, today: today)
            return (try apply(ratings, version: version, idempotencyKey: idempotencyKey, requestHash: requestHash, connection: connection), false)
        }
    }

    /// Values a load would refuse, and a pair given twice (which one would win is unclear).
    static func validate(_ ratings: [IncomingRating], scale: RatingScale, today: CivilDate) throws {
        var seen: [PairKey: Int] = [:]
        for (i, r) in ratings.enumerated() {
            guard r.customerID > 0 else {
                throw IngestError(.invalid, field: "ratings[\(i)].customer_id", "ratings[\(i)].customer_id must be a positive whole number, not \(r.customerID)")
            }
            guard r.movieID > 0 else {
                throw IngestError(.invalid, field: "ratings[\(i)].movie_id", "ratings[\(i)].movie_id must be a positive whole number, not \(r.movieID)")
            }
            guard scale.contains(r.rating) else {
                throw IngestError(.invalid, field: "ratings[\(i)].rating",
                                  "ratings[\(i)].rating \(plain(r.rating)) is not on this warehouse's scale (\(plain(scale.minimum))…\(plain(scale.maximum)) in steps of \(plain(scale.step)))")
            }
            guard r.date <= today, r.date.year >= 1900 else {
                throw IngestError(.invalid, field: "ratings[\(i)].date", "ratings[\(i)].date \(r.date.iso) is \(r.date.year < 1900 ? "before 1900" : "in the future")")
            }
            if let first = seen.updateValue(i, forKey: PairKey(customer: r.customerID, movie: r.movieID)) {
                throw IngestError(.invalid, field: "ratings[\(i)]",
                                  "ratings[\(i)] rates movie \(r.movieID) for customer \(r.customerID) again (ratings[\(first)] did): send one rating per pair")
            }
        }
    }

    /// 4 rather than 4.0; 3.5 as it is.
    private static func plain(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    private struct PairKey: Hashable { var customer: Int64; var movie: Int64 }

    private static func array<T>(_ values: [T]) -> String { "{" + values.map { "\($0)" }.joined(separator: ",") + "}" }

    /// Writes one validated batch inside the caller's transaction, which holds
    /// `ingestLock` (a POST and an appended file's batch alike); logs it in rating_batch.
    static func apply(_ ratings: [IncomingRating], version: String, idempotencyKey: String?, requestHash: String,
                      connection: Connection) throws -> IngestResult {
        // Movies must exist: a rating of an unknown movie is a mistake, not a new title.
        let movieIDs = Array(Set(ratings.map(\.movieID))).sorted()
        var movieKey: [Int64: Int] = [:]
        for r in try connection.execute("SELECT movie_id, movie_key FROM dim_movie WHERE movie_id = ANY($1::bigint[])", [array(movieIDs)]).rows {
            if let id = r[0].flatMap({ Int64($0) }), let key = r[1].flatMap({ Int($0) }) { movieKey[id] = key }
        }
        if let i = ratings.firstIndex(where: { movieKey[$0.movieID] == nil }) {
            throw IngestError(.notFound, field: "ratings[\(i)].movie_id", "ratings[\(i)].movie_id: movie \(ratings[i].movieID) is not in the warehouse (dim_movie)")
        }
        // New customers get the next dense keys, in customer id order as the load assigns them.
        let customerIDs = Array(Set(ratings.map(\.customerID))).sorted()
        var customerKey: [Int64: Int] = [:]
        for r in try connection.execute("SELECT customer_id, customer_key FROM dim_customer WHERE customer_id = ANY($1::bigint[])", [array(customerIDs)]).rows {
            if let id = r[0].flatMap({ Int64($0) }), let key = r[1].flatMap({ Int($0) }) { customerKey[id] = key }
        }
        let newCustomers = customerIDs.filter { customerKey[$0] == nil }
        var nextKey = (try connection.execute("SELECT coalesce(max(customer_key), 0) FROM dim_customer").scalar().flatMap { Int($0) } ?? 0) + 1
        for id in newCustomers { customerKey[id] = nextKey; nextKey += 1 }

        let batchID = try connection.execute("SELECT nextval(pg_get_serial_sequence('rating_batch', 'batch_id'))").scalar().flatMap { Int($0) } ?? 0
        let newDates = try addDates(Set(ratings.map(\.date)), connection)
        if !newCustomers.isEmpty {
            // Placeholder aggregates: recomputed from the facts below, once the rows are in.
            let date = ratings.map(\.date).min()!.iso
            try connection.execute("""
                INSERT INTO dim_customer (customer_key, customer_id, first_rating_date, last_rating_date, total_ratings)
                SELECT k, id, $3::date, $3::date, 1 FROM unnest($1::int[], $2::bigint[]) AS n(k, id)
                """, [array(newCustomers.map { customerKey[$0]! }), array(newCustomers), date])
        }
        try connection.execute("""
            CREATE TEMP TABLE incoming (customer_key int, movie_key int, date_key int, rating numeric(2,1),
                                        PRIMARY KEY (movie_key, customer_key)) ON COMMIT DROP
            """)
        try connection.execute("""
            INSERT INTO incoming SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::numeric[])
            """, [array(ratings.map { customerKey[$0.customerID]! }), array(ratings.map { movieKey[$0.movieID]! }),
                  array(ratings.map { Int($0.date.key) }), array(ratings.map { String($0.rating) })])
        // The previous value of every pair that changes, with the interval it held; the rows
        // replaced and the rows written are kept in two temporary tables (RETURNING), so the
        // analytics deltas and the customers' aggregates below read them instead of probing
        // fact_ratings and its history again for every rating.
        let loadStarted = "(SELECT started_at FROM etl_run)"
        try connection.execute("""
            CREATE TEMP TABLE replaced_rows (customer_key int, movie_key int, date_key int, rating numeric(2,1), new_date_key int)
            ON COMMIT DROP
            """)
        let replaced = try connection.execute("""
            WITH old AS (
                INSERT INTO fact_ratings_history (customer_key, movie_key, date_key, rating, valid_from, valid_to, batch_id, replaced_by)
                SELECT f.customer_key, f.movie_key, f.date_key, f.rating,
                       coalesce((SELECT created_at FROM rating_batch b WHERE b.batch_id = f.batch_id), \(loadStarted)),
                       now(), f.batch_id, $1
                FROM fact_ratings f JOIN incoming i USING (movie_key, customer_key)
                WHERE (f.rating, f.date_key) IS DISTINCT FROM (i.rating, i.date_key)
                RETURNING customer_key, movie_key, date_key, rating),
            kept AS (
                INSERT INTO replaced_rows SELECT o.customer_key, o.movie_key, o.date_key, o.rating, i.date_key
                FROM old o JOIN incoming i USING (movie_key, customer_key) RETURNING 1)
            SELECT count(*) FROM kept
            """, [String(batchID)]).scalar().flatMap { Int($0) } ?? 0
        // Sorted by the primary key: consecutive inserts land on neighbouring index pages.
        try connection.execute("""
            CREATE TEMP TABLE written_rows (customer_key int, movie_key int, date_key int, rating numeric(2,1), inserted boolean)
            ON COMMIT DROP
            """)
        let written = try connection.execute("""
            WITH up AS (
                INSERT INTO fact_ratings (customer_key, movie_key, date_key, rating, batch_id)
                SELECT customer_key, movie_key, date_key, rating, $1 FROM incoming ORDER BY movie_key, customer_key
                ON CONFLICT (movie_key, customer_key) DO UPDATE
                    SET rating = EXCLUDED.rating, date_key = EXCLUDED.date_key, batch_id = EXCLUDED.batch_id
                    WHERE (fact_ratings.rating, fact_ratings.date_key) IS DISTINCT FROM (EXCLUDED.rating, EXCLUDED.date_key)
                RETURNING customer_key, movie_key, date_key, rating, (xmax = 0) AS inserted),
            kept AS (INSERT INTO written_rows SELECT * FROM up RETURNING inserted)
            SELECT count(*) FILTER (WHERE inserted), count(*) FROM kept
            """, [String(batchID)]).rows.first
        let inserted = written?[0].flatMap { Int($0) } ?? 0
        let changed = written?[1].flatMap { Int($0) } ?? 0
        // The analytics deltas: +1 for each value written, −1 for each value it replaced.
        try connection.execute("""
            WITH written AS (
                SELECT movie_key, date_key, rating, 1 AS n FROM written_rows
                UNION ALL
                SELECT movie_key, date_key, rating, -1 FROM replaced_rows
            ), movies AS (
                INSERT INTO delta_movie_rating_counts SELECT movie_key, rating, sum(n) FROM written GROUP BY movie_key, rating
                ON CONFLICT (movie_key, rating) DO UPDATE SET ratings = delta_movie_rating_counts.ratings + EXCLUDED.ratings
            )
            INSERT INTO delta_daily_rating_counts SELECT date_key, rating, sum(n) FROM written GROUP BY date_key, rating
            ON CONFLICT (date_key, rating) DO UPDATE SET ratings = delta_daily_rating_counts.ratings + EXCLUDED.ratings
            """)
        // Customers by count: the customers touched leave their old count (new ones had none) and join the new one.
        let firstNewKey = newCustomers.first.map { customerKey[$0]! } ?? nextKey
        try connection.execute("""
            INSERT INTO delta_customer_activity
            SELECT total_ratings, -count(*) FROM dim_customer
            WHERE customer_key IN (SELECT DISTINCT customer_key FROM incoming) AND customer_key < $1 GROUP BY total_ratings
            ON CONFLICT (total_ratings) DO UPDATE SET customers = delta_customer_activity.customers + EXCLUDED.customers
            """, [String(firstNewKey)])
        // The customers' counts and first/last dates move by what this batch
        // wrote: recomputing them from the facts costs ~200 random heap reads per
        // customer (7 ms each at Netflix scale). Only a customer whose replaced
        // rating held their first date and moved later, or their last date and
        // moved earlier, is recomputed — appends of new days only ever move dates later.
        try connection.execute("""
            CREATE TEMP TABLE recount ON COMMIT DROP AS
            SELECT DISTINCT r.customer_key FROM replaced_rows r
            JOIN dim_customer c ON c.customer_key = r.customer_key
            JOIN dim_date d ON d.date_key = r.date_key JOIN dim_date n ON n.date_key = r.new_date_key
            WHERE (d.date_actual = c.first_rating_date AND n.date_actual > d.date_actual)
               OR (d.date_actual = c.last_rating_date AND n.date_actual < d.date_actual)
            """)
        try connection.execute("""
            WITH a AS (
                SELECT w.customer_key, count(*) FILTER (WHERE w.inserted) AS added, min(d.date_actual) AS first, max(d.date_actual) AS last
                FROM written_rows w JOIN dim_date d ON d.date_key = w.date_key
                GROUP BY w.customer_key
            )
            UPDATE dim_customer c
            SET total_ratings = CASE WHEN c.customer_key >= $1 THEN a.added ELSE c.total_ratings + a.added END,
                first_rating_date = CASE WHEN c.customer_key >= $1 THEN a.first ELSE least(c.first_rating_date, a.first) END,
                last_rating_date = CASE WHEN c.customer_key >= $1 THEN a.last ELSE greatest(c.last_rating_date, a.last) END
            FROM a WHERE c.customer_key = a.customer_key AND c.customer_key NOT IN (SELECT customer_key FROM recount)
            """, [String(firstNewKey)])
        try connection.execute("""
            UPDATE dim_customer c SET total_ratings = a.n, first_rating_date = a.first, last_rating_date = a.last
            FROM (SELECT f.customer_key, count(*) AS n, min(d.date_actual) AS first, max(d.date_actual) AS last
                  FROM fact_ratings f JOIN dim_date d USING (date_key)
                  WHERE f.customer_key IN (SELECT customer_key FROM recount)
                  GROUP BY f.customer_key) a
            WHERE c.customer_key = a.customer_key
            """)
        try connection.execute("""
            INSERT INTO delta_customer_activity
            SELECT total_ratings, count(*) FROM dim_customer WHERE customer_key IN (SELECT DISTINCT customer_key FROM incoming) GROUP BY total_ratings
            ON CONFLICT (total_ratings) DO UPDATE SET customers = delta_customer_activity.customers + EXCLUDED.customers
            """)
        try connection.execute("""
            INSERT INTO live_customer (customer_key, batch_id) SELECT DISTINCT customer_key, $1::bigint FROM incoming
            ON CONFLICT (customer_key) DO UPDATE SET batch_id = EXCLUDED.batch_id
            """, [String(batchID)])
        // A batch that changed nothing leaves the data (and its version) as it was.
        let newVersion = changed > 0 ? "\(version.split(separator: "+").first ?? Substring(version))+live\(batchID)" : version
        if newVersion != version {
            try connection.execute("UPDATE etl_run SET data_version = $1", [newVersion])
        }
        let result = IngestResult(batchId: batchID, accepted: ratings.count, inserted: inserted, replaced: replaced,
                                  unchanged: ratings.count - changed, newCustomers: newCustomers.count,
                                  dataVersion: newVersion)
        let response = try JSON.text(result)
        try connection.execute("""
            INSERT INTO rating_batch (batch_id, idempotency_key, request_hash, response, inserted, replaced, new_customers, new_dates, data_version)
            VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
            """, [String(batchID), idempotencyKey, requestHash, response, String(inserted), String(replaced),
                  String(newCustomers.count), String(newDates), newVersion])
        return result
    }

    /// Adds the dates dim_date lacks, with the load's attributes; returns how many.
    private static func addDates(_ dates: Set<CivilDate>, _ connection: Connection) throws -> Int {
        let keys = dates.map { Int($0.key) }
        let known = Set(try connection.execute("SELECT date_key FROM dim_date WHERE date_key = ANY($1::int[])", [array(keys)])
            .rows.compactMap { $0[0].flatMap { Int32($0) } })
        let missing = dates.filter { !known.contains($0.key) }.sorted()
        guard !missing.isEmpty else { return 0 }
        let weekdays = missing.map(\.isoWeekday)
        try connection.execute("""
            INSERT INTO dim_date (date_key, date_actual, year, quarter, month, day, day_of_week, month_name, is_weekend)
            SELECT k, d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d), extract(day FROM d), w, n, w >= 6
            FROM unnest($1::int[], $2::date[], $3::int[], $4::text[]) AS t(k, d, w, n)
            """, [array(missing.map { Int($0.key) }), array(missing.map(\.iso)), array(weekdays),
                  "{" + missing.map { StarSchemaWriter.monthNames[$0.month - 1] }.joined(separator: ",") + "}"])
        return missing.count
    }

    /// Whether the customer's ratings changed after a model of data version
    /// `modelVersion` was trained: a later batch wrote to them, or the version is
    /// not one this warehouse's batches produced (another load).
    public static func changedSince(customerKey: Int, modelVersion: String, connection: Connection) throws -> Bool {
        try connection.execute("""
            SELECT EXISTS (SELECT 1 FROM live_customer c WHERE c.customer_key = $1
                           AND c.batch_id > coalesce((SELECT max(batch_id) FROM rating_batch WHERE data_version = $2), 0))
            """, [String(customerKey), modelVersion]).scalar() == "t"
    }
}

/// A customer as a live front end needs them: current ratings, and whether a
/// model of a given data version still describes them.
public struct CustomerState: Sendable {
    public var key: Int
    /// Every current rating: (movie_id, rating).
    public var ratings: [(movieID: Int64, rating: Double)]
    /// The warehouse's data version now.
    public var warehouseVersion: String
    /// True when the model's version is the warehouse's, or the warehouse moved
    /// on only by live batches that left this customer alone.
    public var modelIsCurrent: Bool
}

extension LiveRatings {
    /// The load a data version belongs to (live batches add `+liveN`).
    public static func loadPart(_ version: String) -> Substring { version.split(separator: "+").first ?? Substring(version) }

    /// The last batch a data version includes: 0 for the load's own, N for `…+liveN`.
    public static func batch(ofVersion version: String) -> Int? {
        guard let plus = version.firstIndex(of: "+") else { return 0 }
        let suffix = version[version.index(after: plus)...]
        return suffix.hasPrefix("live") ? Int(suffix.dropFirst(4)) : nil
    }

    /// The customer with source id `id` judged against a model of `modelVersion`,
    /// in one round trip of a prepared statement; nil when the warehouse has no
    /// such customer. `movieID` maps a movie key to its source id (a front end's
    /// cache: joining dim_movie per request cost more than the rest); keys it
    /// does not know are looked up.
    public static func customer(id: Int64, modelVersion: String, connection: Connection,
                                movieID: (Int) -> Int64? = { _ in nil }) throws -> CustomerState? {
        guard let row = try connection.executePrepared("""
            SELECT c.customer_key, (SELECT data_version FROM etl_run),
                   EXISTS (SELECT 1 FROM live_customer l WHERE l.customer_key = c.customer_key
                           AND l.batch_id > coalesce((SELECT max(batch_id) FROM rating_batch WHERE data_version = $2), 0)),
                   (SELECT string_agg(f.movie_key || ':' || f.rating, ',') FROM fact_ratings f WHERE f.customer_key = c.customer_key)
            FROM dim_customer c WHERE c.customer_id = $1
            """, [String(id), modelVersion]).rows.first, let key = row[0].flatMap({ Int($0) }) else { return nil }
        let version = row[1] ?? ""
        var byKey: [(key: Int, rating: Double)] = []
        for pair in (row[3] ?? "").split(separator: ",") {
            let parts = pair.split(separator: ":")
            if parts.count == 2, let m = Int(parts[0]), let v = Double(parts[1]) { byKey.append((m, v)) }
        }
        let unknown = byKey.map(\.key).filter { movieID($0) == nil }
        var looked: [Int: Int64] = [:]
        if !unknown.isEmpty {
            for r in try connection.execute("SELECT movie_key, movie_id FROM dim_movie WHERE movie_key = ANY($1::int[])",
                                            [array(unknown)]).rows {
                if let k = r[0].flatMap({ Int($0) }), let m = r[1].flatMap({ Int64($0) }) { looked[k] = m }
            }
        }
        let ratings = byKey.compactMap { r in (movieID(r.key) ?? looked[r.key]).map { (movieID: $0, rating: r.rating) } }
        let current = version == modelVersion || (loadPart(version) == loadPart(modelVersion) && row[2] != "t")
        return CustomerState(key: key, ratings: ratings, warehouseVersion: version, modelIsCurrent: current)
    }
}

/// What the warehouse says about one movie, live.
public struct MovieFacts: Codable, Sendable, Equatable {
    public var movieId: Int64
    public var title: String
    public var year: Int?
    public var genres: String?
    public var ratings: Int
    /// Mean of its current ratings; nil with none.
    public var meanRating: Double?
}

/// One of a customer's current ratings.
public struct CustomerRating: Codable, Sendable, Equatable {
    public var movieId: Int64
    public var title: String
    public var rating: Double
    public var date: String
}

/// Read-only lookups for front ends.
public enum Catalog {
    public static func movie(id: Int64, _ connection: Connection) throws -> MovieFacts? {
        guard let r = try connection.execute("""
            SELECT m.movie_id, m.title, m.release_year, m.genres, count(f.rating), avg(f.rating)::float8
            FROM dim_movie m LEFT JOIN fact_ratings f ON f.movie_key = m.movie_key
            WHERE m.movie_id = $1 GROUP BY m.movie_id, m.title, m.release_year, m.genres
            """, [String(id)]).rows.first, let movieID = r[0].flatMap({ Int64($0) }) else { return nil }
        return MovieFacts(movieId: movieID, title: r[1] ?? "", year: r[2].flatMap { Int($0) }, genres: r[3],
                          ratings: r[4].flatMap { Int($0) } ?? 0, meanRating: r[5].flatMap { Double($0) })
    }

    /// The customer's newest `limit` ratings (ties by movie id); nil for a customer the warehouse does not have.
    public static func ratings(customer id: Int64, limit: Int, _ connection: Connection) throws -> [CustomerRating]? {
        guard let key = try connection.execute("SELECT customer_key FROM dim_customer WHERE customer_id = $1", [String(id)])
            .scalar().flatMap({ Int($0) }) else { return nil }
        return try connection.execute("""
            SELECT m.movie_id, m.title, f.rating::float8, d.date_actual::text
            FROM fact_ratings f JOIN dim_movie m ON m.movie_key = f.movie_key JOIN dim_date d ON d.date_key = f.date_key
            WHERE f.customer_key = $1 ORDER BY f.date_key DESC, m.movie_id LIMIT $2
            """, [String(key), String(limit)]).rows.map { r in
            CustomerRating(movieId: Int64(r[0] ?? "") ?? 0, title: r[1] ?? "", rating: Double(r[2] ?? "") ?? 0, date: r[3] ?? "")
        }
    }

    /// Every movie's source id by its key (keys are dense: index = key − 1).
    public static func movieIDsByKey(_ connection: Connection) throws -> [Int64] {
        try connection.execute("SELECT movie_id FROM dim_movie ORDER BY movie_key").rows.compactMap { $0[0].flatMap { Int64($0) } }
    }

    /// Title, year of every movie (a front end's cache: 17,770 rows at Netflix scale).
    public static func titles(_ connection: Connection) throws -> [Int64: (title: String, year: Int?)] {
        var out: [Int64: (title: String, year: Int?)] = [:]
        for r in try connection.execute("SELECT movie_id, title, release_year FROM dim_movie").rows {
            if let id = r[0].flatMap({ Int64($0) }) { out[id] = (r[1] ?? "", r[2].flatMap { Int($0) }) }
        }
        return out
    }
}

extension LiveRatings {
    /// The current value of every pair a batch after `batch` wrote (new pairs and re-ratings),
    /// through the partial index on fact_ratings.batch_id.
    public static func written(after batch: Int, _ connection: Connection) throws -> [(customerKey: Int, movieKey: Int, rating: Double)] {
        try connection.execute("SELECT customer_key, movie_key, rating::float8 FROM fact_ratings WHERE batch_id > $1 ORDER BY customer_key, movie_key",
                               [String(batch)]).rows.compactMap { r in
            guard let c = r[0].flatMap({ Int($0) }), let m = r[1].flatMap({ Int($0) }), let v = r[2].flatMap({ Double($0) }) else { return nil }
            return (c, m, v)
        }
    }
}
