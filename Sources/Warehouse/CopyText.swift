import Foundation

/// Escaping for COPY's text format.
enum CopyText {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\0": continue
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func optional(_ value: CustomStringConvertible?) -> String {
        value.map { escape($0.description) } ?? "\\N"
    }
}
