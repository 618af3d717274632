import Foundation
import Logging
import Runtime

/// How `recsys load` runs.
public struct LoadOptions: Sendable {
    /// The folder holding the dataset.
    public var dataDirectory: URL
    /// nil: detect from the files present.
    public var format: SourceFormat?
    /// Delete everything the warehouse holds first.
    public var fresh = false
    /// Bad lines to skip (into `etl_rejects`) before the load stops; 0 stops at the first.
    public var maxRejects = 0
    /// Fact rows per transaction (and per checkpoint). A crash loses at most one batch of work.
    public var batchRows = 2_000_000
    /// A pause after each committed fact batch. Only for tests that kill a load mid-stage.
    public var batchPauseMilliseconds = 0

    public init(dataDirectory: URL, format: SourceFormat? = nil) {
        self.dataDirectory = dataDirectory
        self.format = format
    }
}

/// What a finished load did.
public struct LoadReport: Codable, Sendable {
    public struct Stage: Codable, Sendable {
        public var stage: String
        /// Rows the stage's table holds for this load.
        public var rows: Int
        /// Rows this run wrote (less than `rows` when it resumed the stage).
        public var rowsThisRun: Int
        public var seconds: Double
        /// True when an earlier run had finished this stage.
        public var skipped: Bool
    }

    public var format: String
    public var dataVersion: String
    public var scanSeconds: Double
    public var stages: [Stage]
    public var rejects: Int
    public var alreadyComplete: Bool
    public var totalSeconds: Double
    /// The data-quality check run after the load (`recsys load` runs it; nil when skipped).
    public var check: CheckReport?
}

/// The star-schema load: pre-flight, scan, dimensions, facts, post-processing.
///
/// Exactly-once: every batch of fact rows is committed in the same transaction
/// as the checkpoint row recording the byte offset after it, so after a crash
/// the next run re-reads from the last committed offset, and nothing is lost
/// or loaded twice. A session-level advisory lock keeps two loads apart.
public final class Loader {
    private let database: Database
    private let options: LoadOptions
    private let logger: Logger
    private let progress: ProgressReporter

    public init(database: Database, options: LoadOptions, logger: Logger, progress: ProgressReporter) {
        self.database = database
        self.options = options
        self.logger = logger
        self.progress = progress
    }

    public func run() throws -> LoadReport {
        let clock = Date()
        let source = try SourceSet.resolve(directory: options.dataDirectory, format: options.format)
        logger.info("source: \(source.format.rawValue) layout in \(source.directory.path) (\(source.ratingFiles.count) rating file\(source.ratingFiles.count == 1 ? "" : "s"))")
        let fingerprints = try source.fingerprints()

        let connection = try database.connect()
        try Database.migrate(connection)
        try acquireLoadLock(connection)
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock(\(AdvisoryLocks.load))") }

        // --fresh decides nothing from what the warehouse holds; without it the
        // pre-flight check runs before the long scan, so a refusal comes at once.
        // The snapshot counts every star table (100M fact rows): read it once.
        var plan = LoadPlan.start
        var recorded: RunRecord?
        if !options.fresh {
            let snapshot = try Warehouse.snapshot(connection)
            plan = try LoadPlan.decide(snapshot, source: fingerprints, format: source.format)
            recorded = snapshot.run
        }
        if plan == .complete, let run = recorded {
            logger.info("these files are already loaded completely (data version \(run.dataVersion)); nothing to do")
            return LoadReport(format: source.format.rawValue, dataVersion: run.dataVersion, scanSeconds: 0,
                              stages: [], rejects: try Warehouse.rejectCount(connection), alreadyComplete: true,
                              totalSeconds: Date().timeIntervalSince(clock))
        }

        // The scan checks every line before anything is written, so bad input
        // stops the load with the warehouse exactly as it was (with --fresh too:
        // the old data is deleted only once the new files have passed).
        let scanStart = Date()
        let totalBytes = fingerprints.reduce(0) { $0 + Int($1.size) }
        progress.begin("scan", total: totalBytes / 22)
        let catalog = try SourceScanner(maxRejects: options.maxRejects, progress: { [progress] in progress.advance($0) }).scan(source)
        let scanSeconds = Date().timeIntervalSince(scanStart)
        progress.finish(rows: catalog.totalRatings, seconds: scanSeconds)
        logger.info("scan: \(ProgressReporter.count(catalog.movies.count)) movies, \(ProgressReporter.count(catalog.customerCount)) customers, \(ProgressReporter.count(catalog.totalRatings)) ratings, \(catalog.dateCount) days, \(catalog.rejects.count) rejected lines")
        guard catalog.totalRatings > 0 else {
            throw InputError(file: source.ratingFiles.map(\.lastPathComponent).joined(separator: ", "), line: 0,
                             problem: "no ratings in the rating files")
        }
        if options.fresh {
            logger.info("--fresh: deleting everything the warehouse holds")
            try Warehouse.wipe(connection)
        }

        let dataVersion: String
        var doneStages: [LoadStage] = []
        switch plan {
        case .start:
            dataVersion = try Warehouse.recordRun(connection, source: source, fingerprints: fingerprints, catalog: catalog)
        case .resume(let done):
            doneStages = done
            dataVersion = recorded!.dataVersion   // decide() resumes only a recorded run
            try Warehouse.verifyExpectations(connection, catalog: catalog)
            logger.info("resuming the interrupted load; finished stages: \(done.isEmpty ? "none" : done.map(\.rawValue).joined(separator: ", "))")
        case .complete:
            fatalError("handled above")
        }

        var stages: [LoadReport.Stage] = []
        let writer = StarSchemaWriter(connection: connection, connect: database.connect, catalog: catalog, source: source, logger: logger,
                                      progress: progress, options: options)
        for stage in LoadStage.allCases {
            if doneStages.contains(stage) {
                let rows = try Warehouse.checkpoints(connection).filter { $0.stage == stage }
                stages.append(.init(stage: stage.rawValue, rows: rows.reduce(0) { $0 + $1.rows }, rowsThisRun: 0,
                                    seconds: rows.reduce(0) { $0 + $1.seconds }, skipped: true))
                continue
            }
            let started = Date()
            let written = try writer.run(stage)
            let rows = try Warehouse.checkpoints(connection).filter { $0.stage == stage }.reduce(0) { $0 + $1.rows }
            stages.append(.init(stage: stage.rawValue, rows: rows, rowsThisRun: written,
                                seconds: Date().timeIntervalSince(started), skipped: false))
        }
        try connection.execute("UPDATE etl_run SET finished_at = now()")
        return LoadReport(format: source.format.rawValue, dataVersion: dataVersion, scanSeconds: scanSeconds, stages: stages,
                          rejects: catalog.rejects.count, alreadyComplete: false, totalSeconds: Date().timeIntervalSince(clock))
    }

    private func acquireLoadLock(_ connection: Connection) throws {
        let got = try connection.execute("SELECT pg_try_advisory_lock(\(AdvisoryLocks.load))").scalar()
        guard got == "t" else {
            let holder = try connection.execute("""
                SELECT a.pid, to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS')
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE \(AdvisoryLocks.loadLockHeld(alias: "l"))
                """)
            let who = holder.rows.first.map { "server process \($0[0] ?? "?"), connected since \($0[1] ?? "?")" } ?? "another session"
            throw SafetyRefusal(reason: "another recsys load is running on this database (\(who))",
                                action: "wait for it to finish (`recsys load --status` shows its progress), or stop that process; a stopped load resumes where it left off")
        }
    }
}

/// Reads and writes the load's bookkeeping tables.
public enum Warehouse {
    static func snapshot(_ connection: Connection) throws -> WarehouseSnapshot {
        let runRows = try connection.execute("SELECT format, source_dir, fingerprint::text, data_version, finished_at IS NOT NULL FROM etl_run")
        var run: RunRecord?
        if let row = runRows.rows.first {
            let prints = try JSON.decode([FileFingerprint].self, from: row[2] ?? "[]")
            run = RunRecord(format: SourceFormat(rawValue: row[0] ?? "") ?? .netflix, sourceDirectory: row[1] ?? "",
                            fingerprints: prints, dataVersion: row[3] ?? "", finished: row[4] == "t")
        }
        var counts: [String: Int] = [:]
        for stage in LoadStage.allCases {
            guard let table = stage.table else { continue }
            counts[table] = Int(try connection.execute("SELECT count(*) FROM \(table)").scalar() ?? "0") ?? 0
        }
        return WarehouseSnapshot(run: run, checkpoints: try checkpoints(connection), counts: counts)
    }

    static func checkpoints(_ connection: Connection) throws -> [CheckpointRow] {
        try connection.execute("""
            SELECT stage, file, byte_offset, line, context, rows, expected, done, seconds
            FROM etl_checkpoint ORDER BY stage, file
            """).rows.compactMap { r in
            guard let stage = LoadStage(rawValue: r[0] ?? "") else { return nil }
            return CheckpointRow(stage: stage, file: r[1] ?? "", byteOffset: Int(r[2] ?? "0") ?? 0, line: Int(r[3] ?? "0") ?? 0,
                                 context: r[4].flatMap { Int64($0) }, rows: Int(r[5] ?? "0") ?? 0,
                                 expected: Int(r[6] ?? "0") ?? 0, done: r[7] == "t", seconds: Double(r[8] ?? "0") ?? 0)
        }
    }

    static func rejectCount(_ connection: Connection) throws -> Int {
        Int(try connection.execute("SELECT count(*) FROM etl_rejects").scalar() ?? "0") ?? 0
    }

    /// Deletes all loaded data and bookkeeping (for `--fresh`).
    static func wipe(_ connection: Connection) throws {
        try connection.execute("TRUNCATE fact_ratings, dim_customer, dim_movie, dim_date, etl_checkpoint, etl_rejects, etl_run")
    }

    /// Records the run, its expected counts, its rejects and an empty
    /// checkpoint per stage, all in one transaction.
    static func recordRun(_ connection: Connection, source: SourceSet, fingerprints: [FileFingerprint],
                          catalog: SourceCatalog) throws -> String {
        let printsJSON = try JSON.text(fingerprints)
        let dataVersion = "\(FNV1a.hex(printsJSON.utf8))-\(Int(Date().timeIntervalSince1970))"
        let expected: [String: Int] = [
            "dim_date": catalog.dateCount, "dim_movie": catalog.movies.count, "dim_customer": catalog.customerCount,
            "fact_ratings": catalog.totalRatings, "rejects": catalog.rejects.count,
        ]
        let expectedJSON = try JSON.text(expected)
        try connection.transaction {
            try connection.execute("INSERT INTO etl_run (format, source_dir, fingerprint, expected, data_version) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)",
                                   [source.format.rawValue, source.directory.path, printsJSON, expectedJSON, dataVersion])
            for (stage, count) in [(LoadStage.dimDate, catalog.dateCount), (.dimMovie, catalog.movies.count), (.dimCustomer, catalog.customerCount)] {
                try connection.execute("INSERT INTO etl_checkpoint (stage, expected) VALUES ($1, $2)", [stage.rawValue, String(count)])
            }
            for file in catalog.files {
                try connection.execute("INSERT INTO etl_checkpoint (stage, file, expected) VALUES ($1, $2, $3)",
                                       [LoadStage.factRatings.rawValue, file.name, String(file.ratings)])
            }
            try connection.execute("INSERT INTO etl_checkpoint (stage) VALUES ($1)", [LoadStage.postProcessing.rawValue])
            if !catalog.rejects.isEmpty {
                try connection.copyIn("COPY etl_rejects (file, line, text, reason) FROM STDIN") { writer in
                    for reject in catalog.rejects {
                        try writer.write("\(CopyText.escape(reject.file))\t\(reject.line)\t\(CopyText.escape(reject.text))\t\(CopyText.escape(reject.reason))\n")
                    }
                }
            }
        }
        return dataVersion
    }

    /// On resume, the scan must find what the first run's scan found.
    static func verifyExpectations(_ connection: Connection, catalog: SourceCatalog) throws {
        let rows = try checkpoints(connection)
        for file in catalog.files {
            if let row = rows.first(where: { $0.stage == .factRatings && $0.file == file.name }), row.expected != file.ratings {
                throw SafetyRefusal(reason: "\(file.name) now holds \(file.ratings) ratings, but the interrupted load expected \(row.expected)",
                                    action: "`recsys load --fresh` starts over with the files as they are now")
            }
        }
    }
}

/// Escaping for COPY's text format.
enum CopyText {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\0": continue
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func optional(_ value: CustomStringConvertible?) -> String {
        value.map { escape($0.description) } ?? "\\N"
    }
}
