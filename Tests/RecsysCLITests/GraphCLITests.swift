import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Warehouse
import XCTest

/// `recsys graph` run as a user runs it: the built binary on a generated,
/// loaded warehouse (and on edge-list files), checking exit codes, the JSON,
/// and what graph_run / graph_community / graph_centrality hold. Expected
/// co-rating counts come from SQL self-joins of fact_ratings, an oracle
/// independent of the Swift count.
final class GraphCLITests: CLITestCase {
    override var databasePrefix: String { "graph" }

    func json(_ result: CLI.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], file: file, line: line)
    }

    /// 20,000 ratings of 60 movies by 1,000 customers, loaded.
    func loadGenerated() throws {
        let data = folder.appendingPathComponent("data")
        let generate = try CLI.run(["generate", "--out", data.path, "--ratings", "20000", "--customers", "1000", "--movies", "60", "--seed", "8"],
                                   home: folder)
        XCTAssertEqual(generate.status, 0, generate.stderr)
        let load = try recsys(["load", "--data", data.path])
        XCTAssertEqual(load.status, 0, load.stderr)
    }

    /// Movie pairs with at least `minCommon` common customers, by SQL.
    func sqlPairs(minCommon: Int) throws -> [String: Int] {
        let rows = try db.execute("""
            SELECT ma.movie_id, mb.movie_id, count(*) FROM fact_ratings a
            JOIN fact_ratings b ON a.customer_key = b.customer_key AND a.movie_key < b.movie_key
            JOIN dim_movie ma ON ma.movie_key = a.movie_key JOIN dim_movie mb ON mb.movie_key = b.movie_key
            GROUP BY 1, 2 HAVING count(*) >= \(minCommon)
            """).rows
        var out: [String: Int] = [:]
        for row in rows { out["\(row[0]!)-\(row[1]!)"] = Int(row[2]!)! }
        return out
    }

    func testMovieNetworkIsCountedExactlyStoredAndPrinted() throws {
        try loadGenerated()
        let pairs = try sqlPairs(minCommon: 5)
        XCTAssertGreaterThan(pairs.count, 100)

        let report = try json(recsys(["graph", "--min-common", "5", "--json", "--show", "3"]))
        let network = try XCTUnwrap(report["network"] as? [String: Any])
        XCTAssertEqual(network["kind"] as? String, "movie")
        XCTAssertEqual(network["nodes"] as? Int, 60)
        XCTAssertEqual(network["edges"] as? Int, pairs.count)
        XCTAssertEqual(network["ratings"] as? Int, 20_000)
        XCTAssertEqual(report["algorithm"] as? String, "leiden")
        let modularity = try XCTUnwrap(report["modularity"] as? Double)
        let runID = try XCTUnwrap(report["run_id"] as? Int)

        // The run's rows: every movie once in each table, node = movie_id.
        let run = try db.execute("SELECT network, nodes, edges, algorithm, modularity, data_version IS NOT NULL, params->>'min_common' FROM graph_run WHERE run_id = \(runID)").rows
        XCTAssertEqual(run.count, 1)
        XCTAssertEqual(run[0][0], "movie")
        XCTAssertEqual(run[0][1], "60")
        XCTAssertEqual(run[0][2], String(pairs.count))
        XCTAssertEqual(run[0][3], "leiden")
        XCTAssertEqual(Double(run[0][4]!)!, modularity, accuracy: 1e-12)
        XCTAssertEqual(run[0][5], "t")
        XCTAssertEqual(run[0][6], "5")
        XCTAssertEqual(try db.int("SELECT count(*) FROM graph_community c JOIN dim_movie m ON m.movie_id::text = c.node WHERE run_id = \(runID)"), 60)
        XCTAssertEqual(try db.int("SELECT count(*) FROM graph_centrality WHERE run_id = \(runID) AND pagerank IS NOT NULL AND betweenness IS NOT NULL"), 60)
        XCTAssertEqual(Double(try db.execute("SELECT sum(pagerank) FROM graph_centrality WHERE run_id = \(runID)").scalar()!)!, 1, accuracy: 1e-9)
        // Σ degree = 2 · edges, and each movie's degree is its number of SQL partners.
        XCTAssertEqual(try db.int("SELECT sum(degree) FROM graph_centrality WHERE run_id = \(runID)"), 2 * pairs.count)
        var partners: [String: Int] = [:]
        for key in pairs.keys { for movie in key.split(separator: "-") { partners[String(movie), default: 0] += 1 } }
        for row in try db.execute("SELECT node, degree FROM graph_centrality WHERE run_id = \(runID)").rows {
            XCTAssertEqual(Int(row[1]!)!, partners[row[0]!] ?? 0, "degree of movie \(row[0]!)")
        }
        // Weighted degree with count weights: Σ over partners of the common customers.
        var strength: [String: Int] = [:]
        for (key, count) in pairs { for movie in key.split(separator: "-") { strength[String(movie), default: 0] += count } }
        for row in try db.execute("SELECT node, weighted_degree FROM graph_centrality WHERE run_id = \(runID)").rows {
            XCTAssertEqual(Double(row[1]!)!, Double(strength[row[0]!] ?? 0), "weighted degree of movie \(row[0]!)")
        }
        // The JSON's communities carry titles, mean ratings and years.
        let communities = try XCTUnwrap(report["communities"] as? [[String: Any]])
        XCTAssertFalse(communities.isEmpty)
        XCTAssertLessThanOrEqual(communities.count, 3)
        let sizes = try XCTUnwrap(report["community_sizes"] as? [Int])
        XCTAssertEqual(sizes.reduce(0, +), 60)
        XCTAssertEqual(communities[0]["size"] as? Int, sizes[0])
        let central = try XCTUnwrap(communities[0]["central"] as? [[String: Any]])
        XCTAssertNotNil(central.first?["title"] as? String)
        let mean = try XCTUnwrap(communities[0]["mean_rating"] as? Double)
        XCTAssertTrue((1...5).contains(mean))
        XCTAssertNotNil(communities[0]["years"] as? [String: Any])
        let pageRank = try XCTUnwrap((report["centrality"] as? [String: Any])?["pagerank"] as? [String: Any])
        XCTAssertEqual((pageRank["leaders"] as? [Any])?.count, 3)

        // The text report, same run settings: the header and a community table.
        let text = try recsys(["graph", "--min-common", "5", "--no-store"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("movie network: 60 nodes, \(ProgressReporter.count(pairs.count)) edges (min common 5, weight count"), text.stdout)
        XCTAssertTrue(text.stdout.contains(String(format: "leiden (resolution 1, seed 42): modularity %.4f", modularity)), text.stdout)
        XCTAssertTrue(text.stdout.contains("mean rating"), text.stdout)
        XCTAssertEqual(try db.int("SELECT count(*) FROM graph_run"), 1, "--no-store wrote nothing")
    }

    func testCustomerSampleWithPruningAndChosenCentralities() throws {
        try loadGenerated()
        let report = try json(recsys(["graph", "--network", "customer", "--sample-customers", "50", "--min-common", "2",
                                      "--weight", "jaccard", "--top-k", "5", "--algorithm", "louvain",
                                      "--centrality", "pagerank,degree", "--json"]))
        let network = try XCTUnwrap(report["network"] as? [String: Any])
        XCTAssertEqual(network["kind"] as? String, "customer")
        XCTAssertEqual(network["nodes"] as? Int, 50)
        XCTAssertEqual(network["top_k"] as? Int, 5)
        let edges = try XCTUnwrap(network["edges"] as? Int)
        XCTAssertLessThanOrEqual(edges, 50 * 5, "every edge is some node's top-5")
        XCTAssertEqual(report["algorithm"] as? String, "louvain")
        let runID = try XCTUnwrap(report["run_id"] as? Int)
        XCTAssertEqual(try db.int("SELECT count(*) FROM graph_centrality c JOIN dim_customer d ON d.customer_id::text = c.node WHERE run_id = \(runID)"), 50)
        XCTAssertEqual(try db.int("SELECT count(*) FROM graph_centrality WHERE run_id = \(runID) AND pagerank IS NOT NULL AND degree IS NOT NULL AND betweenness IS NULL AND eigenvector IS NULL"), 50)
        XCTAssertEqual(Set((report["centrality"] as? [String: Any])?.keys.map { $0 } ?? []), ["pagerank", "degree", "weighted_degree"])
        // The same seed samples the same customers.
        let again = try json(recsys(["graph", "--network", "customer", "--sample-customers", "50", "--min-common", "2", "--weight", "jaccard",
                                     "--top-k", "5", "--algorithm", "louvain", "--centrality", "none", "--json"]))
        let againID = try XCTUnwrap(again["run_id"] as? Int)
        XCTAssertEqual(try db.int("""
            SELECT count(*) FROM graph_community a JOIN graph_community b ON a.node = b.node AND a.community = b.community
            WHERE a.run_id = \(runID) AND b.run_id = \(againID)
            """), 50, "same sample, same seed: same communities")
    }

    /// Zachary's karate club as a file, with a database URL that cannot
    /// work: --no-store needs none. Values from NetworkX 3.6.1 (Tests/GraphTests/KarateClub.swift).
    func testEdgeListNeedsNoDatabaseAndMatchesTheReference() throws {
        let file = folder.appendingPathComponent("karate.csv")
        try Self.karateCSV.write(to: file, atomically: true, encoding: .utf8)
        let result = try CLI.run(["graph", "--edges", file.path, "--no-store", "--json", "--database", "postgresql://nobody@127.0.0.1:1/none"],
                                 home: folder)
        let report = try json(result)
        XCTAssertEqual((report["network"] as? [String: Any])?["nodes"] as? Int, 34)
        XCTAssertEqual((report["network"] as? [String: Any])?["edges"] as? Int, 78)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(report["modularity"] as? Double), 0.4197)
        XCTAssertEqual(report["community_count"] as? Int, 4)
        XCTAssertNil(report["run_id"])
        let betweenness = try XCTUnwrap((report["centrality"] as? [String: Any])?["betweenness"] as? [String: Any])
        XCTAssertEqual(betweenness["exact"] as? Bool, true)
        let leader = try XCTUnwrap((betweenness["leaders"] as? [[String: Any]])?.first)
        XCTAssertEqual(leader["node"] as? String, "m0")
        XCTAssertEqual(try XCTUnwrap(leader["value"] as? Double), 0.43763528138528146, accuracy: 1e-12)

        // Stored: the network names the file, nodes keep their labels.
        let stored = try json(recsys(["graph", "--edges", file.path, "--algorithm", "louvain", "--json"]))
        let runID = try XCTUnwrap(stored["run_id"] as? Int)
        XCTAssertEqual(try db.execute("SELECT network, data_version FROM graph_run WHERE run_id = \(runID)").rows.first,
                       ["edges:\(file.standardizedFileURL.path)", nil])
        XCTAssertEqual(try db.int("SELECT count(DISTINCT community) FROM graph_community WHERE run_id = \(runID) AND node LIKE 'm%'"), 4)
    }

    /// graph --out: the report parses as XML, references nothing outside itself,
    /// and its charts show what the run stored in graph_community / graph_centrality.
    func testGraphReportShowsTheStoredCommunitiesAndLeaders() throws {
        try loadGenerated()
        let out = folder.appendingPathComponent("graph-report")
        let report = try json(recsys(["graph", "--min-common", "5", "--out", out.path, "--json", "--show", "5"]))
        let runID = try XCTUnwrap(report["run_id"] as? Int)
        for name in ["report.html", "report.md", "graph.json", "charts/community-sizes.svg", "charts/leaders-pagerank.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertFalse(html.contains("<script") || html.contains("http://") || html.contains("https://") || html.contains("url("))
        let document = try XMLDocument(data: Data(html.utf8), options: [])
        func marks(_ id: String) throws -> (plot: XMLElement, marks: [XMLElement]) {
            let svg = try XCTUnwrap(try document.nodes(forXPath: "//svg[@id='\(id)']").first, id)
            let plot = try XCTUnwrap(try svg.nodes(forXPath: ".//g[@class='plot']").first as? XMLElement)
            return (plot, try svg.nodes(forXPath: ".//*[@class='mark']").compactMap { $0 as? XMLElement })
        }
        func value(_ e: XMLElement, _ name: String) -> Double { Double(e.attribute(forName: name)?.stringValue ?? "") ?? .nan }

        // Community sizes, largest first, as stored.
        let sizes = try db.execute("SELECT count(*) FROM graph_community WHERE run_id = \(runID) GROUP BY community ORDER BY 1 DESC").rows.map { Double($0[0]!)! }
        let bars = try marks("community-sizes")
        XCTAssertEqual(bars.marks.map { value($0, "data-value") }, Array(sizes.filter { $0 > 1 }.prefix(20)))
        let ppu = value(bars.plot, "data-pixels-per-unit")
        for bar in bars.marks { XCTAssertEqual(value(bar, "height"), value(bar, "data-value") * ppu, accuracy: 0.006) }

        // PageRank leaders: the five highest stored values, with the movie titles.
        let leaders = try db.execute("""
            SELECT m.title, c.pagerank FROM graph_centrality c JOIN dim_movie m ON m.movie_id::text = c.node
            WHERE run_id = \(runID) ORDER BY c.pagerank DESC, m.movie_key LIMIT 5
            """).rows
        let pagerank = try marks("leaders-pagerank")
        XCTAssertEqual(pagerank.marks.count, 5)
        for (mark, row) in zip(pagerank.marks, leaders) {
            XCTAssertEqual(value(mark, "data-value"), Double(row[1]!)!, accuracy: 1e-12)
            XCTAssertTrue((mark.attribute(forName: "data-label")?.stringValue ?? "").hasPrefix(String(row[0]!.prefix(39))))
        }
        XCTAssertTrue(html.contains("Stored as graph run \(runID)"))
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("graph.json"))) as? [String: Any]
        XCTAssertEqual(written?["modularity"] as? Double, report["modularity"] as? Double)
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("## Communities") && markdown.contains("](charts/community-sizes.svg)"))
    }

    func testBadInputAndUsageErrorsExitTwo() throws {
        let file = folder.appendingPathComponent("bad.csv")
        try "source,target,weight\na,b,1\nb,c,x\n".write(to: file, atomically: true, encoding: .utf8)
        let bad = try recsys(["graph", "--edges", file.path, "--no-store"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("bad.csv:3: weight 'x' is not a finite positive number"), bad.stderr)
        let missing = try recsys(["graph", "--edges", folder.appendingPathComponent("nowhere.csv").path, "--no-store"])
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("nowhere.csv: no such file"), missing.stderr)
        for arguments in [["--edges", file.path, "--network", "movie"], ["--min-common", "0"], ["--edges", file.path, "--top-k", "3"],
                          ["--sample-customers", "10"], ["--centrality", "closeness"], ["--resolution", "-1"]] {
            let result = try recsys(["graph"] + arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
        }
        // An edge list without edges says so.
        let blank = folder.appendingPathComponent("blank.csv")
        try "source,target\n".write(to: blank, atomically: true, encoding: .utf8)
        let none = try recsys(["graph", "--edges", blank.path, "--no-store"])
        XCTAssertEqual(none.status, 2, none.stderr)
        XCTAssertTrue(none.stderr.contains("blank.csv") && none.stderr.contains("holds no edges"), none.stderr)
        // A report folder that cannot be made fails first, naming it and why.
        let good = folder.appendingPathComponent("good.csv")
        try "a,b\nb,c\n".write(to: good, atomically: true, encoding: .utf8)
        let unwritable = try recsys(["graph", "--edges", good.path, "--no-store", "--out", good.path + "/report"])
        XCTAssertEqual(unwritable.status, 2, unwritable.stderr)
        XCTAssertTrue(unwritable.stderr.contains("cannot write a report into \(good.standardizedFileURL.path)/report: Not a directory"), unwritable.stderr)
        XCTAssertFalse(unwritable.stdout.contains("edge list"), "nothing was computed")
        // An empty warehouse is a usage error with a hint, not a crash.
        let empty = try recsys(["graph"])
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("recsys load"), empty.stderr)
    }

    static let karateCSV: String = {
        let edges: [(Int, Int)] = [
            (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (0, 8), (0, 10), (0, 11), (0, 12), (0, 13), (0, 17), (0, 19),
            (0, 21), (0, 31), (1, 2), (1, 3), (1, 7), (1, 13), (1, 17), (1, 19), (1, 21), (1, 30), (2, 3), (2, 7), (2, 8), (2, 9),
            (2, 13), (2, 27), (2, 28), (2, 32), (3, 7), (3, 12), (3, 13), (4, 6), (4, 10), (5, 6), (5, 10), (5, 16), (6, 16), (8, 30),
            (8, 32), (8, 33), (9, 33), (13, 33), (14, 32), (14, 33), (15, 32), (15, 33), (18, 32), (18, 33), (19, 33), (20, 32),
            (20, 33), (22, 32), (22, 33), (23, 25), (23, 27), (23, 29), (23, 32), (23, 33), (24, 25), (24, 27), (24, 31), (25, 31),
            (26, 29), (26, 33), (27, 33), (28, 31), (28, 33), (29, 32), (29, 33), (30, 32), (30, 33), (31, 32), (31, 33), (32, 33),
        ]
        return "source,target\n" + edges.map { "m\($0.0),m\($0.1)\n" }.joined()
    }()
}
