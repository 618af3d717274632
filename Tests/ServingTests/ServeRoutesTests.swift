import Foundation
import HummingbirdTesting
import Models
@testable import Serving
import TestSupport
import Warehouse
import Workflows
import XCTest

/// Every read route, its content checked against SQL and the model file.
final class ServeRoutesTests: ServeTestCase {
    func testRecommendationsAreTheLibraryListLiveFromTheWarehouse() async throws {
        try prepareWarehouse()
        let best = try rows("SELECT run_id, path FROM model_runs WHERE path IS NOT NULL ORDER BY (metrics->'validation_ranking'->>'ndcg')::float8 DESC LIMIT 1")[0]
        try await withServer(configuration()) { client, _ in
            let response = try await client.get("/v1/customers/\(self.customer)/recommendations?top=7")
            XCTAssertEqual(response.status, .ok, response.text)
            let body = response.json
            XCTAssertEqual(body["run_id"] as? Int, Int(best[0]), "serves the best validation NDCG@10, as recommend does")
            XCTAssertEqual(body["model_path"] as? String, best[1])
            XCTAssertEqual(body["basis"] as? String, "model")
            // Untouched since the model: the server's snapshot of rated movies, no warehouse round trip.
            XCTAssertEqual(body["warehouse"] as? String, "snapshot")
            let served = (body["recommendations"] as? [[String: Any]] ?? []).compactMap { $0["movie_id"] as? Int }
            XCTAssertEqual(served.count, 7)
            // The same list the library (and so `recsys recommend`) makes from the warehouse.
            let file = try ModelFile(contentsOf: URL(fileURLWithPath: best[1]))
            let direct = try Recommender.list(customer: self.customer, file: file, connection: try self.db, top: 7, includeRated: false)
            XCTAssertEqual(served, direct.recommendations.map { Int($0.movieId) })
            // Nothing the customer rated, titles as dim_movie has them.
            let rated = Set(try self.rows("SELECT m.movie_id FROM fact_ratings f JOIN dim_movie m USING (movie_key) JOIN dim_customer c USING (customer_key) WHERE c.customer_id = \(self.customer)").map { Int($0[0])! })
            XCTAssertTrue(rated.isDisjoint(with: served))
            XCTAssertEqual(body["ratings_known"] as? Int, rated.count)
            let first = (body["recommendations"] as! [[String: Any]])[0]
            XCTAssertEqual(first["title"] as? String, try self.rows("SELECT title FROM dim_movie WHERE movie_id = \(served[0])")[0][0])
            // include_rated brings rated movies back in.
            let all = try await client.get("/v1/customers/\(self.customer)/recommendations?top=150&include_rated=true").json
            XCTAssertEqual((all["recommendations"] as? [[String: Any]])?.count, 150)
        }
    }

    func testMovieSimilarAndRatingsAgreeWithSQLAndTheFactors() async throws {
        try prepareWarehouse()
        let als = try rows("SELECT path FROM model_runs WHERE model = 'als' AND path IS NOT NULL")[0][0]
        try await withServer(configuration(model: als)) { client, _ in
            let movie = try await client.get("/v1/movies/\(self.movie)").json
            let truth = try self.rows("SELECT m.title, count(*), avg(f.rating)::float8 FROM fact_ratings f JOIN dim_movie m USING (movie_key) WHERE m.movie_id = \(self.movie) GROUP BY m.title")[0]
            XCTAssertEqual(movie["title"] as? String, truth[0])
            XCTAssertEqual(movie["ratings"] as? Int, Int(truth[1]))
            XCTAssertEqual(movie["mean_rating"] as! Double, Double(truth[2])!, accuracy: 1e-9)

            let similar = try await client.get("/v1/movies/\(self.movie)/similar?top=5").json
            XCTAssertEqual(similar["basis"] as? String, "cosine_of_factors")
            let list = similar["similar"] as? [[String: Any]] ?? []
            XCTAssertEqual(list.count, 5)
            XCTAssertFalse(list.contains { $0["movie_id"] as? Int == Int(self.movie) }, "the movie itself is excluded")
            // Cosines recomputed from the model file, in order.
            let file = try ModelFile(contentsOf: URL(fileURLWithPath: als))
            func row(_ id: Int64) -> [Float] {
                let m = file.movieIndex(of: id)!
                return Array(file.movieFactors[(m * file.rank)..<((m + 1) * file.rank)])
            }
            func cosine(_ a: [Float], _ b: [Float]) -> Double {
                let dot = zip(a, b).map { Double($0 * $1) }.reduce(0, +)
                return dot / (a.map { Double($0 * $0) }.reduce(0, +).squareRoot() * b.map { Double($0 * $0) }.reduce(0, +).squareRoot())
            }
            let expected = file.movieIDs.filter { $0 != self.movie }.map { ($0, cosine(row(self.movie), row($0))) }.sorted { $0.1 > $1.1 }.prefix(5)
            XCTAssertEqual(list.map { $0["movie_id"] as! Int }, expected.map { Int($0.0) })
            for (got, want) in zip(list, expected) { XCTAssertEqual(got["score"] as! Double, want.1, accuracy: 1e-4) }

            let ratings = try await client.get("/v1/customers/\(self.customer)/ratings?limit=4").json
            let newest = try self.rows("""
                SELECT m.movie_id, f.rating::float8, d.date_actual FROM fact_ratings f JOIN dim_movie m USING (movie_key) JOIN dim_date d USING (date_key)
                JOIN dim_customer c USING (customer_key) WHERE c.customer_id = \(self.customer) ORDER BY f.date_key DESC, m.movie_id LIMIT 4
                """)
            let got = ratings["ratings"] as? [[String: Any]] ?? []
            XCTAssertEqual(got.map { $0["movie_id"] as! Int }, newest.map { Int($0[0])! })
            XCTAssertEqual(got.map { $0["date"] as! String }, newest.map { $0[2] })
            XCTAssertEqual(got.map { $0["rating"] as! Double }, newest.map { Double($0[1])! })

            let current = try await client.get("/v1/models/current").json
            XCTAssertEqual(current["path"] as? String, als)
            XCTAssertEqual(current["model"] as? String, "als")
            XCTAssertEqual(current["rank"] as? Int, 8)
            let models = try await client.get("/v1/models").array
            XCTAssertEqual(models.count, 2)
            XCTAssertEqual(models.filter { $0["serving"] as? Bool == true }.map { $0["path"] as? String }, [als])
            let ready = try await client.get("/health/ready")
            XCTAssertEqual(ready.status, .ok)
            XCTAssertEqual(ready.json["ready"] as? Bool, true)
            let answer1 = try await client.get("/health/live")
            XCTAssertEqual(answer1.json["status"] as? String, "ok")
        }
    }

    func testBadRequestsGetJSONErrorsNamingWhatIsWrong() async throws {
        try prepareWarehouse(models: [["--model", "ease"]])
        try await withServer(configuration()) { client, _ in
            let cases: [(String, Int, String?)] = [
                ("/v1/customers/abc/recommendations", 400, "id"),
                ("/v1/customers/-4/recommendations", 400, "id"),
                ("/v1/customers/\(self.customer)/recommendations?top=0", 400, "top"),
                ("/v1/customers/\(self.customer)/recommendations?top=ten", 400, "top"),
                ("/v1/customers/\(self.customer)/recommendations?include_rated=maybe", 400, "include_rated"),
                ("/v1/customers/\(self.customer)/recommendations?tops=5", 400, "tops"),
                ("/v1/customers/987654321/recommendations", 404, nil),
                ("/v1/customers/987654321/ratings", 404, nil),
                ("/v1/movies/987654321", 404, nil),
                ("/v1/movies/987654321/similar", 404, nil),
                ("/v1/nothing/here", 404, nil),
            ]
            for (uri, status, field) in cases {
                let response = try await client.get(uri)
                XCTAssertEqual(Int(response.status.code), status, uri)
                XCTAssertEqual(response.error.status, status, "\(uri): \(response.text)")
                XCTAssertEqual(response.error.field, field, uri)
                XCTAssertFalse(response.error.message.isEmpty, uri)
            }
        }
    }

    func testOpenAPIDocumentAgreesWithTheRoutesTheServerAnswers() async throws {
        try prepareWarehouse(models: [["--model", "ease"]])
        try await withServer(configuration()) { client, _ in
            let document = try await client.get("/openapi.json").json
            XCTAssertEqual(document["openapi"] as? String, "3.0.3")
            let paths = document["paths"] as? [String: [String: Any]] ?? [:]
            var documented = Set<String>()
            for (path, operations) in paths {
                for (method, operation) in operations {
                    documented.insert("\(method.uppercased()) \(path)")
                    let statuses = Set(((operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]).keys.compactMap { Int($0) })
                    let uri = path.replacingOccurrences(of: "{id}", with: path.hasPrefix("/v1/movies") ? "\(self.movie)" : "\(self.customer)")
                    let response = method == "post"
                        ? try await client.post(uri, json: "{\"ratings\": [{\"customer_id\": \(self.customer), \"movie_id\": \(self.movie), \"rating\": 3, \"date\": \"2005-01-01\"}]}")
                        : try await client.get(uri)
                    XCTAssertTrue(statuses.contains(Int(response.status.code)), "\(method) \(path) answered \(response.status.code), documented \(statuses.sorted())")
                    XCTAssertEqual(response.status.code, 200, "\(method) \(path): \(response.text)")
                }
            }
            // Every route the router serves is documented, and nothing else.
            XCTAssertEqual(documented, Set(Routes.all.map { "\($0.method.rawValue) \($0.path)" }))
            XCTAssertEqual(documented.count, 11)
        }
    }

    func testMetricsCountRequestsByRouteAndStatusInPrometheusFormat() async throws {
        try prepareWarehouse(models: [["--model", "ease"]])
        try await withServer(configuration()) { client, _ in
            for _ in 0..<3 { _ = try await client.get("/v1/customers/\(self.customer)/recommendations") }
            _ = try await client.get("/v1/customers/987654321/recommendations")
            let text = try await client.get("/metrics").text
            let route = "/v1/customers/{id}/recommendations"   // the OpenAPI path: one series per route, not per id
            func value(_ prefix: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            XCTAssertEqual(value("recsys_http_requests_total{route=\"\(route)\",method=\"GET\",status=\"200\"}"), 3, text)
            XCTAssertEqual(value("recsys_http_requests_total{route=\"\(route)\",method=\"GET\",status=\"404\"}"), 1, text)
            XCTAssertEqual(value("recsys_http_request_duration_seconds_count{route=\"\(route)\",method=\"GET\",status=\"200\"}"), 3, text)
            XCTAssertTrue(text.contains("# TYPE recsys_http_request_duration_seconds histogram"), text)
            let run = Double(try self.rows("SELECT run_id FROM model_runs WHERE path IS NOT NULL")[0][0])!
            XCTAssertEqual(value("recsys_model_run_id"), run, text)
        }
    }
}
