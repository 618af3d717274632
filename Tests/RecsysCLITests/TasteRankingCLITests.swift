import Foundation
import Generator
import TestSupport
import Warehouse
import XCTest

/// Planted taste that decides who rates what (the generator's `--taste`) is
/// what a ranking model should find: on such data EASE and implicit ALS must
/// rank the held-out probe ratings better than "most popular", and they must
/// gain over it by more than on the uniform draw of the same planted model.
final class TasteRankingCLITests: XCTestCase {
    private func ndcg(taste: Double) throws -> [String: Double] {
        let home = CLI.temporaryFolder("taste")
        chmod(home.path, 0o755)
        addTeardownBlock { try? FileManager.default.removeItem(at: home) }
        let data = home.appendingPathComponent("planted")
        let run = ["generate", "--out", data.path, "--ratings", "60000", "--customers", "800", "--movies", "300",
                   "--rank", "4", "--taste", "\(taste)", "--seed", "23"]
        let generated = try CLI.run(run, home: home)
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let truth = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: data.appendingPathComponent("truth.json"))) as? [String: Any])
        XCTAssertEqual(truth["taste"] as? Double, taste > 0 ? taste : nil, "truth.json records the selectivity")
        let conninfo = try TestServer.makeDatabase("taste")
        addTeardownBlock { TestServer.dropDatabase(conninfo) }
        func step(_ arguments: [String]) throws -> String {
            let result = try CLI.run(arguments + ["--database", conninfo], home: home)
            XCTAssertEqual(result.status, 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
            return result.stdout
        }
        _ = try step(["load", "--data", data.path])
        _ = try step(["features", "--split", "probe"])
        _ = try step(["train", "--model", "ease", "--lambda", "50"])
        _ = try step(["train", "--model", "ials", "--rank", "4", "--reg", "1", "--iterations", "10"])
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(step(["evaluate", "--ranking", "--json"]).utf8)) as? [[String: Any]])
        var result: [String: Double] = [:]
        for name in ["popularity", "ease", "ials"] {
            let row = try XCTUnwrap(rows.first { ($0["name"] as? String ?? "").hasPrefix(name) }, name)
            result[name] = try XCTUnwrap((row["ranking"] as? [String: Any])?["ndcg"] as? Double, name)
        }
        return result
    }

    func testRankingModelsBeatMostPopularWhereTasteDecidesWhatIsRated() throws {
        let tasteful = try ndcg(taste: 4)
        let uniform = try ndcg(taste: 0)
        let popular = try XCTUnwrap(tasteful["popularity"])
        for model in ["ease", "ials"] {
            let gain = try XCTUnwrap(tasteful[model]) / popular
            XCTAssertGreaterThan(gain, 1.3, "\(model) NDCG@10 \(tasteful[model]!) against most popular \(popular)")
            let uniformGain = try XCTUnwrap(uniform[model]) / XCTUnwrap(uniform["popularity"])
            XCTAssertGreaterThan(gain, uniformGain, "\(model): taste should give it more to find than the uniform draw (\(uniform))")
        }
    }
}
