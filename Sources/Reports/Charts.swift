import Foundation

// SVG chart builders for reports (analytics today; evaluate and graph later).
//
// Every chart is deterministic (same data → same bytes) and testable: each
// data mark is an element of class `mark` carrying `data-label` and
// `data-value` (the exact value, as Swift prints the Double) and a `<title>`
// tooltip; the plot group (`<g class="plot">`) states its scale in
// `data-y-min`, `data-y-max` and `data-pixels-per-unit`, so a bar's `height`
// is |value| × pixels-per-unit and a point's `cy` is
// plot-top + (y-max − value) × pixels-per-unit. Markup is XML-well-formed
// (parseable as XHTML) and references nothing outside itself.

/// A chart a report can show: an SVG picture plus the data behind it as a table
/// (the Markdown report prints the table; screen readers get title and summary).
public protocol ReportChart {
    /// Its id, title, summary and axis names.
    var labels: ChartLabels { get }
    /// The SVG element; `standalone` adds the XML namespace a separate .svg file needs.
    func svg(standalone: Bool) -> String
    /// The plotted data, for Markdown and for readers without pictures.
    var dataTable: ReportTable { get }
}

extension ReportChart {
    public var id: String { labels.id }
    public var title: String { labels.title }
    public var summary: String { labels.summary }
}

/// What a chart says in words: who it is, what it shows, what its axes are.
public struct ChartLabels {
    /// Becomes the element ids and the file name of the standalone SVG.
    public var id: String
    public var title: String
    /// One sentence saying what the chart shows; the SVG's `<desc>`.
    public var summary: String
    /// The name of the horizontal axis ("" for none).
    public var x: String
    /// The name of the vertical axis ("" for none).
    public var y: String

    public init(id: String, title: String, summary: String, x: String = "", y: String = "") {
        self.id = id
        self.title = title
        self.summary = summary
        self.x = x
        self.y = y
    }
}

/// A value under a category label: a bar of a bar chart, a point of a line chart.
public struct LabelledValue {
    public var label: String
    public var value: Double
    /// The tooltip; defaults to "label: value".
    public var note: String?

    public init(label: String, value: Double, note: String? = nil) {
        self.label = label
        self.value = value
        self.note = note
    }

    var tooltip: String { note ?? "\(label): \(Markup.number(value, decimals: 4))" }
    /// Its row of the chart's data table.
    var row: [String] { [label, Markup.number(value, decimals: 4)] }
}

/// Size and margins shared by the charts (user units = CSS pixels at 100 %).
public struct ChartFrame {
    public var width: Double
    public var height: Double
    public var left: Double
    public var right: Double
    public var top: Double
    public var bottom: Double

    public var plotWidth: Double { width - left - right }
    public var plotHeight: Double { height - top - bottom }

    public init(width: Double = 760, height: Double = 320, left: Double = 64, right: Double = 20, top: Double = 16, bottom: Double = 56) {
        self.width = width
        self.height = height
        self.left = left
        self.right = right
        self.top = top
        self.bottom = bottom
    }
}

/// The opening of a chart's SVG: accessible title and description, and the frame.
func svgOpen(_ chart: some ReportChart, frame: ChartFrame, standalone: Bool) -> String {
    let ns = standalone ? " xmlns=\"http://www.w3.org/2000/svg\"" : ""
    let id = Markup.xml(chart.id)
    return """
        <svg\(ns) class="chart" id="\(id)" viewBox="0 0 \(Markup.coordinate(frame.width)) \(Markup.coordinate(frame.height))" \
        width="\(Markup.coordinate(frame.width))" height="\(Markup.coordinate(frame.height))" role="img" \
        aria-labelledby="\(id)-title \(id)-desc" font-family="sans-serif" font-size="12">
        <title id="\(id)-title">\(Markup.xml(chart.title))</title>
        <desc id="\(id)-desc">\(Markup.xml(chart.summary))</desc>
        <rect class="background" x="0" y="0" width="\(Markup.coordinate(frame.width))" height="\(Markup.coordinate(frame.height))" fill="#ffffff"/>

        """
}

/// A data mark: an element of class `mark` with its data attributes and its tooltip.
func mark(_ element: String, _ attributes: String, note: String) -> String {
    "<\(element) class=\"mark\" \(attributes)><title>\(Markup.xml(note))</title></\(element)>\n"
}

/// A value scale laid along one side of the plot area: how many pixels a unit
/// spans and where a value stands.
struct PlotScale {
    let scale: NiceScale
    /// Pixels per unit.
    let ppu: Double
    private let position: (Double) -> Double

    /// Along the plot's width, `scale.min` at its left edge.
    static func across(_ scale: NiceScale, frame: ChartFrame) -> PlotScale {
        let ppu = frame.plotWidth / (scale.max - scale.min)
        return PlotScale(scale: scale, ppu: ppu) { frame.left + ($0 - scale.min) * ppu }
    }

    /// Up the plot's height, `scale.max` at its top edge.
    static func up(_ scale: NiceScale, frame: ChartFrame) -> PlotScale {
        let ppu = frame.plotHeight / (scale.max - scale.min)
        return PlotScale(scale: scale, ppu: ppu) { frame.top + (scale.max - $0) * ppu }
    }

    /// The coordinate of `value`.
    func callAsFunction(_ value: Double) -> Double { position(value) }
}

/// The plot area of a chart whose values run up a scale on the left (bars,
/// lines, dots): where a value stands, and the SVG around the marks — the
/// opening, a legend, the value axis, the plot group and the axis under it.
struct ValuePlot {
    let frame: ChartFrame
    /// The value axis.
    let y: PlotScale

    init(_ scale: NiceScale, frame: ChartFrame) {
        self.frame = frame
        y = .up(scale, frame: frame)
    }

    /// A bar from zero to `value`: its top and its height.
    func bar(_ value: Double) -> (y: Double, height: Double) {
        let zeroY = frame.top + y.scale.max * y.ppu
        let height = abs(value) * y.ppu
        return (value >= 0 ? zeroY - height : zeroY, height)
    }

    /// The width of each of `count` equal category slots across the plot.
    func slot(_ count: Int) -> Double { count == 0 ? frame.plotWidth : frame.plotWidth / Double(count) }

    /// With categories under the plot: `labels` centred at `centers`, thinned so that they do not overlap.
    func svg(_ chart: some ReportChart, standalone: Bool, legend: String = "", marks: String, categories labels: [String], centers: [Double]) -> String {
        let widest = Double(labels.map(\.count).max() ?? 1) * 7 + 8
        let every = max(1, Int((widest / slot(labels.count)).rounded(.up)))
        let ticks = labels.indices.filter { $0 % every == 0 }.map { (x: centers[$0], text: labels[$0]) }
        return opening(chart, standalone: standalone, legend: legend) + plotGroup() + marks + "</g>\n"
            + xAxis(ticks, label: chart.labels.x) + "</svg>"
    }

    /// With a numeric x axis, whose scale the plot group states too.
    func svg(_ chart: some ReportChart, standalone: Bool, legend: String = "", marks: String, x: PlotScale, tick: (Double) -> String) -> String {
        opening(chart, standalone: standalone, legend: legend) + xAxis(x.scale.ticks.map { (x: x($0), text: tick($0)) }, label: chart.labels.x)
            + plotGroup(" data-x-min=\"\(Markup.data(x.scale.min))\" data-x-pixels-per-unit=\"\(Markup.data(x.ppu))\"") + marks + "</g>\n</svg>"
    }

    /// The SVG's opening, the legend and the value axis: horizontal grid lines and labels on the left.
    private func opening(_ chart: some ReportChart, standalone: Bool, legend: String) -> String {
        var out = svgOpen(chart, frame: frame, standalone: standalone) + legend + "<g class=\"axis y-axis\">\n"
        for tick in y.scale.ticks {
            out += "<line x1=\"\(Markup.coordinate(frame.left))\" x2=\"\(Markup.coordinate(frame.width - frame.right))\" y1=\"\(Markup.coordinate(y(tick)))\" y2=\"\(Markup.coordinate(y(tick)))\" stroke=\"#e3e3e3\"/>\n"
            out += "<text x=\"\(Markup.coordinate(frame.left - 6))\" y=\"\(Markup.coordinate(y(tick) + 4))\" text-anchor=\"end\" fill=\"#444\">\(Markup.xml(Markup.tick(tick, step: y.scale.step)))</text>\n"
        }
        let middle = Markup.coordinate(frame.top + frame.plotHeight / 2)
        out += "<text x=\"14\" y=\"\(middle)\" text-anchor=\"middle\" fill=\"#444\" transform=\"rotate(-90 14 \(middle))\">\(Markup.xml(chart.labels.y))</text>\n"
        out += "<line x1=\"\(Markup.coordinate(frame.left))\" x2=\"\(Markup.coordinate(frame.left))\" y1=\"\(Markup.coordinate(frame.top))\" y2=\"\(Markup.coordinate(frame.top + frame.plotHeight))\" stroke=\"#888\"/>\n"
        return out + "</g>\n"
    }

    /// The axis under the plot: its line, a text at each tick and its name.
    private func xAxis(_ ticks: [(x: Double, text: String)], label: String) -> String {
        let baseline = frame.top + frame.plotHeight
        var out = "<g class=\"axis x-axis\">\n"
        out += "<line x1=\"\(Markup.coordinate(frame.left))\" x2=\"\(Markup.coordinate(frame.width - frame.right))\" y1=\"\(Markup.coordinate(baseline))\" y2=\"\(Markup.coordinate(baseline))\" stroke=\"#888\"/>\n"
        for tick in ticks {
            out += "<text x=\"\(Markup.coordinate(tick.x))\" y=\"\(Markup.coordinate(baseline + 16))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(tick.text))</text>\n"
        }
        out += "<text x=\"\(Markup.coordinate(frame.left + frame.plotWidth / 2))\" y=\"\(Markup.coordinate(frame.height - 8))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(label))</text>\n"
        return out + "</g>\n"
    }

    private func plotGroup(_ more: String = "") -> String {
        "<g class=\"plot\" data-y-min=\"\(Markup.data(y.scale.min))\" data-y-max=\"\(Markup.data(y.scale.max))\" data-pixels-per-unit=\"\(Markup.data(y.ppu))\"\(more)>\n"
    }
}

/// Vertical bars from zero, one per category. With `gap` 0 and bin edges it
/// draws a histogram (see `Histogram`).
public struct BarChart: ReportChart {
    public typealias Bar = LabelledValue

    public var labels: ChartLabels
    public var bars: [Bar]
    public var frame: ChartFrame
    /// Space between bars, as a fraction of a bar's slot.
    public var gap: Double
    public var color: String
    /// Extra attributes per bar (a histogram's bin edges).
    public var extraAttributes: [String]

    public func svg(standalone: Bool) -> String {
        let values = bars.map(\.value)
        let plot = ValuePlot(NiceScale(lo: min(0, values.min() ?? 0), hi: max(0, values.max() ?? 1)), frame: frame)
        let slot = plot.slot(bars.count)
        var marks = ""
        var centers: [Double] = []
        for (i, bar) in bars.enumerated() {
            let x = frame.left + Double(i) * slot + slot * gap / 2
            let width = slot * (1 - gap)
            let (y, height) = plot.bar(bar.value)
            centers.append(x + width / 2)
            let extra = i < extraAttributes.count ? " " + extraAttributes[i] : ""
            marks += mark("rect", "data-label=\"\(Markup.xml(bar.label))\" data-value=\"\(Markup.data(bar.value))\"\(extra) x=\"\(Markup.coordinate(x))\" y=\"\(Markup.coordinate(y))\" width=\"\(Markup.coordinate(width))\" height=\"\(Markup.coordinate(height))\" fill=\"\(color)\"", note: bar.tooltip)
        }
        return plot.svg(self, standalone: standalone, marks: marks, categories: bars.map(\.label), centers: centers)
    }

    public var dataTable: ReportTable { ReportTable(header: [labels.x, labels.y], rows: bars.map(\.row)) }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, bars: [Bar], frame: ChartFrame = ChartFrame(), gap: Double = 0.2, color: String = "#3b6ea5", extraAttributes: [String] = []) {
        labels = ChartLabels(id: id, title: title, summary: summary, x: xLabel, y: yLabel)
        self.bars = bars
        self.frame = frame
        self.gap = gap
        self.color = color
        self.extraAttributes = extraAttributes
    }
}

/// Horizontal bars from zero, labelled on the left: for ranked lists with long
/// names. The scale runs along x: a bar's `width` is value × pixels-per-unit.
public struct HorizontalBarChart: ReportChart {
    /// The values run along x (`labels.x`), the categories down the left (`labels.y`).
    public var labels: ChartLabels
    public var bars: [BarChart.Bar]
    public var labelWidth: Double
    public var width: Double
    public var rowHeight: Double
    public var color: String

    /// What the bars are (the data table's first column).
    public var categoryLabel: String { labels.y }
    public var valueLabel: String { labels.x }

    public func svg(standalone: Bool) -> String {
        let frame = ChartFrame(width: width, height: 16 + Double(bars.count) * rowHeight + 44, left: labelWidth, right: 24, top: 16, bottom: 44)
        let x = PlotScale.across(NiceScale(lo: 0, hi: max(0, bars.map(\.value).max() ?? 1)), frame: frame)
        var out = svgOpen(self, frame: frame, standalone: standalone) + "<g class=\"axis x-axis\">\n"
        let bottom = frame.top + frame.plotHeight
        for tick in x.scale.ticks {
            out += "<line x1=\"\(Markup.coordinate(x(tick)))\" x2=\"\(Markup.coordinate(x(tick)))\" y1=\"\(Markup.coordinate(frame.top))\" y2=\"\(Markup.coordinate(bottom))\" stroke=\"#e3e3e3\"/>\n"
            out += "<text x=\"\(Markup.coordinate(x(tick)))\" y=\"\(Markup.coordinate(bottom + 16))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(Markup.tick(tick, step: x.scale.step)))</text>\n"
        }
        out += "<text x=\"\(Markup.coordinate(frame.left + frame.plotWidth / 2))\" y=\"\(Markup.coordinate(frame.height - 6))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(valueLabel))</text>\n</g>\n"
        out += "<g class=\"plot\" data-x-min=\"\(Markup.data(x.scale.min))\" data-x-max=\"\(Markup.data(x.scale.max))\" data-pixels-per-unit=\"\(Markup.data(x.ppu))\">\n"
        let maxChars = Int((labelWidth - 12) / 6.6)
        for (i, bar) in bars.enumerated() {
            let y = frame.top + Double(i) * rowHeight + 3
            let shown = bar.label.count > maxChars ? String(bar.label.prefix(maxChars - 1)) + "…" : bar.label
            out += "<text class=\"category\" x=\"\(Markup.coordinate(frame.left - 6))\" y=\"\(Markup.coordinate(y + rowHeight / 2 + 1))\" text-anchor=\"end\" fill=\"#222\">\(Markup.xml(shown))</text>\n"
            out += mark("rect", "data-label=\"\(Markup.xml(bar.label))\" data-value=\"\(Markup.data(bar.value))\" x=\"\(Markup.coordinate(frame.left))\" y=\"\(Markup.coordinate(y))\" width=\"\(Markup.coordinate(bar.value * x.ppu))\" height=\"\(Markup.coordinate(rowHeight - 6))\" fill=\"\(color)\"", note: bar.tooltip)
        }
        return out + "</g>\n</svg>"
    }

    public var dataTable: ReportTable { ReportTable(header: [categoryLabel, valueLabel], rows: bars.map(\.row)) }

    public init(id: String, title: String, summary: String, categoryLabel: String = "", valueLabel: String, bars: [BarChart.Bar], labelWidth: Double = 260, width: Double = 760, rowHeight: Double = 22, color: String = "#3b6ea5") {
        labels = ChartLabels(id: id, title: title, summary: summary, x: valueLabel, y: categoryLabel)
        self.bars = bars
        self.labelWidth = labelWidth
        self.width = width
        self.rowHeight = rowHeight
        self.color = color
    }
}

/// Counts of values falling in consecutive bins, drawn as touching bars whose
/// marks also carry the bin edges (`data-lo`, `data-hi`, inclusive).
public struct Histogram: ReportChart {
    public struct Bin {
        public var lo: Double
        public var hi: Double
        public var count: Double
        /// Defaults to "lo–hi".
        public var label: String?

        public init(lo: Double, hi: Double, count: Double, label: String? = nil) {
            self.lo = lo
            self.hi = hi
            self.count = count
            self.label = label
        }
    }

    public var labels: ChartLabels
    public var bins: [Bin]

    private var bars: BarChart {
        BarChart(id: id, title: title, summary: summary, xLabel: labels.x, yLabel: labels.y,
                 bars: bins.map { BarChart.Bar(label: label($0), value: $0.count,
                                               note: "\(label($0)): \(Markup.number($0.count))") },
                 gap: 0.04, color: "#5b8c5a",
                 extraAttributes: bins.map { "data-lo=\"\(Markup.data($0.lo))\" data-hi=\"\(Markup.data($0.hi))\"" })
    }

    private func label(_ bin: Bin) -> String {
        bin.label ?? (bin.lo == bin.hi ? Markup.number(bin.lo) : "\(Markup.number(bin.lo))–\(Markup.number(bin.hi))")
    }

    public func svg(standalone: Bool) -> String { bars.svg(standalone: standalone) }
    public var dataTable: ReportTable { bars.dataTable }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, bins: [Bin]) {
        labels = ChartLabels(id: id, title: title, summary: summary, x: xLabel, y: yLabel)
        self.bins = bins
    }
}

/// A series of values at evenly spaced categories (e.g. months), as a line
/// with a dot per value. The value axis fits the data (it need not include zero).
public struct LineChart: ReportChart {
    public typealias Point = LabelledValue

    public var labels: ChartLabels
    public var points: [Point]
    public var frame: ChartFrame
    public var color: String

    public func svg(standalone: Bool) -> String {
        let values = points.map(\.value).filter(\.isFinite)
        let plot = ValuePlot(NiceScale(lo: values.min() ?? 0, hi: values.max() ?? 1), frame: frame)
        let slot = plot.slot(points.count)
        let centers = points.indices.map { frame.left + (Double($0) + 0.5) * slot }
        let path = points.indices.filter { points[$0].value.isFinite }
            .map { "\(Markup.coordinate(centers[$0])),\(Markup.coordinate(plot.y(points[$0].value)))" }.joined(separator: " ")
        var marks = "<polyline class=\"line\" points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
        for (i, point) in points.enumerated() where point.value.isFinite {
            marks += mark("circle", "data-label=\"\(Markup.xml(point.label))\" data-value=\"\(Markup.data(point.value))\" cx=\"\(Markup.coordinate(centers[i]))\" cy=\"\(Markup.coordinate(plot.y(point.value)))\" r=\"3\" fill=\"\(color)\"", note: point.tooltip)
        }
        return plot.svg(self, standalone: standalone, marks: marks, categories: points.map(\.label), centers: centers)
    }

    public var dataTable: ReportTable { ReportTable(header: [labels.x, labels.y], rows: points.map(\.row)) }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, points: [Point], frame: ChartFrame = ChartFrame(), color: String = "#b5523b") {
        labels = ChartLabels(id: id, title: title, summary: summary, x: xLabel, y: yLabel)
        self.points = points
        self.frame = frame
        self.color = color
    }
}

/// Points on two numeric axes. A point's area can follow a weight (e.g. how
/// many ratings stand behind it); its `data-x`, `data-value` (y) and
/// `data-weight` carry the numbers.
public struct ScatterChart: ReportChart {
    public struct Point {
        public var x: Double
        public var y: Double
        public var weight: Double
        public var label: String
        public var note: String?

        public init(x: Double, y: Double, weight: Double = 1, label: String, note: String? = nil) {
            self.x = x
            self.y = y
            self.weight = weight
            self.label = label
            self.note = note
        }
    }

    public var labels: ChartLabels
    public var points: [Point]
    public var frame: ChartFrame
    public var color: String
    /// Radius of the heaviest point; others scale with √weight (area ∝ weight), at least 2.
    public var maxRadius: Double

    public func svg(standalone: Bool) -> String {
        let x = PlotScale.across(NiceScale(lo: points.map(\.x).min() ?? 0, hi: points.map(\.x).max() ?? 1, ticks: 8), frame: frame)
        let plot = ValuePlot(NiceScale(lo: points.map(\.y).min() ?? 0, hi: points.map(\.y).max() ?? 1), frame: frame)
        let heaviest = max(points.map(\.weight).max() ?? 1, .leastNonzeroMagnitude)
        var marks = ""
        for point in points {
            let r = max(2, maxRadius * (max(0, point.weight) / heaviest).squareRoot())
            let note = point.note ?? "\(point.label): \(Markup.number(point.y, decimals: 4))"
            marks += mark("circle", "data-label=\"\(Markup.xml(point.label))\" data-x=\"\(Markup.data(point.x))\" data-value=\"\(Markup.data(point.y))\" data-weight=\"\(Markup.data(point.weight))\" cx=\"\(Markup.coordinate(x(point.x)))\" cy=\"\(Markup.coordinate(plot.y(point.y)))\" r=\"\(Markup.coordinate(r))\" fill=\"\(color)\" fill-opacity=\"0.55\"", note: note)
        }
        // Whole x ticks as plain integers: years read 1995, not 1,995.
        return plot.svg(self, standalone: standalone, marks: marks, x: x) { x.scale.step >= 1 ? String(Int($0.rounded())) : Markup.tick($0, step: x.scale.step) }
    }

    public var dataTable: ReportTable {
        ReportTable(header: [labels.x, labels.y, "weight"],
                    rows: points.map { [Markup.number($0.x), Markup.number($0.y, decimals: 4), Markup.number($0.weight)] })
    }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, points: [Point], frame: ChartFrame = ChartFrame(), color: String = "#6a4c93", maxRadius: Double = 8) {
        labels = ChartLabels(id: id, title: title, summary: summary, x: xLabel, y: yLabel)
        self.points = points
        self.frame = frame
        self.color = color
        self.maxRadius = maxRadius
    }
}
