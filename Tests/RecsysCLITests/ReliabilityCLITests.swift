import Foundation
import Models
import TestSupport
import Warehouse
import XCTest

/// The defects found by adversarial use (secrets, files, crashes, silent wrong
/// results), each run as a user would meet it: the built binary, a real
/// PostgreSQL, real files.
final class ReliabilityCLITests: DatabaseTestCase {
    override var databasePrefix: String { "rel" }

    func recsys(_ arguments: [String], database: Bool = true) throws -> CLI.Result {
        try CLI.run(arguments + (database ? ["--database", conninfo] : []), home: folder)
    }

    var db: Connection { get throws { try TestServer.connect(conninfo) } }

    func generated(ratings: Int, customers: Int = 2000, movies: Int = 60, seed: UInt64 = 3, format: String = "netflix") throws -> URL {
        let data = folder.appendingPathComponent("gen-\(format)-\(seed)-\(ratings)")
        let result = try CLI.run(["generate", "--out", data.path, "--ratings", "\(ratings)", "--customers", "\(customers)",
                                  "--movies", "\(movies)", "--seed", "\(seed)", "--format", format], home: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        return data
    }

    /// Runs the binary with stdout or stderr on a file of our choice (/dev/full).
    func runWith(_ arguments: [String], stdout: String? = nil, stderr: String? = nil) throws -> (status: Int32, reason: Process.TerminationReason) {
        let out = stdout.flatMap { FileHandle(forWritingAtPath: $0) } ?? FileHandle.nullDevice
        let err = stderr.flatMap { FileHandle(forWritingAtPath: $0) } ?? FileHandle.nullDevice
        let process = try CLI.start(arguments, home: folder, stdout: out, stderr: err)
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason)
    }

    // MARK: 1. secrets

    func testPasswordsNeverReachStderrOrTheLogFile() throws {
        let data = try generated(ratings: 500)
        let attempts = [
            ("postgresql://bob:hunt%zzer2@/x?host=/nonexistent", ["hunt%zzer2", "zzer2"]),
            ("host=/nonexistent passwd=hunter2 user=bob", ["hunter2"]),
            ("host=/nonexistent password='s3cr3t pass' user=bob", ["s3cr3t"]),
        ]
        for (target, secrets) in attempts {
            let result = try CLI.run(["load", "--data", data.path, "--database", target], home: folder)
            XCTAssertEqual(result.status, 1, result.stderr)
            for secret in secrets {
                XCTAssertFalse(result.stderr.contains(secret), "stderr shows \(secret): \(result.stderr)")
                XCTAssertFalse(result.stdout.contains(secret))
            }
        }
        let logs = folder.appendingPathComponent("logs")
        var info = stat()
        XCTAssertEqual(stat(logs.path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700, "logs folder mode")
        let files = try FileManager.default.contentsOfDirectory(atPath: logs.path)
        XCTAssertFalse(files.isEmpty)
        for name in files {
            let path = logs.appendingPathComponent(name).path
            XCTAssertEqual(stat(path, &info), 0)
            XCTAssertEqual(info.st_mode & 0o777, 0o600, "\(name) mode")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            for secret in ["zzer2", "hunter2", "s3cr3t"] { XCTAssertFalse(text.contains(secret), "\(name) holds \(secret): \(text)") }
            XCTAssertTrue(text.contains("***") || text.contains("cannot connect"), text)
        }
    }

    // MARK: 2–5. the managed home

    /// Root must not chown or delete what a symlinked .recsys/postgres points to.
    func testASymlinkedClusterFolderIsRefusedAndItsTargetUntouched() throws {
        let home = folder.appendingPathComponent("home")
        let victim = folder.appendingPathComponent("victim")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: victim.appendingPathComponent("data"), withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: victim.appendingPathComponent("data/precious.txt"))
        try FileManager.default.createSymbolicLink(at: home.appendingPathComponent("postgres"), withDestinationURL: victim)
        let result = try CLI.run(["db", "start"], home: home)
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("symbolic link"), result.stderr)
        XCTAssertEqual(try String(contentsOf: victim.appendingPathComponent("data/precious.txt"), encoding: .utf8), "keep me")
        var info = stat()
        XCTAssertEqual(stat(victim.path, &info), 0)
        XCTAssertEqual(info.st_uid, geteuid(), "the link's target was handed to another user")
    }

    /// A data/ folder without PG_VERSION that recsys did not create is left alone.
    func testADataFolderRecsysDidNotCreateIsNeverDeleted() throws {
        let home = folder.appendingPathComponent("home")
        let data = home.appendingPathComponent("postgres/data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        chmod(folder.path, 0o755); chmod(home.path, 0o755)
        try Data("not a cluster".utf8).write(to: data.appendingPathComponent("notes.txt"))
        let result = try CLI.run(["db", "start"], home: home)
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertTrue(result.stderr.contains("recsys did not create it"), result.stderr)
        XCTAssertEqual(try String(contentsOf: data.appendingPathComponent("notes.txt"), encoding: .utf8), "not a cluster")
    }

    /// A space, quotes, a backslash and non-ASCII letters in the home path.
    func testAHomePathWithSpacesQuotesAndAccentsWorks() throws {
        chmod(folder.path, 0o755)
        let home = folder.appendingPathComponent("my home 'q\" \\ Zoë")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        chmod(home.path, 0o755)
        defer { _ = try? CLI.run(["db", "stop"], home: home) }
        let start = try CLI.run(["db", "start"], home: home)
        XCTAssertEqual(start.status, 0, start.stderr)
        let data = try generated(ratings: 300)
        let load = try CLI.run(["load", "--data", data.path, "--skip-check"], home: home)
        XCTAssertEqual(load.status, 0, load.stderr)
        let url = try CLI.run(["db", "url"], home: home)
        XCTAssertEqual(url.status, 0)
        XCTAssertTrue(url.stdout.contains("host=") && url.stdout.contains("%20"), url.stdout)
        // The URL works as printed.
        let status = try CLI.run(["load", "--status", "--json", "--database", url.stdout.trimmingCharacters(in: .whitespacesAndNewlines)], home: home)
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("\"complete\""), status.stdout)
    }

    /// A home too long for a socket path gets a /tmp folder of unpredictable
    /// name, mode 0700; one whose mode was changed is not used again.
    func testTheLongPathSocketFolderIsUniqueAndChecked() throws {
        chmod(folder.path, 0o755)
        let home = folder.appendingPathComponent(String(repeating: "long-", count: 20))
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        chmod(home.path, 0o755)
        defer { _ = try? CLI.run(["db", "stop"], home: home) }
        func socketFolder() throws -> String {
            let status = try CLI.run(["db", "status", "--json"], home: home)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            return try XCTUnwrap(object["socket_directory"] as? String)
        }
        XCTAssertEqual(try CLI.run(["db", "start"], home: home).status, 0)
        let first = try socketFolder()
        XCTAssertTrue(first.hasPrefix("/tmp/recsys-"), first)
        XCTAssertNotEqual(first, "/tmp/recsys-" + String(first.dropFirst(12)).uppercased() + "x")
        var info = stat()
        XCTAssertEqual(lstat(first, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertEqual(try CLI.run(["db", "stop"], home: home).status, 0)
        chmod(first, 0o777)
        let restart = try CLI.run(["db", "start"], home: home)
        XCTAssertEqual(restart.status, 0, restart.stderr)
        let second = try socketFolder()
        XCTAssertNotEqual(second, first, "a folder anyone could write to was reused")
        XCTAssertEqual(lstat(second, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        try? FileManager.default.removeItem(atPath: first)
    }

    /// Another user's .recsys: a sentence that says what to do, exit 1 (not NSCocoaErrorDomain 513).
    func testAHomeOfAnotherUserGivesAClearError() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to run the binary as another user") }
        let home = folder.appendingPathComponent("theirs")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        chmod(folder.path, 0o755); chmod(home.path, 0o755)
        // A copy of the binary that the other user can run.
        let binary = folder.appendingPathComponent("recsys")
        try FileManager.default.copyItem(at: CLI.binary, to: binary)
        chmod(binary.path, 0o755)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", binary.path, "db", "start"]
        process.environment = ["RECSYS_HOME": home.path, "PATH": "/usr/bin:/bin"]
        process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 1, text)
        XCTAssertTrue(text.contains("belongs to root") && text.contains("RECSYS_HOME"), text)
        XCTAssertFalse(text.contains("NSCocoaErrorDomain"), text)
    }

    // MARK: 6. failed writes

    func testAFullDiskIsAnErrorNotASignal() throws {
        let data = try generated(ratings: 2000)
        // stderr on a full device during a load: exit 1, and the warehouse stays consistent.
        let load = try runWith(["load", "--data", data.path, "--database", conninfo], stderr: "/dev/full")
        XCTAssertEqual(load.reason, .exit)
        XCTAssertEqual(load.status, 1)
        let check = try recsys(["check"])
        if try db.int("SELECT count(*) FROM etl_run WHERE finished_at IS NOT NULL") == 1 {
            XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        }
        // The same load again completes exactly.
        let again = try recsys(["load", "--data", data.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 2000)
        // stdout on a full device: results that cannot be printed are an error.
        for arguments in [["load", "--status", "--json"], ["check", "--json"], ["db", "url"]] {
            let result = try runWith(arguments + ["--database", conninfo], stdout: "/dev/full")
            XCTAssertEqual(result.reason, .exit, "\(arguments)")
            XCTAssertEqual(result.status, 1, "\(arguments)")
        }
        let generate = try runWith(["generate", "--out", folder.appendingPathComponent("g").path, "--ratings", "100"], stdout: "/dev/full")
        XCTAssertEqual(generate.reason, .exit)
        XCTAssertEqual(generate.status, 1)
    }

    // MARK: 7. damaged cache

    func testADamagedCacheIsReplacedWithAWarning() throws {
        let data = try generated(ratings: 3000)
        XCTAssertEqual(try recsys(["load", "--data", data.path, "--skip-check"]).status, 0)
        XCTAssertEqual(try recsys(["features"]).status, 0)
        let cache = folder.appendingPathComponent("cache")
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: cache.path).first { $0.hasPrefix("ratings-") })
        let file = cache.appendingPathComponent(name)
        var bytes = try Data(contentsOf: file)
        // The data-version count (bytes 8..<16) made huge: converting it before checking it trapped.
        bytes.replaceSubrange(8..<16, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        try bytes.write(to: file)
        let damaged = try recsys(["features"])
        XCTAssertEqual(damaged.status, 0, damaged.stderr)
        XCTAssertTrue(damaged.stderr.contains("unusable") && damaged.stderr.contains("exported again"), damaged.stderr)
        // A later array count too large for the file.
        bytes = try Data(contentsOf: file)
        XCTAssertEqual(bytes.count > 64, true)
        let versionLength = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
        let customerCountAt = 16 + Int(versionLength)
        bytes.replaceSubrange(customerCountAt..<(customerCountAt + 8), with: [0, 0, 0, 0, 0, 0, 0x10, 0])
        try bytes.write(to: file)
        let again = try recsys(["features"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("unusable"), again.stderr)
        // And the cache is whole again: no warning the next time.
        let clean = try recsys(["features"])
        XCTAssertFalse(clean.stderr.contains("unusable"), clean.stderr)
    }

    // MARK: 8. non-finite model values

    func testAModelFileWithNaNValuesIsRejectedWhenOpened() throws {
        let data = try generated(ratings: 3000)
        XCTAssertEqual(try recsys(["load", "--data", data.path, "--skip-check"]).status, 0)
        let train = try recsys(["train", "--model", "als", "--rank", "2", "--iterations", "2", "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let path = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as? [String: Any])?["model_path"] as? String)
        var model = try ModelFile(contentsOf: URL(fileURLWithPath: path)).model()
        let customer = try XCTUnwrap(try db.execute("SELECT min(customer_id) FROM dim_customer").scalar())
        for (name, damage) in [("mean", { (m: inout FactorModel) in m.globalMean = .nan }),
                               ("factor", { (m: inout FactorModel) in m.movieFactors[3] = .nan }),
                               ("bias", { (m: inout FactorModel) in m.customerBias[0] = .infinity })] {
            var broken = model
            damage(&broken)
            let url = folder.appendingPathComponent("nan-\(name).rsm")
            try ModelFile.write(broken, to: url)   // a valid checksum over NaN values
            for arguments in [["evaluate", "--model", url.path], ["recommend", "--customer", customer, "--model", url.path]] {
                let result = try recsys(arguments)
                XCTAssertEqual(result.status, 2, "\(name) \(arguments[0]): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains(url.lastPathComponent) && result.stderr.contains("not a finite number"), result.stderr)
            }
        }
        model.globalMean += 0   // the undamaged model still opens
        XCTAssertNoThrow(try ModelFile(contentsOf: URL(fileURLWithPath: path)))
    }

    // MARK: 9. SIGINT / SIGTERM

    /// Long work stops within about a second, exit 130 / 143, no partial file, no lock.
    func testSignalsStopLongWorkCleanly() throws {
        let data = try generated(ratings: 60_000, customers: 3000, movies: 300)
        XCTAssertEqual(try recsys(["load", "--data", data.path, "--skip-check"]).status, 0)
        XCTAssertEqual(try recsys(["features"]).status, 0)
        let base = try recsys(["train", "--model", "als", "--rank", "4", "--iterations", "1", "--json"])
        XCTAssertEqual(base.status, 0, base.stderr)
        let models = folder.appendingPathComponent("sig-models")
        let reports = folder.appendingPathComponent("sig-reports")
        let runsBefore = try db.int("SELECT count(*) FROM model_runs")
        let cases: [(String, [String], Int32)] = [
            ("als", ["train", "--model", "als", "--rank", "40", "--iterations", "500", "--out", models.appendingPathComponent("als.rsm").path], SIGINT),
            ("sgd", ["train", "--model", "sgd", "--rank", "40", "--iterations", "2000", "--out", models.appendingPathComponent("sgd.rsm").path], SIGTERM),
            ("svd", ["train", "--model", "svd", "--rank", "200", "--oversampling", "90", "--power-iterations", "100", "--out", models.appendingPathComponent("svd.rsm").path], SIGINT),
            ("graph", ["graph", "--network", "customer", "--sample-customers", "3000", "--centrality", "betweenness,harmonic", "--out", reports.appendingPathComponent("graph").path], SIGTERM),
        ]
        for (name, arguments, signal) in cases {
            let process = try CLI.start(arguments + ["--database", conninfo], home: folder, stdout: FileHandle.nullDevice, stderr: FileHandle.nullDevice)
            Thread.sleep(forTimeInterval: 1.5)
            XCTAssertTrue(process.isRunning, "\(name) ended before the signal; make it longer")
            let sent = Date()
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            let took = Date().timeIntervalSince(sent)
            XCTAssertEqual(process.terminationReason, .exit, name)
            XCTAssertEqual(process.terminationStatus, 128 + signal, name)
            XCTAssertLessThan(took, 3.0, "\(name) took \(took) s to stop")
        }
        for folder in [models, reports] {
            let left = (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).filter { !$0.hasSuffix("/") }
            XCTAssertTrue(left.allSatisfy { !$0.contains(".partial") && !$0.hasSuffix(".rsm") && !$0.hasSuffix(".html") }, "\(left)")
        }
        XCTAssertEqual(try db.int("SELECT count(*) FROM model_runs WHERE path IS NOT NULL AND run_id > (SELECT min(run_id) FROM model_runs)"), 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM model_runs"), runsBefore, "an interrupted run was registered")
        XCTAssertEqual(try db.int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0)
        // A load interrupted mid-way rolls back and resumes exactly.
        let big = try generated(ratings: 400_000, customers: 20_000, movies: 400, seed: 9)
        let load = try CLI.start(["load", "--data", big.path, "--fresh", "--batch-rows", "20000", "--batch-pause-ms", "200", "--database", conninfo],
                                 home: folder, stdout: FileHandle.nullDevice, stderr: FileHandle.nullDevice)
        Thread.sleep(forTimeInterval: 3)
        kill(load.processIdentifier, SIGINT)
        load.waitUntilExit()
        XCTAssertEqual(load.terminationReason, .exit)
        XCTAssertEqual(load.terminationStatus, 130)
        XCTAssertEqual(try recsys(["load", "--data", big.path, "--fresh", "--skip-check"]).status, 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 400_000)
    }

    // MARK: 11–12. bad files

    func testAnEmptyRatingFileIsBadInput() throws {
        let data = try generated(ratings: 500)
        try Data().write(to: data.appendingPathComponent("combined_data_2.txt"))
        let result = try recsys(["load", "--data", data.path])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("combined_data_2.txt") && result.stderr.contains("empty (0 bytes)"), result.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 0)
    }

    func testInvalidUTF8AndNULInMoviesCSVAreRejectedLines() throws {
        let data = folder.appendingPathComponent("ml")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var movies = Data("movieId,title,genres\n1,Good (1999),Drama\n2,Am".utf8)
        movies.append(contentsOf: [0xE9, 0x6C])            // Latin-1 é: not UTF-8
        movies.append(contentsOf: Array("ie (2001),Comedy\n3,Nul".utf8))
        movies.append(0)
        movies.append(contentsOf: Array("led (2002),Drama\n4,Fine (2003),Drama\n".utf8))
        try movies.write(to: data.appendingPathComponent("movies.csv"))
        try "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,4,3.0,964982704\n2,1,5.0,964982705\n"
            .write(to: data.appendingPathComponent("ratings.csv"), atomically: true, encoding: .utf8)
        let strict = try recsys(["load", "--data", data.path])
        XCTAssertEqual(strict.status, 2, strict.stderr)
        XCTAssertTrue(strict.stderr.contains("movies.csv:3") && strict.stderr.contains("not valid UTF-8"), strict.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_movie"), 0)
        let one = try recsys(["load", "--data", data.path, "--max-rejects", "1"])
        XCTAssertEqual(one.status, 2, "two bad lines exceed --max-rejects 1: \(one.stderr)")
        XCTAssertTrue(one.stderr.contains("movies.csv:4") && one.stderr.contains("NUL"), one.stderr)
        let lenient = try recsys(["load", "--data", data.path, "--max-rejects", "2"])
        XCTAssertEqual(lenient.status, 0, lenient.stderr)
        XCTAssertEqual(try db.execute("SELECT movie_id FROM dim_movie ORDER BY 1").rows.map { $0[0]! }, ["1", "4"])
        XCTAssertEqual(try db.execute("SELECT line FROM etl_rejects ORDER BY line").rows.map { $0[0]! }, ["3", "4"])
        XCTAssertFalse(try db.execute("SELECT title FROM dim_movie").rows.contains { ($0[0] ?? "").contains("\u{FFFD}") })
    }

    // MARK: 13. empty parts

    func testAnEmptyTestPartIsRefusedAndAnEmptyValidationPartHasNoMetrics() throws {
        let data = try generated(ratings: 400)
        XCTAssertEqual(try recsys(["load", "--data", data.path, "--skip-check"]).status, 0)
        let refused = try recsys(["features", "--test-fraction", "0.0001"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("test part empty"), refused.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM feature_split"), 0)
        XCTAssertEqual(try recsys(["features", "--validation-fraction", "0"]).status, 0)
        let train = try recsys(["train", "--model", "als", "--rank", "2", "--iterations", "2", "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as? [String: Any])
        XCTAssertNil(report["validation_metrics"], "a metric over zero ratings must be absent, not 0")
        XCTAssertNotNil((report["metrics"] as? [String: Any])?["rmse"])
        let text = try recsys(["train", "--model", "als", "--rank", "2", "--iterations", "2"])
        XCTAssertFalse(text.stdout.contains("0.0000"), text.stdout)
    }

    // MARK: 14–15. concurrent writers

    func testTwoTrainsToOneOutRegisterTheFileTheyLeft() throws {
        let data = try generated(ratings: 20_000, customers: 1000, movies: 100)
        XCTAssertEqual(try recsys(["load", "--data", data.path, "--skip-check"]).status, 0)
        XCTAssertEqual(try recsys(["features"]).status, 0)
        let out = folder.appendingPathComponent("shared.rsm")
        for round in 0..<3 {
            let processes = try (0..<2).map { i in
                try CLI.start(["train", "--model", "als", "--rank", "\(3 + i)", "--iterations", "3", "--out", out.path, "--database", conninfo],
                              home: folder, stdout: FileHandle.nullDevice, stderr: FileHandle.nullDevice)
            }
            processes.forEach { $0.waitUntilExit() }
            XCTAssertEqual(processes.map(\.terminationStatus), [0, 0], "round \(round)")
            let owners = try db.execute("SELECT run_id FROM model_runs WHERE path = $1", [out.path]).rows.map { Int($0[0]!)! }
            XCTAssertEqual(owners.count, 1, "round \(round): \(owners)")
            XCTAssertEqual(ModelFile.recordedRun(at: out), .run(owners[0]), "round \(round)")
            XCTAssertEqual(try ModelFile(contentsOf: out).runID, owners[0])
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".partial") }
        XCTAssertEqual(left, [])
    }

    func testConcurrentCacheWritersAllSucceed() throws {
        let data = try generated(ratings: 200_000, customers: 5000, movies: 200)
        XCTAssertEqual(try recsys(["load", "--data", data.path, "--skip-check"]).status, 0)
        let cache = folder.appendingPathComponent("cache")
        for round in 0..<3 {
            try? FileManager.default.removeItem(at: cache)
            let processes = try (0..<3).map { _ in
                try CLI.start(["features", "--database", conninfo], home: folder, stdout: FileHandle.nullDevice, stderr: FileHandle.nullDevice)
            }
            processes.forEach { $0.waitUntilExit() }
            XCTAssertEqual(processes.map(\.terminationStatus), [0, 0, 0], "round \(round)")
            let files = try FileManager.default.contentsOfDirectory(atPath: cache.path)
            XCTAssertEqual(files.filter { $0.hasPrefix("ratings-") }.count, 1, "\(files)")
            XCTAssertEqual(files.filter { $0.contains("partial") }, [], "\(files)")
        }
    }
}
