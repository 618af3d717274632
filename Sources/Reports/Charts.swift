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
    /// Becomes the element ids and the file name of the standalone SVG.
    var id: String { get }
    var title: String { get }
    /// One sentence saying what the chart shows; the SVG's `<desc>`.
    var summary: String { get }
    /// The SVG element; `standalone` adds the XML namespace a separate .svg file needs.
    func svg(standalone: Bool) -> String
    /// The plotted data, for Markdown and for readers without pictures.
    var dataTable: ReportTable { get }
}

/// Size and margins shared by the charts (user units = CSS pixels at 100 %).
public struct ChartFrame {
    public var width: Double = 760
    public var height: Double = 320
    public var left: Double = 64
    public var right: Double = 20
    public var top: Double = 16
    public var bottom: Double = 56

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

/// Horizontal grid lines and labels of a value axis on the left.
func valueAxis(_ scale: NiceScale, frame: ChartFrame, label: String) -> String {
    let ppu = frame.plotHeight / (scale.max - scale.min)
    var out = "<g class=\"axis y-axis\">\n"
    for tick in scale.ticks {
        let y = frame.top + (scale.max - tick) * ppu
        out += "<line x1=\"\(Markup.coordinate(frame.left))\" x2=\"\(Markup.coordinate(frame.width - frame.right))\" y1=\"\(Markup.coordinate(y))\" y2=\"\(Markup.coordinate(y))\" stroke=\"#e3e3e3\"/>\n"
        out += "<text x=\"\(Markup.coordinate(frame.left - 6))\" y=\"\(Markup.coordinate(y + 4))\" text-anchor=\"end\" fill=\"#444\">\(Markup.xml(Markup.tick(tick, step: scale.step)))</text>\n"
    }
    out += "<text x=\"14\" y=\"\(Markup.coordinate(frame.top + frame.plotHeight / 2))\" text-anchor=\"middle\" fill=\"#444\" transform=\"rotate(-90 14 \(Markup.coordinate(frame.top + frame.plotHeight / 2)))\">\(Markup.xml(label))</text>\n"
    out += "<line x1=\"\(Markup.coordinate(frame.left))\" x2=\"\(Markup.coordinate(frame.left))\" y1=\"\(Markup.coordinate(frame.top))\" y2=\"\(Markup.coordinate(frame.top + frame.plotHeight))\" stroke=\"#888\"/>\n"
    return out + "</g>\n"
}

/// Category labels under the plot, thinned so that they do not overlap.
func categoryAxis(_ labels: [String], centers: [Double], frame: ChartFrame, label: String) -> String {
    let slot = labels.isEmpty ? frame.plotWidth : frame.plotWidth / Double(labels.count)
    let widest = Double(labels.map(\.count).max() ?? 1) * 7 + 8
    let every = max(1, Int((widest / slot).rounded(.up)))
    let baseline = frame.top + frame.plotHeight
    var out = "<g class=\"axis x-axis\">\n"
    out += "<line x1=\"\(Markup.coordinate(frame.left))\" x2=\"\(Markup.coordinate(frame.width - frame.right))\" y1=\"\(Markup.coordinate(baseline))\" y2=\"\(Markup.coordinate(baseline))\" stroke=\"#888\"/>\n"
    for (i, text) in labels.enumerated() where i % every == 0 {
        out += "<text x=\"\(Markup.coordinate(centers[i]))\" y=\"\(Markup.coordinate(baseline + 16))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(text))</text>\n"
    }
    out += "<text x=\"\(Markup.coordinate(frame.left + frame.plotWidth / 2))\" y=\"\(Markup.coordinate(frame.height - 8))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(label))</text>\n"
    return out + "</g>\n"
}

func plotGroup(_ scale: NiceScale, ppu: Double) -> String {
    "<g class=\"plot\" data-y-min=\"\(Markup.data(scale.min))\" data-y-max=\"\(Markup.data(scale.max))\" data-pixels-per-unit=\"\(Markup.data(ppu))\">\n"
}

/// Vertical bars from zero, one per category. With `gap` 0 and bin edges it
/// draws a histogram (see `Histogram`).
public struct BarChart: ReportChart {
    public struct Bar {
        public var label: String
        public var value: Double
        /// The tooltip; defaults to "label: value".
        public var note: String?

        public init(label: String, value: Double, note: String? = nil) {
            self.label = label
            self.value = value
            self.note = note
        }
    }

    public var id: String
    public var title: String
    public var summary: String
    public var xLabel: String
    public var yLabel: String
    public var bars: [Bar]
    public var frame = ChartFrame()
    /// Space between bars, as a fraction of a bar's slot.
    public var gap: Double = 0.2
    public var color = "#3b6ea5"
    /// Extra attributes per bar (a histogram's bin edges).
    public var extraAttributes: [String] = []

    public func svg(standalone: Bool) -> String {
        let values = bars.map(\.value)
        let scale = NiceScale(lo: min(0, values.min() ?? 0), hi: max(0, values.max() ?? 1))
        let ppu = frame.plotHeight / (scale.max - scale.min)
        let zeroY = frame.top + scale.max * ppu
        let slot = bars.isEmpty ? frame.plotWidth : frame.plotWidth / Double(bars.count)
        var out = svgOpen(self, frame: frame, standalone: standalone) + valueAxis(scale, frame: frame, label: yLabel)
        out += plotGroup(scale, ppu: ppu)
        var centers: [Double] = []
        for (i, bar) in bars.enumerated() {
            let x = frame.left + Double(i) * slot + slot * gap / 2
            let width = slot * (1 - gap)
            let height = abs(bar.value) * ppu
            let y = bar.value >= 0 ? zeroY - height : zeroY
            centers.append(x + width / 2)
            let extra = i < extraAttributes.count ? " " + extraAttributes[i] : ""
            let note = bar.note ?? "\(bar.label): \(Markup.number(bar.value, decimals: 4))"
            out += "<rect class=\"mark\" data-label=\"\(Markup.xml(bar.label))\" data-value=\"\(Markup.data(bar.value))\"\(extra) x=\"\(Markup.coordinate(x))\" y=\"\(Markup.coordinate(y))\" width=\"\(Markup.coordinate(width))\" height=\"\(Markup.coordinate(height))\" fill=\"\(color)\"><title>\(Markup.xml(note))</title></rect>\n"
        }
        out += "</g>\n" + categoryAxis(bars.map(\.label), centers: centers, frame: frame, label: xLabel)
        return out + "</svg>"
    }

    public var dataTable: ReportTable {
        ReportTable(header: [xLabel, yLabel], rows: bars.map { [$0.label, Markup.number($0.value, decimals: 4)] })
    }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, bars: [Bar], frame: ChartFrame = ChartFrame(), gap: Double = 0.2, color: String = "#3b6ea5", extraAttributes: [String] = []) {
        self.id = id
        self.title = title
        self.summary = summary
        self.xLabel = xLabel
        self.yLabel = yLabel
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
    public var id: String
    public var title: String
    public var summary: String
    /// What the bars are (the data table's first column).
    public var categoryLabel: String = ""
    public var valueLabel: String
    public var bars: [BarChart.Bar]
    public var labelWidth: Double = 260
    public var width: Double = 760
    public var rowHeight: Double = 22
    public var color = "#3b6ea5"

    public func svg(standalone: Bool) -> String {
        let frame = ChartFrame(width: width, height: 16 + Double(bars.count) * rowHeight + 44, left: labelWidth, right: 24, top: 16, bottom: 44)
        let scale = NiceScale(lo: 0, hi: max(0, bars.map(\.value).max() ?? 1))
        let ppu = frame.plotWidth / (scale.max - scale.min)
        var out = svgOpen(self, frame: frame, standalone: standalone) + "<g class=\"axis x-axis\">\n"
        let bottom = frame.top + frame.plotHeight
        for tick in scale.ticks {
            let x = frame.left + tick * ppu
            out += "<line x1=\"\(Markup.coordinate(x))\" x2=\"\(Markup.coordinate(x))\" y1=\"\(Markup.coordinate(frame.top))\" y2=\"\(Markup.coordinate(bottom))\" stroke=\"#e3e3e3\"/>\n"
            out += "<text x=\"\(Markup.coordinate(x))\" y=\"\(Markup.coordinate(bottom + 16))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(Markup.tick(tick, step: scale.step)))</text>\n"
        }
        out += "<text x=\"\(Markup.coordinate(frame.left + frame.plotWidth / 2))\" y=\"\(Markup.coordinate(frame.height - 6))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(valueLabel))</text>\n</g>\n"
        out += "<g class=\"plot\" data-x-min=\"\(Markup.data(scale.min))\" data-x-max=\"\(Markup.data(scale.max))\" data-pixels-per-unit=\"\(Markup.data(ppu))\">\n"
        let maxChars = Int((labelWidth - 12) / 6.6)
        for (i, bar) in bars.enumerated() {
            let y = frame.top + Double(i) * rowHeight + 3
            let shown = bar.label.count > maxChars ? String(bar.label.prefix(maxChars - 1)) + "…" : bar.label
            let note = bar.note ?? "\(bar.label): \(Markup.number(bar.value, decimals: 4))"
            out += "<text class=\"category\" x=\"\(Markup.coordinate(frame.left - 6))\" y=\"\(Markup.coordinate(y + rowHeight / 2 + 1))\" text-anchor=\"end\" fill=\"#222\">\(Markup.xml(shown))</text>\n"
            out += "<rect class=\"mark\" data-label=\"\(Markup.xml(bar.label))\" data-value=\"\(Markup.data(bar.value))\" x=\"\(Markup.coordinate(frame.left))\" y=\"\(Markup.coordinate(y))\" width=\"\(Markup.coordinate(bar.value * ppu))\" height=\"\(Markup.coordinate(rowHeight - 6))\" fill=\"\(color)\"><title>\(Markup.xml(note))</title></rect>\n"
        }
        return out + "</g>\n</svg>"
    }

    public var dataTable: ReportTable {
        ReportTable(header: [categoryLabel, valueLabel], rows: bars.map { [$0.label, Markup.number($0.value, decimals: 4)] })
    }

    public init(id: String, title: String, summary: String, categoryLabel: String = "", valueLabel: String, bars: [BarChart.Bar], labelWidth: Double = 260, width: Double = 760, rowHeight: Double = 22, color: String = "#3b6ea5") {
        self.id = id
        self.title = title
        self.summary = summary
        self.categoryLabel = categoryLabel
        self.valueLabel = valueLabel
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

    public var id: String
    public var title: String
    public var summary: String
    public var xLabel: String
    public var yLabel: String
    public var bins: [Bin]

    private var bars: BarChart {
        BarChart(id: id, title: title, summary: summary, xLabel: xLabel, yLabel: yLabel,
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
        self.id = id
        self.title = title
        self.summary = summary
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.bins = bins
    }
}

/// A series of values at evenly spaced categories (e.g. months), as a line
/// with a dot per value. The value axis fits the data (it need not include zero).
public struct LineChart: ReportChart {
    public struct Point {
        public var label: String
        public var value: Double
        public var note: String?

        public init(label: String, value: Double, note: String? = nil) {
            self.label = label
            self.value = value
            self.note = note
        }
    }

    public var id: String
    public var title: String
    public var summary: String
    public var xLabel: String
    public var yLabel: String
    public var points: [Point]
    public var frame = ChartFrame()
    public var color = "#b5523b"

    public func svg(standalone: Bool) -> String {
        let values = points.map(\.value).filter(\.isFinite)
        let scale = NiceScale(lo: values.min() ?? 0, hi: values.max() ?? 1)
        let ppu = frame.plotHeight / (scale.max - scale.min)
        let slot = points.isEmpty ? frame.plotWidth : frame.plotWidth / Double(points.count)
        let centers = points.indices.map { frame.left + (Double($0) + 0.5) * slot }
        func y(_ v: Double) -> Double { frame.top + (scale.max - v) * ppu }
        var out = svgOpen(self, frame: frame, standalone: standalone) + valueAxis(scale, frame: frame, label: yLabel)
        out += plotGroup(scale, ppu: ppu)
        let path = points.indices.filter { points[$0].value.isFinite }
            .map { "\(Markup.coordinate(centers[$0])),\(Markup.coordinate(y(points[$0].value)))" }.joined(separator: " ")
        out += "<polyline class=\"line\" points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
        for (i, point) in points.enumerated() where point.value.isFinite {
            let note = point.note ?? "\(point.label): \(Markup.number(point.value, decimals: 4))"
            out += "<circle class=\"mark\" data-label=\"\(Markup.xml(point.label))\" data-value=\"\(Markup.data(point.value))\" cx=\"\(Markup.coordinate(centers[i]))\" cy=\"\(Markup.coordinate(y(point.value)))\" r=\"3\" fill=\"\(color)\"><title>\(Markup.xml(note))</title></circle>\n"
        }
        out += "</g>\n" + categoryAxis(points.map(\.label), centers: centers, frame: frame, label: xLabel)
        return out + "</svg>"
    }

    public var dataTable: ReportTable {
        ReportTable(header: [xLabel, yLabel], rows: points.map { [$0.label, Markup.number($0.value, decimals: 4)] })
    }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, points: [Point], frame: ChartFrame = ChartFrame(), color: String = "#b5523b") {
        self.id = id
        self.title = title
        self.summary = summary
        self.xLabel = xLabel
        self.yLabel = yLabel
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
        public var weight: Double = 1
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

    public var id: String
    public var title: String
    public var summary: String
    public var xLabel: String
    public var yLabel: String
    public var points: [Point]
    public var frame = ChartFrame()
    public var color = "#6a4c93"
    /// Radius of the heaviest point; others scale with √weight (area ∝ weight), at least 2.
    public var maxRadius: Double = 8

    public func svg(standalone: Bool) -> String {
        let xs = NiceScale(lo: points.map(\.x).min() ?? 0, hi: points.map(\.x).max() ?? 1, ticks: 8)
        let ys = NiceScale(lo: points.map(\.y).min() ?? 0, hi: points.map(\.y).max() ?? 1)
        let ppu = frame.plotHeight / (ys.max - ys.min)
        let xppu = frame.plotWidth / (xs.max - xs.min)
        let heaviest = max(points.map(\.weight).max() ?? 1, .leastNonzeroMagnitude)
        var out = svgOpen(self, frame: frame, standalone: standalone) + valueAxis(ys, frame: frame, label: yLabel)
        let baseline = frame.top + frame.plotHeight
        out += "<g class=\"axis x-axis\">\n<line x1=\"\(Markup.coordinate(frame.left))\" x2=\"\(Markup.coordinate(frame.width - frame.right))\" y1=\"\(Markup.coordinate(baseline))\" y2=\"\(Markup.coordinate(baseline))\" stroke=\"#888\"/>\n"
        for tick in xs.ticks {
            let x = frame.left + (tick - xs.min) * xppu
            out += "<text x=\"\(Markup.coordinate(x))\" y=\"\(Markup.coordinate(baseline + 16))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(xs.step >= 1 ? String(Int(tick.rounded())) : Markup.tick(tick, step: xs.step)))</text>\n"
        }
        out += "<text x=\"\(Markup.coordinate(frame.left + frame.plotWidth / 2))\" y=\"\(Markup.coordinate(frame.height - 8))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(xLabel))</text>\n</g>\n"
        out += "<g class=\"plot\" data-y-min=\"\(Markup.data(ys.min))\" data-y-max=\"\(Markup.data(ys.max))\" data-pixels-per-unit=\"\(Markup.data(ppu))\" data-x-min=\"\(Markup.data(xs.min))\" data-x-pixels-per-unit=\"\(Markup.data(xppu))\">\n"
        for point in points {
            let r = max(2, maxRadius * (max(0, point.weight) / heaviest).squareRoot())
            let note = point.note ?? "\(point.label): \(Markup.number(point.y, decimals: 4))"
            out += "<circle class=\"mark\" data-label=\"\(Markup.xml(point.label))\" data-x=\"\(Markup.data(point.x))\" data-value=\"\(Markup.data(point.y))\" data-weight=\"\(Markup.data(point.weight))\" cx=\"\(Markup.coordinate(frame.left + (point.x - xs.min) * xppu))\" cy=\"\(Markup.coordinate(frame.top + (ys.max - point.y) * ppu))\" r=\"\(Markup.coordinate(r))\" fill=\"\(color)\" fill-opacity=\"0.55\"><title>\(Markup.xml(note))</title></circle>\n"
        }
        return out + "</g>\n</svg>"
    }

    public var dataTable: ReportTable {
        ReportTable(header: [xLabel, yLabel, "weight"],
                    rows: points.map { [Markup.number($0.x), Markup.number($0.y, decimals: 4), Markup.number($0.weight)] })
    }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, points: [Point], frame: ChartFrame = ChartFrame(), color: String = "#6a4c93", maxRadius: Double = 8) {
        self.id = id
        self.title = title
        self.summary = summary
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
        self.frame = frame
        self.color = color
        self.maxRadius = maxRadius
    }
}
