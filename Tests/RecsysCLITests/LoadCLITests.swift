import Foundation
import TestSupport
import Warehouse
import XCTest

/// `recsys load` run as a user runs it: the built binary against a real
/// PostgreSQL, checking exit codes, messages and what the warehouse holds.
final class LoadCLITests: DatabaseTestCase {
    override var databasePrefix: String { "cli" }
    /// The CLI's RECSYS_HOME and working folder.
    var homeFolder: URL { folder }

    func recsys(_ arguments: [String]) throws -> CLI.Result {
        try CLI.run(arguments + ["--database", conninfo], home: homeFolder)
    }

    var db: Connection { get throws { try TestServer.connect(conninfo) } }

    /// A small hand-written Netflix folder: movies 1–3 in the titles file and
    /// the given combined_data_1.txt text.
    func netflixFolder(_ ratings: String, name: String = "tiny") throws -> URL {
        let folder = homeFolder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "1,2001,First\n2,NULL,Second, The\n3,1999,Third\n".write(to: folder.appendingPathComponent("movie_titles.csv"), atomically: true, encoding: .isoLatin1)
        try ratings.write(to: folder.appendingPathComponent("combined_data_1.txt"), atomically: true, encoding: .utf8)
        return folder
    }

    static let goodRatings = "1:\n10,3,2005-01-01\n11,4,2005-01-02\n2:\n10,5,2005-02-01\n12,1,2004-12-31\n"

    func generated(ratings: Int, seed: UInt64 = 3) throws -> URL {
        let folder = homeFolder.appendingPathComponent("gen-\(seed)-\(ratings)")
        let result = try CLI.run(["generate", "--out", folder.path, "--ratings", "\(ratings)", "--customers", "2000",
                                  "--movies", "60", "--seed", "\(seed)"], home: homeFolder)
        XCTAssertEqual(result.status, 0, result.stderr)
        return folder
    }

    // MARK: - bad input

    func testEveryKindOfBadInputStopsWithFileLineAndLeavesLoadedDataAlone() throws {
        // A good load first: what a failed load must not disturb.
        let good = try netflixFolder(Self.goodRatings, name: "good")
        XCTAssertEqual(try recsys(["load", "--data", good.path]).status, 0)
        let before = try db.int("SELECT count(*) FROM fact_ratings")
        XCTAssertEqual(before, 4)

        let cases: [(name: String, ratings: String, expect: String)] = [
            ("bad rating", "1:\n10,3,2005-01-01\n11,9,2005-01-02\n", "combined_data_1.txt:3: rating '9'"),
            ("bad date", "1:\n10,3,2005-02-30\n", "combined_data_1.txt:2: date '2005-02-30'"),
            ("bad id", "1:\n10,3,2005-01-01\nabc,3,2005-01-01\n", "combined_data_1.txt:3: customer id 'abc'"),
            ("rating before header", "10,3,2005-01-01\n1:\n", "combined_data_1.txt:1: a rating line before any 'MovieID:' header"),
            ("movie not in titles", "1:\n10,3,2005-01-01\n99:\n10,3,2005-01-01\n", "combined_data_1.txt:3: MovieID 99 is not in movie_titles.csv"),
            ("duplicate pair", "1:\n10,3,2005-01-01\n11,2,2005-01-01\n10,4,2005-03-01\n", "combined_data_1.txt:4: customer 10 already rated movie 1"),
            ("split movie block", "1:\n10,3,2005-01-01\n2:\n10,3,2005-01-01\n1:\n11,3,2005-01-01\n", "combined_data_1.txt:5: MovieID 1 opens a second block"),
            ("truncated line", "1:\n10,3,2005-01-01\n11,3", "combined_data_1.txt:3: expected CustomerID,Rating,YYYY-MM-DD but found 2 fields"),
            ("garbage", "1:\n10,3,2005-01-01\n\u{01}\u{7F}garbage\u{02}\n", "combined_data_1.txt:3: expected CustomerID,Rating,YYYY-MM-DD but found no comma"),
        ]
        for (index, testCase) in cases.enumerated() {
            let folder = try netflixFolder(testCase.ratings, name: "bad\(index)")
            let result = try recsys(["load", "--data", folder.path, "--fresh"])
            XCTAssertEqual(result.status, 2, "\(testCase.name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(testCase.expect), "\(testCase.name): \(result.stderr)")
            XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), before, testCase.name)
            XCTAssertEqual(try db.execute("SELECT source_dir FROM etl_run").scalar(), good.path, testCase.name)
        }
        let missing = try recsys(["load", "--data", homeFolder.appendingPathComponent("nowhere").path])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("nowhere: no such folder"), missing.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), before)
    }

    func testMovieLensBadHalfStarNamesTheLine() throws {
        let folder = homeFolder.appendingPathComponent("ml")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "movieId,title,genres\n1,\"Story, The (1995)\",Comedy\n".write(to: folder.appendingPathComponent("movies.csv"), atomically: true, encoding: .utf8)
        try "userId,movieId,rating,timestamp\n1,1,4.5,1000000000\n2,1,4.3,1000000000\n".write(to: folder.appendingPathComponent("ratings.csv"), atomically: true, encoding: .utf8)
        let result = try recsys(["load", "--data", folder.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("ratings.csv:3: rating '4.3' is not a half star"), result.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM etl_run"), 0)
    }

    func testFixingTheFileAndRerunningFinishesTheLoad() throws {
        let folder = try netflixFolder("1:\n10,3,2005-01-01\n11,7,2005-01-02\n")
        let first = try recsys(["load", "--data", folder.path])
        XCTAssertEqual(first.status, 2)
        XCTAssertTrue(first.stderr.contains("fix the line and run the same command again"), first.stderr)
        try "1:\n10,3,2005-01-01\n11,4,2005-01-02\n".write(to: folder.appendingPathComponent("combined_data_1.txt"), atomically: true, encoding: .utf8)
        let second = try recsys(["load", "--data", folder.path])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 2)
    }

    func testMaxRejectsSkipsBadLinesIntoTheRejectsTable() throws {
        let folder = try netflixFolder("1:\n10,3,2005-01-01\n11,9,2005-01-02\n12,4,2005-01-03\n2:\nbad line\n10,2,2005-01-04\n")
        let tooFew = try recsys(["load", "--data", folder.path, "--max-rejects", "1"])
        XCTAssertEqual(tooFew.status, 2)
        XCTAssertTrue(tooFew.stderr.contains("combined_data_1.txt:6"), tooFew.stderr)
        let result = try recsys(["load", "--data", folder.path, "--max-rejects", "5"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 3)
        let rejects = try db.execute("SELECT file, line, text, reason FROM etl_rejects ORDER BY line").rows
        XCTAssertEqual(rejects.map { [$0[0]!, $0[1]!, $0[2]!] }, [["combined_data_1.txt", "3", "11,9,2005-01-02"], ["combined_data_1.txt", "6", "bad line"]])
        XCTAssertTrue(rejects[0][3]!.contains("rating '9'"))
        // Customer 11's only rating was rejected, so it is not a customer.
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_customer WHERE customer_id = 11"), 0)
    }

    func testCRLFByteOrderMarkAndMissingFinalNewlineAreValid() throws {
        let folder = try netflixFolder("")
        try Data([0xEF, 0xBB, 0xBF] + Array("1:\r\n10,3,2005-01-01\r\n11,4,2005-01-02\r\n\r\n2:\r\n10,5,2005-02-01".utf8))
            .write(to: folder.appendingPathComponent("combined_data_1.txt"))
        let result = try recsys(["load", "--data", folder.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try db.execute("SELECT count(*), sum(rating) FROM fact_ratings").rows.first!, ["3", "12.0"])
    }

    // MARK: - safety checks

    func testPreflightRefusesUnexplainedRowsAndChangedFiles() throws {
        let folder = try netflixFolder(Self.goodRatings)
        // Rows that no recorded load explains.
        try db.execute(SchemaProbe.minimalRow)
        let unexplained = try recsys(["load", "--data", folder.path])
        XCTAssertEqual(unexplained.status, 3)
        XCTAssertTrue(unexplained.stderr.contains("no recorded recsys load explains (dim_movie: 1 rows)"), unexplained.stderr)
        XCTAssertTrue(unexplained.stderr.contains("--fresh"))
        XCTAssertEqual(try recsys(["load", "--data", folder.path, "--fresh"]).status, 0)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 4)

        // A row added behind the load's back.
        try db.execute("INSERT INTO dim_movie (movie_key, movie_id, title) VALUES (99, 99, 'Stray')")
        let stray = try recsys(["load", "--data", folder.path])
        XCTAssertEqual(stray.status, 3)
        XCTAssertTrue(stray.stderr.contains("dim_movie holds 4 rows, the checkpoint accounts for 3"), stray.stderr)
        try db.execute("DELETE FROM dim_movie WHERE movie_key = 99")

        // Source files changed since the load.
        try (Self.goodRatings + "3:\n10,2,2005-03-01\n").write(to: folder.appendingPathComponent("combined_data_1.txt"), atomically: true, encoding: .utf8)
        let changed = try recsys(["load", "--data", folder.path])
        XCTAssertEqual(changed.status, 3)
        XCTAssertTrue(changed.stderr.contains("combined_data_1.txt changed size"), changed.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 4)
        let fresh = try recsys(["load", "--data", folder.path, "--fresh"])
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 5)
    }

    func testKillDuringFactStageThenRerunLoadsExactlyOnceAndConcurrentLoadIsRefused() throws {
        let folder = try generated(ratings: 40_000)
        let truth = try SourceTruth.netflix(folder)
        let log = FileHandle(forWritingAtPath: "/dev/null")
        let slow = try CLI.start(["load", "--data", folder.path, "--database", conninfo, "--batch-rows", "1000", "--batch-pause-ms", "400"],
                                 home: homeFolder, stdout: log, stderr: log)
        // Wait until some fact batches are committed, but not all.
        let deadline = Date().addingTimeInterval(120)
        var committed = 0
        while Date() < deadline {
            committed = (try? db.int("SELECT coalesce(sum(rows), 0) FROM etl_checkpoint WHERE stage = 'fact_ratings'")) ?? 0
            if committed >= 3000 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertGreaterThanOrEqual(committed, 3000)

        let second = try recsys(["load", "--data", folder.path])
        XCTAssertEqual(second.status, 3)
        XCTAssertTrue(second.stderr.contains("another recsys load is running on this database"), second.stderr)

        kill(slow.processIdentifier, SIGKILL)
        slow.waitUntilExit()
        let partial = try db.int("SELECT count(*) FROM fact_ratings")
        XCTAssertGreaterThan(partial, 0)
        XCTAssertLessThan(partial, truth.ratings)
        XCTAssertEqual(partial, try db.int("SELECT sum(rows) FROM etl_checkpoint WHERE stage = 'fact_ratings'"))

        let status = try recsys(["load", "--status", "--json"])
        XCTAssertEqual(status.status, 0)
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["state"] as? String, "in_progress")
        let stages = json["stages"] as! [[String: Any]]
        XCTAssertEqual(stages.first { $0["stage"] as? String == "dim_customer" }?["state"] as? String, "done")
        XCTAssertTrue(stages.contains { $0["stage"] as? String == "fact_ratings" && $0["state"] as? String == "partial" })

        let rerun = try recsys(["load", "--data", folder.path, "--batch-rows", "1000"])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stdout.contains("(done earlier)"), rerun.stdout)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), truth.ratings)
        XCTAssertEqual(try db.int("SELECT count(*) FROM (SELECT DISTINCT customer_key, movie_key FROM fact_ratings) d"), truth.ratings)
        XCTAssertEqual(try db.int("SELECT (sum(rating) * 2)::bigint FROM fact_ratings"), truth.halfStarSum)

        let done = try recsys(["load", "--status", "--json"])
        let doneJSON = try JSONSerialization.jsonObject(with: Data(done.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(doneJSON["state"] as? String, "complete")
        XCTAssertEqual((doneJSON["tables"] as? [String: Int])?["fact_ratings"], truth.ratings)
    }

    // MARK: - the rest of the CLI

    func testHelpListsEveryCommandAndUsageErrorsExitTwo() throws {
        let help = try CLI.run(["--help"], home: homeFolder)
        XCTAssertEqual(help.status, 0)
        for command in ["db", "generate", "load"] { XCTAssertTrue(help.stdout.contains(command), help.stdout) }
        let loadHelp = try CLI.run(["help", "load"], home: homeFolder)
        XCTAssertEqual(loadHelp.status, 0)
        for option in ["--data", "--format", "--fresh", "--max-rejects", "--status", "--json", "--database"] {
            XCTAssertTrue(loadHelp.stdout.contains(option), option)
        }
        XCTAssertEqual(try CLI.run(["load", "--max-rejects", "-3"], home: homeFolder).status, 2)
        XCTAssertEqual(try CLI.run(["frobnicate"], home: homeFolder).status, 2)
        XCTAssertEqual(try CLI.run(["load", "--format", "csv"], home: homeFolder).status, 2)
    }

    func testManagedClusterStartsOnDemandAndStops() throws {
        let folder = try netflixFolder(Self.goodRatings)
        // No --database: the managed cluster under RECSYS_HOME is created and started by `load`.
        let load = try CLI.run(["load", "--data", folder.path], home: homeFolder)
        XCTAssertEqual(load.status, 0, load.stderr)
        let status = try CLI.run(["db", "status", "--json"], home: homeFolder)
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["running"] as? Bool, true)
        XCTAssertEqual(json["managed"] as? Bool, true)
        let url = try CLI.run(["db", "url"], home: homeFolder).stdout
        XCTAssertTrue(url.hasPrefix("postgresql://recsys@/recsys?host="), url)
        XCTAssertEqual(try CLI.run(["db", "stop"], home: homeFolder).status, 0)
        let stopped = try CLI.run(["db", "status", "--json"], home: homeFolder)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(stopped.stdout.utf8)) as! [String: Any])["running"] as? Bool, false)
        // The data survives a restart.
        let again = try CLI.run(["load", "--data", folder.path], home: homeFolder)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("already loaded"), again.stdout)
        _ = try CLI.run(["db", "stop"], home: homeFolder)
    }
}

enum SchemaProbe {
    /// Creates the schema and puts one row in it, as a manual load would.
    static let minimalRow = """
        CREATE TABLE IF NOT EXISTS dim_movie (movie_key integer PRIMARY KEY, movie_id bigint NOT NULL UNIQUE, title text NOT NULL,
            release_year smallint, genres text);
        INSERT INTO dim_movie (movie_key, movie_id, title) VALUES (1, 1, 'hand-loaded');
        """
}
