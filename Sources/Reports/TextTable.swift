import Foundation

/// Plain text tables: first row is the header, numbers right-aligned.
public enum TextTable {
    public static func render(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func isNumber(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy { $0.isNumber || $0 == "," || $0 == "." || $0 == "-" } }
        var lines: [String] = []
        for (r, row) in rows.enumerated() {
            let cells = row.enumerated().map { i, cell -> String in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return r > 0 && isNumber(cell) ? pad + cell : cell + pad
            }
            lines.append(trimmingTrailingSpaces(cells.joined(separator: "  ")))
            if r == 0 {
                lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func trimmingTrailingSpaces(_ line: String) -> String {
        var line = Substring(line)
        while line.last == " " { line = line.dropLast() }
        return String(line)
    }
}
