import Foundation
import Runtime

// The report format shared by `recsys analytics`, and later `evaluate` and
// `graph`: `--out DIR` writes
//   report.html  one self-contained page: inline CSS and SVG, no script, no
//                font or image from anywhere else; XHTML-well-formed (it parses
//                as XML), readable in any browser and printable;
//   report.md    the same content in Markdown: each chart as a link to its
//                standalone SVG under charts/ plus the table of its data;
//   charts/*.svg each chart on its own;
//   <name>.json  every figure, for scripts (the command's --json document).
//
// Usage: build a `Report` of sections holding blocks (paragraphs, key
// figures, tables, charts — see Charts.swift), then `write(to:json:)`.

/// A table of text cells; the first row is not part of `rows`.
public struct ReportTable {
    public var header: [String]
    public var rows: [[String]]
    /// Columns whose cells are right-aligned; nil: columns whose every cell looks numeric.
    public var numericColumns: Set<Int>? = nil

    public func isNumeric(_ column: Int) -> Bool {
        if let numericColumns { return numericColumns.contains(column) }
        let cells = rows.compactMap { column < $0.count ? $0[column] : nil }.filter { !$0.isEmpty }
        return !cells.isEmpty && cells.allSatisfy { cell in cell.allSatisfy { $0.isNumber || ",.-–+%".contains($0) } }
    }

    public init(header: [String], rows: [[String]], numericColumns: Set<Int>? = nil) {
        self.header = header
        self.rows = rows
        self.numericColumns = numericColumns
    }
}

/// A titled report of sections. Text is plain (escaped by the writers).
public struct Report {
    public enum Block {
        case paragraph(String)
        /// Label–value pairs, shown as a compact list of key figures.
        case facts([(String, String)])
        case table(ReportTable)
        case chart(any ReportChart)
    }

    public struct Section {
        public var title: String
        public var blocks: [Block]

        public init(title: String, blocks: [Block]) {
            self.title = title
            self.blocks = blocks
        }
    }

    public var title: String
    public var subtitle: String?
    public var sections: [Section] = []

    /// The page: XHTML-well-formed HTML5 with inline CSS and SVG.
    public func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>\(Markup.xml(title))</title>
            <style>
            \(Self.css)
            </style>
            </head>
            <body>
            <header>
            <h1>\(Markup.xml(title))</h1>

            """
        if let subtitle { out += "<p class=\"subtitle\">\(Markup.xml(subtitle))</p>\n" }
        out += "</header>\n<nav><ol>\n"
        for section in sections {
            out += "<li><a href=\"#\(Markup.slug(section.title))\">\(Markup.xml(section.title))</a></li>\n"
        }
        return out + "</ol></nav>\n<main>\n" + body(HTMLFormat()) + "</main>\n</body>\n</html>\n"
    }

    /// The Markdown version; charts link to `charts/<id>.svg`.
    public func markdown() -> String {
        var out = "# \(Markup.markdown(title))\n\n"
        if let subtitle { out += "\(Markup.markdown(subtitle))\n\n" }
        return out + body(MarkdownFormat())
    }

    /// The sections, each block written as `format` writes its kind.
    private func body(_ format: some BlockFormat) -> String {
        sections.map { section in
            format.section(section.title, blocks: section.blocks.map { block in
                switch block {
                case .paragraph(let text): format.paragraph(text)
                case .facts(let pairs): format.facts(pairs)
                case .table(let table): format.table(table)
                case .chart(let chart): format.chart(chart)
                }
            }.joined())
        }.joined()
    }

    /// Every chart of the report, in order.
    public var charts: [any ReportChart] {
        sections.flatMap(\.blocks).compactMap { if case .chart(let chart) = $0 { return chart } else { return nil } }
    }

    /// Creates the report folder (and its charts/) before any work is done, so
    /// that an --out that cannot be written fails at once, naming the folder.
    @discardableResult
    public static func prepare(_ path: String) throws -> URL {
        let directory = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("charts", isDirectory: true),
                                                    withIntermediateDirectories: true)
        } catch {
            throw ReportFolderError(description: "cannot write a report into \(directory.path): \(reason(error)); give --out a folder that can be created or written")
        }
        return directory
    }

    /// The operating system's words for a file error ("Not a directory", "Permission denied").
    public static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? Error {
            let posix = underlying as NSError
            if posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
        }
        return ns.localizedDescription
    }

    /// Writes report.html, report.md, charts/*.svg and `json` (as `jsonName`)
    /// into `directory`, creating it. Returns the files written.
    @discardableResult
    public func write(to directory: URL, json: Data, jsonName: String) throws -> [URL] {
        let charts = try Self.prepare(directory.path).appendingPathComponent("charts", isDirectory: true)
        var written: [URL] = []
        func put(_ data: Data, _ url: URL) throws {
            try Interruption.check()
            // Reports are text: scrubbed of secrets like every other output.
            let text = Secrets.scrub(String(decoding: data, as: UTF8.self))
            do {
                try Output.writeAtomically(Data(text.utf8), to: url)
            } catch {
                throw ReportWriteError(description: "cannot write \(url.path): \(Self.reason(error))")
            }
            written.append(url)
        }
        try put(Data(html().utf8), directory.appendingPathComponent("report.html"))
        try put(Data(markdown().utf8), directory.appendingPathComponent("report.md"))
        for chart in self.charts {
            try put(Data(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + chart.svg(standalone: true) + "\n").utf8),
                    charts.appendingPathComponent("\(chart.id).svg"))
        }
        try put(json, directory.appendingPathComponent(jsonName))
        return written
    }

    /// System fonts only; charts scale to the page; print keeps each chart whole.
    public static let css = """
        :root { color-scheme: light; }
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
               background: #fff; max-width: 62rem; margin: 0 auto; padding: 1.5rem; line-height: 1.45; }
        header h1 { margin-bottom: 0.2rem; }
        .subtitle { color: #555; margin-top: 0; }
        nav ol { columns: 2; padding-left: 1.2rem; }
        nav a, nav a:visited { color: #2a5a8a; }
        section { margin-top: 2rem; }
        h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
        dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 0.6rem; }
        dl.facts div { border: 1px solid #ddd; border-radius: 4px; padding: 0.4rem 0.6rem; }
        dl.facts dt { color: #555; font-size: 0.85rem; }
        dl.facts dd { margin: 0; font-size: 1.15rem; font-variant-numeric: tabular-nums; }
        table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
        th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e5e5e5; text-align: left; }
        th { border-bottom: 2px solid #bbb; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        figure.chart { margin: 1rem 0; }
        figure.chart svg { max-width: 100%; height: auto; }
        figcaption { color: #555; font-size: 0.9rem; }
        @media print {
          body { max-width: none; padding: 0; }
          nav { display: none; }
          figure.chart, table { break-inside: avoid; }
          section { break-before: auto; }
        }
        """

    public init(title: String, subtitle: String? = nil, sections: [Section] = []) {
        self.title = title
        self.subtitle = subtitle
        self.sections = sections
    }
}

/// What a page format (HTML, Markdown) makes of a section and of each kind of block.
private protocol BlockFormat {
    func section(_ title: String, blocks: String) -> String
    func paragraph(_ text: String) -> String
    func facts(_ pairs: [(String, String)]) -> String
    func table(_ table: ReportTable) -> String
    func chart(_ chart: any ReportChart) -> String
}

/// Sections with ids (the contents link to them); charts as inline SVG figures captioned by their summary.
private struct HTMLFormat: BlockFormat {
    func section(_ title: String, blocks: String) -> String {
        "<section id=\"\(Markup.slug(title))\">\n<h2>\(Markup.xml(title))</h2>\n" + blocks + "</section>\n"
    }

    func paragraph(_ text: String) -> String { "<p>\(Markup.xml(text))</p>\n" }

    func facts(_ pairs: [(String, String)]) -> String {
        "<dl class=\"facts\">\n" + pairs.map { "<div><dt>\(Markup.xml($0.0))</dt><dd>\(Markup.xml($0.1))</dd></div>\n" }.joined() + "</dl>\n"
    }

    func table(_ table: ReportTable) -> String {
        func cells(_ row: [String], _ tag: String) -> String {
            row.enumerated().map { i, cell in "<\(tag)\(table.isNumeric(i) ? " class=\"num\"" : "")>\(Markup.xml(cell))</\(tag)>" }.joined()
        }
        return "<table>\n<thead><tr>" + cells(table.header, "th") + "</tr></thead>\n<tbody>\n"
            + table.rows.map { "<tr>" + cells($0, "td") + "</tr>\n" }.joined() + "</tbody>\n</table>\n"
    }

    func chart(_ chart: any ReportChart) -> String {
        "<figure class=\"chart\">\n\(chart.svg(standalone: false))\n<figcaption>\(Markup.xml(chart.summary))</figcaption>\n</figure>\n"
    }
}

/// Charts as links to their standalone SVG, followed by the table of their data.
private struct MarkdownFormat: BlockFormat {
    func section(_ title: String, blocks: String) -> String { "## \(Markup.markdown(title))\n\n" + blocks }

    func paragraph(_ text: String) -> String { "\(Markup.markdown(text))\n\n" }

    func facts(_ pairs: [(String, String)]) -> String {
        pairs.map { "- **\(Markup.markdown($0.0))**: \(Markup.markdown($0.1))" }.joined(separator: "\n") + "\n\n"
    }

    func table(_ table: ReportTable) -> String { rows(table) + "\n" }

    func chart(_ chart: any ReportChart) -> String {
        "![\(Markup.markdown(chart.title))](charts/\(chart.id).svg)\n\n\(Markup.markdown(chart.summary))\n\n"
            + "<details><summary>data</summary>\n\n" + rows(chart.dataTable) + "\n</details>\n\n"
    }

    private func rows(_ table: ReportTable) -> String {
        var out = "| " + table.header.map(Markup.markdown).joined(separator: " | ") + " |\n"
        out += "|" + table.header.indices.map { table.isNumeric($0) ? " ---: |" : " --- |" }.joined() + "\n"
        for row in table.rows { out += "| " + row.map(Markup.markdown).joined(separator: " | ") + " |\n" }
        return out
    }
}

/// A report file that could not be written once its folder existed (a full
/// disk, say): a runtime failure, exit 1.
/// An --out folder that cannot be made or written: a usage error (exit 2), found before any work.
public struct ReportFolderError: Error, CustomStringConvertible {
    public var description: String
}

public struct ReportWriteError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}
