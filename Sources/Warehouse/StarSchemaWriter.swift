import Foundation
import Features
import Runtime
import Logging

/// Writes the stages of the star schema from a scanned source. Each dimension
/// is one transaction; the fact table goes in checkpointed batches; the
/// post-processing builds keys, indexes and statistics once the rows are in.
final class StarSchemaWriter {
    let connection: Connection
    /// Opens another connection to the same database, for work done side by side.
    let connect: () throws -> Connection
    let catalog: SourceCatalog
    let source: SourceSet
    let logger: Logger
    let progress: ProgressReporter
    let options: LoadOptions

    init(connection: Connection, connect: @escaping () throws -> Connection, catalog: SourceCatalog, source: SourceSet,
         logger: Logger, progress: ProgressReporter, options: LoadOptions) {
        self.connection = connection
        self.connect = connect
        self.catalog = catalog
        self.source = source
        self.logger = logger
        self.progress = progress
        self.options = options
    }

    /// Runs one stage; returns the rows this run wrote.
    func run(_ stage: LoadStage) throws -> Int {
        switch stage {
        case .dimDate: return try writeDimension(stage, total: catalog.dateCount, body: writeDates)
        case .dimMovie: return try writeDimension(stage, total: catalog.movies.count, body: writeMovies)
        case .dimCustomer: return try writeDimension(stage, total: catalog.customerCount, body: writeCustomers)
        case .factRatings: return try writeFacts()
        case .postProcessing: return try postProcess()
        }
    }

    // MARK: - dimensions

    private func writeDimension(_ stage: LoadStage, total: Int, body: (CopyWriter) throws -> Void) throws -> Int {
        let started = Date()
        progress.begin(stage.rawValue, total: total)
        let rows = try connection.transaction { () -> Int in
            let rows = try connection.copyIn("COPY \(stage.rawValue) FROM STDIN", body)
            try connection.execute("UPDATE etl_checkpoint SET rows = $1, done = true, seconds = $2, updated_at = now() WHERE stage = $3",
                                   [String(rows), String(Date().timeIntervalSince(started)), stage.rawValue])
            return rows
        }
        progress.advance(rows)
        progress.finish(rows: rows, seconds: Date().timeIntervalSince(started))
        return rows
    }

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July",
                                     "August", "September", "October", "November", "December"]

    private func writeDates(_ writer: CopyWriter) throws {
        let first = CivilDate(key: catalog.minDate).daysSinceEpoch
        let last = CivilDate(key: catalog.maxDate).daysSinceEpoch
        for day in first...last {
            let d = CivilDate(daysSinceEpoch: day)
            let weekday = d.isoWeekday
            try writer.write("\(d.key)\t\(d.iso)\t\(d.year)\t\((d.month - 1) / 3 + 1)\t\(d.month)\t\(d.day)\t\(weekday)\t\(Self.monthNames[d.month - 1])\t\(weekday >= 6 ? "t" : "f")\n")
        }
    }

    private func writeMovies(_ writer: CopyWriter) throws {
        for (index, movie) in catalog.movies.enumerated() {
            try writer.write("\(Vocabulary.key(ofIndex: index))\t\(movie.id)\t\(CopyText.escape(movie.title))\t\(CopyText.optional(movie.year))\t\(CopyText.optional(movie.genres))\n")
        }
    }

    private func writeCustomers(_ writer: CopyWriter) throws {
        let ids = catalog.customerIndex.ids
        let order = ids.indices.filter { catalog.ratingCount[$0] > 0 }.sorted { catalog.customerKey[$0] < catalog.customerKey[$1] }
        for i in order {
            try writer.write("\(catalog.customerKey[i])\t\(ids[i])\t\(CivilDate(key: catalog.firstDate[i]).iso)\t\(CivilDate(key: catalog.lastDate[i]).iso)\t\(catalog.ratingCount[i])\n")
        }
    }

    // MARK: - facts

    private func writeFacts() throws -> Int {
        let started = Date()
        // A bulk load into a table without keys or checks is many times
        // faster (the rating check alone costs a third: numeric arithmetic per
        // row); the post-processing stage puts them back and validates every
        // row. Only ever done while the fact stage is unfinished, so a
        // finished table keeps its keys.
        try connection.execute("""
            ALTER TABLE fact_ratings DROP CONSTRAINT IF EXISTS fact_ratings_pkey,
                DROP CONSTRAINT IF EXISTS fact_ratings_customer_fk, DROP CONSTRAINT IF EXISTS fact_ratings_movie_fk,
                DROP CONSTRAINT IF EXISTS fact_ratings_date_fk, DROP CONSTRAINT IF EXISTS fact_ratings_rating_check;
            DROP INDEX IF EXISTS fact_ratings_customer_idx;
            DROP INDEX IF EXISTS fact_ratings_pkey;
            """)
        let checkpoints = try LoadBookkeeping.checkpoints(connection).filter { $0.stage == .factRatings }
        let already = checkpoints.reduce(0) { $0 + $1.rows }
        progress.begin(LoadStage.factRatings.rawValue, total: catalog.totalRatings, alreadyDone: already)
        var written = 0
        for url in source.ratingFiles {
            guard let checkpoint = checkpoints.first(where: { $0.file == url.lastPathComponent }) else {
                throw WarehouseError(.database, "no checkpoint row for \(url.lastPathComponent)",
                                     hint: "the bookkeeping is incomplete; `recsys load --fresh` starts over")
            }
            if checkpoint.done { continue }
            written += try FactFileLoader(writer: self, file: try MappedFile(url), checkpoint: checkpoint).run()
        }
        progress.finish(rows: written, seconds: Date().timeIntervalSince(started))
        return written
    }

    // MARK: - post-processing

    /// Builds what the bulk load left out, each step only when it is missing,
    /// so an interrupted post-processing resumes at the step it was in.
    ///
    /// The two indexes are built side by side on two connections (each takes
    /// a SHARE lock, which does not conflict with the other's), one core each;
    /// the primary key then adopts its unique index without another scan.
    /// Foreign keys validate one after another: each locks the table against
    /// the others.
    private func postProcess() throws -> Int {
        let started = Date()
        progress.begin(LoadStage.postProcessing.rawValue, total: 9, unit: "steps")
        let session = "SET maintenance_work_mem = '2GB'; SET max_parallel_maintenance_workers = 0; SET work_mem = '256MB'"
        try connection.execute(session)
        func exists(_ sql: String) throws -> Bool { try connection.execute(sql).count > 0 }
        func timed(_ name: String, _ body: () throws -> Void) rethrows {
            let t = Date()
            try body()
            logger.info("post_processing: \(name) in \(String(format: "%.1f", Date().timeIntervalSince(t))) s")
            progress.advance(1)
        }

        let needPrimaryIndex = try !exists("SELECT 1 FROM pg_class WHERE relname = 'fact_ratings_pkey'")
        let needCustomerIndex = try !exists("SELECT 1 FROM pg_class WHERE relname = 'fact_ratings_customer_idx'")
        if needPrimaryIndex || needCustomerIndex {
            try timed("unique index (movie_key, customer_key) and index (customer_key), side by side") {
                let second = LockedValue<Error>()
                let group = DispatchGroup()
                if needCustomerIndex {
                    let connect = self.connect
                    DispatchQueue.global().async(group: group) {
                        do {
                            let other = try connect()
                            try other.execute(session)
                            try other.execute("CREATE INDEX fact_ratings_customer_idx ON fact_ratings (customer_key)")
                        } catch { second.value = error }
                    }
                }
                var first: Error?
                if needPrimaryIndex {
                    do {
                        try connection.execute("CREATE UNIQUE INDEX fact_ratings_pkey ON fact_ratings (movie_key, customer_key)")
                    } catch let error as WarehouseError where error.sqlState == SQLState.uniqueViolation {
                        first = WarehouseError(.database, "fact_ratings holds a customer–movie pair twice, so its primary key cannot be built: \(error.detail ?? "")",
                                               hint: "the scan refuses duplicates, so rows were added outside recsys load; `recsys load --fresh` reloads from the files")
                    } catch { first = error }
                }
                group.wait()
                if let error = first ?? second.value { throw error }
            }
        }
        if try !exists("SELECT 1 FROM pg_constraint WHERE conname = 'fact_ratings_pkey'") {
            // The key adopts the index without another pass. The rating check is
            // added NOT VALID: the scan has already checked every rating this load
            // wrote, and validating 100M numerics again costs a minute; new rows
            // are checked, and `convalidated` in pg_constraint says so honestly.
            try timed("primary key and rating check") {
                try connection.execute("""
                    ALTER TABLE fact_ratings ADD CONSTRAINT fact_ratings_pkey PRIMARY KEY USING INDEX fact_ratings_pkey,
                        ADD CONSTRAINT fact_ratings_rating_check CHECK (rating BETWEEN 0.5 AND 5.0 AND rating * 2 = trunc(rating * 2)) NOT VALID
                    """)
            }
        }
        // The analytics views read the finished facts under ACCESS SHARE locks,
        // which the foreign keys' SHARE ROW EXCLUSIVE locks do not block: they
        // refresh on a second connection, on the other core, while the keys
        // validate. (Netflix scale: 62 s on their own; the customer key slowed
        // from 64 to 99 s beside them, 16 s saved net in one pair of runs.)
        let refresh = LockedValue<Result<Double, Error>>()
        let refreshing = DispatchGroup()
        let connect = self.connect
        DispatchQueue.global().async(group: refreshing) {
            refresh.value = Result { try Analytics.refresh(connect()) }
        }
        // A failed key must not leave the refresh running against a connection being torn down.
        defer { refreshing.wait() }
        for (name, column, table) in [("customer", "customer_key", "dim_customer"), ("movie", "movie_key", "dim_movie"),
                                      ("date", "date_key", "dim_date")] {
            if try exists("SELECT 1 FROM pg_constraint WHERE conname = 'fact_ratings_\(name)_fk'") { continue }
            try timed("foreign key to \(table)") {
                try connection.execute("ALTER TABLE fact_ratings ADD CONSTRAINT fact_ratings_\(name)_fk FOREIGN KEY (\(column)) REFERENCES \(table) (\(column))")
            }
        }
        try timed("statistics (ANALYZE)") {
            try connection.execute("ANALYZE dim_date; ANALYZE dim_movie; ANALYZE dim_customer; ANALYZE fact_ratings")
        }
        var refreshSeconds = 0.0
        try timed("analytics views (REFRESH MATERIALIZED VIEW beside the foreign keys; waited)") {
            refreshing.wait()
            refreshSeconds = try refresh.value?.get() ?? 0
        }
        logger.info("post_processing: the analytics views took \(String(format: "%.1f", refreshSeconds)) s on their own connection")
        try connection.execute("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers; RESET work_mem")
        // Write everything out now rather than in a checkpoint during the next
        // load. Needs superuser or pg_checkpoint; a configured database may refuse.
        do {
            try timed("checkpoint") { try connection.execute("CHECKPOINT") }
        } catch let error as WarehouseError where error.sqlState == SQLState.insufficientPrivilege {
            logger.info("post_processing: no CHECKPOINT (this role may not run one); the server's own checkpoints will write the data")
        }
        try connection.execute("UPDATE etl_checkpoint SET done = true, seconds = $1, updated_at = now() WHERE stage = $2",
                               [String(Date().timeIntervalSince(started)), LoadStage.postProcessing.rawValue])
        progress.finish(rows: 0, seconds: Date().timeIntervalSince(started))
        return 0
    }
}
