import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Models
import NIOCore
import Runtime
import Warehouse
import Workflows

/// A recommendation list as the server answers it: what `recsys recommend
/// --json` prints, plus the run that made it and whether the warehouse took part.
struct ServedRecommendations: Encodable {
    var list: RecommendationList
    var runId: Int?
    /// Where the customer's rated movies came from: "live" (read from the warehouse now),
    /// "snapshot" (the server's copy, current for this customer: no batch touched them since),
    /// or "unreachable" (the warehouse is down: the model alone).
    var warehouse: String
    var note: String?

    enum Keys: String, CodingKey { case runId, warehouse, note }

    func encode(to encoder: Encoder) throws {
        try list.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(runId, forKey: .runId)
        try container.encode(warehouse, forKey: .warehouse)
        try container.encodeIfPresent(note, forKey: .note)
    }
}

struct SimilarMovie: Codable {
    var movieId: Int64
    var title: String
    var year: Int?
    var score: Double
}

struct SimilarMoviesResponse: Codable {
    var movieId: Int64
    var title: String
    /// cosine_of_factors, or item_weights for an item-based model.
    var basis: String
    var model: String
    var runId: Int?
    var similar: [SimilarMovie]
}

struct CustomerRatings: Codable {
    var customerId: Int64
    var ratings: [CustomerRating]
}

struct ModelSummary: Codable {
    var runId: Int?
    var model: String
    var path: String
    var dataVersion: String
    var splitId: Int?
    var validationNdcg: Double?
    var serving: Bool
}

struct CurrentModel: Codable {
    var runId: Int?
    var model: String
    var path: String
    var dataVersion: String
    var splitId: Int
    var rank: Int
    var customers: Int
    var movies: Int
    var reason: String
    var loadedAt: String
}

struct Readiness: Codable {
    var ready: Bool
    var database: Bool
    var model: Bool
    var message: String?
}

/// The handlers: each a thin translation between HTTP and the library calls
/// the CLI makes too.
struct Endpoints: Sendable {
    let store: ModelStore
    let pool: ConnectionPool
    let live: LiveView
    let metrics: ServerMetrics
    let token: String?
    let logger: Logger

    func served() throws -> ServedModel {
        guard let model = store.model else {
            throw APIError.unavailable("no model is loaded yet: train one with `recsys train` (the server picks it up by itself)")
        }
        return model
    }

    // MARK: customers

    func recommendations(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try Parameters.only(request, ["top", "include_rated"])
        let id = try Parameters.id(context, "id")
        let top = try Parameters.int(request, "top", default: 10, range: 1...1000)
        let includeRated = try Parameters.bool(request, "include_rated", default: false)
        let model = try served()
        let file = model.file
        let titles: ([Int64]) throws -> [Int64: (title: String, year: Int?)] = { ids in
            Dictionary(ids.map { ($0, model.title(of: $0)) }, uniquingKeysWith: { a, _ in a })
        }
        // A customer no batch touched since the model and the snapshot: no warehouse round trip.
        if let rated = live.ratedMovies(customer: id, modelVersion: file.dataVersion, movieID: model.movieID(ofKey:)) {
            let list = try Recommender.list(customer: id, ratings: rated, file: file, currentDataVersion: file.dataVersion, top: top,
                                            includeRated: includeRated, scoring: model.scoring, titles: titles)
            return try JSONResponse.make(ServedRecommendations(list: list, runId: model.runID, warehouse: "snapshot"))
        }
        let state: CustomerState?
        do {
            state = try await pool.withConnection {
                try LiveRatings.customer(id: id, modelVersion: file.dataVersion, connection: $0, movieID: model.movieID(ofKey:))
            }
        } catch where Self.isOutage(error) {
            return try fromModelAlone(customer: id, model: model, top: top, includeRated: includeRated, titles: titles, outage: error)
        }
        guard let state else { throw APIError.notFound("customer \(id) is not in the warehouse") }
        let list = try Recommender.list(customer: id, ratings: state.ratings, file: file,
                                        currentDataVersion: state.modelIsCurrent ? file.dataVersion : state.warehouseVersion,
                                        top: top, includeRated: includeRated, scoring: model.scoring, titles: titles)
        if list.basis == .foldedIn { metrics.foldedIn() }
        return try JSONResponse.make(ServedRecommendations(list: list, runId: model.runID, warehouse: "live"))
    }

    /// While the warehouse is down, a customer the model was trained with still
    /// gets a list: their factors (or, for an item-based model, their training
    /// history) are in the model file.
    private func fromModelAlone(customer id: Int64, model: ServedModel, top: Int, includeRated: Bool,
                                titles: ([Int64]) throws -> [Int64: (title: String, year: Int?)], outage: Error) throws -> Response {
        let file = model.file
        guard let c = file.customerIndex(of: id), file.customerTrainCount[c] > 0 else {
            throw APIError.unavailable("the warehouse is unreachable and customer \(id) is not in the model: \(Self.describe(outage))")
        }
        let history: [(movieID: Int64, rating: Double)] = file.isItemBased
            ? (Int(file.historyStart[c])..<Int(file.historyStart[c + 1])).map { (file.movieIDs[Int(file.history[$0])], 0) } : []
        var list = try Recommender.list(customer: id, ratings: history, file: file, currentDataVersion: file.dataVersion, top: top,
                                        includeRated: includeRated, scoring: model.scoring, titles: titles)
        list.ratingsKnown = history.count
        let note = file.isItemBased
            ? "the warehouse is unreachable: scored from the customer's training ratings in the model; newer ratings are not seen"
            : "the warehouse is unreachable: served from the customer's model factors; movies they rated are not left out"
        return try JSONResponse.make(ServedRecommendations(list: list, runId: model.runID, warehouse: "unreachable", note: note))
    }

    func customerRatings(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try Parameters.only(request, ["limit"])
        let id = try Parameters.id(context, "id")
        let limit = try Parameters.int(request, "limit", default: 20, range: 1...10_000)
        guard let ratings = try await pool.withConnection({ try Catalog.ratings(customer: id, limit: limit, $0) }) else {
            throw APIError.notFound("customer \(id) is not in the warehouse")
        }
        return try JSONResponse.make(CustomerRatings(customerId: id, ratings: ratings))
    }

    // MARK: movies

    func movie(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try Parameters.only(request, [])
        let id = try Parameters.id(context, "id")
        guard let facts = try await pool.withConnection({ try Catalog.movie(id: id, $0) }) else {
            throw APIError.notFound("movie \(id) is not in the warehouse")
        }
        return try JSONResponse.make(facts)
    }

    func similar(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try Parameters.only(request, ["top"])
        let id = try Parameters.id(context, "id")
        let top = try Parameters.int(request, "top", default: 10, range: 1...1000)
        let model = try served()
        guard let index = model.file.movieIndex(of: id) else { throw APIError.notFound("movie \(id) is not in the model") }
        let items = model.similar.top(of: index, count: top)
        let similar = items.map { item -> SimilarMovie in
            let movieID = model.file.movieIDs[Int(item.movie)]
            let known = model.title(of: movieID)
            return SimilarMovie(movieId: movieID, title: known.title, year: known.year, score: Double(item.score))
        }
        return try JSONResponse.make(SimilarMoviesResponse(movieId: id, title: model.title(of: id).title, basis: model.similar.basis,
                                                   model: model.file.kind, runId: model.runID, similar: similar))
    }

    // MARK: ratings

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotency-Replayed")!

    func postRatings(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try authorize(request)
        try Parameters.only(request, [])
        let key = request.headers[Self.idempotencyKey]
        if let key, key.isEmpty || key.count > 200 {
            throw APIError.badRequest("Idempotency-Key must be 1 to 200 characters", field: "Idempotency-Key")
        }
        let body = try await request.body.collect(upTo: ServeConfiguration.maxBodyBytes)
        let ratings = try RatingBatchBody.parse(Data(buffer: body))
        let hash = RatingBatchBody.hash(ratings)
        let live = self.live
        let (result, replayed) = try await pool.withConnection { connection in
            let outcome = try LiveRatings.ingest(ratings, idempotencyKey: key, requestHash: hash, connection: connection)
            // Read your writes: the customers just touched leave the snapshot path at once.
            try live.refresh(connection)
            return outcome
        }
        if !replayed { metrics.ingested(ratings.count) }
        var headers = HTTPFields()
        if replayed { headers[Self.replayed] = "true" }
        return try JSONResponse.make(result, headers: headers)
    }

    /// Write routes need the bearer token; with none configured they are off.
    private func authorize(_ request: Request) throws {
        guard let token else {
            throw APIError(.forbidden, "writes are off: start the server with --token-file FILE or RECSYS_API_TOKEN to enable them")
        }
        let given = request.headers[.authorization] ?? ""
        guard given.hasPrefix("Bearer "), Self.constantTimeEqual(Array(given.utf8.dropFirst(7)), Array(token.utf8)) else {
            throw APIError(.unauthorized, "a valid 'Authorization: Bearer <token>' header is needed", field: "Authorization")
        }
    }

    /// Compares every byte whatever the first difference, so the time says nothing about the token.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    // MARK: models

    func models(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try Parameters.only(request, [])
        let servingRun = store.model?.runID
        let saved = try await pool.withConnection { try SavedModels.intact($0) }
        return try JSONResponse.make(saved.map {
            ModelSummary(runId: $0.runID, model: $0.model, path: $0.path, dataVersion: $0.dataVersion, splitId: $0.splitID,
                         validationNdcg: $0.validationNDCG, serving: $0.runID == servingRun)
        })
    }

    func currentModel(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try Parameters.only(request, [])
        let model = try served()
        let f = model.file
        return try JSONResponse.make(CurrentModel(runId: model.runID, model: f.kind, path: f.url.path, dataVersion: f.dataVersion,
                                                  splitId: f.splitID, rank: f.rank, customers: f.customerCount, movies: f.movieCount,
                                                  reason: model.reason, loadedAt: ISO8601DateFormatter().string(from: model.loadedAt)))
    }

    // MARK: operations

    func live(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try JSONResponse.make(["status": "ok"])
    }

    func ready(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let hasModel = store.model != nil
        var message: String?
        var database = true
        do {
            _ = try await pool.withConnection { try $0.execute("SELECT 1") }
        } catch {
            database = false
            message = Self.describe(error)
        }
        if !hasModel { message = message ?? "no model is loaded yet" }
        let ready = hasModel && database
        return try JSONResponse.make(Readiness(ready: ready, database: database, model: hasModel, message: message.map(Secrets.scrub)),
                                     status: ready ? .ok : .serviceUnavailable)
    }

    func metricsText(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
    }

    func openAPI(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
    }

    // MARK: helpers

    /// The warehouse is gone (not a bad query): the caller may fall back.
    static func isOutage(_ error: Error) -> Bool {
        switch error {
        case is DatabaseUnavailable: return true
        case let warehouse as WarehouseError: return warehouse.kind == .connection || (warehouse.kind == .database && warehouse.sqlState == nil)
        default: return false
        }
    }

    static func describe(_ error: Error) -> String { Secrets.scrub(String(describing: error)) }
}
