import Foundation

/// The one JSON form of every document recsys prints (`--json`), writes (the
/// reports' .json files) or will serve: pretty, sorted, snake_case keys, a
/// final newline; non-finite numbers as the strings "nan", "inf", "-inf".
public func jsonDocument<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try encoder.encode(value) + Data("\n".utf8)
}

/// The compact JSON text stored in the warehouse (model_runs' parameters,
/// metrics, iteration logs): sorted, snake_case keys, one line.
public func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// A request the use case cannot serve as asked (no saved model, an unknown
/// customer): the front end reports it as a usage error (CLI exit 2, HTTP 4xx).
public struct WorkflowError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case notFound, badRequest }
    public var kind: Kind
    public var description: String
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
