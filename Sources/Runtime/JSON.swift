import Foundation

/// The one JSON form of everything recsys prints (`--json`), writes (report
/// .json files, truth.json, model parameters) or stores (model_runs): sorted,
/// snake_case keys; non-finite numbers as the strings "nan", "inf", "-inf" —
/// so that a document read back by `decode` is the document written.
public enum JSON {
    /// Pretty, with a final newline: what people and scripts read.
    public static func document<T: Encodable>(_ value: T) throws -> Data {
        try encoder(pretty: true).encode(value) + Data("\n".utf8)
    }

    /// Compact, one line: what the warehouse and the model files store.
    public static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder(pretty: false).encode(value), as: UTF8.self)
    }

    /// Reads what `document` or `text` wrote.
    public static func decode<T: Decodable>(_ type: T.Type, from text: some DataProtocol) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(type, from: Data(text))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decode(type, from: Data(text.utf8))
    }

    private static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}
