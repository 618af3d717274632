import Foundation

/// Opens connections to the resolved target, starting the managed cluster on
/// demand, and applies the schema.
public struct Database: Sendable {
    public let target: DatabaseTarget
    public let home: RecsysHome

    public init(target: DatabaseTarget, home: RecsysHome) {
        self.target = target
        self.home = home
    }

    /// A new connection; for the managed cluster, starts it first when needed.
    public func connect() throws -> Connection {
        try home.checkUsable()
        switch target {
        case .configured(let conninfo, _):
            return try Connection(conninfo: conninfo, target: target.displayName)
        case .libpqEnvironment:
            return try Connection(conninfo: "", target: target.displayName)
        case .managed:
            let cluster = LocalCluster(home: home)
            try cluster.start()
            return try Connection(conninfo: cluster.conninfo, target: "the managed local cluster (\(cluster.socketDirectory.path))")
        }
    }

    /// Applies `schema.sql` (every statement in it is idempotent).
    public static func migrate(_ connection: Connection) throws {
        // Two first runs against one database would race on CREATE TABLE IF NOT EXISTS;
        // a transaction-level advisory lock puts them in line.
        try connection.transaction {
            try connection.execute("SELECT pg_advisory_xact_lock(\(AdvisoryLocks.migration))")
            try connection.execute(SchemaSQL.text)
        }
    }
}

enum AdvisoryLocks {
    /// Held for a whole `recsys load` session (the bytes of "recsys:load").
    static let load: Int64 = 0x7265_6373_796c_6f61
    static let migration: Int64 = 0x7265_6373_796d_6967

    /// A pg_locks condition matching the granted load lock (a bigint key is
    /// split across classid and objid).
    static func loadLockHeld(alias: String = "pg_locks") -> String {
        "\(alias).locktype = 'advisory' AND \(alias).granted AND \(alias).classid = \((load >> 32) & 0xFFFF_FFFF)::bigint::oid AND \(alias).objid = \(load & 0xFFFF_FFFF)::bigint::oid"
    }
}
