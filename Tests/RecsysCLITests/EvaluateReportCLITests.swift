import Foundation
import Generator
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Warehouse
import XCTest

/// `recsys evaluate --out`: the report parsed as XML, each chart's marks
/// compared with figures computed independently — in SQL over the warehouse's
/// feature tables, or from model_runs — never read back from the report itself.
final class EvaluateReportCLITests: CLITestCase {
    override var databasePrefix: String { "evalreport" }

    @discardableResult
    func ok(_ arguments: [String]) throws -> CLI.Result {
        let result = try recsys(arguments)
        XCTAssertEqual(result.status, 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    func attribute(_ node: XMLNode, _ name: String) -> String { (node as! XMLElement).attribute(forName: name)?.stringValue ?? "" }
    func number(_ node: XMLNode, _ name: String) -> Double { Double(attribute(node, name)) ?? .nan }

    func chart(_ document: XMLDocument, _ id: String) throws -> (plot: XMLNode, marks: [XMLNode]) {
        let svg = try XCTUnwrap(try document.nodes(forXPath: "//svg[@id='\(id)']").first, "no chart \(id)")
        let plot = try XCTUnwrap(try svg.nodes(forXPath: ".//g[@class='plot']").first)
        let marks = try svg.nodes(forXPath: ".//*[@class='mark']")
        XCTAssertFalse(marks.isEmpty, "\(id) has data marks")
        for mark in marks { XCTAssertFalse(try mark.nodes(forXPath: "title").isEmpty, "every mark of \(id) has a tooltip") }
        return (plot, marks)
    }

    func testEvaluateReportChartsShowTheIndependentlyComputedValues() throws {
        // A planted rank-2 model: ~75 ratings per customer, ~150 per movie.
        // 15 % of the ratings in probe.txt: the probe split's test pairs are
        // stored in feature_split_pair, so SQL can score them.
        let data = folder.appendingPathComponent("data")
        var config = GeneratorConfiguration()
        config.ratings = 30_000
        config.customers = 400
        config.movies = 200
        config.rank = 2
        config.probeFraction = 0.15
        config.seed = 3
        _ = try DatasetGenerator.generate(config, to: data)
        try ok(["load", "--data", data.path, "--skip-check"])
        try ok(["features", "--split", "probe"])
        let trained = try JSONSerialization.jsonObject(with: Data(ok(["train", "--model", "als", "--rank", "2", "--reg", "0.05", "--iterations", "5", "--json"]).stdout.utf8)) as! [String: Any]
        let grid = try JSONSerialization.jsonObject(with: Data(ok(["train", "--model", "als", "--grid", "rank=1,2;reg=0.02,0.2;iterations=2,4", "--json"]).stdout.utf8)) as! [String: Any]
        let alsPath = try XCTUnwrap(trained["model_path"] as? String), alsRun = try XCTUnwrap(trained["run_id"] as? Int)
        let best = try XCTUnwrap(grid["best"] as? [String: Any])
        let gridPath = try XCTUnwrap(best["model_path"] as? String), gridRun = try XCTUnwrap(best["run_id"] as? Int)

        let out = folder.appendingPathComponent("report")
        let run = try ok(["evaluate", "--model", alsPath, "--model", gridPath, "--out", out.path])
        XCTAssertTrue(run.stdout.contains("NDCG@10"), run.stdout)
        for name in ["report.html", "report.md", "metrics.json", "charts/rmse-by-model.svg", "charts/grid-heatmap.svg",
                     "charts/rmse-by-customer-activity-decile.svg", "charts/learning-curves.svg", "charts/ranking.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no external URL")
        XCTAssertFalse(html.contains("url(") || html.contains("@import"))
        let document = try XMLDocument(data: Data(html.utf8), options: [])
        for node in try document.nodes(forXPath: "//@*[local-name()='href' or local-name()='src']") {
            XCTAssertTrue((node.stringValue ?? "").hasPrefix("#"), "reference \(node.stringValue ?? "") leaves the page")
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("charts").path) {
            XCTAssertNoThrow(try XMLDocument(contentsOf: out.appendingPathComponent("charts/\(file)"), options: []), file)
        }
        let names = ["global_mean", "bias", "als (run \(alsRun))", "als (run \(gridRun))"]

        // RMSE per model: the --json figures, heights on the stated scale.
        let printed = try JSONSerialization.jsonObject(with: Data(ok(["evaluate", "--model", alsPath, "--model", gridPath, "--json"]).stdout.utf8)) as! [[String: Any]]
        let byModel = try chart(document, "rmse-by-model")
        XCTAssertEqual(byModel.marks.map { attribute($0, "data-label") }, names)
        let ppu = number(byModel.plot, "data-pixels-per-unit")
        for (mark, row) in zip(byModel.marks, printed) {
            XCTAssertEqual(number(mark, "data-value"), try XCTUnwrap(row["rmse"] as? Double), accuracy: 1e-12)
            XCTAssertEqual(number(mark, "height"), number(mark, "data-value") * ppu, accuracy: 0.006)
        }

        // The bias baseline's RMSE by customer-activity decile, in SQL: test pairs with
        // clip(μ + b_u + b_i), customers ordered by their training ratings, cut by ntile(10).
        let split = "(SELECT max(split_id) FROM feature_split)"
        let sqlDeciles = try rows("""
            WITH t AS (
              SELECT p.customer_key, f.rating::float8 AS r, coalesce(cb.ratings, 0) AS n,
                     least(5, greatest(1, s.global_mean + coalesce(cb.bias, 0) + coalesce(mb.bias, 0))) AS predicted
              FROM feature_split_pair p
              JOIN fact_ratings f USING (customer_key, movie_key)
              JOIN feature_split s ON s.split_id = p.split_id
              LEFT JOIN feature_customer_bias cb ON cb.split_id = p.split_id AND cb.customer_key = p.customer_key
              LEFT JOIN feature_movie_bias mb ON mb.split_id = p.split_id AND mb.movie_key = p.movie_key
              WHERE p.split_id = \(split)),
            d AS (SELECT customer_key, ntile(10) OVER (ORDER BY min(n), customer_key) AS decile FROM t GROUP BY customer_key)
            SELECT decile, sqrt(avg((r - predicted) ^ 2))::float8 FROM t JOIN d USING (customer_key) GROUP BY decile ORDER BY decile
            """)
        XCTAssertEqual(sqlDeciles.count, 10)
        let deciles = try chart(document, "rmse-by-customer-activity-decile")
        let biasBars = deciles.marks.filter { attribute($0, "data-series") == "bias" }
        XCTAssertEqual(biasBars.map { attribute($0, "data-label") }, (1...10).map(String.init))
        let decilePPU = number(deciles.plot, "data-pixels-per-unit")
        for (bar, row) in zip(biasBars, sqlDeciles) {
            XCTAssertEqual(number(bar, "data-value"), Double(row[1])!, accuracy: 1e-9, "decile \(row[0])")
        }
        // Decile 3's bar is as tall as its RMSE on the chart's scale.
        XCTAssertEqual(number(biasBars[2], "height"), Double(sqlDeciles[2][1])! * decilePPU, accuracy: 0.006)
        XCTAssertEqual(Set(deciles.marks.map { attribute($0, "data-series") }), Set(names.dropFirst()))

        // Actual test ratings by value.
        let actual = try rows("""
            SELECT f.rating::int, count(*) FROM feature_split_pair p JOIN fact_ratings f USING (customer_key, movie_key)
            WHERE p.split_id = \(split) GROUP BY 1 ORDER BY 1
            """)
        let distribution = try chart(document, "rating-distribution")
        let actualBars = distribution.marks.filter { attribute($0, "data-series") == "actual" }
        XCTAssertEqual(actualBars.map { attribute($0, "data-label") }, actual.map { $0[0] })
        XCTAssertEqual(actualBars.map { attribute($0, "data-value") }, actual.map { $0[1] })
        let testCount = actual.reduce(0) { $0 + Int($1[1])! }
        for name in names.dropFirst() {
            let bars = distribution.marks.filter { attribute($0, "data-series") == name }
            XCTAssertEqual(bars.reduce(0) { $0 + Int(number($1, "data-value")) }, testCount, "\(name) predicts every test pair once")
        }

        // Learning curves: the validation RMSE per iteration that train recorded in model_runs.
        let logged = try rows("""
            SELECT (e->>'iteration')::int, (e->>'validation_rmse')::float8 FROM model_runs, jsonb_array_elements(iterations) e
            WHERE run_id = \(alsRun) ORDER BY 1
            """)
        XCTAssertEqual(logged.count, 5)
        let curves = try chart(document, "learning-curves")
        let validation = curves.marks.filter { attribute($0, "data-series") == "als (run \(alsRun)) validation" }
        XCTAssertEqual(validation.map { attribute($0, "data-x") }, logged.map { $0[0] })
        for (dot, row) in zip(validation, logged) { XCTAssertEqual(number(dot, "data-value"), Double(row[1])!, accuracy: 1e-12) }
        let yMax = number(curves.plot, "data-y-max"), curvePPU = number(curves.plot, "data-pixels-per-unit")
        let offsets = validation.map { number($0, "cy") - (yMax - number($0, "data-value")) * curvePPU }
        for offset in offsets { XCTAssertEqual(offset, offsets[0], accuracy: 0.011) }

        // Grid heatmap: rank × reg, each cell the best validation RMSE over the iteration counts.
        let cells = try rows("""
            SELECT (params->>'rank')::float8, (params->>'regularization')::float8, min((metrics->'validation'->>'rmse')::float8)
            FROM model_runs WHERE grid_id = '\(try XCTUnwrap(grid["grid_id"] as? String))' AND path IS NULL
            GROUP BY 1, 2 ORDER BY 1, 2
            """)
        XCTAssertEqual(cells.count, 4)
        let heatmap = try chart(document, "grid-heatmap")
        XCTAssertEqual(heatmap.marks.count, 4)
        for (mark, row) in zip(heatmap.marks, cells) {
            XCTAssertEqual(Double(attribute(mark, "data-row")), Double(row[0]))
            XCTAssertEqual(Double(attribute(mark, "data-column")), Double(row[1]))
            XCTAssertEqual(number(mark, "data-value"), Double(row[2])!, accuracy: 1e-12)
        }

        // Ranking: the chart shows metrics.json's figures (the kernel itself is checked by hand in RankingTests).
        let metrics = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [String: Any])
        let models = try XCTUnwrap(metrics["models"] as? [[String: Any]])
        func row(_ name: String) throws -> [String: Any] {
            try XCTUnwrap(models.lazy.compactMap { $0["row"] as? [String: Any] }.first { $0["name"] as? String == name }, name)
        }
        func ranking(_ name: String) throws -> [String: Any] { try XCTUnwrap(try row(name)["ranking"] as? [String: Any], name) }
        XCTAssertNil(try row("global_mean")["ranking"], "global_mean ranks nothing")
        // Most popular ranks, but predicts no ratings.
        XCTAssertNil(try row("popularity")["rmse"])
        XCTAssertEqual(models.count, names.count + 1)
        let rankingChart = try chart(document, "ranking")
        for name in names.dropFirst() + ["popularity"] {
            let r = try ranking(name)
            let values = rankingChart.marks.filter { attribute($0, "data-series") == name }.map { number($0, "data-value") }
            let expected = [r["precision"], r["recall"], r["ndcg"], r["map"], r["hit_rate"], r["coverage"]].map { $0 as? Double ?? .nan }
            XCTAssertEqual(values.count, 6)
            for (v, e) in zip(values, expected) { XCTAssertEqual(v, e, accuracy: 1e-12) }
            for v in values { XCTAssertTrue((0...1).contains(v)) }
        }
        // The bias baseline shows (nearly) everyone the same few movies; personal factors spread the lists.
        XCTAssertGreaterThan(try XCTUnwrap(ranking(names[2])["coverage"] as? Double), try XCTUnwrap(ranking("bias")["coverage"] as? Double))
        let customers = try rows("""
            SELECT count(DISTINCT p.customer_key) FROM feature_split_pair p JOIN fact_ratings f USING (customer_key, movie_key)
            WHERE p.split_id = \(split) AND f.rating >= 4
            """)
        XCTAssertEqual(try ranking("bias")["customers"] as? Int, Int(customers[0][0]))

        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("## Ranking quality"))
        XCTAssertTrue(markdown.contains("](charts/grid-heatmap.svg)"))
    }
}
