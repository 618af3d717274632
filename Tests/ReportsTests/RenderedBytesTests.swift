import Foundation
@testable import Reports
import XCTest

/// Every chart type and every block of a report, rendered from fixed data and
/// pinned by a checksum of the exact bytes: a refactoring of the renderers must
/// not change one character of the HTML, Markdown or SVG. Set
/// `REPORTS_GALLERY_DIR` to write the rendered files there (to diff them).
final class RenderedBytesTests: XCTestCase {
    static let tricky = #"a <b> & "c" 'd'"#

    static var charts: [any ReportChart] {
        [
            BarChart(id: "bar", title: "Bars \(tricky)", summary: "Signed values.", xLabel: "x \(tricky)", yLabel: "y",
                     bars: [.init(label: "neg", value: -2.5), .init(label: tricky, value: 7, note: "note \(tricky)"), .init(label: "zero", value: 0),
                            .init(label: "small", value: 1.0 / 3)]),
            BarChart(id: "bar-empty", title: "No bars", summary: "Empty.", xLabel: "x", yLabel: "y", bars: [],
                     frame: ChartFrame(width: 500, height: 200, left: 40, right: 10, top: 10, bottom: 40), gap: 0, color: "#123456"),
            BarChart(id: "bar-many", title: "Many bars", summary: "Thinned labels.", xLabel: "month", yLabel: "ratings",
                     bars: (0..<60).map { .init(label: String(format: "2004-%02d", $0 % 12 + 1), value: Double($0 * $0) * 1_000) }),
            HorizontalBarChart(id: "hbar", title: "Horizontal \(tricky)", summary: "Ranked.", categoryLabel: "movie", valueLabel: "ratings",
                               bars: [.init(label: String(repeating: "long name ", count: 8), value: 1_234_567),
                                      .init(label: tricky, value: 250_000, note: "n \(tricky)"), .init(label: "c", value: 0.5)]),
            HorizontalBarChart(id: "hbar-plain", title: "Plain", summary: "Defaults.", valueLabel: "score", bars: [.init(label: "only", value: 0.25)],
                               labelWidth: 120, width: 400, rowHeight: 30, color: "#c08a2e"),
            Histogram(id: "hist", title: "Histogram", summary: "Bins double.", xLabel: "ratings per customer", yLabel: "customers",
                      bins: [.init(lo: 1, hi: 1, count: 10), .init(lo: 2, hi: 3, count: 25), .init(lo: 4, hi: 7, count: 12_345), .init(lo: 8, hi: 15, count: 0, label: "8+ \(tricky)")]),
            LineChart(id: "line", title: "Line", summary: "Not from zero.", xLabel: "month", yLabel: "mean",
                      points: [.init(label: "a", value: 3.61), .init(label: "b", value: .nan), .init(label: "c", value: 3.7, note: tricky), .init(label: "d", value: 3.58)]),
            LineChart(id: "line-flat", title: "Flat", summary: "One value.", xLabel: "x", yLabel: "y", points: [.init(label: "only", value: 5)],
                      frame: ChartFrame(top: 30), color: "#000000"),
            ScatterChart(id: "scatter", title: "Scatter", summary: "Weighted.", xLabel: "year", yLabel: "mean",
                         points: [.init(x: 1950, y: 3.2, weight: 10, label: "1950"), .init(x: 1990, y: 3.9, weight: 1_000, label: tricky, note: "n"),
                                  .init(x: 2005, y: 3.5, label: "2005")]),
            ScatterChart(id: "scatter-small", title: "Small x", summary: "Fractions.", xLabel: "x", yLabel: "y",
                         points: [.init(x: 0.1, y: -1, weight: 0, label: "p"), .init(x: 0.35, y: 2, weight: 4, label: "q")], maxRadius: 12),
            GroupedBarChart(id: "grouped", title: "Grouped \(tricky)", summary: "Side by side.", xLabel: "measure", yLabel: "value",
                            categories: ["p@10", tricky, "ndcg", "cov"],
                            series: [.init(name: "als", values: [0.1, 0.2, -0.05, .nan]), .init(name: tricky, values: [0.3, 0.15]),
                                     .init(name: "bias", values: [0, 0.4, 0.25, 1])]),
            GroupedBarChart(id: "grouped-counts", title: "Counts", summary: "Decimals 0.", xLabel: "rating", yLabel: "ratings",
                            categories: ["1", "2"], series: [.init(name: "actual", values: [10, 2_000])], decimals: 0),
            MultiLineChart(id: "multi", title: "Curves", summary: "Train and validation.", xLabel: "iteration", yLabel: "RMSE",
                           series: [.init(name: "als train", points: [(1, 1.2), (2, 0.95), (3, 0.9)], dashed: true),
                                    .init(name: "als validation", points: [(1, 1.25), (2, .nan), (3, 0.99)]),
                                    .init(name: tricky, points: [(1, 1.1), (5, 0.97)])],
                           colorIndex: [0, 0, 3]),
            MultiLineChart(id: "multi-plain", title: "Plain curves", summary: "Default colours.", xLabel: "epoch", yLabel: "loss",
                           series: [.init(name: "a", points: [(0.5, 2), (1.5, 1)])], frame: ChartFrame(width: 600)),
            Heatmap(id: "heat", title: "Heatmap \(tricky)", summary: "Grid.", rowLabel: "rank", columnLabel: "lambda", valueLabel: "RMSE",
                    rows: ["8", "16", tricky], columns: ["0.01", "0.1"], values: [0.91, 0.88, nil, 0.87, 0.9, .nan]),
            Heatmap(id: "heat-light", title: "Reversed", summary: "High is dark.", rowLabel: "r", columnLabel: "", valueLabel: "score",
                    rows: ["1"], columns: [""], values: [0.5], lowIsDark: false),
            NetworkChart(id: "net", title: "Network \(tricky)", summary: "Nodes and edges.",
                         nodes: [.init(label: tricky, size: 100, group: 0, note: "n \(tricky)", x: 0, y: 0), .init(label: "b", size: 25, group: 9, x: 1, y: 0.2),
                                 .init(label: "c", size: .nan, group: -3, x: .nan, y: 2), .init(label: String(repeating: "z", count: 40), size: 4, group: 2, x: 0.5, y: 1)],
                         edges: [.init(from: 0, to: 1, weight: 4), .init(from: 1, to: 2, weight: 1), .init(from: 3, to: 0, weight: 9), .init(from: 0, to: 0, weight: 1)],
                         labelCount: 3, legend: [.init(group: 0, label: "first"), .init(group: 9, label: tricky)], legendTitle: "community"),
            NetworkChart(id: "net-empty", title: "Empty network", summary: "Nothing.", nodes: [], edges: [], width: 300, height: 200,
                         minRadius: 2, maxRadius: 5, labelCount: 0, labelLength: 5, nodeLabel: "n", groupLabel: "g", sizeLabel: "s"),
        ]
    }

    static var report: Report {
        Report(title: "Gallery \(tricky)", subtitle: "every block", sections: [
            .init(title: "Text & figures", blocks: [
                .paragraph("A paragraph with *markdown* | pipes \(tricky)\nand a line break."),
                .facts([("ratings", "1,234"), (tricky, "–")]),
                .table(ReportTable(header: ["name", "value", "share"], rows: [["a", "1,000", "12.5 %"], [tricky, "-3", ""]])),
                .table(ReportTable(header: ["n"], rows: [["x"]], numericColumns: [0])),
            ]),
            .init(title: "Charts", blocks: charts.map { .chart($0) }),
            .init(title: "", blocks: []),
        ])
    }

    /// FNV-1a, 64 bits: a checksum that needs no library and is the same everywhere.
    static func checksum(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    static var rendered: [(name: String, text: String)] {
        var files: [(String, String)] = [("report.html", report.html()), ("report.md", report.markdown())]
        for chart in charts {
            files.append(("\(chart.id).svg", chart.svg(standalone: true)))
            files.append(("\(chart.id)-inline.svg", chart.svg(standalone: false)))
            let table = chart.dataTable
            files.append(("\(chart.id).table", ([table.header] + table.rows).map { $0.joined(separator: "\t") }.joined(separator: "\n")
                          + "\nnumeric: " + table.header.indices.filter(table.isNumeric).map(String.init).joined(separator: ",")))
        }
        return files
    }

    static let expected: [String: String] = [
        "bar-empty-inline.svg": "dd836bdc17f21a87",
        "bar-empty.svg": "e11e5e5ce2570c4b",
        "bar-empty.table": "f77c92f83a74c55e",
        "bar-inline.svg": "a9fd30d8e3f807a8",
        "bar-many-inline.svg": "190fd0d9ed7d3d98",
        "bar-many.svg": "d7e7cf59212faf4c",
        "bar-many.table": "ab47d049a7f9598a",
        "bar.svg": "da8832e0edd8902c",
        "bar.table": "67466887dd08f06d",
        "grouped-counts-inline.svg": "1f0a5cbcca6cfafa",
        "grouped-counts.svg": "662fc81d03298bf6",
        "grouped-counts.table": "c8452374a5324689",
        "grouped-inline.svg": "9bb8d322702fd3b9",
        "grouped.svg": "4fdc85ca7169cb15",
        "grouped.table": "57d2d2c0639a815f",
        "hbar-inline.svg": "533222e613d55561",
        "hbar-plain-inline.svg": "ceb3799b9114c02a",
        "hbar-plain.svg": "72c6bfb037b40c96",
        "hbar-plain.table": "a1b3d53e84e568a8",
        "hbar.svg": "6ba8da7542b1d25",
        "hbar.table": "fd1de2cb6d487282",
        "heat-inline.svg": "ed94a3c2f929269a",
        "heat-light-inline.svg": "de3c742be16ca072",
        "heat-light.svg": "4558ee5740e9ed96",
        "heat-light.table": "8bfe58ea64ab2eed",
        "heat.svg": "6781c58d216c116e",
        "heat.table": "151ace363ce2c1ec",
        "hist-inline.svg": "71d3eee52b92e46e",
        "hist.svg": "a4dde07fd3e4af4a",
        "hist.table": "883fc1bf79196f83",
        "line-flat-inline.svg": "ea3bc28664553c4b",
        "line-flat.svg": "2fb4e8f5c7879667",
        "line-flat.table": "ceb4065e13222835",
        "line-inline.svg": "356c6d6360ad9abf",
        "line.svg": "cd660278864477eb",
        "line.table": "bb4a08eb06b39d79",
        "multi-inline.svg": "45d7ff8094a0bbf0",
        "multi-plain-inline.svg": "d3c61e4aa6287a8e",
        "multi-plain.svg": "eaebd5ada77a0242",
        "multi-plain.table": "c5f3ac5df1ee5f",
        "multi.svg": "27245c142bccc8dc",
        "multi.table": "43e95a7e0fb70eb5",
        "net-empty-inline.svg": "a6b8e82a4d65d6eb",
        "net-empty.svg": "46a658cb4aab52cf",
        "net-empty.table": "862c8e46eed4723d",
        "net-inline.svg": "f2c01b9a2504f1b2",
        "net.svg": "8e86942b76bcaeb6",
        "net.table": "6a620a74dcd2821f",
        "report.html": "c261ecc53246c6d6",
        "report.md": "c4a65a8ef29cb62c",
        "scatter-inline.svg": "4c70451b919bee01",
        "scatter-small-inline.svg": "cdbd21f9d7f7c3fa",
        "scatter-small.svg": "9923563272fb011e",
        "scatter-small.table": "1bbaef5a7097b065",
        "scatter.svg": "739d044116dadc15",
        "scatter.table": "68e2870bad6d387c",
    ]

    func testTheRenderedBytesStayTheSame() throws {
        let files = Self.rendered
        if let directory = ProcessInfo.processInfo.environment["REPORTS_GALLERY_DIR"] {
            let url = URL(fileURLWithPath: directory, isDirectory: true)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for file in files { try Data(file.text.utf8).write(to: url.appendingPathComponent(file.name)) }
        }
        let sums = Dictionary(uniqueKeysWithValues: files.map { ($0.name, Self.checksum($0.text)) })
        XCTAssertEqual(sums.count, files.count)
        for (name, sum) in sums.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(sum, Self.expected[name], "\(name) changed (or is new): \"\(name)\": \"\(sum)\",")
        }
    }
}
