import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Runtime
import Warehouse
import Workflows

/// A refusal with its HTTP status: the body is `{"error": {"status", "message", "field"?}}`.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var message: String
    /// The request part at fault: a JSON field (`ratings[2].rating`), a query parameter, a header.
    var field: String?

    init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil) {
        (self.status, self.message, self.field) = (status, message, field)
    }

    static func badRequest(_ message: String, field: String) -> APIError { APIError(.badRequest, message, field: field) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    static func unavailable(_ message: String) -> APIError { APIError(.serviceUnavailable, message) }
}

struct ErrorBody: Codable {
    struct Detail: Codable {
        var status: Int
        var message: String
        var field: String?
    }
    var error: Detail
}

/// JSON responses, one encoder for all (snake_case, sorted keys).
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try JSON.text(value))))
    }
}

/// Turns every failure into a JSON error with the right status: bad input is a
/// 4xx naming what is wrong, an unreachable warehouse a 503, and anything
/// unexpected a 500 whose body says nothing of the internals (the log has it,
/// scrubbed of secrets).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let api = Self.translate(error)
            if api.status == .internalServerError {
                logger.error("\(request.method) \(request.uri.path): \(Secrets.scrub(String(describing: error)))")
            }
            return try JSONResponse.make(ErrorBody(error: .init(status: api.status.code, message: Secrets.scrub(api.message), field: api.field)),
                                         status: api.status)
        }
    }

    static func translate(_ error: any Error) -> APIError {
        switch error {
        case let api as APIError:
            return api
        case let ingest as IngestError:
            let status: HTTPResponse.Status = switch ingest.kind {
            case .invalid: .badRequest
            case .notFound: .notFound
            case .keyReused: .unprocessableContent
            case .unavailable: .serviceUnavailable
            }
            return APIError(status, ingest.message, field: ingest.field)
        case let workflow as WorkflowError:
            return APIError(workflow.kind == .notFound ? .notFound : .badRequest, workflow.description)
        case let unavailable as DatabaseUnavailable:
            return .unavailable(unavailable.description)
        case let warehouse as WarehouseError where warehouse.kind == .connection:
            return .unavailable("the warehouse is unreachable: \(warehouse.message)")
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "the request body is over the limit of \(ServeConfiguration.maxBodyBytes) bytes")
        case let http as HTTPError:
            return APIError(http.status, http.body ?? http.status.reasonPhrase)
        default:
            // A query that failed because the server went away mid-request is an outage, not a bug.
            if let warehouse = error as? WarehouseError, warehouse.kind == .database, warehouse.sqlState == nil {
                return .unavailable("the warehouse is unreachable: \(warehouse.message)")
            }
            return APIError(.internalServerError, "internal error; the server log has the details")
        }
    }
}
