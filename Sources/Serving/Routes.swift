import Foundation
import HTTPTypes
import Hummingbird
import Runtime

/// One route: how it is served and how it is documented, from the same
/// entry, so that the OpenAPI document cannot drift from the router.
struct Route: Sendable {
    struct Parameter: Sendable {
        enum Place: String, Sendable { case path, query }
        var name: String
        var place: Place
        var type: String
        var description: String
    }

    var method: HTTPRequest.Method
    /// OpenAPI form: `/v1/customers/{id}/recommendations`.
    var path: String
    var operationID: String
    var summary: String
    var parameters: [Parameter] = []
    /// Needs `Authorization: Bearer <token>`.
    var authenticated = false
    var requestBody: String?
    /// Status code → description.
    var responses: [Int: String]
    var handler: @Sendable (Endpoints) -> (Request, BasicRequestContext) async throws -> Response
}

enum Routes {
    static let id = Route.Parameter(name: "id", place: .path, type: "integer", description: "the source id (customer_id or movie_id)")
    static let top = Route.Parameter(name: "top", place: .query, type: "integer", description: "list length, 1–1000 (default 10)")
    static let common: [Int: String] = [400: "a bad parameter; the error names it", 503: "the warehouse is unreachable, or no model is loaded"]

    static let all: [Route] = [
        Route(method: .get, path: "/v1/customers/{id}/recommendations", operationID: "recommendations",
              summary: "The customer's top-N unrated movies, live from the model (folded in when their ratings are newer than it)",
              parameters: [id, top, .init(name: "include_rated", place: .query, type: "boolean", description: "keep movies the customer rated (default false)")],
              responses: common.merging([200: "the list, its basis and model", 404: "no such customer in the warehouse"]) { a, _ in a },
              handler: Endpoints.recommendations),
        Route(method: .get, path: "/v1/customers/{id}/ratings", operationID: "customerRatings",
              summary: "The customer's current ratings, newest first",
              parameters: [id, .init(name: "limit", place: .query, type: "integer", description: "at most this many, 1–10000 (default 20)")],
              responses: common.merging([200: "the ratings", 404: "no such customer in the warehouse"]) { a, _ in a },
              handler: Endpoints.customerRatings),
        Route(method: .get, path: "/v1/movies/{id}", operationID: "movie",
              summary: "Title, year, genres, rating count and mean, live from the warehouse",
              parameters: [id], responses: common.merging([200: "the movie", 404: "no such movie in the warehouse"]) { a, _ in a },
              handler: Endpoints.movie),
        Route(method: .get, path: "/v1/movies/{id}/similar", operationID: "similarMovies",
              summary: "The movies most like this one: cosine of the item factors (an item-based model's own weights), itself excluded",
              parameters: [id, top], responses: common.merging([200: "the similar movies", 404: "no such movie in the model"]) { a, _ in a },
              handler: Endpoints.similar),
        Route(method: .post, path: "/v1/ratings", operationID: "postRatings",
              summary: "Write a batch of ≤ 10,000 ratings in one transaction; Idempotency-Key makes a retry safe",
              authenticated: true,
              requestBody: "{\"ratings\": [{\"customer_id\": int, \"movie_id\": int, \"rating\": number, \"date\": \"YYYY-MM-DD\" (optional, default today)}]}",
              responses: common.merging([200: "what the batch did (a replay carries Idempotency-Replayed: true)", 401: "no or a wrong bearer token",
                                         403: "writes are off (no token configured)", 404: "a movie not in the warehouse",
                                         413: "the body or the batch is over the limit", 422: "the Idempotency-Key was used for another body"]) { a, _ in a },
              handler: Endpoints.postRatings),
        Route(method: .get, path: "/v1/models", operationID: "models", summary: "The registered models whose files are intact, newest first",
              responses: [200: "the models", 503: "the warehouse is unreachable"], handler: Endpoints.models),
        Route(method: .get, path: "/v1/models/current", operationID: "currentModel", summary: "The model being served and why",
              responses: [200: "the model", 503: "no model is loaded"], handler: Endpoints.currentModel),
        Route(method: .get, path: "/health/live", operationID: "live", summary: "The process answers", responses: [200: "alive"],
              handler: Endpoints.live),
        Route(method: .get, path: "/health/ready", operationID: "ready", summary: "The warehouse is reachable and a model is loaded",
              responses: [200: "ready", 503: "not ready; the body says why"], handler: Endpoints.ready),
        Route(method: .get, path: "/metrics", operationID: "metrics", summary: "Prometheus text format: requests and latency by route and status, model, fold-ins, ratings ingested",
              responses: [200: "the metrics"], handler: Endpoints.metricsText),
        Route(method: .get, path: "/openapi.json", operationID: "openapi", summary: "This document", responses: [200: "OpenAPI 3"],
              handler: Endpoints.openAPI),
    ]

    /// Hummingbird's form of an OpenAPI path: `{id}` → `:id`.
    static func routerPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : part
        }.joined(separator: "/")
    }
}

/// The OpenAPI 3 document of `Routes.all`.
enum OpenAPIDocument {
    static let text: String = {
        var paths: [String: [String: Any]] = [:]
        for route in Routes.all {
            var operation: [String: Any] = [
                "operationId": route.operationID,
                "summary": route.summary,
                "responses": Dictionary(uniqueKeysWithValues: route.responses.map { code, text in
                    (String(code), ["description": text, "content": [code == 200 && route.path == "/metrics" ? "text/plain" : "application/json": [String: Any]()]] as [String: Any])
                }),
            ]
            if !route.parameters.isEmpty {
                operation["parameters"] = route.parameters.map { p -> [String: Any] in
                    ["name": p.name, "in": p.place.rawValue, "required": p.place == .path, "description": p.description, "schema": ["type": p.type]]
                }
            }
            if route.authenticated { operation["security"] = [["bearer": [String]()]] }
            if let body = route.requestBody {
                operation["requestBody"] = ["required": true, "description": body,
                                            "content": ["application/json": ["schema": ["type": "object"]]]] as [String: Any]
            }
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation
        }
        let document: [String: Any] = [
            "openapi": "3.0.3",
            "info": ["title": "recsys serve", "version": "1",
                     "description": "Recommendations live from the latest model over the recsys warehouse; ratings written back. Errors are {\"error\": {\"status\", \"message\", \"field\"}}."],
            "paths": paths,
            "components": ["securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]]],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }()
}
