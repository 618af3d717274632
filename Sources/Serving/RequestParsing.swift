import Foundation
import Hummingbird
import Runtime
import Warehouse

/// Path and query values, checked: every refusal names the parameter.
enum Parameters {
    static func id(_ context: some RequestContext, _ name: String) throws -> Int64 {
        let text = context.parameters.get(name) ?? ""
        guard let value = Int64(text), value > 0 else {
            throw APIError.badRequest("\(name) must be a positive whole number, not '\(text)'", field: name)
        }
        return value
    }

    static func int(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters[Substring(name)] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'", field: name)
        }
        return number
    }

    static func bool(_ request: Request, _ name: String, default value: Bool) throws -> Bool {
        guard let text = request.uri.queryParameters[Substring(name)] else { return value }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.badRequest("\(name) must be true or false, not '\(text)'", field: name)
        }
    }

    /// Query parameters the route does not know are refused rather than ignored:
    /// `?tops=5` silently giving 10 would hide the mistake.
    static func only(_ request: Request, _ known: Set<String>) throws {
        for (name, _) in request.uri.queryParameters where !known.contains(String(name)) {
            let allowed = known.isEmpty ? "none" : known.sorted().joined(separator: ", ")
            throw APIError.badRequest("unknown query parameter '\(name)' (allowed: \(allowed))", field: String(name))
        }
    }
}

/// Any JSON value, decoded without losing what it was (a number stays apart
/// from a boolean, a whole number from a fraction), so that errors can say
/// exactly which field has the wrong type.
indirect enum JSONValue: Decodable {
    case bool(Bool), integer(Int64), number(Double), string(String), null, array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let i = try? container.decode(Int64.self) { self = .integer(i) }
        else if let d = try? container.decode(Double.self) { self = .number(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var kind: String {
        switch self {
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .null: "null"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// The body of `POST /v1/ratings`: `{"ratings": [{customer_id, movie_id, rating, date?}, …]}`
/// (a bare array is taken too). Dates are `YYYY-MM-DD`; without one, today (UTC).
enum RatingBatchBody {
    static let fields: Set<String> = ["customer_id", "movie_id", "rating", "date"]

    static func parse(_ body: Data, today: CivilDate = .today) throws -> [IncomingRating] {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: body)
        } catch {
            throw APIError.badRequest("the body is not valid JSON: \(Self.reason(error))", field: "body")
        }
        let items: [JSONValue]
        switch value {
        case .array(let list):
            items = list
        case .object(let object):
            if let unknown = object.keys.sorted().first(where: { $0 != "ratings" }) {
                throw APIError.badRequest("unknown field '\(unknown)' (the body is {\"ratings\": [...]})", field: unknown)
            }
            guard case .array(let list)? = object["ratings"] else {
                throw APIError.badRequest("ratings must be an array of ratings, not \(object["ratings"]?.kind ?? "missing")", field: "ratings")
            }
            items = list
        default:
            throw APIError.badRequest("the body must be {\"ratings\": [...]}, not \(value.kind)", field: "body")
        }
        guard !items.isEmpty else { throw APIError.badRequest("ratings is empty: send at least one rating", field: "ratings") }
        guard items.count <= LiveRatings.batchLimit else {
            throw APIError(.contentTooLarge, "a batch holds at most \(LiveRatings.batchLimit) ratings; this one has \(items.count)", field: "ratings")
        }
        return try items.enumerated().map { i, item in try rating(item, at: "ratings[\(i)]", today: today) }
    }

    private static func rating(_ item: JSONValue, at path: String, today: CivilDate) throws -> IncomingRating {
        guard case .object(let object) = item else {
            throw APIError.badRequest("\(path) must be an object {customer_id, movie_id, rating, date?}, not \(item.kind)", field: path)
        }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            throw APIError.badRequest("\(path).\(unknown): unknown field (allowed: customer_id, movie_id, rating, date)", field: "\(path).\(unknown)")
        }
        func wholeNumber(_ name: String) throws -> Int64 {
            guard case .integer(let value)? = object[name] else {
                throw APIError.badRequest("\(path).\(name) must be a whole number, not \(object[name]?.kind ?? "missing")", field: "\(path).\(name)")
            }
            return value
        }
        let rating: Double
        switch object["rating"] {
        case .integer(let value)?: rating = Double(value)
        case .number(let value)?: rating = value
        default:
            throw APIError.badRequest("\(path).rating must be a number, not \(object["rating"]?.kind ?? "missing")", field: "\(path).rating")
        }
        var date = today
        switch object["date"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let parsed = CivilDate(iso: text) else {
                throw APIError.badRequest("\(path).date must be a calendar date YYYY-MM-DD, not '\(text)'", field: "\(path).date")
            }
            date = parsed
        case let other?:
            throw APIError.badRequest("\(path).date must be a string YYYY-MM-DD, not \(other.kind)", field: "\(path).date")
        }
        return IncomingRating(customerID: try wholeNumber("customer_id"), movieID: try wholeNumber("movie_id"), rating: rating, date: date)
    }

    /// A decoding error's own words, without Swift's type names.
    private static func reason(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
        }
        return "unreadable"
    }

    /// The same ratings give the same hash, however the JSON was spaced or ordered.
    static func hash(_ ratings: [IncomingRating]) -> String {
        ContentHash.hex(ratings.map { "\($0.customerID),\($0.movieID),\($0.rating),\($0.date.iso)\n" }.joined().utf8)
    }
}

extension CivilDate {
    /// Parses `YYYY-MM-DD`, refusing impossible days (2005-02-30).
    init?(iso text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), (1...CivilDate.daysInMonth(year: y, month: m)).contains(d) else { return nil }
        self.init(year: y, month: m, day: d)
    }
}
