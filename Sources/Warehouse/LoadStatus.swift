import Foundation

/// What `recsys load --status` reports: a view of the checkpoint for people and
/// scripts. The checkpoint table itself stays the source of truth.
public struct LoadStatus: Codable, Sendable {
    public struct Stage: Codable, Sendable {
        public var stage: String
        public var file: String
        /// pending | partial | done
        public var state: String
        public var rows, expected: Int
        public var seconds: Double
    }

    /// empty | in_progress | complete
    public var state: String
    public var format: String?
    public var sourceDir: String?
    public var dataVersion: String?
    public var startedAt: String?
    public var finishedAt: String?
    public var stages: [Stage]
    /// Rows each star table holds now.
    public var tables: [String: Int]
    public var rejects: Int
    /// True while another session holds the load lock.
    public var loadRunning: Bool

    public static func read(_ connection: Connection) throws -> LoadStatus {
        try Database.migrate(connection)
        let snapshot = try LoadBookkeeping.snapshot(connection)
        let run = try connection.execute("""
            SELECT format, source_dir, data_version, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM etl_run
            """).rows.first
        let stages = snapshot.checkpoints.sorted {
            (LoadStage.allCases.firstIndex(of: $0.stage)!, $0.file) < (LoadStage.allCases.firstIndex(of: $1.stage)!, $1.file)
        }.map { row in
            Stage(stage: row.stage.rawValue, file: row.file,
                  state: row.done ? "done" : (row.rows > 0 || row.byteOffset > 0 ? "partial" : "pending"),
                  rows: row.rows, expected: row.expected, seconds: (row.seconds * 10).rounded() / 10)
        }
        let locked = try connection.execute("SELECT count(*) FROM pg_locks WHERE \(AdvisoryLocks.loadLockHeld())").scalar() != "0"
        let state = snapshot.run == nil ? "empty" : (snapshot.run!.finished ? "complete" : "in_progress")
        return LoadStatus(state: state, format: run?[0], sourceDir: run?[1], dataVersion: run?[2], startedAt: run?[3],
                          finishedAt: run?[4], stages: stages, tables: snapshot.counts,
                          rejects: try LoadBookkeeping.rejectCount(connection), loadRunning: locked)
    }
}
