import Foundation
import Runtime
import XCTest
@testable import Generator

/// `DeltaGenerator`: follow-up batches of a generated dataset, checked against the base's own files.
final class DeltaGeneratorTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("recsys-delta-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    private func base(_ format: GeneratedFormat, taste: Double = 0) throws -> URL {
        var config = GeneratorConfiguration()
        config.format = format
        config.ratings = 40_000
        config.customers = 2_000
        config.movies = 400
        config.taste = taste
        config.seed = 5
        let directory = scratch.appendingPathComponent("base-\(format.rawValue)-\(taste)")
        _ = try DatasetGenerator.generate(config, to: directory)
        return directory
    }

    private func delta(_ index: Int, from base: URL, threads: Int = 2, name: String? = nil) throws -> (URL, DeltaSummary) {
        var config = DeltaConfiguration()
        config.index = index
        config.ratings = 3_000
        config.threads = threads
        let directory = scratch.appendingPathComponent(name ?? "delta-\(index)-\(base.lastPathComponent)")
        return (directory, try DeltaGenerator.generate(config, base: base, to: directory))
    }

    private struct Line: Hashable { var customer: Int64; var movie: Int64 }

    /// (customer, movie) → "stars,date" of every rating in a Netflix folder's combined files.
    private func netflixPairs(_ directory: URL) throws -> [Line: String] {
        var pairs: [Line: String] = [:]
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("combined_data_") }
        for name in names {
            var movie: Int64 = 0
            for line in try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8).split(separator: "\n") {
                if line.hasSuffix(":") { movie = Int64(line.dropLast())!; continue }
                let fields = line.split(separator: ",", maxSplits: 1)
                XCTAssertNil(pairs.updateValue(String(fields[1]), forKey: Line(customer: Int64(fields[0])!, movie: movie)),
                             "\(name): a pair twice")
            }
        }
        return pairs
    }

    func testANetflixBatchRatesWhatItsSummarySaysAgainstTheBase() throws {
        let base = try base(.netflix, taste: 2)
        let (directory, summary) = try delta(1, from: base)
        let old = try netflixPairs(base)
        let new = try netflixPairs(directory)
        XCTAssertEqual(new.count, 3_000)
        XCTAssertEqual(summary.ratings, 3_000)
        XCTAssertEqual(summary.rerated, 60, "2 % re-ratings")
        XCTAssertEqual(summary.newCustomerRatings, 150)
        XCTAssertEqual(new.keys.filter { old[$0] != nil }.count, summary.rerated, "exactly the re-ratings are base pairs")
        XCTAssertEqual(summary.newPairs + summary.rerated + summary.newCustomerRatings + summary.newMovieRatings, summary.ratings)
        let baseMovies = Set(old.keys.map(\.movie)), baseCustomers = Set(old.keys.map(\.customer))
        XCTAssertEqual(new.keys.filter { !baseMovies.contains($0.movie) }.count, summary.newMovieRatings)
        XCTAssertEqual(new.keys.filter { !baseCustomers.contains($0.customer) }.count, summary.newCustomerRatings)
        XCTAssertEqual(Set(new.keys.map(\.customer)).subtracting(baseCustomers).count, summary.newCustomers)
        XCTAssertTrue(new.values.allSatisfy { $0.hasSuffix(",2006-01-01") && (1...5).contains(Int($0.prefix(1))!) })
        // The titles file: the new movie and one corrected release year of a base movie.
        let titles = try String(contentsOf: directory.appendingPathComponent("movie_titles.csv"), encoding: .isoLatin1)
            .split(separator: "\n")
        XCTAssertEqual(titles.count, summary.newMovies + summary.changedTitles)
        XCTAssertEqual(titles.filter { baseMovies.contains(Int64($0.prefix { $0 != "," })!) }.count, summary.changedTitles)
        // The oracle: noise 0.35 rounded to whole stars, as in the base.
        XCTAssertEqual(summary.oracleRMSE, 0.45, accuracy: 0.08)
    }

    func testBatchesAreReproducibleForAnyThreadCountAndFollowEachOther() throws {
        let base = try base(.netflix)
        let (a, first) = try delta(1, from: base, threads: 1, name: "a")
        let (b, _) = try delta(1, from: base, threads: 2, name: "b")
        for file in first.files where file != "delta.json" {
            XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent(file)), try Data(contentsOf: b.appendingPathComponent(file)), file)
        }
        let (c, second) = try delta(2, from: base)
        XCTAssertEqual(second.firstDate, "2006-01-02")
        let one = try netflixPairs(a), two = try netflixPairs(c)
        // Popular customers meet popular movies again, but most pairs are the batch's own.
        XCTAssertLessThan(Set(one.keys).intersection(two.keys).count, 300, "batches draw their own pairs")
        let newIn = { (pairs: [Line: String], old: Set<Int64>) in Set(pairs.keys.map(\.customer)).subtracting(old) }
        let baseCustomers = Set(try netflixPairs(base).keys.map(\.customer))
        XCTAssertTrue(newIn(one, baseCustomers).isDisjoint(with: newIn(two, baseCustomers)), "new customers get ids of their own batch")
    }

    func testAMovieLensBatchIsADayOfFeedSortedByTime() throws {
        let base = try base(.movielens)
        let (directory, summary) = try delta(3, from: base)
        let rows = try String(contentsOf: directory.appendingPathComponent("ratings.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "userId,movieId,rating,timestamp")
        let stamps = rows.dropFirst().map { Int($0.split(separator: ",")[3])! }
        XCTAssertEqual(stamps.count, summary.ratings)
        XCTAssertEqual(stamps, stamps.sorted())
        let day = CivilDate(year: 2024, month: 1, day: 3).daysSinceEpoch * 86_400
        XCTAssertTrue(stamps.allSatisfy { (day..<(day + 86_400)).contains($0) })
        XCTAssertEqual(summary.firstDate, "2024-01-03")
        XCTAssertTrue(rows.dropFirst().allSatisfy { ["0", "5"].contains($0.split(separator: ",")[2].split(separator: ".")[1]) }, "half stars")
    }

    func testAFolderThatIsNotAGeneratedBaseIsRefused() throws {
        XCTAssertThrowsError(try delta(1, from: scratch)) { error in
            XCTAssertTrue("\(error)".contains("truth.json: missing"), "\(error)")
        }
        let base = try base(.netflix)
        // An edited planted model no longer matches what truth.json rebuilds.
        let model = base.appendingPathComponent("planted_model.bin")
        var bytes = try Data(contentsOf: model)
        bytes[40] ^= 0xFF
        try bytes.write(to: model)
        XCTAssertThrowsError(try delta(1, from: base)) { error in
            XCTAssertTrue("\(error)".contains("is not what its truth.json rebuilds"), "\(error)")
        }
        var bad = DeltaConfiguration()
        bad.rerateShare = 0.7
        bad.newCustomerShare = 0.5
        XCTAssertThrowsError(try bad.validate())
    }
}
