import Foundation
import TestSupport
import Warehouse
import XCTest

/// `recsys load --append DIR`: new files into a loaded warehouse, exactly once,
/// with history, run as a user runs it.
final class AppendCLITests: CLITestCase {
    override var databasePrefix: String { "append" }

    /// A hand-written Netflix folder: movies 1–3, customers 10–12.
    func loadTiny() throws {
        let data = folder.appendingPathComponent("tiny")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try "1,2001,First\n2,NULL,Second, The\n3,1999,Third\n".write(to: data.appendingPathComponent("movie_titles.csv"), atomically: true, encoding: .isoLatin1)
        try "1:\n10,3,2005-01-01\n11,4,2005-01-02\n2:\n10,5,2005-02-01\n12,1,2004-12-31\n"
            .write(to: data.appendingPathComponent("combined_data_1.txt"), atomically: true, encoding: .utf8)
        let load = try recsys(["load", "--data", data.path])
        XCTAssertEqual(load.status, 0, load.stderr)
    }

    func folderOf(_ name: String, files: [String: String]) throws -> URL {
        let dir = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (file, text) in files { try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8) }
        return dir
    }

    func testAnAppendAddsRatingsAndTitlesWithHistoryExactlyOnce() throws {
        try loadTiny()
        // A re-rating (10 on movie 1: 3 → 5), a new pair (11 on 2), a new customer (13), a new
        // movie (4) rated in the same folder, a changed title (3) — lines not in customer order.
        let delta = try folderOf("day1", files: [
            "movie_titles.csv": "1,2001,First\n2,NULL,Second, The\n3,2000,Third (Director's Cut)\n4,2006,Fourth\n",
            "combined_data_2.txt": "1:\n13,2,2006-01-03\n10,5,2006-01-02\n2:\n11,4,2006-01-02\n4:\n12,5,2006-01-04\n10,3,2006-01-04\n",
        ])
        let append = try recsys(["load", "--append", delta.path, "--json"])
        XCTAssertEqual(append.status, 0, append.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(append.stdout.utf8)) as! [String: Any]
        let file = (report["files"] as! [[String: Any]])[0]
        XCTAssertEqual(file["ratings"] as? Int, 5)
        XCTAssertEqual(file["inserted"] as? Int, 4)
        XCTAssertEqual(file["replaced"] as? Int, 1)
        XCTAssertEqual(file["new_customers"] as? Int, 1)
        XCTAssertEqual(report["new_movies"] as? Int, 1)
        XCTAssertEqual(report["changed_movies"] as? Int, 1)

        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 8)
        XCTAssertEqual(try rows("""
            SELECT f.rating::text, d.date_actual FROM fact_ratings f JOIN dim_customer c USING (customer_key) JOIN dim_movie m USING (movie_key)
            JOIN dim_date d USING (date_key) WHERE c.customer_id = 10 AND m.movie_id = 1
            """), [["5.0", "2006-01-02"]])
        XCTAssertEqual(try rows("""
            SELECT h.rating::text, d.date_actual, h.valid_to IS NOT NULL FROM fact_ratings_history h JOIN dim_customer c USING (customer_key)
            JOIN dim_movie m USING (movie_key) JOIN dim_date d USING (date_key)
            """), [["3.0", "2005-01-01", "t"]], "what the warehouse said before the re-rating")
        // Keys for the newcomers, aggregates moved, new days in dim_date.
        XCTAssertEqual(try rows("SELECT customer_key, total_ratings, first_rating_date, last_rating_date FROM dim_customer WHERE customer_id = 13"),
                       [["4", "1", "2006-01-03", "2006-01-03"]])
        XCTAssertEqual(try rows("SELECT total_ratings, first_rating_date, last_rating_date FROM dim_customer WHERE customer_id = 10"),
                       [["3", "2005-02-01", "2006-01-04"]])
        XCTAssertEqual(try rows("SELECT movie_key, title, release_year FROM dim_movie WHERE movie_id IN (3, 4) ORDER BY movie_id"),
                       [["3", "Third (Director's Cut)", "2000"], ["4", "Fourth", "2006"]])
        XCTAssertEqual(try rows("SELECT movie_id, title, release_year, is_current, valid_to IS NULL FROM dim_movie_history ORDER BY movie_id, valid_from"), [
            ["3", "Third", "1999", "f", "f"], ["3", "Third (Director's Cut)", "2000", "t", "t"], ["4", "Fourth", "2006", "t", "t"],
        ])
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_date WHERE date_actual = '2006-01-04'"), 1)
        let check = try recsys(["check"])
        XCTAssertEqual(check.status, 0, check.stdout)
        XCTAssertTrue(check.stdout.contains("history.dim_movie"), check.stdout)

        // The analytics moved by the delta alone, to exactly what a full refresh computes.
        func figures(_ arguments: [String]) throws -> NSDictionary {
            let result = try recsys(["analytics", "--json"] + arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            var document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
            document = document.filter { !$0.key.contains("seconds") }
            return document as NSDictionary
        }
        let byDelta = try figures([])
        XCTAssertEqual(try db.int("SELECT count(*) FROM delta_movie_rating_counts") > 0, true)
        XCTAssertEqual(byDelta, try figures(["--refresh"]))
        XCTAssertEqual(try db.int("SELECT count(*) FROM delta_movie_rating_counts"), 0, "a refresh empties the deltas")

        // The same folder again: nothing to do.
        let again = try recsys(["load", "--append", delta.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("nothing to do"), again.stdout)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 8)
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_movie_history"), 3)

        // A changed file that was appended is refused.
        try "1:\n13,2,2006-01-03\n10,5,2006-01-02\n2:\n11,4,2006-01-02\n4:\n12,5,2006-01-04\n10,3,2006-01-04\n12,2,2006-01-05\n"
            .write(to: delta.appendingPathComponent("combined_data_2.txt"), atomically: true, encoding: .utf8)
        let changed = try recsys(["load", "--append", delta.path])
        XCTAssertEqual(changed.status, 3, changed.stderr)
        XCTAssertTrue(changed.stderr.contains("combined_data_2.txt was appended before and its contents changed"), changed.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 8)
    }

    /// Two generated batches (`generate --delta`) appended: the warehouse moves exactly as delta.json says.
    func testGeneratedBatchesAppendExactlyAsTheirSummariesSay() throws {
        let base = folder.appendingPathComponent("generated")
        let generate = try CLI.run(["generate", "--out", base.path, "--ratings", "30000", "--customers", "1500", "--movies", "300", "--seed", "3"],
                                   home: folder)
        XCTAssertEqual(generate.status, 0, generate.stderr)
        XCTAssertEqual(try recsys(["load", "--data", base.path]).status, 0)
        var inserted = 0, replaced = 0, newCustomers = 0, lastDate = ""
        for k in 1...2 {
            let batch = folder.appendingPathComponent("batch\(k)")
            let made = try CLI.run(["generate", "--delta", "\(k)", "--from", base.path, "--out", batch.path, "--ratings", "2000", "--json"], home: folder)
            XCTAssertEqual(made.status, 0, made.stderr)
            let summary = try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as! [String: Any]
            func count(_ key: String) -> Int { summary[key] as! Int }
            let append = try recsys(["load", "--append", batch.path, "--json"])
            XCTAssertEqual(append.status, 0, append.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(append.stdout.utf8)) as! [String: Any]
            let file = (report["files"] as! [[String: Any]])[0]
            let again = (file["replaced"] as! Int) + (file["unchanged"] as! Int)
            XCTAssertEqual((file["inserted"] as! Int) + again, 2_000)
            if k == 1 {
                XCTAssertEqual(file["inserted"] as? Int, count("new_pairs") + count("new_customer_ratings") + count("new_movie_ratings"))
                XCTAssertEqual(again, count("rerated"), "re-ratings are exactly the base pairs the batch rates again")
            } else {
                // delta.json counts against the base: a later batch may also rate again what an earlier one added.
                XCTAssertGreaterThanOrEqual(again, count("rerated"))
            }
            XCTAssertEqual(file["new_customers"] as? Int, count("new_customers"))
            XCTAssertEqual(report["new_movies"] as? Int, count("new_movies"))
            XCTAssertEqual(report["changed_movies"] as? Int, count("changed_titles"))
            inserted += file["inserted"] as! Int
            replaced += file["replaced"] as! Int
            newCustomers += count("new_customers")
            lastDate = summary["last_date"] as! String
        }
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 30_000 + inserted)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings_history"), replaced)
        XCTAssertEqual(try db.int("SELECT count(*) FROM dim_customer"), 1_500 + newCustomers)
        XCTAssertEqual(try rows("SELECT max(d.date_actual)::text FROM fact_ratings JOIN dim_date d USING (date_key)"), [[lastDate]])
        let check = try recsys(["check"])
        XCTAssertEqual(check.status, 0, check.stdout)
    }

    func testABadLineNamesFileAndLineAndNothingOfTheFolderIsApplied() throws {
        try loadTiny()
        let cases: [(String, String)] = [
            ("1:\n10,4,2006-01-01\n11,9,2006-01-01\n", "combined_data_2.txt:3: rating '9' is not one of 1, 2, 3, 4, 5"),
            ("1:\n10,4,2006-01-01\n9:\n10,4,2006-01-01\n", "combined_data_2.txt:3: MovieID 9 is not in the warehouse"),
            ("1:\n10,4,2006-01-01\n10,2,2006-01-02\n", "combined_data_2.txt:3: customer 10 rates movie 1 again (line 2 did)"),
            ("1:\n10,4,2099-01-01\n", "combined_data_2.txt:2: date 2099-01-01 is in the future"),
        ]
        for (n, (text, message)) in cases.enumerated() {
            // A good file beside the bad one is not applied either.
            let dir = try folderOf("bad\(n)", files: ["combined_data_1.txt": "2:\n13,4,2006-01-01\n", "combined_data_2.txt": text])
            let result = try recsys(["load", "--append", dir.path])
            XCTAssertEqual(result.status, 2, result.stderr)
            XCTAssertTrue(result.stderr.contains(message), result.stderr)
            XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), 4)
            XCTAssertEqual(try db.int("SELECT count(*) FROM etl_append_file"), 0)
        }
        // MovieLens files cannot go into a Netflix warehouse.
        let other = try folderOf("ml", files: ["ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,1136073600\n"])
        let wrong = try recsys(["load", "--append", other.path])
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("the warehouse holds netflix data"), wrong.stderr)
    }

    func testAKilledAppendResumesAndEndsExactly() throws {
        let data = folder.appendingPathComponent("gen")
        try generate(.movielens, into: data, ratings: 6_000, customers: 200, movies: 80, seed: 4)
        XCTAssertEqual(try recsys(["load", "--data", data.path]).status, 0)
        let before = try db.int("SELECT count(*) FROM fact_ratings")
        // 3,000 new ratings of unseen pairs (users 201–...), in time order, not by user.
        var lines = ["userId,movieId,rating,timestamp"]
        let movies = try rows("SELECT movie_id FROM dim_movie ORDER BY movie_id").map { $0[0] }
        for i in 0..<3_000 { lines.append("\(201 + i % 150),\(movies[i / 150]),\(Double(1 + i % 9) / 2 + 0.5),\(1_136_073_600 + i * 60)") }
        let dir = try folderOf("delta", files: ["ratings.csv": lines.joined(separator: "\n") + "\n"])
        let slow = try CLI.start(["load", "--append", dir.path, "--database", conninfo, "--batch-rows", "200", "--batch-pause-ms", "150"], home: folder)
        var applied = 0
        for _ in 0..<200 where applied < 400 {
            usleep(50_000)
            applied = (try? db.int("SELECT coalesce(max(rows_done), 0) FROM etl_append_file")) ?? 0
        }
        kill(slow.processIdentifier, SIGKILL)
        slow.waitUntilExit()
        let partial = try db.int("SELECT rows_done FROM etl_append_file")
        XCTAssertGreaterThan(partial, 0)
        XCTAssertLessThan(partial, 3_000, "killed mid-file")
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), before + partial, "each committed batch and its checkpoint agree")
        let resumed = try recsys(["load", "--append", dir.path, "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((report["files"] as! [[String: Any]])[0]["applied_this_run"] as? Int, 3_000 - partial)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings"), before + 3_000)
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings f JOIN dim_customer c USING (customer_key) WHERE c.customer_id > 200"), 3_000)
        XCTAssertEqual(try recsys(["check"]).status, 0)
    }
}

/// An append ends where a fresh load of all the files together ends.
final class AppendEqualsLoadCLITests: CLITestCase {
    override var databasePrefix: String { "appendeq" }

    func testAppendAfterLoadEqualsAFreshLoadOfEveryFileAndDoesNotBlockAReader() throws {
        let all = folder.appendingPathComponent("all"), first = folder.appendingPathComponent("first"), later = folder.appendingPathComponent("later")
        try generate(.netflix, into: all, ratings: 30_000, customers: 800, movies: 90, seed: 21)
        for dir in [first, later] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        let files = try FileManager.default.contentsOfDirectory(atPath: all.path).filter { $0.hasPrefix("combined_data_") }.sorted()
        for name in files.dropLast() + ["movie_titles.csv"] {
            try FileManager.default.copyItem(at: all.appendingPathComponent(name), to: first.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(at: all.appendingPathComponent(files.last!), to: later.appendingPathComponent(files.last!))
        XCTAssertEqual(try recsys(["load", "--data", first.path, "--skip-check"]).status, 0)

        // A reader inside a long query the whole time: the append must not wait for it.
        let reader = try db
        let readerDone = DispatchSemaphore(value: 0)
        let readerStarted = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? reader.execute("BEGIN")
            _ = try? reader.execute("SELECT count(*) FROM fact_ratings")
            readerStarted.signal()
            _ = try? reader.execute("SELECT pg_sleep(6)")
            _ = try? reader.execute("COMMIT")
            readerDone.signal()
        }
        readerStarted.wait()
        let started = Date()
        let append = try recsys(["load", "--append", later.path])
        XCTAssertEqual(append.status, 0, append.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the append did not wait for the reader")
        XCTAssertEqual(readerDone.wait(timeout: .now() + 0.01), .timedOut, "the reader was still reading")

        // A second warehouse: every file loaded at once.
        let fresh = try TestServer.makeDatabase("appendeq")
        defer { TestServer.dropDatabase(fresh) }
        XCTAssertEqual(try CLI.run(["load", "--data", all.path, "--skip-check", "--database", fresh], home: folder).status, 0)
        let other = try TestServer.connect(fresh)
        func same(_ sql: String, _ what: String) throws {
            let a = try db.execute(sql).rows, b = try other.execute(sql).rows
            XCTAssertEqual(a.count, b.count, what)
            XCTAssertTrue(a == b, "\(what) differ")
        }
        try same("""
            SELECT c.customer_id, m.movie_id, d.date_actual, f.rating FROM fact_ratings f JOIN dim_customer c USING (customer_key)
            JOIN dim_movie m USING (movie_key) JOIN dim_date d USING (date_key) ORDER BY 1, 2
            """, "facts")
        try same("SELECT customer_id, first_rating_date, last_rating_date, total_ratings FROM dim_customer ORDER BY 1", "customers")
        try same("SELECT movie_key, movie_id, title, release_year FROM dim_movie ORDER BY 1", "movies")
        try same("SELECT d.* FROM dim_date d WHERE EXISTS (SELECT 1 FROM fact_ratings f WHERE f.date_key = d.date_key) ORDER BY 1", "rated days")
        // The append kept what it is meant to keep, and nothing else differs.
        XCTAssertEqual(try db.int("SELECT count(*) FROM fact_ratings_history"), 0)
        XCTAssertEqual(try recsys(["check"]).status, 0)
        readerDone.wait()
    }
}

/// `recsys refresh`: yesterday's model scored on today's ratings, re-solved where they changed.
final class RefreshCLITests: CLITestCase {
    override var databasePrefix: String { "refresh" }

    func testRefreshFoldsInTheNewRatingsAndScoresThemPrequentially() throws {
        // A planted dataset whose last rating file arrives a day later.
        let data = folder.appendingPathComponent("data"), later = folder.appendingPathComponent("later")
        try generate(.netflix, into: data, ratings: 40_000, customers: 700, movies: 120, seed: 8)
        try FileManager.default.createDirectory(at: later, withIntermediateDirectories: true)
        let files = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("combined_data_") }.sorted()
        try FileManager.default.moveItem(at: data.appendingPathComponent(files.last!), to: later.appendingPathComponent(files.last!))
        try? FileManager.default.removeItem(at: data.appendingPathComponent("probe.txt"))
        XCTAssertEqual(try recsys(["load", "--data", data.path, "--skip-check"]).status, 0)
        XCTAssertEqual(try recsys(["features"]).status, 0)
        let train = try recsys(["train", "--model", "als", "--rank", "4", "--iterations", "8"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let nothing = try recsys(["refresh"])
        XCTAssertEqual(nothing.status, 2)
        XCTAssertTrue(nothing.stderr.contains("nothing to refresh"), nothing.stderr)

        XCTAssertEqual(try recsys(["load", "--append", later.path]).status, 0)
        let added = try db.int("SELECT count(*) FROM fact_ratings WHERE batch_id IS NOT NULL")
        XCTAssertGreaterThan(added, 1_000)
        let result = try recsys(["refresh", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(report["new_ratings"] as? Int, added)
        let heldOut = report["held_out"] as! Int
        XCTAssertEqual(Double(heldOut) / Double(added), 0.145, accuracy: 0.04, "the split's test (10 %) and validation (5 % of the rest) parts")
        func rmse(_ key: String) -> Double { (report[key] as! [String: Any])["rmse"] as! Double }
        // The movies of the late file had no ratings yesterday: the old model knew nothing of them.
        XCTAssertLessThan(rmse("after"), rmse("before_held_out") * 0.9, "\(report)")
        XCTAssertGreaterThan(report["movies_refreshed"] as! Int, 0)
        // Registered with both scores; the newest saved model now, so recommend and serve take it.
        let run = report["run_id"] as! Int
        let stored = try rows("SELECT (metrics->'prequential'->>'new_ratings')::int, (metrics->'prequential'->'after'->>'rmse') IS NOT NULL, data_version FROM model_runs WHERE run_id = \(run)")
        XCTAssertEqual(stored[0][0], String(added))
        XCTAssertEqual(stored[0][1], "t")
        XCTAssertEqual(stored[0][2], try db.execute("SELECT data_version FROM etl_run").scalar())
        let recommend = try recsys(["recommend", "--customer", try rows("SELECT customer_id FROM dim_customer LIMIT 1")[0][0], "--json"])
        XCTAssertEqual(recommend.status, 0, recommend.stderr)
        XCTAssertTrue(recommend.stdout.contains(report["model_path"] as! String), recommend.stdout)
        // The evaluation report draws the refreshes as a line over the deltas.
        XCTAssertEqual(try recsys(["features"]).status, 0)
        let out = folder.appendingPathComponent("report")
        let evaluate = try recsys(["evaluate", "--out", out.path])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as! [String: Any]
        let prequential = try XCTUnwrap(metrics["prequential"] as? [[String: Any]])
        XCTAssertEqual(prequential.map { $0["run_id"] as? Int }, [run])
        XCTAssertEqual(prequential[0]["after"] as! Double, rmse("after"), accuracy: 1e-9)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Models following the data") && html.contains("id=\"prequential\""), "the section and its chart")
    }

    func testRefreshOnTheProbeSplitHoldsOutAReRatedProbePair() throws {
        let data = folder.appendingPathComponent("data")
        try generate(.netflix, into: data, ratings: 20_000, customers: 500, movies: 80, seed: 9)
        XCTAssertEqual(try recsys(["load", "--data", data.path, "--skip-check"]).status, 0)
        XCTAssertEqual(try recsys(["features", "--split", "probe"]).status, 0)
        XCTAssertEqual(try recsys(["train", "--model", "als", "--rank", "4", "--iterations", "5"]).status, 0)
        // A probe pair rated again: it is a test pair of the split, so the refresh must hold it out.
        let probe = try String(contentsOf: data.appendingPathComponent("probe.txt"), encoding: .utf8).split(separator: "\n")
        let movie = probe[0].dropLast(), customer = probe[1]
        let day = folder.appendingPathComponent("day")
        try FileManager.default.createDirectory(at: day, withIntermediateDirectories: true)
        try "\(movie):\n\(customer),1,2006-01-02\n".write(to: day.appendingPathComponent("combined_data_day2.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try recsys(["load", "--append", day.path]).status, 0)
        let result = try recsys(["refresh", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(report["new_ratings"] as? Int, 1)
        XCTAssertEqual(report["held_out"] as? Int, 1)
        XCTAssertEqual(report["customers_refreshed"] as? Int, 0, "a held-out rating re-solves nothing")
    }
}
