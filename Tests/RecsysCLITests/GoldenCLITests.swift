import Foundation
import TestSupport
import Warehouse
import XCTest

/// The `--json` documents of features, train, evaluate, recommend, graph and
/// analytics on one fixed seeded dataset, compared with the copies under
/// `Golden/`: moving code between modules must not change a byte of what the
/// commands print. Timings, paths and the data version (it hashes the files'
/// modification times) are masked, and non-integer numbers rounded to six
/// significant digits, so that only behaviour counts.
///
/// `RECSYS_UPDATE_GOLDEN=1 swift test --filter GoldenCLITests` writes the copies
/// anew (after a change that is meant to change the output; say why in the commit).
final class GoldenCLITests: DatabaseTestCase {
    override var databasePrefix: String { "golden" }

    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden", isDirectory: true)
    static let maskedKeys: Set<String> = ["seconds", "fit_seconds", "model_path", "path", "data_version", "log_file"]

    func recsys(_ arguments: [String]) throws -> String {
        let result = try CLI.run(arguments + ["--database", conninfo], home: folder)
        XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
        return result.stdout
    }

    func testJSONDocumentsStayTheSame() throws {
        chmod(folder.path, 0o755)
        let data = folder.appendingPathComponent("data")
        let generate = try CLI.run(["generate", "--out", data.path, "--ratings", "20000", "--customers", "500", "--movies", "80",
                                    "--seed", "5"], home: folder)
        XCTAssertEqual(generate.status, 0, generate.stderr)
        _ = try recsys(["load", "--data", data.path])
        let db = try TestServer.connect(conninfo)
        let customer = try XCTUnwrap(try db.execute("SELECT min(customer_id) FROM dim_customer").scalar())
        let documents: [(String, [String])] = [
            ("features", ["features", "--json"]),
            ("train", ["train", "--model", "als", "--rank", "3", "--iterations", "3", "--threads", "2", "--json"]),
            ("evaluate", ["evaluate", "--ranking", "--json"]),
            ("recommend", ["recommend", "--customer", customer, "--json"]),
            ("graph", ["graph", "--threads", "2", "--json"]),
            ("analytics", ["analytics", "--json"]),
        ]
        let update = ProcessInfo.processInfo.environment["RECSYS_UPDATE_GOLDEN"] == "1"
        for (name, arguments) in documents {
            let canonical = try Self.canonical(recsys(arguments))
            let url = Self.golden.appendingPathComponent("\(name).json")
            if update {
                try FileManager.default.createDirectory(at: Self.golden, withIntermediateDirectories: true)
                try Data(canonical.utf8).write(to: url)
                continue
            }
            let expected = try String(contentsOf: url, encoding: .utf8)
            XCTAssertEqual(canonical, expected, "\(name): the --json output changed (RECSYS_UPDATE_GOLDEN=1 rewrites Golden/ when that is meant)")
        }
    }

    /// Sorted keys, masked volatile values, numbers to six significant digits.
    static func canonical(_ text: String) throws -> String {
        func clean(_ value: Any, key: String?) -> Any {
            if let key, maskedKeys.contains(key) { return "<masked>" }
            switch value {
            case let object as [String: Any]:
                return Dictionary(uniqueKeysWithValues: object.map { ($0.key, clean($0.value, key: $0.key)) })
            case let array as [Any]:
                return array.map { clean($0, key: nil) }
            case let number as NSNumber:
                let double = number.doubleValue
                if double == double.rounded(), abs(double) < 1e15 { return number }
                return Double(String(format: "%.6g", double)) ?? double
            case let string as String:
                // A JSON document inside a string (the model's parameters): canonical too.
                if string.hasPrefix("{"), let inner = try? JSONSerialization.jsonObject(with: Data(string.utf8)) {
                    return clean(inner, key: nil)
                }
                return string
            default:
                return value
            }
        }
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        let data = try JSONSerialization.data(withJSONObject: clean(parsed, key: nil), options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
