import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The managed PostgreSQL cluster under `.recsys/postgres`: `initdb` on first
/// use, `pg_ctl` to start and stop, a unix socket only (no TCP), reachable by
/// the cluster's owner alone (socket mode 0700, trust auth on that socket).
///
/// PostgreSQL refuses to run as root. When recsys runs as root (as on CI) the
/// server runs as the unprivileged `postgres` system user, which owns the folder.
public struct LocalCluster: Sendable {
    public let home: RecsysHome
    public let databaseName = "recsys"
    public let superuser = "recsys"
    public let port = 5432

    public init(home: RecsysHome) { self.home = home }

    public var dataDirectory: URL { home.postgres.appendingPathComponent("data", isDirectory: true) }
    public var logFile: URL { home.postgres.appendingPathComponent("server.log") }

    /// The socket lives beside the data unless that path is too long for a
    /// unix socket address (108 bytes), then under /tmp keyed by the folder.
    public var socketDirectory: URL {
        let local = home.postgres.appendingPathComponent("run", isDirectory: true)
        if local.path.utf8.count + 20 < 100 { return local }
        return URL(fileURLWithPath: "/tmp/recsys-\(FNV1a.hex(home.postgres.path.utf8))", isDirectory: true)
    }

    public var conninfo: String {
        "host=\(socketDirectory.path) port=\(port) dbname=\(databaseName) user=\(superuser) connect_timeout=10"
    }

    public var url: String {
        "postgresql://\(superuser)@/\(databaseName)?host=\(socketDirectory.path)&port=\(port)"
    }

    public var isInitialized: Bool {
        FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path)
    }

    public struct Status: Sendable {
        public var initialized: Bool
        public var running: Bool
        public var pid: Int?
        public var dataDirectory: String
        public var socketDirectory: String
    }

    public func status() throws -> Status {
        var status = Status(initialized: isInitialized, running: false, pid: nil,
                            dataDirectory: dataDirectory.path, socketDirectory: socketDirectory.path)
        guard status.initialized else { return status }
        let result = try run(tool: "pg_ctl", ["status", "-D", dataDirectory.path], allowFailure: true)
        status.running = result.status == 0
        if status.running, let pidText = try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8),
           let first = pidText.split(separator: "\n").first {
            status.pid = Int(first)
        }
        return status
    }

    /// Initializes the cluster when needed, starts it when stopped, and makes
    /// sure the `recsys` database exists. Safe to call from several processes at once.
    /// Returns true when this call started the server.
    @discardableResult
    public func start() throws -> Bool {
        try FileManager.default.createDirectory(at: home.postgres, withIntermediateDirectories: true)
        return try withFileLock(home.postgres.appendingPathComponent(".lock")) {
            try prepareOwnership()
            if !isInitialized { try initialize() }
            var started = false
            if try !status().running {
                try FileManager.default.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
                try chownToServerUser(socketDirectory)
                let result = try run(tool: "pg_ctl", ["start", "-w", "-t", "60", "-D", dataDirectory.path,
                                                      "-l", logFile.path], allowFailure: true)
                if result.status != 0 {
                    let tail = (try? String(contentsOf: logFile, encoding: .utf8))?
                        .split(separator: "\n").suffix(8).joined(separator: "\n") ?? ""
                    throw WarehouseError(.cluster, "the managed PostgreSQL did not start: \(result.output)",
                                         detail: tail, hint: "see \(logFile.path)")
                }
                started = true
            }
            try ensureDatabase()
            return started
        }
    }

    public func stop() throws {
        guard isInitialized, try status().running else { return }
        let result = try run(tool: "pg_ctl", ["stop", "-w", "-m", "fast", "-D", dataDirectory.path], allowFailure: true)
        if result.status != 0 {
            throw WarehouseError(.cluster, "pg_ctl stop failed: \(result.output)")
        }
    }

    private func initialize() throws {
        try? FileManager.default.removeItem(at: dataDirectory)
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        try chownToServerUser(home.postgres)
        try chownToServerUser(dataDirectory)
        let result = try run(tool: "initdb", ["-D", dataDirectory.path, "-U", superuser, "-E", "UTF8",
                                              "--locale=C", "--auth-local=trust", "--auth-host=reject"],
                             allowFailure: true)
        guard result.status == 0 else {
            try? FileManager.default.removeItem(at: dataDirectory)
            throw WarehouseError(.cluster, "initdb failed", detail: result.output)
        }
        // Tuned for bulk loads on one machine. synchronous_commit=off keeps
        // exactly-once intact: a batch and its checkpoint commit atomically, so a
        // server crash can lose only whole recent batches together with their
        // checkpoint rows, which the next run then loads again.
        let settings = """

        # recsys managed cluster
        listen_addresses = ''
        port = \(port)
        unix_socket_directories = '\(socketDirectory.path)'
        unix_socket_permissions = 0700
        shared_buffers = '512MB'
        work_mem = '64MB'
        maintenance_work_mem = '1GB'
        max_parallel_maintenance_workers = 2
        # A Netflix-scale load writes ~8 GB of WAL; a checkpoint in the middle
        # of it stalls the COPY on file extension. The load checkpoints itself
        # when it is done.
        max_wal_size = '24GB'
        checkpoint_timeout = '1h'
        wal_level = minimal
        max_wal_senders = 0
        synchronous_commit = off
        wal_compression = off
        autovacuum_vacuum_insert_threshold = -1
        logging_collector = off

        """
        let conf = dataDirectory.appendingPathComponent("postgresql.conf")
        let handle = try FileHandle(forWritingTo: conf)
        handle.seekToEndOfFile()
        handle.write(settings.data(using: .utf8)!)
        try handle.close()
    }

    private func ensureDatabase() throws {
        let admin = "host=\(socketDirectory.path) port=\(port) dbname=postgres user=\(superuser) connect_timeout=10"
        let connection = try Connection(conninfo: admin, target: "the managed local cluster")
        let exists = try connection.execute("SELECT 1 FROM pg_database WHERE datname = $1", [databaseName])
        if exists.count == 0 {
            do {
                try connection.execute("CREATE DATABASE \(databaseName)")
            } catch let error as WarehouseError where error.sqlState == "42P04" {
                // created by a concurrent start; fine
            }
        }
    }

    // MARK: - running the server's tools

    /// The user the server runs as: ourselves, unless we are root.
    private var serverUser: String? { geteuid() == 0 ? "postgres" : nil }

    private func prepareOwnership() throws {
        guard let user = serverUser else { return }
        guard getpwnam(user) != nil else {
            throw WarehouseError(.cluster, "recsys runs as root, and PostgreSQL refuses to run as root; the unprivileged '\(user)' user it would use does not exist",
                                 hint: "apt-get install -y postgresql (it creates the user), or run recsys as a normal user")
        }
        // The server user must be able to reach the folder through every parent.
        var dir = home.postgres.deletingLastPathComponent()
        while dir.path != "/" {
            var info = stat()
            if stat(dir.path, &info) == 0, info.st_mode & 0o001 == 0 {
                throw WarehouseError(.cluster, "the '\(user)' user cannot enter \(dir.path), which holds the managed cluster",
                                     hint: "chmod o+x \(dir.path), or set RECSYS_HOME to a folder it can reach")
            }
            dir = dir.deletingLastPathComponent()
        }
        if FileManager.default.fileExists(atPath: home.postgres.path) { try chownToServerUser(home.postgres) }
    }

    private func chownToServerUser(_ url: URL) throws {
        guard let user = serverUser, let pw = getpwnam(user) else { return }
        if chown(url.path, pw.pointee.pw_uid, pw.pointee.pw_gid) != 0 {
            throw WarehouseError(.cluster, "cannot hand \(url.path) to the '\(user)' user: \(String(cString: strerror(errno)))")
        }
    }

    static func binDirectory() throws -> URL {
        if let custom = ProcessInfo.processInfo.environment["RECSYS_PG_BIN"], !custom.isEmpty {
            return URL(fileURLWithPath: custom, isDirectory: true)
        }
        let root = URL(fileURLWithPath: "/usr/lib/postgresql", isDirectory: true)
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        let usable = versions.compactMap(Int.init).sorted(by: >).map {
            root.appendingPathComponent("\($0)/bin", isDirectory: true)
        }.filter { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("initdb").path) }
        guard let best = usable.first else {
            throw WarehouseError(.cluster, "no PostgreSQL server binaries found under /usr/lib/postgresql",
                                 hint: "apt-get install -y postgresql, set RECSYS_PG_BIN, or configure --database")
        }
        return best
    }

    private func run(tool: String, _ arguments: [String], allowFailure: Bool) throws -> (status: Int32, output: String) {
        let binary = try Self.binDirectory().appendingPathComponent(tool).path
        let argv = serverUser.map { ["/usr/sbin/runuser", "-u", $0, "--", binary] } ?? [binary]
        // The server inherits nothing of ours but a sane locale.
        let result = try Subprocess.run(argv + arguments, environment: ["PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C"])
        if result.status != 0 && !allowFailure {
            throw WarehouseError(.cluster, "\(tool) failed: \(result.output)")
        }
        return result
    }
}

/// Runs a program and waits for it, its output captured through a temporary
/// file rather than a pipe: `pg_ctl start` leaves a server running that must
/// not hold our end of anything open.
enum Subprocess {
    static func run(_ argv: [String], environment: [String]) throws -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "recsys-subprocess-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The server outlives us: it must inherit none of our descriptors, or it
        // holds open whatever our own parent waits on to see us exit.
        _ = spawnActionsCloseFrom(&actions, 3)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard spawned == 0 else {
            throw WarehouseError(.cluster, "cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS, which Swift cannot import as macros.
        let exitCode: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exitCode, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// glibc ≥ 2.34 has it, but declares it only under _GNU_SOURCE, which Swift's Glibc module does not set.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// Holds an exclusive `flock` on `url` while `body` runs.
func withFileLock<T>(_ url: URL, _ body: () throws -> T) throws -> T {
    let fd = open(url.path, O_CREAT | O_RDWR, 0o644)
    guard fd >= 0 else { throw WarehouseError(.cluster, "cannot open lock file \(url.path)") }
    defer { close(fd) }
    flock(fd, LOCK_EX)
    defer { flock(fd, LOCK_UN) }
    return try body()
}
