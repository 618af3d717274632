import ArgumentParser
import Foundation
import Reports
import Warehouse

struct DbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the local PostgreSQL cluster recsys runs when no database is configured.",
        discussion: "The cluster lives under .recsys/postgres (or $RECSYS_HOME/postgres) and listens on a unix socket only. Commands that need the database start it on demand.",
        subcommands: [Start.self, Stop.self, Status.self, URLCommand.self]
    )

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Initialize (first time) and start the managed cluster.")
        func run() throws {
            let cluster = LocalCluster(home: RecsysHome())
            let started = try cluster.start()
            try say(started ? "started PostgreSQL at \(cluster.socketDirectory.path) (data: \(cluster.dataDirectory.path))"
                          : "already running at \(cluster.socketDirectory.path)")
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the managed cluster (its data stays).")
        func run() throws {
            let cluster = LocalCluster(home: RecsysHome())
            let running = try cluster.status().running
            try cluster.stop()
            try say(running ? "stopped" : "not running")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say whether the managed cluster exists and runs, and which database commands will use.")
        @OptionGroup var db: WarehouseOptions

        struct Output: Encodable {
            var target: String
            var managed, initialized, running: Bool
            var pid: Int?
            var dataDirectory, socketDirectory: String
        }

        func run() throws {
            let database = db.open()
            let status = try LocalCluster(home: database.home).status()
            let managed = database.target == .managed
            let output = Output(target: database.target.displayName, managed: managed, initialized: status.initialized,
                                running: status.running, pid: status.pid, dataDirectory: status.dataDirectory,
                                socketDirectory: status.socketDirectory)
            if db.json { return try printJSON(output) }
            try say("commands use: \(output.target)")
            try say("managed cluster: \(status.initialized ? (status.running ? "running (pid \(status.pid.map(String.init) ?? "?"))" : "stopped") : "not created yet")")
            try say("  data:   \(status.dataDirectory)")
            try say("  socket: \(status.socketDirectory)")
            if !managed { try say("(a configured database wins, so the managed cluster is not used)") }
            if managed && !status.running { throw ExitCode(1) }
        }
    }

    struct URLCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "url", abstract: "Print the connection URL commands will use (passwords masked), e.g. for psql.")
        @OptionGroup var db: DatabaseOptions
        func run() throws {
            let database = db.open()
            switch database.target {
            case .managed: try say(LocalCluster(home: database.home).url)
            case .configured(let conninfo, _): try say(Redact.conninfo(conninfo))
            case .libpqEnvironment: try say("(libpq's PG* environment variables)")
            }
        }
    }
}
