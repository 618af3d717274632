import Foundation
import Runtime

/// Escaping for COPY's text format.
enum CopyText {
    static func escape(_ text: String) -> String { text.escaped(specials) }

    /// Backslash and the characters that end a field or a row; NUL cannot be stored in text at all.
    private static let specials: [Unicode.Scalar: String] = ["\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": ""]

    static func optional(_ value: CustomStringConvertible?) -> String {
        value.map { escape($0.description) } ?? "\\N"
    }
}
