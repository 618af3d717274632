import Foundation
import Runtime

/// Where recsys keeps its local state: the managed cluster, logs, caches.
/// `RECSYS_HOME` moves it; otherwise `.recsys` in the working directory.
public struct RecsysHome: Sendable {
    public let url: URL

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let home = environment["RECSYS_HOME"], !home.isEmpty {
            url = URL(fileURLWithPath: home, isDirectory: true).standardizedFileURL
        } else {
            url = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
                .appendingPathComponent(".recsys", isDirectory: true)
        }
    }

    public init(url: URL) { self.url = url }

    public var postgres: URL { url.appendingPathComponent("postgres", isDirectory: true) }
    public var logs: URL { url.appendingPathComponent("logs", isDirectory: true) }
    public var cache: URL { url.appendingPathComponent("cache", isDirectory: true) }
    public var models: URL { url.appendingPathComponent("models", isDirectory: true) }

    /// Fails with a message that says what to do when the home exists but this
    /// user cannot write in it (another user's `.recsys`).
    public func checkUsable() throws {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw WarehouseError(.usage, "\(url.path) is not a folder", hint: "remove it, or set RECSYS_HOME to a folder of yours")
        }
        guard access(url.path, W_OK | X_OK) == 0 else {
            let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(info.st_uid)"
            let me = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
            throw WarehouseError(.usage, "\(url.path) belongs to \(owner), and \(me) cannot write in it",
                                 hint: "run recsys as \(owner), or set RECSYS_HOME to a folder of your own (it is created when missing)")
        }
    }
}

/// Which database a command talks to, decided once:
/// `--database URL` > `RECSYS_DATABASE_URL` > libpq's `PG*` variables (also
/// read from a `.env` file) > the managed local cluster.
public enum DatabaseTarget: Sendable, Equatable {
    /// A connection string or URL given by the user.
    case configured(conninfo: String, source: String)
    /// libpq's own environment (`PGHOST`, `PGDATABASE`, …): an empty conninfo.
    case libpqEnvironment
    /// The private cluster under `.recsys/postgres`.
    case managed

    public static func resolve(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                               dotEnv: URL? = nil) -> DatabaseTarget {
        if let password = environment["PGPASSWORD"] { Secrets.register(password) }
        if let option, !option.isEmpty {
            Secrets.registerConnection(option)
            return .configured(conninfo: option, source: "--database")
        }
        var env = environment
        let envFile = dotEnv ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".env")
        for (key, value) in DotEnv.read(envFile) where env[key] == nil {
            env[key] = value
            // libpq reads PG* itself, so a value that only the .env file holds must reach the process.
            if key.hasPrefix("PG") { setenv(key, value, 0) }
            if key == "PGPASSWORD" { Secrets.register(value) }
        }
        if let url = env["RECSYS_DATABASE_URL"], !url.isEmpty {
            Secrets.registerConnection(url)
            return .configured(conninfo: url, source: "RECSYS_DATABASE_URL")
        }
        let libpqKeys = ["PGHOST", "PGHOSTADDR", "PGDATABASE", "PGSERVICE", "PGPORT", "PGUSER"]
        if libpqKeys.contains(where: { env[$0]?.isEmpty == false }) { return .libpqEnvironment }
        return .managed
    }

    /// A description safe for logs and errors: passwords are masked.
    public var displayName: String {
        switch self {
        case .configured(let conninfo, let source): return "\(Redact.conninfo(conninfo)) (from \(source))"
        case .libpqEnvironment: return "the database named by the PG* environment variables"
        case .managed: return "the managed local cluster"
        }
    }
}

/// Minimal `.env` reader: `KEY=VALUE` lines, `#` comments, optional quotes and `export`.
enum DotEnv {
    static func read(_ url: URL) -> [(String, String)] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var pairs: [(String, String)] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" {
                value = String(value.dropFirst().dropLast())
            }
            pairs.append((key, value))
        }
        return pairs
    }
}

/// Masks passwords in connection strings before they are shown anywhere.
public enum Redact {
    public static func conninfo(_ text: String) -> String { Secrets.scrub(text) }
}
