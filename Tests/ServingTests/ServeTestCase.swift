import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
@testable import Serving
import TestSupport
import Warehouse
import XCTest

/// A test of the HTTP service: its own warehouse (generated, loaded, split,
/// two models trained by the built binary) and a real server on a loopback
/// port over it.
class ServeTestCase: CLITestCase {
    static let token = "test-token-0123456789abcdef"

    /// A customer with many ratings and movies left unrated, and a movie.
    var customer: Int64 = 0
    var movie: Int64 = 0

    override var databasePrefix: String { "serve" }

    /// Generates, loads, splits and trains `models` (each with its CLI flags).
    func prepareWarehouse(models: [[String]] = [["--model", "als", "--rank", "8", "--iterations", "6"], ["--model", "ease"]]) throws {
        let data = folder.appendingPathComponent("data")
        try generate(.netflix, into: data, ratings: 40_000, customers: 600, movies: 150, seed: 5)
        try expectSuccess(recsys(["load", "--data", data.path]), "load")
        try expectSuccess(recsys(["features"]), "features")
        for flags in models { try expectSuccess(recsys(["train"] + flags), "train \(flags)") }
        // Many ratings, yet movies left to recommend.
        customer = Int64(try rows("""
            SELECT customer_id FROM dim_customer WHERE total_ratings < (SELECT count(*) - 30 FROM dim_movie)
            ORDER BY total_ratings DESC, customer_id LIMIT 1
            """)[0][0])!
        movie = Int64(try rows("SELECT movie_id FROM dim_movie ORDER BY movie_id LIMIT 1")[0][0])!
    }

    @discardableResult
    func expectSuccess(_ result: CLI.Result, _ what: String) throws -> CLI.Result {
        guard result.status == 0 else { throw WarehouseError(.usage, "\(what) failed (\(result.status)): \(result.stderr)") }
        return result
    }

    func configuration(token: String? = ServeTestCase.token, model: String? = nil, conninfo: String? = nil) -> ServeConfiguration {
        var configuration = ServeConfiguration(database: Database(target: .configured(conninfo: conninfo ?? self.conninfo, source: "test"), home: home))
        configuration.port = 0
        configuration.token = token
        configuration.modelPath = model
        configuration.pollInterval = .milliseconds(200)
        configuration.poolWait = .seconds(2)
        return configuration
    }

    /// Runs `body` against a live server on a free loopback port.
    func withServer<T: Sendable>(_ configuration: ServeConfiguration,
                                 _ body: @Sendable (any TestClientProtocol, RecommendationServer) async throws -> T) async throws -> T {
        var logger = Logger(label: "test.serve")
        logger.logLevel = .warning
        let server = RecommendationServer(configuration, logger: logger)
        try await server.prepare()
        return try await server.application().test(.live) { client in try await body(client, server) }
    }
}

/// Requests and their JSON.
extension TestClientProtocol {
    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }

    func post(_ uri: String, json: String, token: String? = ServeTestCase.token, key: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    var array: [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [[String: Any]] ?? []
    }

    var text: String { String(buffer: body) }

    /// The error's status, field and message, checked to be the JSON error form.
    var error: (status: Int, field: String?, message: String) {
        let detail = json["error"] as? [String: Any] ?? [:]
        return (detail["status"] as? Int ?? -1, detail["field"] as? String, detail["message"] as? String ?? "")
    }
}
