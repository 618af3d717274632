import Foundation

/// A node–link picture of a network whose layout is already computed (each
/// node at a position in [0, 1]², e.g. from a force layout): edges as lines,
/// nodes as circles coloured by group, the biggest nodes labelled.
///
/// Same conventions as Charts.swift: each node is a `<circle class="mark">`
/// with `data-label`, `data-value` (its size), `data-group` and a `<title>`
/// tooltip; each edge is a `<line class="edge">` with `data-from`, `data-to`
/// (node indexes) and `data-value` (its weight). The plot group states the
/// mapping: a node's `cx` is data-x-origin + x × pixels-per-unit and its `cy`
/// data-y-origin + y × pixels-per-unit (one scale for both axes, so the
/// layout's distances are kept).
///
/// Drawing: edges first, lightest first, their width and opacity growing with
/// √(weight / heaviest weight); then nodes, largest first (small ones stay
/// visible on top), radius from `minRadius` to `maxRadius` with √(size /
/// largest size) (area ∝ size); then the labels. Node colours come from
/// `seriesColors`: group g gets colour g mod their count (`color(group:)`),
/// so a table can name the same colours.
public struct NetworkChart: ReportChart {
    public struct Node {
        public var label: String
        /// Drives the radius (area ∝ size); negative or not finite counts as 0.
        public var size: Double
        /// The colour: `seriesColors[group mod count]`.
        public var group: Int
        /// The tooltip; defaults to "label: size".
        public var note: String?
        /// Position in [0, 1] (clamped; not finite: the centre), y downwards.
        public var x, y: Double

        public init(label: String, size: Double, group: Int, note: String? = nil, x: Double, y: Double) {
            self.label = label
            self.size = size
            self.group = group
            self.note = note
            self.x = x
            self.y = y
        }
    }

    public struct Edge {
        /// Node indexes into `nodes`.
        public var from, to: Int
        public var weight: Double

        public init(from: Int, to: Int, weight: Double) {
            self.from = from
            self.to = to
            self.weight = weight
        }
    }

    /// A swatch in the legend row above the plot.
    public struct LegendEntry {
        public var group: Int
        public var label: String

        public init(group: Int, label: String) {
            self.group = group
            self.label = label
        }
    }

    public var labels: ChartLabels
    public var nodes: [Node]
    /// Edges naming a node outside `nodes`, self-loops and weights that are not
    /// finite and positive are not drawn.
    public var edges: [Edge]
    public var width: Double
    public var height: Double
    public var minRadius: Double
    public var maxRadius: Double
    /// How many of the largest nodes get a text label (ties: the lower index).
    public var labelCount: Int
    /// Labels longer than this are shortened with "…".
    public var labelLength: Int
    /// Shown above the plot when not empty, after `legendTitle`.
    public var legend: [LegendEntry]
    public var legendTitle: String?
    /// Headers of the data table.
    public var nodeLabel: String
    public var groupLabel: String
    public var sizeLabel: String

    /// The fill of a group: `seriesColors[group mod count]` (negative groups wrap too).
    public static func color(group: Int) -> String {
        let count = seriesColors.count
        return seriesColors[((group % count) + count) % count]
    }

    /// The edges that are drawn, in input order.
    public var validEdges: [Edge] {
        edges.filter { $0.from >= 0 && $0.from < nodes.count && $0.to >= 0 && $0.to < nodes.count && $0.from != $0.to && $0.weight.isFinite && $0.weight > 0 }
    }

    private static func clean(_ size: Double) -> Double { size.isFinite && size > 0 ? size : 0 }
    private static func unit(_ value: Double) -> Double { value.isFinite ? min(1, max(0, value)) : 0.5 }

    /// Node indexes by size, largest first, ties by the lower index.
    private var bySize: [Int] {
        nodes.indices.sorted { a, b in
            let sa = Self.clean(nodes[a].size), sb = Self.clean(nodes[b].size)
            return sa != sb ? sa > sb : a < b
        }
    }

    public func svg(standalone: Bool) -> String {
        let legendHeight: Double = legend.isEmpty ? 0 : 24
        let pad = maxRadius + 18
        let frame = ChartFrame(width: width, height: height, left: pad, right: pad, top: legendHeight + pad, bottom: pad)
        // One scale for both axes; the square it spans is centred in the plot area.
        let ppu = max(0, min(frame.plotWidth, frame.plotHeight))
        let originX = frame.left + (frame.plotWidth - ppu) / 2
        let originY = frame.top + (frame.plotHeight - ppu) / 2
        func px(_ v: Int) -> Double { originX + Self.unit(nodes[v].x) * ppu }
        func py(_ v: Int) -> Double { originY + Self.unit(nodes[v].y) * ppu }
        let largest = nodes.map { Self.clean($0.size) }.max() ?? 0
        func radius(_ v: Int) -> Double {
            largest > 0 ? minRadius + (maxRadius - minRadius) * (Self.clean(nodes[v].size) / largest).squareRoot() : minRadius
        }

        var out = svgOpen(self, frame: frame, standalone: standalone)
        if !legend.isEmpty { out += legendRow(frame: frame) }
        out += "<g class=\"plot\" data-x-origin=\"\(Markup.data(originX))\" data-y-origin=\"\(Markup.data(originY))\" data-pixels-per-unit=\"\(Markup.data(ppu))\">\n"
        if nodes.isEmpty {
            out += "<text x=\"\(Markup.coordinate(width / 2))\" y=\"\(Markup.coordinate(height / 2))\" text-anchor=\"middle\" fill=\"#444\">no nodes to draw</text>\n"
        }

        let drawn = validEdges
        let heaviest = drawn.map(\.weight).max() ?? 0
        let order = drawn.indices.sorted { drawn[$0].weight != drawn[$1].weight ? drawn[$0].weight < drawn[$1].weight : $0 < $1 }
        out += "<g class=\"edges\" stroke=\"#7a7a7a\" stroke-linecap=\"round\">\n"
        for i in order {
            let e = drawn[i]
            let t = heaviest > 0 ? (e.weight / heaviest).squareRoot() : 0
            let note = "\(nodes[e.from].label) – \(nodes[e.to].label): \(Markup.number(e.weight, decimals: 4))"
            out += "<line class=\"edge\" data-from=\"\(e.from)\" data-to=\"\(e.to)\" data-value=\"\(Markup.data(e.weight))\" x1=\"\(Markup.coordinate(px(e.from)))\" y1=\"\(Markup.coordinate(py(e.from)))\" x2=\"\(Markup.coordinate(px(e.to)))\" y2=\"\(Markup.coordinate(py(e.to)))\" stroke-width=\"\(Markup.coordinate(0.5 + 3.5 * t))\" stroke-opacity=\"\(Markup.coordinate(0.12 + 0.58 * t))\"><title>\(Markup.xml(note))</title></line>\n"
        }
        out += "</g>\n"

        let sorted = bySize
        for v in sorted {
            let node = nodes[v]
            let note = node.note ?? "\(node.label): \(Markup.number(node.size, decimals: 4))"
            out += mark("circle", "data-label=\"\(Markup.xml(node.label))\" data-value=\"\(Markup.data(node.size))\" data-group=\"\(node.group)\" cx=\"\(Markup.coordinate(px(v)))\" cy=\"\(Markup.coordinate(py(v)))\" r=\"\(Markup.coordinate(radius(v)))\" fill=\"\(Self.color(group: node.group))\" fill-opacity=\"0.9\" stroke=\"#ffffff\" stroke-width=\"1\"", note: note)
        }

        out += "<g class=\"labels\" text-anchor=\"middle\" fill=\"#222\" stroke=\"#ffffff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\">\n"
        for v in sorted.prefix(max(0, labelCount)) {
            let label = nodes[v].label
            let shown = label.count > labelLength ? String(label.prefix(max(1, labelLength - 1))) + "…" : label
            out += "<text class=\"label\" x=\"\(Markup.coordinate(px(v)))\" y=\"\(Markup.coordinate(py(v) - radius(v) - 4))\">\(Markup.xml(shown))</text>\n"
        }
        out += "</g>\n"
        return out + "</g>\n</svg>"
    }

    private func legendRow(frame: ChartFrame) -> String {
        var out = "<g class=\"legend\">\n"
        var x = frame.left
        if let legendTitle, !legendTitle.isEmpty {
            out += "<text x=\"\(Markup.coordinate(x))\" y=\"16\" fill=\"#444\">\(Markup.xml(legendTitle))</text>\n"
            x += 12 + Double(legendTitle.count) * 6.6
        }
        for entry in legend {
            out += "<circle cx=\"\(Markup.coordinate(x + 6))\" cy=\"12\" r=\"6\" fill=\"\(Self.color(group: entry.group))\"/>\n"
            out += "<text x=\"\(Markup.coordinate(x + 16))\" y=\"16\" fill=\"#222\">\(Markup.xml(entry.label))</text>\n"
            x += 28 + Double(entry.label.count) * 6.6
        }
        return out + "</g>\n"
    }

    /// One row per node, largest first: its group, size and heaviest drawn edge.
    public var dataTable: ReportTable {
        var strongest = [(other: Int, weight: Double)?](repeating: nil, count: nodes.count)
        for e in validEdges {
            for (a, b) in [(e.from, e.to), (e.to, e.from)] where strongest[a].map({ e.weight > $0.weight }) ?? true {
                strongest[a] = (b, e.weight)
            }
        }
        return ReportTable(header: [nodeLabel, groupLabel, sizeLabel, "strongest tie"],
                           rows: bySize.map { v in
                               [nodes[v].label, String(nodes[v].group), Markup.number(nodes[v].size, decimals: 4),
                                strongest[v].map { "\(nodes[$0.other].label) (\(Markup.number($0.weight, decimals: 4)))" } ?? ""]
                           }, numericColumns: [1, 2])
    }

    public init(id: String, title: String, summary: String, nodes: [Node], edges: [Edge], width: Double = 760, height: Double = 560,
                minRadius: Double = 3, maxRadius: Double = 16, labelCount: Int = 12, labelLength: Int = 28,
                legend: [LegendEntry] = [], legendTitle: String? = nil,
                nodeLabel: String = "node", groupLabel: String = "group", sizeLabel: String = "size") {
        labels = ChartLabels(id: id, title: title, summary: summary)
        self.nodes = nodes
        self.edges = edges
        self.width = width
        self.height = height
        self.minRadius = minRadius
        self.maxRadius = maxRadius
        self.labelCount = labelCount
        self.labelLength = labelLength
        self.legend = legend
        self.legendTitle = legendTitle
        self.nodeLabel = nodeLabel
        self.groupLabel = groupLabel
        self.sizeLabel = sizeLabel
    }
}
