import Foundation
import Runtime

/// Escaping and number formatting shared by the report writers.
public enum Markup {
    /// Text for XML/XHTML content and attribute values: the five XML
    /// specials escaped, control characters (not allowed in XML 1.0) dropped.
    public static func xml(_ text: String) -> String {
        text.escaped(xmlEntities) { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0xFFFE || $0.value == 0xFFFF }
    }

    /// The XML specials, and the three control characters XML 1.0 allows (kept as they are).
    private static let xmlEntities: [Unicode.Scalar: String] = [
        "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;", "\t": "\t", "\n": "\n", "\r": "\r",
    ]

    /// Text for Markdown prose and table cells: characters Markdown would
    /// read as syntax are backslash-escaped, `|` included (cells), line breaks
    /// become spaces, and `<`/`&` become entities so no HTML gets through.
    public static func markdown(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\\", "`", "*", "_", "[", "]", "#", "|", "~", "!": out += "\\" + String(c)
            case "<": out += "&lt;"
            case "&": out += "&amp;"
            case "\n", "\r", "\r\n": out += " "
            default: out.append(c)
            }
        }
        return out
    }

    /// A coordinate: two decimals, fixed (deterministic, locale-free).
    public static func coordinate(_ value: Double) -> String { String(format: "%.2f", value) }

    /// A value as data (the `data-value` attribute): the shortest text that reads back as the same Double.
    public static func data(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// 1234567 → "1,234,567".
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return value < 0 ? "-" + out : out
    }

    /// A number for people: whole numbers grouped, others with `decimals`.
    public static func number(_ value: Double, decimals: Int = 2) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return grouped(Int(value)) }
        return String(format: "%.\(decimals)f", value)
    }

    /// An axis tick: compact for large values (1.5M, 200k).
    public static func tick(_ value: Double, step: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1_000_000 && step >= 100_000 { return trimmed(value / 1_000_000) + "M" }
        if magnitude >= 10_000 && step >= 1_000 { return trimmed(value / 1_000) + "k" }
        if step >= 1 { return grouped(Int(value.rounded())) }
        // As many decimals as the step needs to be exact (0.025 → 3), so ticks never round to each other.
        var decimals = 0
        while decimals < 6 && abs((step * pow(10, Double(decimals))).rounded() - step * pow(10, Double(decimals))) > 1e-6 { decimals += 1 }
        return String(format: "%.\(decimals)f", value)
    }

    private static func trimmed(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// An id-safe slug of a title.
    public static func slug(_ text: String) -> String {
        var out = ""
        for c in text.lowercased() {
            if c.isASCII && (c.isLetter || c.isNumber) { out.append(c) } else if !out.hasSuffix("-") { out += "-" }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "item" : out
    }
}

/// A value axis with "nice" round ticks (1, 2, 2.5 or 5 × 10ⁿ) covering a range.
public struct NiceScale {
    public let min: Double
    public let max: Double
    public let step: Double

    /// Covers `lo…hi` with about `ticks` ticks; a zero-width range is widened.
    public init(lo: Double, hi: Double, ticks: Int = 5) {
        var lo = lo, hi = hi
        if !(lo.isFinite && hi.isFinite) { lo = 0; hi = 1 }
        if hi <= lo { hi = lo + (lo == 0 ? 1 : abs(lo) * 0.1) }
        let raw = (hi - lo) / Double(Swift.max(1, ticks - 1))
        let power = pow(10, floor(log10(raw)))
        let fraction = raw / power
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        step = nice * power
        min = floor(lo / step + 1e-9) * step
        max = ceil(hi / step - 1e-9) * step
    }

    public var ticks: [Double] {
        let count = Int(((max - min) / step).rounded())
        return (0...count).map { min + Double($0) * step }
    }
}
