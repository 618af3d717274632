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
    /// unix socket address (108 bytes); then in a folder under /tmp with a
    /// unique name (mkdtemp), made by `start` and recorded in the home, whose
    /// owner and mode are checked before every use.
    public var socketDirectory: URL {
        let local = home.postgres.appendingPathComponent("run", isDirectory: true)
        if local.path.utf8.count + 20 < 100 { return local }
        if let recorded = try? String(contentsOf: socketRecord, encoding: .utf8), recorded.hasPrefix("/tmp/recsys-") {
            return URL(fileURLWithPath: recorded.trimmingCharacters(in: .whitespacesAndNewlines), isDirectory: true)
        }
        return URL(fileURLWithPath: "/tmp/recsys-(not created yet)", isDirectory: true)
    }

    /// Where the /tmp socket folder of a long home is recorded.
    var socketRecord: URL { home.postgres.appendingPathComponent("socket_directory") }
    /// Written beside data/ before initdb: recsys made that folder and may delete it.
    var creationMarker: URL { home.postgres.appendingPathComponent("data.created-by-recsys") }

    public var conninfo: String { conninfo(database: databaseName) }

    /// A libpq keyword/value string; each value quoted, so that a home path with
    /// spaces, quotes or backslashes stays one value.
    public func conninfo(database: String) -> String {
        "host=\(Self.quoted(socketDirectory.path)) port=\(port) dbname=\(Self.quoted(database)) user=\(superuser) connect_timeout=10"
    }

    public var url: String {
        "postgresql://\(superuser)@/\(databaseName)?host=\(Self.percentEncoded(socketDirectory.path))&port=\(port)"
    }

    /// A conninfo value in single quotes, with `\` and `'` escaped (libpq's rule).
    static func quoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// A URL query value: everything but unreserved characters and `/` percent-encoded (UTF-8).
    static func percentEncoded(_ value: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// A postgresql.conf string value naming one directory of a list: the list
    /// element in double quotes (commas and spaces stay inside it), the whole in
    /// single quotes with `'` and `\` escaped.
    static func configDirectoryList(_ path: String) -> String {
        let element = "\"" + path.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        return "'" + element.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''") + "'"
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
        try home.checkUsable()
        try refuseLinks([home.url])
        try FileManager.default.createDirectory(at: home.postgres, withIntermediateDirectories: true)
        try refuseLinks(ownPaths)
        return try withFileLock(home.postgres.appendingPathComponent(".lock")) {
            try prepareOwnership()
            if !isInitialized { try initialize() }
            var started = false
            if try !status().running {
                try prepareSocketDirectory()
                try launchServer()
                started = true
            }
            try ensureDatabase()
            return started
        }
    }

    /// Starts `postgres -D DATA` directly (pg_ctl goes through /bin/sh, and a
    /// data path with a double quote, `$` or a backslash breaks its quoting),
    /// then waits up to 60 s for postmaster.pid to say the server is ready.
    private func launchServer() throws {
        let binary = try Self.binDirectory().appendingPathComponent("postgres").path
        let argv = (serverUser.map { ["/usr/sbin/runuser", "-u", $0, "--", binary] } ?? [binary]) + ["-D", dataDirectory.path]
        let pid = try Subprocess.launch(argv, environment: ["PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C"], log: logFile)
        let pidFile = dataDirectory.appendingPathComponent("postmaster.pid")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let tail = (try? String(contentsOf: logFile, encoding: .utf8))?
                    .split(separator: "\n").suffix(8).joined(separator: "\n") ?? ""
                throw WarehouseError(.cluster, "the managed PostgreSQL did not start", detail: tail, hint: "see \(logFile.path)")
            }
            // Line 8 of postmaster.pid is the server's state ("ready" once it accepts connections).
            if let text = try? String(contentsOf: pidFile, encoding: .utf8) {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count >= 8, lines[7].trimmingCharacters(in: .whitespaces) == "ready" { return }
            }
            usleep(50_000)
        }
        throw WarehouseError(.cluster, "the managed PostgreSQL did not become ready within 60 s", hint: "see \(logFile.path)")
    }

    /// The paths of the managed home that recsys creates and root may chown or
    /// delete: none of them may be a symbolic link (a link would hand its
    /// target to the server user, or have recsys delete it).
    private var ownPaths: [URL] {
        [home.url, home.postgres, dataDirectory, home.postgres.appendingPathComponent("run"), logFile,
         home.postgres.appendingPathComponent(".lock"), socketRecord, creationMarker]
    }

    private func refuseLinks(_ paths: [URL]) throws {
        for url in paths {
            var info = stat()
            guard lstat(url.path, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFLNK {
                throw SafetyRefusal(reason: "\(url.path) is a symbolic link; the managed cluster's own files must be real files and folders (recsys would otherwise change or delete what it points to)", action: "remove the link, or set RECSYS_HOME to another folder")
            }
        }
    }

    /// Makes the socket folder: `run/` beside the data, or for a long home a
    /// fresh mkdtemp folder under /tmp (recorded, and named in the server's
    /// configuration at every start), owned by the server's user, mode 0700.
    private func prepareSocketDirectory() throws {
        let local = home.postgres.appendingPathComponent("run", isDirectory: true)
        var directory = local
        if local.path.utf8.count + 20 >= 100 {
            if let recorded = try? String(contentsOf: socketRecord, encoding: .utf8),
               case let path = recorded.trimmingCharacters(in: .whitespacesAndNewlines), path.hasPrefix("/tmp/recsys-"),
               (try? checkSocketFolder(URL(fileURLWithPath: path))) != nil {
                directory = URL(fileURLWithPath: path, isDirectory: true)
            } else {
                var template = Array("/tmp/recsys-XXXXXX".utf8CString)
                guard let made = mkdtemp(&template) else {
                    throw WarehouseError(.cluster, "cannot create a socket folder under /tmp: \(String(cString: strerror(errno)))")
                }
                directory = URL(fileURLWithPath: String(cString: made), isDirectory: true)
                try chownToServerUser(directory)
                try Data(directory.path.utf8).write(to: socketRecord, options: .atomic)
            }
        } else {
            var info = stat()
            if lstat(local.path, &info) != 0 {
                guard mkdir(local.path, 0o700) == 0 || errno == EEXIST else {
                    throw WarehouseError(.cluster, "cannot create \(local.path): \(String(cString: strerror(errno)))")
                }
            }
            try chownToServerUser(local)
            chmod(local.path, 0o700)
        }
        try checkSocketFolder(directory)
        let settings = "# written by recsys at every start\nunix_socket_directories = \(Self.configDirectoryList(directory.path))\n"
        let file = dataDirectory.appendingPathComponent("recsys-socket.conf")
        try Data(settings.utf8).write(to: file, options: .atomic)
        try chownToServerUser(file)
        let conf = dataDirectory.appendingPathComponent("postgresql.conf")
        let text = (try? String(contentsOf: conf, encoding: .utf8)) ?? ""
        let include = "include_if_exists = 'recsys-socket.conf'"
        if !text.contains(include) {
            let handle = try FileHandle(forWritingTo: conf)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("\n# the socket folder, decided at each start\n\(include)\n".utf8))
        }
    }

    /// A socket folder is used only when it is a real folder of the server's
    /// user with mode 0700: anyone else's folder could hold a fake server.
    private func checkSocketFolder(_ url: URL) throws {
        var info = stat()
        guard lstat(url.path, &info) == 0 else {
            throw WarehouseError(.cluster, "the socket folder \(url.path) is missing")
        }
        let owner = serverUser.flatMap { getpwnam($0)?.pointee.pw_uid } ?? geteuid()
        guard (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == owner, info.st_mode & 0o777 == 0o700 else {
            throw SafetyRefusal(reason: "the socket folder \(url.path) is not a folder of mode 0700 owned by the server's user; it is not used", action: "remove it (and \(socketRecord.path)); recsys then makes a new one")
        }
    }

    public func stop() throws {
        try refuseLinks(ownPaths)
        guard isInitialized, try status().running else { return }
        let result = try run(tool: "pg_ctl", ["stop", "-w", "-m", "fast", "-D", dataDirectory.path], allowFailure: true)
        if result.status != 0 {
            throw WarehouseError(.cluster, "pg_ctl stop failed: \(result.output)")
        }
    }

    private func initialize() throws {
        var info = stat()
        if lstat(dataDirectory.path, &info) == 0 {
            // A data/ without PG_VERSION: an initdb that did not finish, if recsys made it;
            // otherwise somebody's folder, which is not ours to delete.
            guard FileManager.default.fileExists(atPath: creationMarker.path) else {
                throw SafetyRefusal(reason: "\(dataDirectory.path) exists but holds no PostgreSQL cluster, and recsys did not create it; it is left as it is", action: "move it away, or set RECSYS_HOME to another folder")
            }
            try FileManager.default.removeItem(at: dataDirectory)
        }
        try Data("recsys created data/ beside this file and may remove it while it holds no cluster\n".utf8)
            .write(to: creationMarker, options: .atomic)
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: false)
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
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
    }

    private func ensureDatabase() throws {
        let connection = try Connection(conninfo: conninfo(database: "postgres"), target: "the managed local cluster")
        let exists = try connection.execute("SELECT 1 FROM pg_database WHERE datname = $1", [databaseName])
        if exists.count == 0 {
            do {
                try connection.execute("CREATE DATABASE \(databaseName)")
            } catch let error as WarehouseError where error.sqlState == SQLState.duplicateDatabase {
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
        // lchown: a link swapped in after the check is changed itself, never its target.
        if lchown(url.path, pw.pointee.pw_uid, pw.pointee.pw_gid) != 0 {
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
        // The output file is unlinked as soon as it is open: nothing is left
        // behind, whatever ends this process (SIGKILL included).
        var template = Array((NSTemporaryDirectory() + "recsys-subprocess-XXXXXX").utf8CString)
        let outputFD = mkstemp(&template)
        guard outputFD >= 0 else {
            throw WarehouseError(.cluster, "cannot create a temporary file: \(String(cString: strerror(errno)))")
        }
        unlink(String(cString: template))
        defer { close(outputFD) }
        let pid = try spawn(argv, environment: environment, output: outputFD, newSession: false)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var offset: off_t = 0
        while true {
            let got = pread(outputFD, &buffer, buffer.count, offset)
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            output.append(contentsOf: buffer[0..<got])
            offset += off_t(got)
        }
        // WIFEXITED / WEXITSTATUS, which Swift cannot import as macros.
        let exitCode: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exitCode, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Starts `argv` in a session of its own and returns at once: the server,
    /// which must outlive this process. Its output goes to `log` (appended).
    static func launch(_ argv: [String], environment: [String], log: URL) throws -> pid_t {
        let logFD = open(log.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard logFD >= 0 else { throw WarehouseError(.cluster, "cannot open \(log.path): \(String(cString: strerror(errno)))") }
        defer { close(logFD) }
        return try spawn(argv, environment: environment, output: logFD, newSession: true)
    }

    /// posix_spawn with stdin from /dev/null, stdout and stderr to `output`, and
    /// no other descriptor of ours: the server outlives us, and must not hold
    /// open whatever our own parent waits on to see us exit.
    private static func spawn(_ argv: [String], environment: [String], output: Int32, newSession: Bool) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        _ = spawnActionsCloseFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A session of its own (POSIX_SPAWN_SETSID, which glibc declares only under
        // _GNU_SOURCE): Ctrl-C in our terminal must not reach the server.
        if newSession { posix_spawnattr_setflags(&attributes, 0x80) }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        guard spawned == 0 else {
            throw WarehouseError(.cluster, "cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        return pid
    }
}

/// glibc ≥ 2.34 has it, but declares it only under _GNU_SOURCE, which Swift's Glibc module does not set.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// Holds an exclusive `flock` on `url` while `body` runs.
func withFileLock<T>(_ url: URL, _ body: () throws -> T) throws -> T {
    let fd = open(url.path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw WarehouseError(.cluster, "cannot open lock file \(url.path)") }
    defer { close(fd) }
    flock(fd, LOCK_EX)
    defer { flock(fd, LOCK_UN) }
    return try body()
}
