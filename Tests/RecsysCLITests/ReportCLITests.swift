import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Warehouse
import XCTest

/// `recsys check` and `recsys analytics` run as a user runs them: the built
/// binary against a loaded warehouse; the HTML report parsed as XML and every
/// chart's marks compared with plain SQL over the facts.
final class ReportCLITests: CLITestCase {
    override var databasePrefix: String { "report" }

    func generated() throws -> URL {
        let data = folder.appendingPathComponent("data")
        let result = try CLI.run(["generate", "--out", data.path, "--ratings", "5000", "--customers", "300", "--movies", "40", "--seed", "9"], home: folder)
        XCTAssertEqual(result.status, 0, result.stderr)
        return data
    }

    // MARK: - check

    func testLoadRunsTheCheckAndCheckFailsWithExitOne() throws {
        let load = try recsys(["load", "--data", try generated().path])
        XCTAssertEqual(load.status, 0, load.stderr)
        XCTAssertTrue(load.stdout.contains("all 20 expectations passed"), load.stdout)
        XCTAssertTrue(load.stdout.contains("customer_aggregates"), load.stdout)

        let ok = try recsys(["check", "--json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["passed"] as? Bool, true)
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 20)
        XCTAssertEqual(Set(results[0].keys), ["name", "description", "passed", "observed", "expected", "detail"])
        XCTAssertEqual(results.first { $0["name"] as? String == "row_count.fact_ratings" }?["observed"] as? String, "5000")

        try db.execute("UPDATE dim_customer SET total_ratings = total_ratings + 1 WHERE customer_key = 1")
        let failed = try recsys(["check"])
        XCTAssertEqual(failed.status, 1, failed.stderr)
        XCTAssertTrue(failed.stdout.contains("customer_aggregates"), failed.stdout)
        XCTAssertTrue(failed.stdout.contains("FAIL"), failed.stdout)
        XCTAssertTrue(failed.stdout.contains("1 of 20 expectations failed"), failed.stdout)
        XCTAssertTrue(failed.stderr.contains("data-quality check failed: 1 of 20 expectations: customer_aggregates (observed 1, expected 0)"), failed.stderr)
        let failedJSON = try recsys(["check", "--json"])
        XCTAssertEqual(failedJSON.status, 1)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(failedJSON.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(document["passed"] as? Bool, false)
        XCTAssertEqual(document["failed"] as? Int, 1)

        // --max-age-days: a load finished 40 days ago is stale by default, fresh enough for 60.
        try db.execute("UPDATE dim_customer SET total_ratings = total_ratings - 1 WHERE customer_key = 1")
        try db.execute("UPDATE etl_run SET finished_at = now() - interval '40 days'")
        XCTAssertEqual(try recsys(["check"]).status, 1)
        XCTAssertEqual(try recsys(["check", "--max-age-days", "60"]).status, 0)
        XCTAssertEqual(try recsys(["check", "--max-age-days", "-1"]).status, 2)
    }

    func testALoadWhoseResultFailsAnExpectationExitsOneWithTheTable() throws {
        // A trigger (not recsys) corrupts every customer's count as the load writes it.
        let connection = try db
        try Database.migrate(connection)
        try connection.execute("""
            CREATE FUNCTION corrupt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.total_ratings := NEW.total_ratings + 1; RETURN NEW; END $$;
            CREATE TRIGGER corrupt BEFORE INSERT ON dim_customer FOR EACH ROW EXECUTE FUNCTION corrupt();
            """)
        let load = try recsys(["load", "--data", try generated().path])
        XCTAssertEqual(load.status, 1, load.stderr)
        XCTAssertTrue(load.stdout.contains("loaded netflix data"), load.stdout)
        XCTAssertTrue(load.stdout.contains("1 of 20 expectations failed"), load.stdout)
        XCTAssertTrue(load.stderr.contains("customer_aggregates (observed 300, expected 0)"), load.stderr)
        let json = try recsys(["load", "--data", folder.appendingPathComponent("data").path, "--json"])
        XCTAssertEqual(json.status, 0, "a complete load has nothing to do and checks nothing")
    }

    // MARK: - analytics

    func element(_ node: XMLNode) -> XMLElement { node as! XMLElement }
    func attribute(_ node: XMLNode, _ name: String) -> String { element(node).attribute(forName: name)?.stringValue ?? "" }
    func number(_ node: XMLNode, _ name: String) -> Double { Double(attribute(node, name)) ?? .nan }

    /// The marks of the chart with this id, and its plot group.
    func chart(_ document: XMLDocument, _ id: String) throws -> (plot: XMLNode, marks: [XMLNode]) {
        let svg = try XCTUnwrap(try document.nodes(forXPath: "//svg[@id='\(id)']").first, "no chart \(id)")
        XCTAssertEqual(attribute(svg, "role"), "img")
        XCTAssertFalse(try svg.nodes(forXPath: "title").isEmpty, "\(id) has a title")
        let plot = try XCTUnwrap(try svg.nodes(forXPath: ".//g[@class='plot']").first)
        let marks = try svg.nodes(forXPath: ".//*[@class='mark']")
        for mark in marks {
            XCTAssertFalse(try mark.nodes(forXPath: "title").isEmpty, "every mark of \(id) has a tooltip")
        }
        return (plot, marks)
    }

    func testAnalyticsReportIsSelfContainedXHTMLWhoseChartsShowTheSQLValues() throws {
        XCTAssertEqual(try recsys(["load", "--data", try generated().path, "--skip-check"]).status, 0)
        let out = folder.appendingPathComponent("report")
        let run = try recsys(["analytics", "--out", out.path, "--top", "5", "--min-ratings", "50"])
        XCTAssertEqual(run.status, 0, run.stderr)
        for name in ["report.html", "report.md", "analytics.json", "charts/most-rated.svg", "charts/release-year.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }

        // Self-contained: no script, nothing fetched from elsewhere.
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no external URL")
        XCTAssertFalse(html.contains("url(") || html.contains("@import"), "no CSS fetches")
        let document = try XMLDocument(data: Data(html.utf8), options: [])
        for node in try document.nodes(forXPath: "//@*[local-name()='href' or local-name()='src']") {
            let value = node.stringValue ?? ""
            XCTAssertTrue(value.hasPrefix("#") && !value.contains("//"), "reference \(value) leaves the page")
        }
        XCTAssertEqual(try document.nodes(forXPath: "//svg").count, 7)

        // Most rated: bar widths are the counts on the stated scale.
        let most = try rows("""
            SELECT m.title, count(*) FROM fact_ratings f JOIN dim_movie m USING (movie_key)
            GROUP BY m.movie_id, m.title ORDER BY count(*) DESC, m.movie_id LIMIT 5
            """)
        let mostChart = try chart(document, "most-rated")
        let xppu = number(mostChart.plot, "data-pixels-per-unit")
        XCTAssertEqual(mostChart.marks.map { attribute($0, "data-value") }, most.map { $0[1] })
        XCTAssertTrue(mostChart.marks.enumerated().allSatisfy { attribute($1, "data-label").hasPrefix(most[$0][0]) })
        for mark in mostChart.marks { XCTAssertEqual(number(mark, "width"), number(mark, "data-value") * xppu, accuracy: 0.006) }

        // Best rated (≥ 50 ratings): the means.
        let best = try rows("""
            SELECT avg(f.rating)::float8 FROM fact_ratings f JOIN dim_movie m USING (movie_key)
            GROUP BY m.movie_id HAVING count(*) >= 50 ORDER BY avg(f.rating) DESC, count(*) DESC, m.movie_id LIMIT 5
            """)
        let bestChart = try chart(document, "best-rated")
        XCTAssertEqual(bestChart.marks.count, best.count)
        for (mark, row) in zip(bestChart.marks, best) { XCTAssertEqual(number(mark, "data-value"), Double(row[0])!, accuracy: 1e-9) }

        // Volume by month: each bar's height is its count × pixels per unit.
        let months = try rows("""
            SELECT to_char(d.date_actual, 'YYYY-MM'), count(*), avg(f.rating)::float8 FROM fact_ratings f JOIN dim_date d USING (date_key)
            GROUP BY 1 ORDER BY 1
            """)
        let volume = try chart(document, "volume-by-month")
        let ppu = number(volume.plot, "data-pixels-per-unit")
        XCTAssertEqual(volume.marks.map { attribute($0, "data-label") }, months.map { $0[0] })
        XCTAssertEqual(volume.marks.map { attribute($0, "data-value") }, months.map { $0[1] })
        for mark in volume.marks { XCTAssertEqual(number(mark, "height"), number(mark, "data-value") * ppu, accuracy: 0.006) }
        XCTAssertEqual(number(volume.plot, "data-y-min"), 0)

        // Mean by month: a dot's height above the plot's top is (y-max − value) × pixels per unit, the same offset for all.
        let mean = try chart(document, "mean-by-month")
        let meanPPU = number(mean.plot, "data-pixels-per-unit"), yMax = number(mean.plot, "data-y-max")
        XCTAssertEqual(mean.marks.count, months.count)
        let offsets = mean.marks.map { number($0, "cy") - (yMax - number($0, "data-value")) * meanPPU }
        for (mark, row) in zip(mean.marks, months) { XCTAssertEqual(number(mark, "data-value"), Double(row[2])!, accuracy: 1e-9) }
        for offset in offsets { XCTAssertEqual(offset, offsets[0], accuracy: 0.011) }

        // Rating distribution.
        let distribution = try rows("SELECT count(*) FROM fact_ratings GROUP BY rating ORDER BY rating")
        let ratingChart = try chart(document, "rating-distribution")
        XCTAssertEqual(ratingChart.marks.map { attribute($0, "data-label") }, ["1", "2", "3", "4", "5"])
        XCTAssertEqual(ratingChart.marks.map { attribute($0, "data-value") }, distribution.map { $0[0] })
        let ratingPPU = number(ratingChart.plot, "data-pixels-per-unit")
        for mark in ratingChart.marks { XCTAssertEqual(number(mark, "height"), number(mark, "data-value") * ratingPPU, accuracy: 0.006) }

        // Customer activity: bins 2^k … 2^(k+1) − 1 with their customer counts.
        let perCustomer = try rows("SELECT count(*) FROM fact_ratings GROUP BY customer_key").map { Int($0[0])! }
        let histogram = try chart(document, "customer-frequency")
        XCTAssertEqual(histogram.marks.reduce(0) { $0 + Int(number($1, "data-value")) }, 300)
        for mark in histogram.marks {
            let lo = Int(number(mark, "data-lo")), hi = Int(number(mark, "data-hi"))
            XCTAssertEqual(Int(number(mark, "data-value")), perCustomer.filter { $0 >= lo && $0 <= hi }.count, "bin \(lo)–\(hi)")
        }

        // Release year against the mean rating of its movies' ratings.
        let years = try rows("""
            SELECT m.release_year, avg(f.rating)::float8, count(*) FROM fact_ratings f JOIN dim_movie m USING (movie_key)
            WHERE m.release_year IS NOT NULL GROUP BY 1 ORDER BY 1
            """)
        let scatter = try chart(document, "release-year")
        XCTAssertEqual(scatter.marks.map { attribute($0, "data-x") }, years.map { $0[0] })
        XCTAssertEqual(scatter.marks.map { attribute($0, "data-weight") }, years.map { $0[2] })
        for (mark, row) in zip(scatter.marks, years) { XCTAssertEqual(number(mark, "data-value"), Double(row[1])!, accuracy: 1e-9) }

        // The standalone SVGs are XML too; the Markdown links them; the JSON equals --json's.
        for file in try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("charts").path) {
            XCTAssertNoThrow(try XMLDocument(contentsOf: out.appendingPathComponent("charts").appendingPathComponent(file), options: []), file)
        }
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("## Most-rated movies"))
        XCTAssertTrue(markdown.contains("](charts/volume-by-month.svg)"))
        let printed = try recsys(["analytics", "--json", "--top", "5", "--min-ratings", "50"])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("analytics.json"))) as? NSDictionary
        let fromStdout = try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? NSDictionary
        XCTAssertEqual(written, fromStdout)
        XCTAssertEqual((fromStdout?["totals"] as? [String: Any])?["ratings"] as? Int, 5000)

        // Without --out: a text summary.
        let text = try recsys(["analytics"])
        XCTAssertEqual(text.status, 0)
        XCTAssertTrue(text.stdout.hasPrefix("5,000 ratings of 40 movies by 300 customers"), text.stdout)
    }

    func testAnalyticsFillsViewsNeverRefreshedAndEscapesTitles() throws {
        XCTAssertEqual(try recsys(["load", "--data", try generated().path, "--skip-check"]).status, 0)
        // A title with markup, and views emptied as on a warehouse loaded before they existed.
        try db.execute("UPDATE dim_movie SET title = '<b>Tom & \"Jerry\"</b> | [x]' WHERE movie_key = (SELECT movie_key FROM fact_ratings GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)")
        try db.execute("DROP VIEW analytics_movie, analytics_month, movie_rating_counts, daily_rating_counts, customer_activity; DROP MATERIALIZED VIEW mv_movie_rating_counts, mv_daily_rating_counts, mv_customer_activity")
        let out = folder.appendingPathComponent("r2")
        let run = try recsys(["analytics", "--out", out.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("refreshing the analytics views (never filled on this warehouse)"), run.stderr)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"))
        XCTAssertFalse(html.contains("<b>Tom"))
        let document = try XMLDocument(data: Data(html.utf8), options: [])
        let first = try XCTUnwrap(try chart(document, "most-rated").marks.first)
        XCTAssertTrue(attribute(first, "data-label").hasPrefix("<b>Tom & \"Jerry\"</b> | [x]"))
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("| &lt;b>Tom &amp; \"Jerry\"&lt;/b> \\| \\[x\\] |"), markdown)
    }
}
