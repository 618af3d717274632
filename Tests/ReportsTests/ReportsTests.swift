import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Reports
import XCTest

/// The renderers on their own (they moved out of the CLI, where only the
/// built binary could reach them): escaping, scales, charts, text tables.
final class ReportsTests: XCTestCase {
    func testXMLEscapingCoversTheSpecialsAndDropsControlCharacters() {
        XCTAssertEqual(Markup.xml(#"<a href="x">Tom & 'Jerry'</a>"#), "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;")
        XCTAssertEqual(Markup.xml("bell\u{07}tab\tdel\u{7F}"), "belltab\tdel")
        XCTAssertEqual(Markup.xml("Amélie 🎬"), "Amélie 🎬")
    }

    func testMarkdownEscapingKeepsCellsAndHTMLOut() {
        XCTAssertEqual(Markup.markdown("a|b *c* <i>&\nnext"), #"a\|b \*c\* &lt;i>&amp; next"#)
    }

    func testNumbersAreGroupedAndDataReadsBack() {
        XCTAssertEqual(Markup.grouped(1_234_567), "1,234,567")
        XCTAssertEqual(Markup.grouped(-1000), "-1,000")
        XCTAssertEqual(Markup.grouped(999), "999")
        for value in [0.1, 1.0 / 3, 42, -7.25, 1e-9] { XCTAssertEqual(Double(Markup.data(value)), value) }
    }

    /// Ticks are 1, 2, 2.5 or 5 × 10ⁿ and cover the range.
    func testNiceScalesCoverTheRangeWithRoundTicks() {
        // (4.81 − 0.37) / 4 = 1.11 → the next nice step is 2; 0 … 6 covers it.
        let scale = NiceScale(lo: 0.37, hi: 4.81)
        XCTAssertEqual(scale.step, 2)
        XCTAssertEqual(scale.ticks, [0, 2, 4, 6])
        // 0.0213 / 4 = 0.0053 = 5.3 × 10⁻³ → 10 × 10⁻³.
        let small = NiceScale(lo: 0.8421, hi: 0.8634)
        XCTAssertEqual(small.step, 0.01, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(small.min, 0.8421)
        XCTAssertGreaterThanOrEqual(small.max, 0.8634)
        let flat = NiceScale(lo: 3, hi: 3)
        XCTAssertLessThan(flat.min, flat.max)
        let broken = NiceScale(lo: .nan, hi: .infinity)
        XCTAssertEqual([broken.min, broken.max], [0, 1])
    }

    /// A bar's height is its value at the chart's pixels per unit; titles are escaped; the SVG parses.
    func testABarChartDrawsEachValueToScaleAndParses() throws {
        let chart = BarChart(id: "rmse", title: "RMSE <by> model & more", summary: "s", xLabel: "model", yLabel: "RMSE",
                             bars: [.init(label: "als", value: 0.5), .init(label: "bias", value: 2)])
        let svg = chart.svg(standalone: true)
        XCTAssertTrue(svg.contains("RMSE &lt;by&gt; model &amp; more"))
        XCTAssertNoThrow(try XMLDocument(xmlString: svg))
        func attribute(_ name: String, in text: Substring) -> Double? {
            guard let range = text.range(of: "\(name)=\"") else { return nil }
            return Double(text[range.upperBound...].prefix { $0 != "\"" })
        }
        let ppu = try XCTUnwrap(attribute("data-pixels-per-unit", in: Substring(svg)))
        let rects: [Substring] = Array(svg.components(separatedBy: "<rect class=\"mark\"").dropFirst()).map { Substring($0) }
        XCTAssertEqual(rects.count, 2)
        for rect in rects {
            let value = try XCTUnwrap(attribute("data-value", in: rect))
            let height = try XCTUnwrap(attribute(" height", in: rect))
            XCTAssertEqual(height, value * ppu, accuracy: 0.01)
        }
        XCTAssertEqual(chart.dataTable.rows.map { $0[0] }, ["als", "bias"])
    }

    func testTextTablesAlignNumbersRightAndTextLeft() {
        let table = TextTable.render([["part", "ratings"], ["train", "1,234"], ["validation", "56"]])
        XCTAssertEqual(table, """
            part        ratings
            ----------  -------
            train         1,234
            validation       56
            """)
        XCTAssertEqual(TextTable.render([]), "")
    }
}
