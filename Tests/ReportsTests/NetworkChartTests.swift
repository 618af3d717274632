import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Reports
import XCTest

/// The network picture: escaping, one circle per node, one line per valid
/// edge, colours by group, the scale it states, and the degenerate cases.
final class NetworkChartTests: XCTestCase {
    func chart(nodes: [NetworkChart.Node], edges: [NetworkChart.Edge], labelCount: Int = 12) -> NetworkChart {
        NetworkChart(id: "net", title: "A network", summary: "Nodes and the edges between them.", nodes: nodes, edges: edges,
                     labelCount: labelCount, legend: [.init(group: 0, label: "first"), .init(group: 9, label: "tenth")], legendTitle: "group")
    }

    var sample: NetworkChart {
        chart(nodes: [
            .init(label: #"Tom <&"> Jerry"#, size: 100, group: 0, note: #"note <b>&"#, x: 0, y: 0),
            .init(label: "b", size: 25, group: 1, x: 1, y: 0),
            .init(label: "c", size: 4, group: 8, x: 0.5, y: 1),
            .init(label: "d", size: 0, group: 10, x: 0.25, y: 0.75),
        ], edges: [
            .init(from: 0, to: 1, weight: 4),
            .init(from: 1, to: 2, weight: 1),
            .init(from: 2, to: 0, weight: 9),
            // Not drawn: out of range, self-loop, zero, negative, NaN, infinite.
            .init(from: 0, to: 4, weight: 1), .init(from: -1, to: 2, weight: 1), .init(from: 3, to: 3, weight: 1),
            .init(from: 0, to: 3, weight: 0), .init(from: 1, to: 3, weight: -2), .init(from: 2, to: 3, weight: .nan),
            .init(from: 0, to: 3, weight: .infinity),
        ])
    }

    func parse(_ svg: String) throws -> XMLDocument {
        try XMLDocument(data: Data(svg.utf8), options: [])
    }

    func elements(_ document: XMLDocument, _ xpath: String) throws -> [XMLElement] {
        try document.nodes(forXPath: xpath).compactMap { $0 as? XMLElement }
    }

    func attribute(_ element: XMLElement, _ name: String) -> String { element.attribute(forName: name)?.stringValue ?? "" }
    func number(_ element: XMLElement, _ name: String) -> Double { Double(attribute(element, name)) ?? .nan }

    func testLabelsAndNotesAreEscaped() throws {
        let svg = sample.svg(standalone: false)
        XCTAssertFalse(svg.contains("Tom <&\"> Jerry"))
        XCTAssertTrue(svg.contains("data-label=\"Tom &lt;&amp;&quot;&gt; Jerry\""))
        XCTAssertTrue(svg.contains("<title>note &lt;b&gt;&amp;</title>"))
        // The edge tooltips name the nodes, escaped too.
        XCTAssertTrue(svg.contains("<title>Tom &lt;&amp;&quot;&gt; Jerry – b: 4</title>"))
        // And the text label of the biggest node.
        XCTAssertTrue(svg.contains(">Tom &lt;&amp;&quot;&gt; Jerry</text>"))
        // Well-formed: the parsed document gives the label back as written.
        let document = try parse(svg)
        let circles = try elements(document, "//*[@class='mark']")
        XCTAssertEqual(circles.first.map { attribute($0, "data-label") }, #"Tom <&"> Jerry"#)
        XCTAssertEqual(try elements(document, "//*[@class='mark']/*[local-name()='title']").first?.stringValue, "note <b>&")
        // Accessible: an id, a title and a description.
        XCTAssertEqual(try elements(document, "/*[local-name()='svg']").first.map { attribute($0, "id") }, "net")
        XCTAssertEqual(try elements(document, "/*/*[@id='net-title']").first?.stringValue, "A network")
        XCTAssertEqual(try elements(document, "/*/*[@id='net-desc']").first?.stringValue, "Nodes and the edges between them.")
    }

    func testOneCircleByNodeAndOneLineByValidEdgeEdgesFirst() throws {
        let chart = sample
        XCTAssertEqual(chart.validEdges.count, 3)
        // The standalone file parses too; attributes are read from the inline form.
        XCTAssertNoThrow(try parse(chart.svg(standalone: true)))
        let document = try parse(chart.svg(standalone: false))
        let circles = try elements(document, "//*[local-name()='circle'][@class='mark']")
        let lines = try elements(document, "//*[local-name()='line'][@class='edge']")
        XCTAssertEqual(circles.count, 4)
        XCTAssertEqual(lines.count, 3)
        // Lightest edge first; each line joins the centres of its two nodes.
        XCTAssertEqual(lines.map { number($0, "data-value") }, [1, 4, 9])
        let centre = Dictionary(uniqueKeysWithValues: circles.map { (attribute($0, "data-label"), (number($0, "cx"), number($0, "cy"))) })
        let labels = chart.nodes.map(\.label)
        for line in lines {
            let from = centre[labels[Int(attribute(line, "data-from"))!]]!, to = centre[labels[Int(attribute(line, "data-to"))!]]!
            XCTAssertEqual(number(line, "x1"), from.0, accuracy: 0.006)
            XCTAssertEqual(number(line, "y1"), from.1, accuracy: 0.006)
            XCTAssertEqual(number(line, "x2"), to.0, accuracy: 0.006)
            XCTAssertEqual(number(line, "y2"), to.1, accuracy: 0.006)
        }
        // The heaviest edge is the widest and most opaque: 0.5 + 3.5 and 0.12 + 0.58.
        XCTAssertEqual(attribute(lines[2], "stroke-width"), "4.00")
        XCTAssertEqual(attribute(lines[2], "stroke-opacity"), "0.70")
        // √(1/9) of the way for the lightest: 0.5 + 3.5/3, 0.12 + 0.58/3.
        XCTAssertEqual(number(lines[0], "stroke-width"), 0.5 + 3.5 / 3, accuracy: 0.006)
        XCTAssertEqual(number(lines[0], "stroke-opacity"), 0.12 + 0.58 / 3, accuracy: 0.006)
        // Every edge comes before every node in the markup.
        let svg = chart.svg(standalone: false)
        let lastLine = try XCTUnwrap(svg.range(of: "<line class=\"edge\"", options: .backwards))
        let firstCircle = try XCTUnwrap(svg.range(of: "<circle class=\"mark\""))
        XCTAssertLessThan(lastLine.lowerBound, firstCircle.lowerBound)
    }

    func testRadiusFollowsTheSquareRootOfSizeAndPositionsFollowTheScale() throws {
        let document = try parse(sample.svg(standalone: false))
        let plot = try XCTUnwrap(try elements(document, "//*[@class='plot']").first)
        let ppu = number(plot, "data-pixels-per-unit"), x0 = number(plot, "data-x-origin"), y0 = number(plot, "data-y-origin")
        // 760 × 560 with a legend row: 34-unit padding, the plot's shorter side is 560 − 24 − 68.
        XCTAssertEqual(ppu, 560 - 24 - 68)
        let circles = try elements(document, "//*[@class='mark']")
        // Largest first: sizes 100, 25, 4, 0 → radius 3 + 13·√(s/100).
        XCTAssertEqual(circles.map { number($0, "data-value") }, [100, 25, 4, 0])
        XCTAssertEqual(circles.map { number($0, "r") }, [16, 9.5, 5.6, 3])
        for (circle, node) in zip(circles, [sample.nodes[0], sample.nodes[1], sample.nodes[2], sample.nodes[3]]) {
            XCTAssertEqual(number(circle, "cx"), x0 + node.x * ppu, accuracy: 0.006)
            XCTAssertEqual(number(circle, "cy"), y0 + node.y * ppu, accuracy: 0.006)
        }
        // Positions outside the unit square are clamped, NaN goes to the centre.
        let odd = chart(nodes: [.init(label: "far", size: 1, group: 0, x: 3, y: -2), .init(label: "nan", size: 1, group: 0, x: .nan, y: .infinity)], edges: [])
        let oddCircles = try elements(try parse(odd.svg(standalone: false)), "//*[@class='mark']")
        XCTAssertEqual(number(oddCircles[0], "cx"), x0 + ppu, accuracy: 0.006)
        XCTAssertEqual(number(oddCircles[0], "cy"), y0, accuracy: 0.006)
        XCTAssertEqual(number(oddCircles[1], "cx"), x0 + 0.5 * ppu, accuracy: 0.006)
        XCTAssertEqual(number(oddCircles[1], "cy"), y0 + 0.5 * ppu, accuracy: 0.006)
    }

    /// Group g gets seriesColors[g mod 8]: groups 0 and 8 share a colour, 9 and 1 too.
    func testColoursComeFromThePaletteByGroup() throws {
        XCTAssertEqual(seriesColors.count, 8)
        for g in 0..<20 { XCTAssertEqual(NetworkChart.color(group: g), seriesColors[g % seriesColors.count]) }
        XCTAssertEqual(NetworkChart.color(group: -1), seriesColors[7])
        let document = try parse(sample.svg(standalone: false))
        let fill = Dictionary(uniqueKeysWithValues: try elements(document, "//*[@class='mark']").map { (attribute($0, "data-label"), attribute($0, "fill")) })
        XCTAssertEqual(fill[#"Tom <&"> Jerry"#], "#0072b2")
        XCTAssertEqual(fill["b"], seriesColors[1])
        XCTAssertEqual(fill["c"], seriesColors[0])
        XCTAssertEqual(fill["d"], seriesColors[2])
        let groups = try elements(document, "//*[@class='mark']").map { attribute($0, "data-group") }
        XCTAssertEqual(groups, ["0", "1", "8", "10"])
        // The legend swatches use the same colours: group 9 is palette colour 1.
        let swatches = try elements(document, "//*[@class='legend']/*[local-name()='circle']").map { attribute($0, "fill") }
        XCTAssertEqual(swatches, [seriesColors[0], seriesColors[1]])
    }

    func testOnlyTheLargestNodesAreLabelledShortened() throws {
        var nodes = (0..<5).map { NetworkChart.Node(label: "node \($0)", size: Double($0), group: 0, x: 0.1 * Double($0), y: 0.5) }
        nodes[4].label = String(repeating: "x", count: 40)
        let document = try parse(chart(nodes: nodes, edges: [], labelCount: 2).svg(standalone: false))
        let labels = try elements(document, "//*[@class='label']").map { $0.stringValue ?? "" }
        XCTAssertEqual(labels, [String(repeating: "x", count: 27) + "…", "node 3"])
        XCTAssertEqual(try elements(document, "//*[@class='mark']").count, 5)
    }

    func testTheSameDataGivesTheSameBytes() {
        XCTAssertEqual(sample.svg(standalone: true), sample.svg(standalone: true))
        XCTAssertTrue(sample.svg(standalone: true).hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"net\""))
    }

    func testAnEmptyNetworkRenders() throws {
        let empty = chart(nodes: [], edges: [.init(from: 0, to: 1, weight: 1)])
        XCTAssertTrue(empty.validEdges.isEmpty)
        let document = try parse(empty.svg(standalone: true))
        XCTAssertEqual(try elements(document, "//*[@class='mark']").count, 0)
        XCTAssertEqual(try elements(document, "//*[@class='edge']").count, 0)
        XCTAssertTrue(empty.svg(standalone: false).contains("no nodes to draw"))
        XCTAssertTrue(empty.dataTable.rows.isEmpty)
        // Nodes of size 0 only: all at the smallest radius, no division by zero.
        let flat = chart(nodes: [.init(label: "a", size: 0, group: 0, x: 0, y: 0), .init(label: "b", size: .nan, group: 1, x: 1, y: 1)], edges: [])
        let radii = try elements(try parse(flat.svg(standalone: false)), "//*[@class='mark']").map { attribute($0, "r") }
        XCTAssertEqual(radii, ["3.00", "3.00"])
    }

    func testTheDataTableListsNodesLargestFirstWithTheirStrongestTie() {
        let table = sample.dataTable
        XCTAssertEqual(table.header, ["node", "group", "size", "strongest tie"])
        XCTAssertEqual(table.rows, [
            [#"Tom <&"> Jerry"#, "0", "100", "c (9)"],
            ["b", "1", "25", #"Tom <&"> Jerry (4)"#],
            ["c", "8", "4", #"Tom <&"> Jerry (9)"#],
            ["d", "10", "0", ""],
        ])
        // In a report the chart is a figure whose caption is the summary.
        let report = Report(title: "t", sections: [.init(title: "s", blocks: [.chart(sample)])])
        XCTAssertTrue(report.html().contains("<figcaption>Nodes and the edges between them.</figcaption>"))
        XCTAssertTrue(report.markdown().contains("![A network](charts/net.svg)"))
    }
}
