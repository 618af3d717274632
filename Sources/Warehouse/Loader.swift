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
        /// Rows the stage's table holds for this load, and rows this run wrote
        /// (fewer than `rows` when it resumed the stage).
        public var rows, rowsThisRun: Int
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
        (self.database, self.options, self.logger, self.progress) = (database, options, logger, progress)
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
            let snapshot = try LoadBookkeeping.snapshot(connection)
            plan = try LoadPlan.decide(snapshot, source: fingerprints, format: source.format)
            recorded = snapshot.run
        }
        if plan == .complete, let run = recorded {
            logger.info("these files are already loaded completely (data version \(run.dataVersion)); nothing to do")
            return LoadReport(format: source.format.rawValue, dataVersion: run.dataVersion, scanSeconds: 0,
                              stages: [], rejects: try LoadBookkeeping.rejectCount(connection), alreadyComplete: true,
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
            try LoadBookkeeping.wipe(connection)
        }

        let dataVersion: String
        var doneStages: [LoadStage] = []
        switch plan {
        case .start:
            dataVersion = try LoadBookkeeping.recordRun(connection, source: source, fingerprints: fingerprints, catalog: catalog)
        case .resume(let done):
            doneStages = done
            dataVersion = recorded!.dataVersion   // decide() resumes only a recorded run
            try LoadBookkeeping.verifyExpectations(connection, catalog: catalog)
            logger.info("resuming the interrupted load; finished stages: \(done.isEmpty ? "none" : done.map(\.rawValue).joined(separator: ", "))")
        case .complete:
            fatalError("handled above")
        }

        var stages: [LoadReport.Stage] = []
        let writer = StarSchemaWriter(connection: connection, connect: database.connect, catalog: catalog, source: source, logger: logger,
                                      progress: progress, options: options)
        for stage in LoadStage.allCases {
            if doneStages.contains(stage) {
                let rows = try LoadBookkeeping.checkpoints(connection).filter { $0.stage == stage }
                stages.append(.init(stage: stage.rawValue, rows: rows.reduce(0) { $0 + $1.rows }, rowsThisRun: 0,
                                    seconds: rows.reduce(0) { $0 + $1.seconds }, skipped: true))
                continue
            }
            let started = Date()
            let written = try writer.run(stage)
            let rows = try LoadBookkeeping.checkpoints(connection).filter { $0.stage == stage }.reduce(0) { $0 + $1.rows }
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
