import Foundation
import HummingbirdTesting
@testable import Serving
import TestSupport
import Warehouse
import XCTest

/// What happens around the requests: a newer model registered while they run,
/// the warehouse going away and coming back, SIGTERM.
final class ServeLifecycleTests: ServeTestCase {
    func testANewerModelIsSwappedInDuringRequestsWithoutAFailureOrAMix() async throws {
        try prepareWarehouse(models: [["--model", "ease"]])
        let first = try db.int("SELECT run_id FROM model_runs WHERE path IS NOT NULL")
        try await withServer(configuration()) { client, _ in
            let port = client.port!
            let customer = self.customer
            // Requests run without pause from several tasks while a new split and model are made.
            let stop = Flag()
            let load = Task.detached { () -> [(Int, String)] in
                try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            var seen: [(Int, String)] = []
                            while !stop.isSet { seen.append(try await RawHTTP.get(port: port, path: "/v1/customers/\(customer)/recommendations")) }
                            return seen
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
            }
            // A new split makes the newest model's split the comparable set: the new model is the choice.
            try self.expectSuccess(self.recsys(["features", "--seed", "99"]), "features")
            try self.expectSuccess(self.recsys(["train", "--model", "ease", "--lambda", "50"]), "train")
            let second = try self.db.int("SELECT max(run_id) FROM model_runs WHERE path IS NOT NULL")
            var current = 0
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                current = try await client.get("/v1/models/current").json["run_id"] as? Int ?? 0
                if current == second { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            XCTAssertEqual(current, second, "the newer model is picked up within seconds")
            try await Task.sleep(for: .milliseconds(300))
            stop.set()
            let answers = try await load.value
            XCTAssertGreaterThan(answers.count, 20)
            XCTAssertEqual(answers.filter { $0.0 != 200 }.map { "\($0.0) \($0.1)" }, [], "no request failed during the swap")
            // Each answer is wholly one model's: its run id and its file agree.
            let paths = Dictionary(uniqueKeysWithValues: try self.rows("SELECT run_id, path FROM model_runs WHERE path IS NOT NULL").map { (Int($0[0])!, $0[1]) })
            var runs = Set<Int>()
            for (_, text) in answers {
                let body = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
                let run = body["run_id"] as! Int
                runs.insert(run)
                XCTAssertEqual(body["model_path"] as? String, paths[run])
            }
            XCTAssertTrue(runs.isSubset(of: [first, second]))
            XCTAssertTrue(runs.contains(second))
        }
    }

    func testTheWarehouseGoingAwayAndComingBack() async throws {
        // A cluster of this test's own, so that stopping it stops nobody else's tests.
        chmod(folder.path, 0o755)   // the server runs as the unprivileged postgres user when we are root
        let cluster = LocalCluster(home: home)
        try cluster.start()
        let ownDatabase = conninfo
        conninfo = cluster.conninfo
        defer {
            try? cluster.stop()
            conninfo = ownDatabase   // tearDown drops the test server's database, not this cluster's
        }
        try prepareWarehouse(models: [["--model", "als", "--rank", "8", "--iterations", "4"]])
        var configuration = configuration(conninfo: cluster.conninfo)
        configuration.poolWait = .milliseconds(500)
        // A customer with a rating newer than the model: their lists need the warehouse.
        let touched = try rows("SELECT customer_id FROM dim_customer WHERE customer_id <> \(customer) ORDER BY customer_id LIMIT 1")[0][0]
        try await withServer(configuration) { client, _ in
            let answer1 = try await client.get("/health/ready")
            XCTAssertEqual(answer1.status, .ok)
            let posted = try await client.post("/v1/ratings", json: "{\"ratings\": [{\"customer_id\": \(touched), \"movie_id\": \(self.movie), \"rating\": 1, \"date\": \"2006-01-01\"}]}")
            XCTAssertEqual(posted.status, .ok, posted.text)
            try cluster.stop()
            let ready = try await client.get("/health/ready")
            XCTAssertEqual(ready.status, .serviceUnavailable)
            XCTAssertEqual(ready.json["ready"] as? Bool, false)
            XCTAssertEqual(ready.json["database"] as? Bool, false)
            XCTAssertEqual(ready.json["model"] as? Bool, true)
            // Customers of the model are still served: untouched ones from the snapshot (rated movies
            // left out), the touched one from the model alone.
            let list = try await client.get("/v1/customers/\(self.customer)/recommendations")
            XCTAssertEqual(list.status, .ok, list.text)
            XCTAssertEqual(list.json["warehouse"] as? String, "snapshot")
            XCTAssertEqual((list.json["recommendations"] as? [[String: Any]])?.count, 10)
            let alone = try await client.get("/v1/customers/\(touched)/recommendations")
            XCTAssertEqual(alone.status, .ok, alone.text)
            XCTAssertEqual(alone.json["warehouse"] as? String, "unreachable")
            XCTAssertEqual(alone.json["basis"] as? String, "model")
            XCTAssertEqual((alone.json["recommendations"] as? [[String: Any]])?.count, 10)
            // What needs the warehouse says so.
            let movie = try await client.get("/v1/movies/\(self.movie)")
            XCTAssertEqual(movie.status, .serviceUnavailable)
            XCTAssertEqual(movie.error.status, 503)
            XCTAssertFalse(movie.text.contains("password"))
            // Back: picked up without a restart.
            try cluster.start()
            var back = false
            for _ in 0..<50 where !back {
                back = try await client.get("/health/ready").status == .ok
                if !back { try await Task.sleep(for: .milliseconds(100)) }
            }
            XCTAssertTrue(back)
            let answer2 = try await client.get("/v1/customers/\(touched)/recommendations")
            XCTAssertEqual(answer2.json["warehouse"] as? String, "live")
            XCTAssertEqual(answer2.json["basis"] as? String, "folded_in")
            let answer3 = try await client.get("/v1/movies/\(self.movie)")
            XCTAssertEqual(answer3.status, .ok)
        }
    }

    func testTheCommandDrainsOnSIGTERMAndNeverPrintsTheToken() throws {
        try prepareWarehouse(models: [["--model", "ease"]])
        let tokenFile = folder.appendingPathComponent("token")
        try ServeTestCase.token.write(to: tokenFile, atomically: true, encoding: .utf8)
        let port = Int.random(in: 20_000..<40_000)
        let output = folder.appendingPathComponent("serve.out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        let process = try CLI.start(["serve", "--port", "\(port)", "--token-file", tokenFile.path, "--database", conninfo],
                                    home: folder, stdout: handle, stderr: handle)
        defer { if process.isRunning { process.terminate() } }
        var up = false
        for _ in 0..<100 where !up {
            up = (try? Self.blocking { try await RawHTTP.get(port: port, path: "/health/ready") })?.0 == 200
            if !up { usleep(100_000) }
        }
        XCTAssertTrue(up, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
        let written = try Self.blocking {
            try await RawHTTP.post(port: port, path: "/v1/ratings", body: "{\"ratings\": [{\"customer_id\": \(self.customer), \"movie_id\": \(self.movie), \"rating\": 2}]}",
                                   token: ServeTestCase.token, key: "k")
        }
        XCTAssertEqual(written.0, 200, written.1)
        let wrong = try Self.blocking {
            try await RawHTTP.post(port: port, path: "/v1/ratings", body: "{}", token: "not-the-token-at-all", key: "k2")
        }
        XCTAssertEqual(wrong.0, 401)
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(8)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(process.isRunning, "stopped within the drain time")
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(process.terminationReason, .exit)
        try handle.close()
        let log = try String(contentsOf: output, encoding: .utf8) + ((try? String(contentsOf: folder.appendingPathComponent("logs/recsys.log"), encoding: .utf8)) ?? "")
        XCTAssertTrue(log.contains("serving ease model"), log)
        XCTAssertFalse(log.contains(ServeTestCase.token), "the token is never logged")
    }

    /// Runs async work from a synchronous test.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }
}

final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
