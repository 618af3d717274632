import Foundation

/// The warehouse side of the models: the `model_runs` register, the
/// `recommendations` table, and the per-customer lookups recommend needs.
/// Values arrive as plain numbers and JSON text: the warehouse does not know
/// the model types.
public enum ModelRegistry {
    /// One model_runs row.
    public struct Run: Sendable {
        public var model: String
        /// JSON object text.
        public var params: String
        /// JSON object text: {"validation": {...}, "test": {...}}.
        public var metrics: String
        /// JSON array text, or nil.
        public var iterations: String?
        public var fitSeconds: Double
        public var dataVersion: String
        public var splitID: Int?
        public var path: String?
        public var gridID: String?

        public init(model: String, params: String, metrics: String, iterations: String?, fitSeconds: Double,
                    dataVersion: String, splitID: Int?, path: String?, gridID: String? = nil) {
            self.model = model
            self.params = params
            self.metrics = metrics
            self.iterations = iterations
            self.fitSeconds = fitSeconds
            self.dataVersion = dataVersion
            self.splitID = splitID
            self.path = path
            self.gridID = gridID
        }
    }

    /// Registers a run; returns its run_id.
    public static func record(_ connection: Connection, _ run: Run) throws -> Int {
        let result = try connection.execute("""
            INSERT INTO model_runs (model, params, metrics, iterations, fit_seconds, data_version, split_id, path, grid_id)
            VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb, $5, $6, $7, $8, $9) RETURNING run_id
            """, [run.model, run.params, run.metrics, run.iterations, String(run.fitSeconds), run.dataVersion,
                  run.splitID.map(String.init), run.path, run.gridID])
        guard let id = result.int(0, 0) else { throw WarehouseError(.database, "model_runs returned no run_id") }
        return id
    }

    /// A run id of its own for a run that is not registered yet: the model file
    /// records it before the row exists, so a run killed before its file is
    /// in place leaves no row.
    public static func reserveRunID(_ connection: Connection) throws -> Int {
        guard let id = try connection.execute("SELECT nextval(pg_get_serial_sequence('model_runs', 'run_id'))").int(0, 0) else {
            throw WarehouseError(.database, "model_runs gave no run id")
        }
        return id
    }

    /// Registers a run with a reserved id and its file, which is in place: a
    /// run whose file was at the same path loses it (that file was just
    /// replaced). One transaction, so the registry never shows two runs
    /// owning one file.
    public static func record(_ connection: Connection, _ run: Run, id: Int) throws {
        try connection.transaction {
            if let path = run.path {
                _ = try connection.execute("UPDATE model_runs SET path = NULL WHERE path = $1", [path])
            }
            _ = try connection.execute("""
                INSERT INTO model_runs (run_id, model, params, metrics, iterations, fit_seconds, data_version, split_id, path, grid_id)
                VALUES ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10)
                """, [String(id), run.model, run.params, run.metrics, run.iterations, String(run.fitSeconds), run.dataVersion,
                      run.splitID.map(String.init), run.path, run.gridID])
        }
    }

    /// A saved model: its run and file.
    public struct SavedModel: Sendable {
        public var runID: Int
        public var model: String
        public var path: String
        public var splitID: Int?
        public var dataVersion: String
        /// NDCG@10 of its top-10 lists on the validation part, when train recorded it.
        public var validationNDCG: Double?
    }

    /// Saved models, newest first; `latestPerKind` keeps the newest of each model kind.
    public static func savedModels(_ connection: Connection, latestPerKind: Bool = false) throws -> [SavedModel] {
        let rows = try connection.execute("""
            SELECT run_id, model, path, split_id, data_version, (metrics->'validation_ranking'->>'ndcg')::float8 FROM model_runs
            WHERE path IS NOT NULL ORDER BY run_id DESC
            """).rows
        var seen = Set<String>()
        var out: [SavedModel] = []
        for r in rows {
            guard let id = Int(r[0] ?? ""), let model = r[1], let path = r[2] else { continue }
            if latestPerKind { guard seen.insert(model).inserted else { continue } }
            out.append(SavedModel(runID: id, model: model, path: path, splitID: r[3].flatMap { Int($0) }, dataVersion: r[4] ?? "",
                                  validationNDCG: r[5].flatMap { Double($0) }))
        }
        return out
    }

    /// The run that saved the file at `path`, if one did.
    public static func run(forPath path: String, _ connection: Connection) throws -> Int? {
        try connection.execute("SELECT max(run_id) FROM model_runs WHERE path = $1", [path]).scalar().flatMap { Int($0) }
    }

    /// The per-iteration log of a run (JSON text, as `train` recorded it), if it has one.
    public static func iterations(run: Int, _ connection: Connection) throws -> String? {
        try connection.execute("SELECT iterations::text FROM model_runs WHERE run_id = $1", [String(run)]).scalar()
    }

    /// The candidates of one grid search: its model and, per candidate, the
    /// parameters and metrics (JSON text) as recorded.
    public struct Grid: Sendable {
        public var gridID: String
        public var model: String
        public var candidates: [(params: String, metrics: String)]
    }

    /// The newest grid search run on `split` of `dataVersion` (candidates only:
    /// the refitted best, which has a file, is left out), if any.
    public static func latestGrid(split: Int, dataVersion: String, _ connection: Connection) throws -> Grid? {
        let rows = try connection.execute("""
            SELECT grid_id, model, params::text, metrics::text FROM model_runs
            WHERE grid_id = (SELECT grid_id FROM model_runs WHERE grid_id IS NOT NULL AND split_id = $1 AND data_version = $2
                             ORDER BY run_id DESC LIMIT 1)
              AND path IS NULL
            ORDER BY run_id
            """, [String(split), dataVersion]).rows
        guard let first = rows.first, let id = first[0], let model = first[1] else { return nil }
        return Grid(gridID: id, model: model, candidates: rows.map { ($0[2] ?? "{}", $0[3] ?? "{}") })
    }

    /// Replaces the recommendations of `run` with `rows` (customer_key, position, movie_key, predicted rating),
    /// in one transaction; returns the rows written. Binary COPY: at Netflix scale (4.8M rows for a
    /// top 10) formatting the numbers as text cost more than the server's work.
    public static func replaceRecommendations(_ connection: Connection, run: Int,
                                              _ write: (_ emit: (Int, Int, Int, Double) throws -> Void) throws -> Void) throws -> Int {
        try connection.transaction {
            _ = try connection.execute("DELETE FROM recommendations WHERE run_id = $1", [String(run)])
            return try connection.copyIn("COPY recommendations (run_id, customer_key, position, movie_key, predicted_rating) FROM STDIN (FORMAT binary)") { out in
                var tuple = PGCopyBinary.header
                tuple.reserveCapacity(1 << 16)
                try write { customer, position, movie, rating in
                    PGCopyBinary.beginTuple(fields: 5, &tuple)
                    PGCopyBinary.int4(Int32(run), &tuple)
                    PGCopyBinary.int4(Int32(customer), &tuple)
                    PGCopyBinary.int2(Int16(position), &tuple)
                    PGCopyBinary.int4(Int32(movie), &tuple)
                    PGCopyBinary.float8(rating, &tuple)
                    if tuple.count > 60_000 {
                        try out.write(tuple)
                        tuple.removeAll(keepingCapacity: true)
                    }
                }
                tuple.append(contentsOf: PGCopyBinary.trailer)
                try out.write(tuple)
            }
        }
    }

    /// One `recsys refresh`: yesterday's model on today's ratings, and the new version on the held-out ones.
    public struct PrequentialRecord: Codable, Sendable {
        public var runId: Int
        public var model: String
        public var refreshedFrom: Int?
        public var fromDataVersion: String
        public var dataVersion: String
        public var newRatings: Int
        /// RMSE of the model before the refresh on every new rating.
        public var before: Double?
        public var heldOut: Int
        public var beforeHeldOut: Double?
        public var after: Double?
    }

    /// Every refresh, oldest first.
    public static func prequential(_ connection: Connection) throws -> [PrequentialRecord] {
        try connection.execute("""
            SELECT run_id, model, (metrics->'prequential'->>'refreshed_from')::int, metrics->'prequential'->>'from_data_version', data_version,
                   (metrics->'prequential'->>'new_ratings')::int, (metrics->'prequential'->'before'->>'rmse')::float8,
                   (metrics->'prequential'->>'held_out')::int, (metrics->'prequential'->'before_held_out'->>'rmse')::float8,
                   (metrics->'prequential'->'after'->>'rmse')::float8
            FROM model_runs WHERE metrics ? 'prequential' ORDER BY run_id
            """).rows.compactMap { r in
            guard let id = r[0].flatMap({ Int($0) }) else { return nil }
            return PrequentialRecord(runId: id, model: r[1] ?? "", refreshedFrom: r[2].flatMap { Int($0) }, fromDataVersion: r[3] ?? "",
                                     dataVersion: r[4] ?? "", newRatings: r[5].flatMap { Int($0) } ?? 0, before: r[6].flatMap { Double($0) },
                                     heldOut: r[7].flatMap { Int($0) } ?? 0, beforeHeldOut: r[8].flatMap { Double($0) }, after: r[9].flatMap { Double($0) })
        }
    }

    /// Title and release year of movies by source id.
    public static func titles(_ ids: [Int64], _ connection: Connection) throws -> [Int64: (title: String, year: Int?)] {
        guard !ids.isEmpty else { return [:] }
        let list = "{" + ids.map(String.init).joined(separator: ",") + "}"
        var out: [Int64: (String, Int?)] = [:]
        for r in try connection.execute("SELECT movie_id, title, release_year FROM dim_movie WHERE movie_id = ANY($1::bigint[])", [list]).rows {
            if let id = Int64(r[0] ?? "") { out[id] = (r[1] ?? "", r[2].flatMap { Int($0) }) }
        }
        return out
    }

    /// The data version of the complete load, or nil when there is none.
    /// Training ratings per movie id in split `split` (feature_movie_bias.ratings);
    /// nil when that split's rows are gone (only the newest split keeps them).
    public static func movieSupport(split: Int, _ connection: Connection) throws -> [Int64: Int32]? {
        let rows = try connection.execute("""
            SELECT m.movie_id, b.ratings FROM feature_movie_bias b JOIN dim_movie m USING (movie_key) WHERE b.split_id = $1
            """, [String(split)]).rows
        guard !rows.isEmpty else { return nil }
        var support: [Int64: Int32] = [:]
        for r in rows { if let id = r[0].flatMap({ Int64($0) }), let n = r[1].flatMap({ Int32($0) }) { support[id] = n } }
        return support
    }

    public static func dataVersion(_ connection: Connection) throws -> String? {
        try connection.execute("SELECT data_version FROM etl_run WHERE finished_at IS NOT NULL").scalar()
    }
}
