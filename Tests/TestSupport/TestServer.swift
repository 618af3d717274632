import Foundation
import Warehouse

/// The throwaway PostgreSQL server the tests talk to. The test command
/// (scripts/test.sh) starts one and names it in RECSYS_TEST_PG; a bare
/// `swift test` starts its own with the product's LocalCluster in a temporary
/// folder and stops it when the test process ends.
public enum TestServer {
    nonisolated(unsafe) private static var ownedHome: RecsysHome?

    /// conninfo of the server, without a database name.
    public static let base: String = {
        if let given = ProcessInfo.processInfo.environment["RECSYS_TEST_PG"], !given.isEmpty { return given }
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("recsys-test-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        chmod(folder.path, 0o755)
        let home = RecsysHome(url: folder)
        let cluster = LocalCluster(home: home)
        do { try cluster.start() } catch { fatalError("cannot start the test PostgreSQL: \(error)") }
        ownedHome = home
        atexit {
            if let home = TestServer.ownedHome {
                try? LocalCluster(home: home).stop()
                try? FileManager.default.removeItem(at: home.url)
            }
        }
        return "host=\(cluster.socketDirectory.path) port=\(cluster.port) user=\(cluster.superuser)"
    }()

    /// Creates an empty database for one test; returns its conninfo.
    public static func makeDatabase(_ prefix: String = "t") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased())"
        let admin = try Connection(conninfo: base + " dbname=postgres", target: "test server")
        try admin.execute("CREATE DATABASE \(name)")
        return base + " dbname=\(name)"
    }

    public static func dropDatabase(_ conninfo: String) {
        guard let name = conninfo.split(separator: " ").first(where: { $0.hasPrefix("dbname=") })?.dropFirst(7),
              let admin = try? Connection(conninfo: base + " dbname=postgres", target: "test server") else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    public static func connect(_ conninfo: String) throws -> Connection {
        try Connection(conninfo: conninfo, target: "test database")
    }
}

public extension Connection {
    /// The single value of a query, as Int.
    func int(_ sql: String) throws -> Int {
        guard let text = try execute(sql).scalar(), let value = Int(text) else {
            throw WarehouseError(.database, "expected a whole number from: \(sql)")
        }
        return value
    }
}
