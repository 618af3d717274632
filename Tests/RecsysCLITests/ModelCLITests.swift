import Foundation
import Generator
import TestSupport
import Warehouse
import XCTest

/// features → train → evaluate → recommend, run as a user runs them: the
/// built binary on generated data with a planted model, loaded into a real
/// PostgreSQL. One dataset is generated and loaded per test class; tests that
/// change the features or the data get a database of their own.
final class ModelCLITests: XCTestCase {
    /// Planted rank and the data around it: ~200 ratings per customer and
    /// ~750 per movie, so that a rank-2 model can be estimated to within a few
    /// percent of the noise. 5 % of the ratings are listed in probe.txt.
    static let plantedRank = 2
    nonisolated(unsafe) static var shared: (home: URL, data: URL, conninfo: String, truth: [String: Any], train: [String: Any])?

    override class func setUp() {
        super.setUp()
        do {
            let home = CLI.temporaryFolder("models")
            chmod(home.path, 0o755)
            let data = home.appendingPathComponent("planted")
            var config = GeneratorConfiguration()
            config.ratings = 300_000
            config.customers = 1_500
            config.movies = 400
            config.rank = plantedRank
            config.probeFraction = 0.05
            config.seed = 17
            _ = try DatasetGenerator.generate(config, to: data)
            let conninfo = try TestServer.makeDatabase("models")
            let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: data.appendingPathComponent("truth.json"))) as! [String: Any]
            shared = (home, data, conninfo, truth, [:])
            try check(run(["load", "--data", data.path]), "load")
            try check(run(["features", "--split", "probe"]), "features")
            let train = try check(run(["train", "--model", "als", "--rank", "\(plantedRank)", "--reg", "0.01", "--iterations", "12", "--json"]), "train")
            shared!.train = try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as! [String: Any]
        } catch {
            XCTFail("setting up the planted warehouse failed: \(error)")
        }
    }

    override class func tearDown() {
        if let shared {
            TestServer.dropDatabase(shared.conninfo)
            try? FileManager.default.removeItem(at: shared.home)
        }
        super.tearDown()
    }

    @discardableResult
    static func check(_ result: CLI.Result, _ what: String) throws -> CLI.Result {
        guard result.status == 0 else { throw WarehouseError(.usage, "\(what) failed (\(result.status)): \(result.stderr)") }
        return result
    }

    static func run(_ arguments: [String], conninfo: String? = nil, home: URL? = nil) throws -> CLI.Result {
        try CLI.run(arguments + ["--database", conninfo ?? shared!.conninfo], home: home ?? shared!.home)
    }

    func run(_ arguments: [String]) throws -> CLI.Result { try Self.run(arguments) }

    func json(_ result: CLI.Result) throws -> Any {
        XCTAssertEqual(result.status, 0, result.stderr)
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    var db: Connection { get throws { try TestServer.connect(Self.shared!.conninfo) } }

    // MARK: - accuracy

    /// The acceptance bar: ALS at the planted rank within 3 % of the oracle
    /// RMSE the generator recorded over exactly the probe ratings (the planted
    /// model's own error: the noise and the rounding to whole stars).
    func testALSAtThePlantedRankIsWithinThreePercentOfTheOracle() throws {
        let shared = try XCTUnwrap(Self.shared)
        let oracle = try XCTUnwrap(shared.truth["oracle_rmse_probe"] as? Double)
        let metrics = try XCTUnwrap(shared.train["metrics"] as? [String: Any])
        let rmse = try XCTUnwrap(metrics["rmse"] as? Double)
        XCTAssertEqual(metrics["n"] as? Int, shared.truth["probe_ratings"] as? Int, "the test part is exactly the probe ratings")
        XCTAssertLessThanOrEqual(rmse, 1.03 * oracle, "ALS test RMSE \(rmse) vs oracle \(oracle)")
        XCTAssertGreaterThan(rmse, 0.95 * oracle, "better than the planted model itself would be suspicious")
        XCTAssertEqual(metrics["fallbacks"] as? Int, 0)
        for key in ["mae", "mape", "mse"] { XCTAssertNotNil(metrics[key] as? Double, key) }
        XCTAssertEqual(try XCTUnwrap(metrics["mse"] as? Double), rmse * rmse, accuracy: 1e-9)
    }

    func testTrainJSONRegistersTheRunAndWritesTheModelFile() throws {
        let train = try XCTUnwrap(Self.shared?.train)
        XCTAssertEqual(train["model"] as? String, "als")
        let params = try XCTUnwrap(train["params"] as? [String: Any])
        XCTAssertEqual(params["rank"] as? Int, Self.plantedRank)
        XCTAssertEqual(params["reg"] as? Double, 0.01)
        XCTAssertGreaterThan(try XCTUnwrap(train["fit_seconds"] as? Double), 0)
        let path = try XCTUnwrap(train["model_path"] as? String)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        let iterations = try XCTUnwrap(train["iterations"] as? [[String: Any]])
        XCTAssertEqual(iterations.count, 12)
        XCTAssertNotNil(iterations.last?["validation_rmse"] as? Double)
        XCTAssertLessThan(try XCTUnwrap(iterations.last?["train_rmse"] as? Double), try XCTUnwrap(iterations.first?["train_rmse"] as? Double))
        let row = try db.execute("SELECT model, path, metrics->'test'->>'rmse', jsonb_array_length(iterations) FROM model_runs WHERE run_id = $1",
                                 [String(try XCTUnwrap(train["run_id"] as? Int))]).rows
        XCTAssertEqual(row.first?[0], "als")
        XCTAssertEqual(row.first?[1], path)
        XCTAssertEqual(try XCTUnwrap(Double(row.first?[2] ?? "")), try XCTUnwrap((train["metrics"] as? [String: Any])?["rmse"] as? Double), accuracy: 1e-12)
        XCTAssertEqual(row.first?[3], "12")
    }

    /// evaluate puts the model beside the baselines, on the same test ratings,
    /// with the numbers train reported.
    func testEvaluateComparesTheModelWithTheBaselines() throws {
        let rows = try XCTUnwrap(try json(run(["evaluate", "--json"])) as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: rows.map { (($0["name"] as? String ?? "").components(separatedBy: " ").first!, $0) })
        let mean = try XCTUnwrap(byName["global_mean"]?["rmse"] as? Double)
        let bias = try XCTUnwrap(byName["bias"]?["rmse"] as? Double)
        let als = try XCTUnwrap(byName["als"]?["rmse"] as? Double)
        XCTAssertLessThan(als, bias)
        XCTAssertLessThan(bias, mean)
        XCTAssertEqual(als, (Self.shared!.train["metrics"] as? [String: Any])?["rmse"] as? Double)
        let n = Set(rows.compactMap { $0["n"] as? Int })
        XCTAssertEqual(n, [Self.shared!.truth["probe_ratings"] as! Int])
        // The global-mean baseline by hand: the train mean against the probe ratings.
        let exact = try db.execute("""
            WITH probe AS (SELECT customer_key, movie_key FROM feature_split_pair
                           WHERE split_id = (SELECT max(split_id) FROM feature_split))
            SELECT sqrt(avg((f.rating - s.global_mean) ^ 2)) FROM fact_ratings f JOIN probe USING (customer_key, movie_key),
                   (SELECT global_mean FROM feature_split ORDER BY split_id DESC LIMIT 1) s
            """).scalar()
        XCTAssertEqual(mean, try XCTUnwrap(Double(exact ?? "")), accuracy: 1e-9)
    }

    // MARK: - recommend

    func testRecommendGivesUnseenMoviesWithTitlesInScoreOrder() throws {
        let db = try self.db
        // The most active customer who still has at least 7 movies left to see.
        let customer = try XCTUnwrap(try db.execute("""
            SELECT customer_id FROM dim_customer WHERE total_ratings <= (SELECT count(*) - 7 FROM dim_movie)
            ORDER BY total_ratings DESC, customer_id LIMIT 1
            """).scalar())
        let report = try XCTUnwrap(try json(run(["recommend", "--customer", customer, "--top", "7", "--json"])) as? [String: Any])
        XCTAssertEqual(report["customer_id"] as? Int, Int(customer))
        XCTAssertEqual(report["basis"] as? String, "model")
        let list = try XCTUnwrap(report["recommendations"] as? [[String: Any]])
        XCTAssertEqual(list.count, 7)
        let rated = Set(try db.execute("""
            SELECT m.movie_id FROM fact_ratings f JOIN dim_movie m USING (movie_key) JOIN dim_customer c USING (customer_key)
            WHERE c.customer_id = $1
            """, [customer]).rows.map { $0[0]! })
        let predicted = list.compactMap { $0["predicted_rating"] as? Double }
        XCTAssertEqual(predicted, predicted.sorted(by: >))
        for item in list {
            let id = String(try XCTUnwrap(item["movie_id"] as? Int))
            XCTAssertFalse(rated.contains(id), "movie \(id) was already rated")
            let title = try db.execute("SELECT title, release_year FROM dim_movie WHERE movie_id = $1", [id]).rows.first
            XCTAssertEqual(item["title"] as? String, title?[0])
            XCTAssertEqual((item["year"] as? Int).map(String.init), title?[1] ?? nil)
            XCTAssertTrue((1...5).contains(try XCTUnwrap(item["predicted_rating"] as? Double)))
        }
        // --include-rated lets rated movies in: the full list of everything must contain some.
        let everything = try XCTUnwrap(try json(run(["recommend", "--customer", customer, "--top", "400", "--include-rated", "--json"])) as? [String: Any])
        let all = try XCTUnwrap(everything["recommendations"] as? [[String: Any]]).compactMap { $0["movie_id"] as? Int }.map(String.init)
        XCTAssertEqual(Set(all).intersection(rated).count, rated.count)
    }

    func testUnknownCustomerIsAUsageError() throws {
        let result = try run(["recommend", "--customer", "987654321"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("customer 987654321 is not in the warehouse"), result.stderr)
    }

    /// Batch mode writes every customer's list; each equals the single-customer answer.
    func testBatchRecommendationsMatchTheSingleCustomerLists() throws {
        let report = try XCTUnwrap(try json(run(["recommend", "--all", "--top", "5", "--json"])) as? [String: Any])
        let db = try self.db
        // Five each, fewer for a customer with fewer than five movies left unrated.
        let expected = try db.int("SELECT sum(least(5, (SELECT count(*) FROM dim_movie) - total_ratings)) FROM dim_customer")
        XCTAssertEqual(report["rows"] as? Int, expected)
        let run = try XCTUnwrap(report["run_id"] as? Int)
        XCTAssertEqual(try db.int("SELECT count(*) FROM recommendations WHERE run_id = \(run)"), expected)
        XCTAssertEqual(try db.int("""
            SELECT count(*) FROM recommendations r JOIN fact_ratings f USING (customer_key, movie_key) WHERE r.run_id = \(run)
            """), 0, "no recommendation of a rated movie")
        for customer in try db.execute("SELECT customer_id FROM dim_customer ORDER BY customer_id LIMIT 3").rows.map({ $0[0]! }) {
            let single = try XCTUnwrap(try json(self.run(["recommend", "--customer", customer, "--top", "5", "--json"])) as? [String: Any])
            let ids = try XCTUnwrap(single["recommendations"] as? [[String: Any]]).compactMap { $0["movie_id"] as? Int }.map(String.init)
            let batch = try db.execute("""
                SELECT m.movie_id FROM recommendations r JOIN dim_movie m USING (movie_key) JOIN dim_customer c USING (customer_key)
                WHERE r.run_id = \(run) AND c.customer_id = $1 ORDER BY r.position
                """, [customer]).rows.map { $0[0]! }
            XCTAssertEqual(batch, ids, "customer \(customer)")
        }
    }

    func testDamagedModelFilesGiveClearErrors() throws {
        let path = try XCTUnwrap(Self.shared?.train["model_path"] as? String)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let customer = try XCTUnwrap(try db.execute("SELECT min(customer_id) FROM dim_customer").scalar())
        let truncated = Self.shared!.home.appendingPathComponent("truncated.rsm")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        var result = try run(["recommend", "--customer", customer, "--model", truncated.path])
        XCTAssertEqual(result.status, 2)   // a damaged model file is bad input
        XCTAssertTrue(result.stderr.contains("truncated.rsm") && result.stderr.contains("truncated"), result.stderr)
        let foreign = Self.shared!.home.appendingPathComponent("foreign.rsm")
        try Data("movie,title\n".utf8).write(to: foreign)
        result = try run(["evaluate", "--model", foreign.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("foreign.rsm") && result.stderr.contains("not a recsys model file"), result.stderr)
    }

    /// Grid search through the CLI: every candidate recorded under one grid id,
    /// the best refitted, saved and reported with its test metrics.
    func testGridSearchRecordsEveryCandidateAndSavesTheBest() throws {
        let conninfo = try ownDatabase()
        let result = try Self.run(["train", "--model", "als", "--grid", "rank=1,2;reg=0.01,0.1;iterations=3,6", "--json"], conninfo: conninfo)
        let report = try XCTUnwrap(try json(result) as? [String: Any])
        let candidates = try XCTUnwrap(report["candidates"] as? [[String: Any]])
        XCTAssertEqual(candidates.count, 8)
        let rmses = candidates.compactMap { $0["rmse"] as? Double }
        XCTAssertEqual(rmses, rmses.sorted())
        let best = try XCTUnwrap(report["best"] as? [String: Any])
        XCTAssertEqual((best["params"] as? [String: Any])?["rank"] as? Int, 2, "the planted rank wins")
        XCTAssertTrue(FileManager.default.fileExists(atPath: try XCTUnwrap(best["model_path"] as? String)))
        let db = try TestServer.connect(conninfo)
        let grid = try XCTUnwrap(report["grid_id"] as? String)
        XCTAssertEqual(try db.execute("SELECT count(*) FROM model_runs WHERE grid_id = $1 AND path IS NULL", [grid]).scalar(), "8")
        XCTAssertEqual(try db.execute("SELECT count(*) FROM model_runs WHERE grid_id = $1 AND path IS NOT NULL", [grid]).scalar(), "1")
        let bad = try Self.run(["train", "--grid", "rank=2;lr=0.1"], conninfo: conninfo)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("unknown key `lr`"), bad.stderr)
    }

    /// SVD and SGD through the same command; both beat the bias-only baseline.
    func testSVDAndSGDTrainAndBeatTheBiasBaseline() throws {
        let conninfo = try ownDatabase()
        try Self.check(Self.run(["features", "--split", "probe"], conninfo: conninfo), "features")
        try Self.check(Self.run(["train", "--model", "svd", "--rank", "2"], conninfo: conninfo), "svd")
        try Self.check(Self.run(["train", "--model", "sgd", "--rank", "2", "--iterations", "15", "--lr", "0.01"], conninfo: conninfo), "sgd")
        let rows = try XCTUnwrap(try json(Self.run(["evaluate", "--json"], conninfo: conninfo)) as? [[String: Any]])
        func rmse(_ prefix: String) throws -> Double {
            try XCTUnwrap(rows.first { ($0["name"] as? String ?? "").hasPrefix(prefix) }?["rmse"] as? Double)
        }
        XCTAssertLessThan(try rmse("svd"), try rmse("bias"))
        XCTAssertLessThan(try rmse("sgd"), try rmse("bias"))
    }

    /// The ranking models train, rank and predict no ratings; recommend without
    /// --model serves the saved model whose validation lists ranked best.
    func testRankingModelsAndRecommendServesTheBestValidationRanking() throws {
        let conninfo = try ownDatabase()
        try Self.check(Self.run(["features", "--split", "probe"], conninfo: conninfo), "features")
        for model in [["als", "--rank", "2"], ["ials", "--rank", "8", "--iterations", "5"], ["ease"]] {
            let trained = try XCTUnwrap(try json(Self.run(["train", "--model"] + model + ["--json"], conninfo: conninfo)) as? [String: Any])
            let ranking = try XCTUnwrap(trained["validation_ranking"] as? [String: Any], "\(model[0]) scored its validation lists")
            XCTAssertGreaterThan(try XCTUnwrap(ranking["ndcg"] as? Double), 0)
            XCTAssertEqual(trained["metrics"] == nil || trained["metrics"] is NSNull, model[0] != "als", "\(model[0]): rating metrics only for a rating model")
        }
        let rows = try XCTUnwrap(try json(Self.run(["evaluate", "--ranking", "--json"], conninfo: conninfo)) as? [[String: Any]])
        for name in ["popularity", "ials", "ease"] {
            let row = try XCTUnwrap(rows.first { ($0["name"] as? String ?? "").hasPrefix(name) }, name)
            XCTAssertNil(row["rmse"], "\(name) predicts no ratings")
            XCTAssertNotNil((row["ranking"] as? [String: Any])?["map"], name)
        }
        // The run with the best validation NDCG@10 is the one recommend serves.
        let best = try TestServer.connect(conninfo).execute("""
            SELECT model FROM model_runs WHERE path IS NOT NULL ORDER BY (metrics->'validation_ranking'->>'ndcg')::float8 DESC, run_id DESC LIMIT 1
            """).scalar()
        let customer = try XCTUnwrap(try TestServer.connect(conninfo).execute("SELECT min(customer_id) FROM dim_customer").scalar())
        let text = try Self.check(Self.run(["recommend", "--customer", customer, "--top", "3"], conninfo: conninfo), "recommend").stdout
        XCTAssertTrue(text.contains("— \(try XCTUnwrap(best)) model"), text)
        XCTAssertTrue(text.contains("the best validation NDCG@10"), text)
        // An item-based model exports its weights beside the (empty) factors, as .npy files numpy reads.
        let ease = try XCTUnwrap(try TestServer.connect(conninfo).execute("SELECT path FROM model_runs WHERE model = 'ease' ORDER BY run_id DESC LIMIT 1").scalar())
        let out = Self.shared!.home.appendingPathComponent("ease-export-\(UUID().uuidString.prefix(6))")
        try Self.check(Self.run(["export-factors", "--model", ease, "--out", out.path], conninfo: conninfo), "export-factors")
        let movies = try XCTUnwrap(try TestServer.connect(conninfo).execute("SELECT count(*) FROM dim_movie").scalar())
        let npy = try Data(contentsOf: out.appendingPathComponent("item_weights.npy"))
        let header = String(decoding: npy.prefix(128), as: UTF8.self)
        XCTAssertTrue(header.contains("'shape': (\(movies), \(movies))"), header)
        XCTAssertEqual(npy.count, 128 + Int(movies)! * Int(movies)! * 4)
        // A ranking model's grid selects by the validation lists' NDCG (RMSE is refused).
        let grid = try XCTUnwrap(try json(Self.run(["train", "--model", "ease", "--grid", "lambda=50,500", "--json"], conninfo: conninfo)) as? [String: Any])
        let candidates = try XCTUnwrap(grid["candidates"] as? [[String: Any]])
        XCTAssertEqual(candidates.count, 2)
        XCTAssertTrue(candidates.allSatisfy { $0["rmse"] == nil && $0["ndcg"] is Double })
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(candidates[0]["ndcg"] as? Double), try XCTUnwrap(candidates[1]["ndcg"] as? Double))
        let refused = try Self.run(["train", "--model", "ials", "--grid", "rank=2,4", "--select", "rmse"], conninfo: conninfo)
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("--select ndcg@10"), refused.stderr)
        // A ranking model's list carries scores, not predicted ratings.
        let ials = try XCTUnwrap(try TestServer.connect(conninfo).execute("SELECT path FROM model_runs WHERE model = 'ials'").scalar())
        let list = try XCTUnwrap(try json(Self.run(["recommend", "--customer", customer, "--top", "3", "--model", ials, "--json"], conninfo: conninfo)) as? [String: Any])
        let items = try XCTUnwrap(list["recommendations"] as? [[String: Any]])
        XCTAssertEqual(items.count, 3)
        XCTAssertTrue(items.allSatisfy { $0["predicted_rating"] == nil && $0["score"] is Double })
    }

    // MARK: - features, fold-in, cold start (each in a database of its own)

    /// A fresh database with the planted data loaded.
    func ownDatabase() throws -> String {
        let conninfo = try TestServer.makeDatabase("models")
        addTeardownBlock { TestServer.dropDatabase(conninfo) }
        try Self.check(Self.run(["load", "--data", Self.shared!.data.path], conninfo: conninfo), "load")
        return conninfo
    }

    func testSplitsAreReproducibleAndRecorded() throws {
        let conninfo = try ownDatabase()
        func features(_ args: [String]) throws -> [String: Any] {
            let result = try Self.run(["features", "--json"] + args, conninfo: conninfo)
            return try XCTUnwrap(try json(result) as? [String: Any])
        }
        let a = try features(["--split", "random", "--seed", "5"]), b = try features(["--split", "random", "--seed", "5"])
        XCTAssertEqual(a["test_checksum"] as? String, b["test_checksum"] as? String)
        XCTAssertNotEqual(a["split_id"] as? Int, b["split_id"] as? Int)
        let c = try features(["--split", "random", "--seed", "6"])
        XCTAssertNotEqual(a["test_checksum"] as? String, c["test_checksum"] as? String)
        let total = try XCTUnwrap(a["train_ratings"] as? Int) + (a["validation_ratings"] as! Int) + (a["test_ratings"] as! Int)
        XCTAssertEqual(total, 300_000)
        XCTAssertEqual(Double(a["test_ratings"] as! Int), 30_000, accuracy: 4 * (300_000 * 0.09).squareRoot())
        let temporal = try features(["--split", "temporal", "--test-fraction", "0.2"])
        XCTAssertEqual(temporal["split"] as? String, "temporal")
        let db = try TestServer.connect(conninfo)
        XCTAssertEqual(try db.int("SELECT count(*) FROM feature_split"), 4)
        // Biases are stored for the newest split only, one row per customer and movie.
        XCTAssertEqual(try db.int("SELECT count(DISTINCT split_id) FROM feature_customer_bias"), 1)
        XCTAssertEqual(try db.int("SELECT count(*) FROM feature_customer_bias"), try db.int("SELECT count(*) FROM dim_customer"))
        XCTAssertEqual(try db.int("SELECT sum(ratings) FROM feature_movie_bias"), temporal["train_ratings"] as? Int)
    }

    /// file:PATH splits name the bad line; a customer whose every rating is a
    /// test pair has no training ratings and gets the labelled baseline list.
    func testFileSplitAndTheBaselineListForACustomerWithoutTrainingRatings() throws {
        let conninfo = try ownDatabase()
        let db = try TestServer.connect(conninfo)
        let customer = try XCTUnwrap(try db.execute("SELECT customer_id FROM dim_customer ORDER BY total_ratings, customer_id LIMIT 1").scalar())
        let pairs = try db.execute("""
            SELECT c.customer_id, m.movie_id FROM fact_ratings f JOIN dim_customer c USING (customer_key) JOIN dim_movie m USING (movie_key)
            WHERE c.customer_id = $1 OR (f.customer_key % 50 = 0)
            """, [customer]).rows
        let file = Self.shared!.home.appendingPathComponent("pairs-\(UUID().uuidString.prefix(6)).csv")
        try ("customer_id,movie_id\n" + pairs.map { "\($0[0]!),\($0[1]!)" }.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let features = try XCTUnwrap(try json(Self.run(["features", "--split", "file:\(file.path)", "--json"], conninfo: conninfo)) as? [String: Any])
        XCTAssertEqual(features["test_ratings"] as? Int, pairs.count)
        try Self.check(Self.run(["train", "--rank", "2", "--iterations", "3"], conninfo: conninfo), "train")
        let report = try XCTUnwrap(try json(Self.run(["recommend", "--customer", customer, "--json"], conninfo: conninfo)) as? [String: Any])
        XCTAssertEqual(report["basis"] as? String, "baseline")
        XCTAssertEqual((report["recommendations"] as? [Any])?.count, 10)

        let bad = Self.shared!.home.appendingPathComponent("bad-pairs.csv")
        try "customer_id,movie_id\n\(pairs[0][0]!),\(pairs[0][1]!)\n\(pairs[0][0]!),abc\n".write(to: bad, atomically: true, encoding: .utf8)
        let result = try Self.run(["features", "--split", "file:\(bad.path)"], conninfo: conninfo)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.stderr.contains("bad-pairs.csv:3: the movie id `abc` is not an integer"), result.stderr)
        let unrated = Self.shared!.home.appendingPathComponent("unrated-pairs.csv")
        try "987654321,\(pairs[0][1]!)\n".write(to: unrated, atomically: true, encoding: .utf8)
        let second = try Self.run(["features", "--split", "file:\(unrated.path)"], conninfo: conninfo)
        XCTAssertEqual(second.status, 2)
        XCTAssertTrue(second.stderr.contains("unrated-pairs.csv:1: customer 987654321 is not in the warehouse"), second.stderr)
        XCTAssertEqual(try db.int("SELECT count(*) FROM feature_split"), 1, "a refused split records nothing")
    }

    /// Ratings that arrive after training are folded in, without retraining.
    func testNewRatingsAreFoldedInWithoutRetraining() throws {
        let conninfo = try ownDatabase()
        let db = try TestServer.connect(conninfo)
        try Self.check(Self.run(["train", "--rank", "2", "--iterations", "5"], conninfo: conninfo), "train")
        // The customer rates five more movies: a copy of the data with their lines added to those movies' blocks.
        let customer = try XCTUnwrap(try db.execute("SELECT customer_id FROM dim_customer ORDER BY customer_id LIMIT 1").scalar())
        let unrated = try db.execute("""
            SELECT movie_id FROM dim_movie m WHERE NOT EXISTS (
                SELECT 1 FROM fact_ratings f JOIN dim_customer c USING (customer_key)
                WHERE f.movie_key = m.movie_key AND c.customer_id = $1) ORDER BY movie_id LIMIT 5
            """, [customer]).rows.map { $0[0]! }
        XCTAssertEqual(unrated.count, 5)
        let copy = Self.shared!.home.appendingPathComponent("more-\(UUID().uuidString.prefix(6))")
        try FileManager.default.copyItem(at: Self.shared!.data, to: copy)
        for name in try FileManager.default.contentsOfDirectory(atPath: copy.path) where name.hasPrefix("combined_data_") {
            let url = copy.appendingPathComponent(name)
            var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
            var i = 0
            while i < lines.count {
                if lines[i].hasSuffix(":"), unrated.contains(String(lines[i].dropLast())) {
                    lines.insert("\(customer),5,2005-12-30", at: i + 1)
                }
                i += 1
            }
            try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        try Self.check(Self.run(["load", "--data", copy.path, "--fresh"], conninfo: conninfo), "load --fresh")
        let report = try XCTUnwrap(try json(Self.run(["recommend", "--customer", customer, "--json"], conninfo: conninfo)) as? [String: Any])
        XCTAssertEqual(report["basis"] as? String, "folded_in")
        let ids = try XCTUnwrap(report["recommendations"] as? [[String: Any]]).compactMap { $0["movie_id"] as? Int }.map(String.init)
        XCTAssertEqual(ids.count, 10)
        XCTAssertTrue(Set(ids).isDisjoint(with: unrated), "the newly rated movies are not recommended again")
        // Batch mode needs a model of the current data.
        let batch = try Self.run(["recommend", "--all"], conninfo: conninfo)
        XCTAssertEqual(batch.status, 3, batch.stderr)
        // Training on the old features is refused too: the split belongs to the old data.
        let stale = try Self.run(["train", "--rank", "2", "--iterations", "2"], conninfo: conninfo)
        XCTAssertEqual(stale.status, 3)
        XCTAssertTrue(stale.stderr.contains("run `recsys features` again"), stale.stderr)
    }
}
