import Foundation

// Charts that compare several series (models) on one set of axes, and the
// grid-search heatmap. Same conventions as Charts.swift: every data mark has
// class `mark`, `data-label`, `data-value` and here `data-series`; the plot
// group states its scale.

/// Colors of the series, in order; distinguishable in print and for the common
/// color-vision deficiencies (Okabe–Ito).
public let seriesColors = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999999", "#000000"]

/// A legend row above the plot: a swatch and the series' name each.
private func legend(_ names: [String], frame: ChartFrame) -> String {
    var out = "<g class=\"legend\">\n"
    var x = frame.left
    for (i, name) in names.enumerated() {
        let color = seriesColors[i % seriesColors.count]
        out += "<rect x=\"\(Markup.coordinate(x))\" y=\"4\" width=\"12\" height=\"12\" fill=\"\(color)\"/>\n"
        out += "<text x=\"\(Markup.coordinate(x + 16))\" y=\"14\" fill=\"#222\">\(Markup.xml(name))</text>\n"
        x += 28 + Double(name.count) * 6.6
    }
    return out + "</g>\n"
}

/// Bars of several series side by side in each category (e.g. the RMSE of
/// each model per decile). A bar's `height` is |value| × pixels-per-unit.
public struct GroupedBarChart: ReportChart {
    public struct Series {
        public var name: String
        public var values: [Double]

        public init(name: String, values: [Double]) {
            self.name = name
            self.values = values
        }
    }

    public var labels: ChartLabels
    public var categories: [String]
    public var series: [Series]
    public var frame: ChartFrame
    /// Decimals of the values in tooltips and the data table.
    public var decimals: Int

    public func svg(standalone: Bool) -> String {
        let values = series.flatMap(\.values).filter(\.isFinite)
        let plot = ValuePlot(NiceScale(lo: min(0, values.min() ?? 0), hi: max(0, values.max() ?? 1)), frame: frame)
        let slot = plot.slot(categories.count)
        let inner = slot * 0.8
        let width = inner / Double(max(1, series.count))
        var marks = ""
        var centers: [Double] = []
        for (c, category) in categories.enumerated() {
            let left = frame.left + Double(c) * slot + slot * 0.1
            centers.append(left + inner / 2)
            for (s, one) in series.enumerated() where c < one.values.count && one.values[c].isFinite {
                let value = one.values[c]
                let (y, height) = plot.bar(value)
                let note = "\(one.name), \(category): \(Markup.number(value, decimals: decimals))"
                marks += mark("rect", "data-series=\"\(Markup.xml(one.name))\" data-label=\"\(Markup.xml(category))\" data-value=\"\(Markup.data(value))\" x=\"\(Markup.coordinate(left + Double(s) * width))\" y=\"\(Markup.coordinate(y))\" width=\"\(Markup.coordinate(width))\" height=\"\(Markup.coordinate(height))\" fill=\"\(seriesColors[s % seriesColors.count])\"", note: note)
            }
        }
        return plot.svg(self, standalone: standalone, legend: legend(series.map(\.name), frame: frame), marks: marks, categories: categories, centers: centers)
    }

    public var dataTable: ReportTable {
        ReportTable(header: [labels.x] + series.map(\.name),
                    rows: categories.enumerated().map { c, category in
                        [category] + series.map { c < $0.values.count ? Markup.number($0.values[c], decimals: decimals) : "" }
                    })
    }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, categories: [String], series: [Series], frame: ChartFrame = ChartFrame(top: 28), decimals: Int = 4) {
        labels = ChartLabels(id: id, title: title, summary: summary, x: xLabel, y: yLabel)
        self.categories = categories
        self.series = series
        self.frame = frame
        self.decimals = decimals
    }
}

/// Several series over shared numeric x values (e.g. RMSE per iteration), a
/// line and a dot per value each. The y axis fits the data; x runs from the
/// smallest to the largest x. A dot's `cx` is plot-left + (x − x-min) × x-ppu
/// and its `cy` plot-top + (y-max − value) × pixels-per-unit.
public struct MultiLineChart: ReportChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool

        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.points = points
            self.dashed = dashed
        }
    }

    public var labels: ChartLabels
    public var series: [Series]
    public var frame: ChartFrame
    /// Series colors by index into `seriesColors`; defaults to the series' own index.
    public var colorIndex: [Int]?

    public func svg(standalone: Bool) -> String {
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let plot = ValuePlot(NiceScale(lo: all.map(\.y).min() ?? 0, hi: all.map(\.y).max() ?? 1), frame: frame)
        let x = PlotScale.across(NiceScale(lo: all.map(\.x).min() ?? 0, hi: all.map(\.x).max() ?? 1), frame: frame)
        var marks = ""
        for (s, one) in series.enumerated() {
            let color = seriesColors[(colorIndex?[s] ?? s) % seriesColors.count]
            let points = one.points.filter { $0.x.isFinite && $0.y.isFinite }
            let path = points.map { "\(Markup.coordinate(x($0.x))),\(Markup.coordinate(plot.y($0.y)))" }.joined(separator: " ")
            marks += "<polyline class=\"line\" points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(one.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            for p in points {
                let note = "\(one.name), \(labels.x) \(Markup.number(p.x, decimals: 0)): \(Markup.number(p.y, decimals: 4))"
                marks += mark("circle", "data-series=\"\(Markup.xml(one.name))\" data-label=\"\(Markup.data(p.x))\" data-x=\"\(Markup.data(p.x))\" data-value=\"\(Markup.data(p.y))\" cx=\"\(Markup.coordinate(x(p.x)))\" cy=\"\(Markup.coordinate(plot.y(p.y)))\" r=\"3\" fill=\"\(color)\"", note: note)
            }
        }
        return plot.svg(self, standalone: standalone, legend: legend(series.map(\.name), frame: frame), marks: marks, x: x) { Markup.tick($0, step: x.scale.step) }
    }

    public var dataTable: ReportTable {
        let xs = Array(Set(series.flatMap { $0.points.map(\.x) })).sorted()
        return ReportTable(header: [labels.x] + series.map(\.name), rows: xs.map { x in
            [Markup.number(x, decimals: 0)] + series.map { one in one.points.first { $0.x == x }.map { Markup.number($0.y, decimals: 4) } ?? "" }
        })
    }

    public init(id: String, title: String, summary: String, xLabel: String, yLabel: String, series: [Series], frame: ChartFrame = ChartFrame(top: 28), colorIndex: [Int]? = nil) {
        labels = ChartLabels(id: id, title: title, summary: summary, x: xLabel, y: yLabel)
        self.series = series
        self.frame = frame
        self.colorIndex = colorIndex
    }
}

/// A value per (row, column) cell, colored from light (low) to dark (high) or
/// reversed, the value written in the cell: the grid search's RMSE over two
/// parameters. Cells without a value stay blank.
public struct Heatmap: ReportChart {
    /// The columns run along x (`labels.x`), the rows down the left (`labels.y`).
    public var labels: ChartLabels
    public var valueLabel: String
    public var rows: [String]
    public var columns: [String]
    /// rows × columns, row-major; nil: no candidate there.
    public var values: [Double?]
    /// True: the lowest value is the darkest (lower is better, as for RMSE).
    public var lowIsDark: Bool

    public var rowLabel: String { labels.y }
    public var columnLabel: String { labels.x }

    public func svg(standalone: Bool) -> String {
        let cell = (width: 96.0, height: 40.0)
        let frame = ChartFrame(width: 110 + Double(columns.count) * cell.width + 20, height: 30 + Double(rows.count) * cell.height + 50,
                               left: 110, right: 20, top: 30, bottom: 50)
        let present = values.compactMap { $0 }.filter(\.isFinite)
        let lo = present.min() ?? 0, hi = present.max() ?? 1
        var out = svgOpen(self, frame: frame, standalone: standalone)
        out += "<g class=\"plot\" data-value-min=\"\(Markup.data(lo))\" data-value-max=\"\(Markup.data(hi))\">\n"
        for (r, row) in rows.enumerated() {
            let y = frame.top + Double(r) * cell.height
            out += "<text x=\"\(Markup.coordinate(frame.left - 8))\" y=\"\(Markup.coordinate(y + cell.height / 2 + 4))\" text-anchor=\"end\" fill=\"#222\">\(Markup.xml(row))</text>\n"
            for (c, column) in columns.enumerated() {
                guard let value = values[r * columns.count + c], value.isFinite else { continue }
                let x = frame.left + Double(c) * cell.width
                var t = hi > lo ? (value - lo) / (hi - lo) : 0.5
                if lowIsDark { t = 1 - t }
                // From #eef3f8 (t = 0) to #1f4e79 (t = 1).
                let light: [Double] = [238, 243, 248], dark: [Double] = [31, 78, 121]
                var rgb: [Int] = []
                for i in 0..<3 { rgb.append(Int((light[i] + (dark[i] - light[i]) * t).rounded())) }
                let fill = String(format: "#%02x%02x%02x", rgb[0], rgb[1], rgb[2])
                let ink = t > 0.55 ? "#ffffff" : "#222222"
                out += mark("rect", "data-row=\"\(Markup.xml(row))\" data-column=\"\(Markup.xml(column))\" data-label=\"\(Markup.xml("\(rowLabel)=\(row), \(columnLabel)=\(column)"))\" data-value=\"\(Markup.data(value))\" x=\"\(Markup.coordinate(x + 1))\" y=\"\(Markup.coordinate(y + 1))\" width=\"\(Markup.coordinate(cell.width - 2))\" height=\"\(Markup.coordinate(cell.height - 2))\" fill=\"\(fill)\"",
                            note: "\(rowLabel) \(row), \(columnLabel) \(column): \(valueLabel) \(Markup.number(value, decimals: 4))")
                out += "<text x=\"\(Markup.coordinate(x + cell.width / 2))\" y=\"\(Markup.coordinate(y + cell.height / 2 + 4))\" text-anchor=\"middle\" fill=\"\(ink)\">\(Markup.xml(Markup.number(value, decimals: 4)))</text>\n"
            }
        }
        out += "</g>\n<g class=\"axis\">\n"
        let bottom = frame.top + Double(rows.count) * cell.height
        for (c, column) in columns.enumerated() {
            out += "<text x=\"\(Markup.coordinate(frame.left + (Double(c) + 0.5) * cell.width))\" y=\"\(Markup.coordinate(bottom + 16))\" text-anchor=\"middle\" fill=\"#222\">\(Markup.xml(column))</text>\n"
        }
        out += "<text x=\"\(Markup.coordinate(frame.left + Double(columns.count) * cell.width / 2))\" y=\"\(Markup.coordinate(bottom + 38))\" text-anchor=\"middle\" fill=\"#444\">\(Markup.xml(columnLabel))</text>\n"
        out += "<text x=\"\(Markup.coordinate(frame.left - 8))\" y=\"18\" text-anchor=\"end\" fill=\"#444\">\(Markup.xml(rowLabel))</text>\n"
        return out + "</g>\n</svg>"
    }

    public var dataTable: ReportTable {
        ReportTable(header: ["\(rowLabel) \\ \(columnLabel)"] + columns,
                    rows: rows.enumerated().map { r, row in
                        [row] + columns.indices.map { c in values[r * columns.count + c].map { Markup.number($0, decimals: 4) } ?? "" }
                    })
    }

    public init(id: String, title: String, summary: String, rowLabel: String, columnLabel: String, valueLabel: String, rows: [String], columns: [String], values: [Double?], lowIsDark: Bool = true) {
        labels = ChartLabels(id: id, title: title, summary: summary, x: columnLabel, y: rowLabel)
        self.valueLabel = valueLabel
        self.rows = rows
        self.columns = columns
        self.values = values
        self.lowIsDark = lowIsDark
    }
}
