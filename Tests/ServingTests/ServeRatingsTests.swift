import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import HummingbirdTesting
@testable import Serving
import TestSupport
import Warehouse
import XCTest

/// POST /v1/ratings: authorization, the star schema after a batch, history,
/// idempotency, bad input, and fold-in of the customers it touched.
final class ServeRatingsTests: ServeTestCase {
    func testWritesNeedTheTokenAndAreOffWithoutOne() async throws {
        try prepareWarehouse(models: [["--model", "ease"]])
        let before = try db.int("SELECT count(*) FROM fact_ratings")
        let body = "{\"ratings\": [{\"customer_id\": 1, \"movie_id\": \(movie), \"rating\": 4}]}"
        try await withServer(configuration(token: nil)) { client, _ in
            let off = try await client.post("/v1/ratings", json: body)
            XCTAssertEqual(off.status, .forbidden)
            XCTAssertEqual(off.error.status, 403)
        }
        try await withServer(configuration()) { client, _ in
            let missing = try await client.post("/v1/ratings", json: body, token: nil)
            XCTAssertEqual(missing.status, .unauthorized)
            XCTAssertEqual(missing.error.field, "Authorization")
            let wrong = try await client.post("/v1/ratings", json: body, token: String(ServeTestCase.token.dropLast()) + "x")
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertFalse(wrong.text.contains(ServeTestCase.token), "the token never appears in a response")
        }
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), before, "nothing was written")
        XCTAssertTrue(Endpoints.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        XCTAssertFalse(Endpoints.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        XCTAssertFalse(Endpoints.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
    }

    func testABatchMovesTheStarSchemaKeepsHistoryAndFoldsTheCustomerIn() async throws {
        try prepareWarehouse()
        let known = try rows("""
            SELECT m.movie_id, f.rating::float8, d.date_actual::text FROM fact_ratings f JOIN dim_movie m USING (movie_key)
            JOIN dim_date d USING (date_key) JOIN dim_customer c USING (customer_key) WHERE c.customer_id = \(customer) ORDER BY m.movie_id LIMIT 1
            """)[0]
        let unrated = try rows("""
            SELECT movie_id FROM dim_movie WHERE movie_key NOT IN (SELECT movie_key FROM fact_ratings f JOIN dim_customer c USING (customer_key)
            WHERE c.customer_id = \(customer)) ORDER BY movie_id LIMIT 1
            """)[0][0]
        let newRating = known[1] == "5" ? 1 : 5
        let facts = try db.int("SELECT count(*) FROM fact_ratings")
        let customers = try db.int("SELECT count(*) FROM dim_customer")
        let total = try db.int("SELECT total_ratings FROM dim_customer WHERE customer_id = \(customer)")
        let body = """
            {"ratings": [
              {"customer_id": \(customer), "movie_id": \(known[0]), "rating": \(newRating), "date": "2006-03-01"},
              {"customer_id": \(customer), "movie_id": \(unrated), "rating": 4, "date": "2006-03-02"},
              {"customer_id": 88888888, "movie_id": \(movie), "rating": 3, "date": "2006-02-27"}
            ]}
            """
        try await withServer(configuration()) { client, server in
            let before = try await client.get("/v1/customers/\(self.customer)/recommendations").json
            XCTAssertEqual(before["basis"] as? String, "model")
            let response = try await client.post("/v1/ratings", json: body, key: "batch-1")
            XCTAssertEqual(response.status, .ok, response.text)
            let result = response.json
            XCTAssertEqual(result["accepted"] as? Int, 3)
            XCTAssertEqual(result["inserted"] as? Int, 2)
            XCTAssertEqual(result["replaced"] as? Int, 1)
            XCTAssertEqual(result["new_customers"] as? Int, 1)
            XCTAssertNil(response.headers[HTTPField.Name("Idempotency-Replayed")!])

            // The same key again: the first answer, nothing written.
            let again = try await client.post("/v1/ratings", json: body, key: "batch-1")
            XCTAssertEqual(again.status, .ok)
            XCTAssertEqual(again.text, response.text)
            XCTAssertEqual(again.headers[HTTPField.Name("Idempotency-Replayed")!], "true")
            // The same key with another body is refused.
            let other = try await client.post("/v1/ratings", json: body.replacingOccurrences(of: "\"rating\": 3", with: "\"rating\": 2"), key: "batch-1")
            XCTAssertEqual(other.status, .unprocessableContent)
            XCTAssertEqual(other.error.field, "Idempotency-Key")

            // The customer's next list reflects the new ratings, with no retrain.
            let after = try await client.get("/v1/customers/\(self.customer)/recommendations").json
            XCTAssertEqual(after["basis"] as? String, "folded_in")
            XCTAssertEqual(after["ratings_known"] as? Int, total + 1)
            XCTAssertFalse((after["recommendations"] as? [[String: Any]] ?? []).contains { $0["movie_id"] as? Int == Int(unrated) })
            let newcomer = try await client.get("/v1/customers/88888888/recommendations").json
            XCTAssertEqual(newcomer["basis"] as? String, "folded_in")
            XCTAssertEqual(newcomer["ratings_known"] as? Int, 1)
            // Another customer of the model is still served from it.
            let other1 = try self.rows("SELECT customer_id FROM dim_customer WHERE customer_id NOT IN (\(self.customer), 88888888) LIMIT 1")[0][0]
            let answer1 = try await client.get("/v1/customers/\(other1)/recommendations")
            XCTAssertEqual(answer1.json["basis"] as? String, "model")
            let metrics = try await client.get("/metrics").text
            XCTAssertTrue(metrics.contains("recsys_ratings_ingested_total 3"), metrics)
            XCTAssertTrue(metrics.contains("recsys_fold_ins_total 2"), metrics)
            _ = server
        }
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), facts + 2)
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_customer"), customers + 1)
        XCTAssertEqual(try rows("""
            SELECT f.rating::float8, d.date_actual FROM fact_ratings f JOIN dim_movie m USING (movie_key) JOIN dim_date d USING (date_key)
            JOIN dim_customer c USING (customer_key) WHERE c.customer_id = \(customer) AND m.movie_id = \(known[0])
            """), [["\(newRating)", "2006-03-01"]])
        XCTAssertEqual(try rows("""
            SELECT h.rating::float8, d.date_actual, h.replaced_by FROM fact_ratings_history h JOIN dim_movie m USING (movie_key)
            JOIN dim_date d USING (date_key) JOIN dim_customer c USING (customer_key) WHERE c.customer_id = \(customer)
            """), [[known[1], known[2], "1"]], "the previous value is kept")
        XCTAssertEqual(try rows("SELECT total_ratings, first_rating_date, last_rating_date FROM dim_customer WHERE customer_id = 88888888"),
                       [["1", "2006-02-27", "2006-02-27"]])
        XCTAssertEqual(try db.int("SELECT total_ratings FROM dim_customer WHERE customer_id = \(customer)"), total + 1)
        XCTAssertEqual(try db.int("SELECT count(*) FROM rating_batch"), 1)
        XCTAssertEqual(try db.execute("SELECT data_version FROM etl_run").scalar()?.hasSuffix("+live1"), true)
        // The warehouse is still one a load would have made: every expectation holds.
        let check = try recsys(["check"])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("row_count.fact_ratings_history"), check.stdout)
    }

    func testConcurrentRequestsWithOneKeyWriteOnce() async throws {
        try prepareWarehouse(models: [["--model", "ease"]])
        let facts = try db.int("SELECT count(*) FROM fact_ratings")
        let body = "{\"ratings\": [{\"customer_id\": 77777777, \"movie_id\": \(movie), \"rating\": 4, \"date\": \"2006-01-01\"}]}"
        try await withServer(configuration()) { client, _ in
            let port = client.port!
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<6 {
                    group.addTask { try await RawHTTP.post(port: port, path: "/v1/ratings", body: body, token: ServeTestCase.token, key: "same-key") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            XCTAssertEqual(answers.map(\.0), Array(repeating: 200, count: 6), answers.map(\.1).joined(separator: "\n"))
            XCTAssertEqual(Set(answers.map(\.1)).count, 1, "every answer is the first one")
        }
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), facts + 1)
        XCTAssertEqual(try db.int("SELECT count(*) FROM rating_batch"), 1)
    }

    func testBadBatchesAreRefusedNamingTheFieldAndWriteNothing() async throws {
        try prepareWarehouse(models: [["--model", "ease"]])
        let facts = try db.int("SELECT count(*) FROM fact_ratings")
        func one(_ fields: String) -> String { "{\"ratings\": [{\(fields)}]}" }
        let ok = "\"customer_id\": 5, \"movie_id\": \(movie)"
        let cases: [(String, Int, String)] = [
            ("{not json", 400, "body"),
            ("[1, 2]", 400, "ratings[0]"),
            ("{\"ratings\": 3}", 400, "ratings"),
            ("{\"ratings\": []}", 400, "ratings"),
            ("{\"rating\": []}", 400, "rating"),
            (one("\(ok), \"rating\": 6"), 400, "ratings[0].rating"),
            (one("\(ok), \"rating\": 3.5"), 400, "ratings[0].rating"),
            (one("\(ok), \"rating\": \"4\""), 400, "ratings[0].rating"),
            (one("\(ok), \"rating\": true"), 400, "ratings[0].rating"),
            (one("\"customer_id\": \"5\", \"movie_id\": \(movie), \"rating\": 4"), 400, "ratings[0].customer_id"),
            (one("\"customer_id\": 0, \"movie_id\": \(movie), \"rating\": 4"), 400, "ratings[0].customer_id"),
            (one("\"customer_id\": 5, \"rating\": 4"), 400, "ratings[0].movie_id"),
            (one("\(ok), \"rating\": 4, \"date\": \"2005-02-30\""), 400, "ratings[0].date"),
            (one("\(ok), \"rating\": 4, \"date\": \"2999-01-01\""), 400, "ratings[0].date"),
            (one("\(ok), \"rating\": 4, \"stars\": 4"), 400, "ratings[0].stars"),
            ("{\"ratings\": [{\(ok), \"rating\": 4}, {\(ok), \"rating\": 2}]}", 400, "ratings[1]"),
            (one("\"customer_id\": 5, \"movie_id\": 999999, \"rating\": 4"), 404, "ratings[0].movie_id"),
        ]
        try await withServer(configuration()) { client, _ in
            for (body, status, field) in cases {
                let response = try await client.post("/v1/ratings", json: body)
                XCTAssertEqual(Int(response.status.code), status, "\(body): \(response.text)")
                XCTAssertEqual(response.error.field, field, body)
                XCTAssertFalse(response.text.contains("Swift"), "no internals in \(response.text)")
            }
            // Over 10,000 ratings, and over the byte limit: 413.
            let many = "{\"ratings\": [" + Array(repeating: "{\(ok), \"rating\": 4}", count: 10_001).joined(separator: ",") + "]}"
            let answer2 = try await client.post("/v1/ratings", json: many)
            XCTAssertEqual(answer2.status, .contentTooLarge)
            let huge = "{\"ratings\": [" + String(repeating: " ", count: ServeConfiguration.maxBodyBytes) + "]}"
            let tooLarge = try await client.post("/v1/ratings", json: huge)
            XCTAssertEqual(tooLarge.status, .contentTooLarge)
            XCTAssertEqual(tooLarge.error.status, 413)
        }
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), facts, "nothing of a refused batch is stored")
        XCTAssertEqual(try db.int("SELECT count(*) FROM rating_batch"), 0)
    }
}

/// A bare HTTP/1.1 client over its own socket: requests that must really run
/// at the same time (the test client has one connection).
enum RawHTTP {
    static func request(port: Int, method: String, path: String, body: String? = nil, headers: [String: String] = [:]) async throws -> (Int, String) {
        try await Task.detached {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            request.timeoutInterval = 20
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            if let body { request.httpBody = Data(body.utf8) }
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
        }.value
    }

    static func post(port: Int, path: String, body: String, token: String, key: String) async throws -> (Int, String) {
        try await request(port: port, method: "POST", path: path, body: body,
                          headers: ["Authorization": "Bearer \(token)", "Idempotency-Key": key, "Content-Type": "application/json"])
    }

    static func get(port: Int, path: String) async throws -> (Int, String) {
        try await request(port: port, method: "GET", path: path)
    }
}
