import Foundation
import Runtime
import XCTest
@testable import Generator

final class GeneratorTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("recsys-generator-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    // MARK: Fixtures

    /// 2,000 movies so the title shares are statistically certain (≈10 NULL years,
    /// ≈100 comma titles, ≈40 accented ones); 40,000 ratings keep a debug build fast.
    private func netflixConfig(seed: UInt64 = 7, threads: Int = 2) -> GeneratorConfiguration {
        var config = configuration(.netflix, seed: seed, threads: threads)
        config.ratings = 40_000
        config.customers = 3_000
        config.probeFraction = 0.05
        return config
    }

    private func movielensConfig(seed: UInt64 = 11, threads: Int = 2) -> GeneratorConfiguration {
        var config = configuration(.movielens, seed: seed, threads: threads)
        config.ratings = 30_000
        config.customers = 400
        return config
    }

    /// What both layouts' fixtures share: 2,000 movies, the seed and the thread count.
    private func configuration(_ format: GeneratedFormat, seed: UInt64, threads: Int) -> GeneratorConfiguration {
        var config = GeneratorConfiguration()
        config.format = format
        config.movies = 2_000
        config.seed = seed
        config.threads = threads
        return config
    }

    private func generate(_ config: GeneratorConfiguration, _ name: String,
                          progress: (@Sendable (Int) -> Void)? = nil) throws -> (URL, GenerationSummary) {
        let directory = scratch.appendingPathComponent(name, isDirectory: true)
        return (directory, try DatasetGenerator.generate(config, to: directory, progress: progress))
    }

    /// A MovieLens folder from `movielensConfig()` and the lines of its `name`
    /// file, checked to be `header` and then one row per rating or movie (`rowPer`).
    private func movielensFile(_ name: String, header: String, rowPer counted: KeyPath<GeneratorConfiguration, Int>,
                               file: StaticString = #filePath, line: UInt = #line)
        throws -> (config: GeneratorConfiguration, directory: URL, summary: GenerationSummary, rows: [Substring]) {
        let config = movielensConfig()
        let (directory, summary) = try generate(config, String(name.prefix { $0 != "." }))
        let rows = try lines(directory, name)
        XCTAssertEqual(rows.first.map(String.init), header, file: file, line: line)
        XCTAssertEqual(rows.count - 1, config[keyPath: counted], file: file, line: line)
        return (config, directory, summary, rows)
    }

    private func bytes(_ directory: URL, _ file: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(file))
    }

    private func lines(_ directory: URL, _ file: String) throws -> [Substring] {
        let text = try XCTUnwrap(String(data: bytes(directory, file), encoding: .utf8))
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0 }
    }

    private struct Rating: Hashable { var customer: Int; var movie: Int }

    /// Parses the combined files as strictly as the loader does.
    private func netflixRatings(_ directory: URL) throws -> [(pair: Rating, stars: Int, date: Substring)] {
        var result: [(pair: Rating, stars: Int, date: Substring)] = []
        var lastMovie = 0
        for file in 1...4 {
            var movie: Int?
            for line in try lines(directory, "combined_data_\(file).txt") {
                if line.hasSuffix(":") {
                    let id = try XCTUnwrap(Int(line.dropLast()), "bad header \(line)")
                    XCTAssertGreaterThan(id, lastMovie, "movies ascending across files")
                    movie = id; lastMovie = id
                    continue
                }
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                XCTAssertEqual(fields.count, 3, "line \(line)")
                let customer = try XCTUnwrap(Int(fields[0])), stars = try XCTUnwrap(Int(fields[1]))
                result.append((Rating(customer: customer, movie: try XCTUnwrap(movie)), stars, fields[2]))
            }
        }
        return result
    }

    private func probePairs(_ directory: URL) throws -> [Rating] {
        var pairs: [Rating] = []
        var movie: Int?
        for line in try lines(directory, "probe.txt") {
            if line.hasSuffix(":") { movie = Int(line.dropLast()); continue }
            pairs.append(Rating(customer: try XCTUnwrap(Int(line)), movie: try XCTUnwrap(movie)))
        }
        return pairs
    }

    /// Minimal RFC 4180 record splitter (no embedded line breaks in these files).
    private func csvFields(_ line: Substring) -> [String]? {
        var fields: [String] = [], field = "", quoted = false, atStart = true
        var chars = line.makeIterator()
        var pending: Character? = chars.next()
        while let c = pending {
            pending = chars.next()
            if quoted {
                if c == "\"" {
                    if pending == "\"" { field.append("\""); pending = chars.next() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "," {
                fields.append(field); field = ""; atStart = true; continue
            } else if c == "\"" {
                guard atStart else { return nil }  // a quote inside an unquoted field is malformed
                quoted = true
            } else { field.append(c) }
            atStart = false
        }
        guard !quoted else { return nil }
        fields.append(field)
        return fields
    }

    private struct PlantedModel {
        var rank: Int, mu: Double
        var customers: [Int: (bias: Float, factors: [Float])] = [:]
        var movies: [Int: (bias: Float, factors: [Float])] = [:]
        var customerOrder: [Int] = [], movieOrder: [Int] = []
    }

    private func readPlantedModel(_ directory: URL) throws -> PlantedModel {
        let data = try [UInt8](bytes(directory, "planted_model.bin"))
        XCTAssertEqual(Array(data[0..<8]), Array("RSPLANT1".utf8))
        var offset = 8
        func read<T: FixedWidthInteger>(_: T.Type) -> T {
            var value: T = 0
            for i in 0..<MemoryLayout<T>.size { value |= T(truncatingIfNeeded: data[offset + i]) << (8 * i) }
            offset += MemoryLayout<T>.size
            return value
        }
        let rank = Int(read(UInt32.self)), customerCount = Int(read(UInt32.self)), movieCount = Int(read(UInt32.self))
        var model = PlantedModel(rank: rank, mu: Double(bitPattern: read(UInt64.self)))
        func entity() -> (Int, Float, [Float]) {
            let id = Int(read(Int64.self))
            let bias = Float(bitPattern: read(UInt32.self))
            return (id, bias, (0..<rank).map { _ in Float(bitPattern: read(UInt32.self)) })
        }
        for _ in 0..<customerCount {
            let (id, b, f) = entity(); model.customers[id] = (b, f); model.customerOrder.append(id)
        }
        for _ in 0..<movieCount {
            let (id, b, f) = entity(); model.movies[id] = (b, f); model.movieOrder.append(id)
        }
        XCTAssertEqual(offset, data.count, "no trailing bytes")
        return model
    }

    /// The oracle prediction as a trainer would compute it from planted_model.bin.
    private func oracle(_ model: PlantedModel, customer: Int, movie: Int, range: ClosedRange<Double>) -> Double {
        let c = model.customers[customer]!, m = model.movies[movie]!
        var dot: Float = 0
        for f in 0..<model.rank { dot += m.factors[f] * c.factors[f] }
        return min(max(model.mu + Double(c.bias) + Double(m.bias) + Double(dot), range.lowerBound), range.upperBound)
    }

    // MARK: Configuration

    func testValidateRejectsImpossibleConfigurations() throws {
        XCTAssertNoThrow(try GeneratorConfiguration().validate())
        XCTAssertNoThrow(try GeneratorConfiguration.netflixScale().validate())
        let netflix = GeneratorConfiguration.netflixScale()
        XCTAssertEqual(netflix.ratings, 100_480_507)
        XCTAssertEqual(netflix.customers, 480_189)
        XCTAssertEqual(netflix.movies, 17_770)

        let cases: [(String, (inout GeneratorConfiguration) -> Void)] = [
            ("ratings", { $0.ratings = 0 }),
            ("customers", { $0.customers = 0 }),
            ("movies", { $0.movies = 0 }),
            ("customers × movies / 2", { $0.customers = 10; $0.movies = 10; $0.ratings = 51 }),
            ("rank", { $0.rank = 0 }),
            ("rank", { $0.rank = 201 }),
            ("noise", { $0.noise = -0.1 }),
            ("probeFraction", { $0.probeFraction = 1 }),
            ("probeFraction", { $0.probeFraction = -0.01 }),
        ]
        for (word, mutate) in cases {
            var config = GeneratorConfiguration()
            mutate(&config)
            XCTAssertThrowsError(try config.validate(), word) { error in
                XCTAssertTrue("\(error)".contains(word), "message names \(word): \(error)")
            }
            XCTAssertThrowsError(try DatasetGenerator.generate(config, to: scratch.appendingPathComponent("bad")))
        }
        var edge = GeneratorConfiguration()
        edge.customers = 10; edge.movies = 10; edge.ratings = 50
        XCTAssertNoThrow(try edge.validate())
    }

    // MARK: Determinism

    func testSameSeedGivesIdenticalBytesForAnyThreadCount() throws {
        for (one, two) in [(netflixConfig(threads: 1), netflixConfig(threads: 2)),
                           (movielensConfig(threads: 1), movielensConfig(threads: 3))] {
            let (a, summaryA) = try generate(one, "\(one.format)-a")
            let (b, summaryB) = try generate(two, "\(one.format)-b")
            XCTAssertEqual(summaryA.files, summaryB.files)
            for file in summaryA.files where file != "truth.json" {
                let left = try bytes(a, file), right = try bytes(b, file)
                XCTAssertEqual(left, right, "\(one.format) \(file) differs between 1 and \(two.threads) threads")
            }
            // Floating totals are merged in block order, so even they match bit for bit.
            XCTAssertEqual(summaryA.oracleRMSE, summaryB.oracleRMSE)
            XCTAssertEqual(summaryA.globalMean, summaryB.globalMean)
            XCTAssertEqual(summaryA.oracleRMSEProbe, summaryB.oracleRMSEProbe)
            XCTAssertEqual(summaryA.probeRatings, summaryB.probeRatings)
        }
    }

    func testDifferentSeedGivesDifferentData() throws {
        for format in GeneratedFormat.allCases {
            var first = format == .netflix ? netflixConfig() : movielensConfig()
            var second = first
            first.seed = 1; second.seed = 2
            let (a, _) = try generate(first, "\(format)-1")
            let (b, _) = try generate(second, "\(format)-2")
            let file = format == .netflix ? "combined_data_1.txt" : "ratings.csv"
            XCTAssertNotEqual(try bytes(a, file), try bytes(b, file))
            XCTAssertNotEqual(try bytes(a, "planted_model.bin"), try bytes(b, "planted_model.bin"))
        }
    }

    // MARK: Netflix layout

    func testNetflixRatingsAreExactDistinctAndMatchTheSummary() throws {
        let config = netflixConfig()
        let seen = ProgressBox()
        let (directory, summary) = try generate(config, "netflix") { seen.record($0) }
        let ratings = try netflixRatings(directory)

        XCTAssertEqual(ratings.count, config.ratings, "exactly the requested number of rating lines")
        XCTAssertEqual(summary.ratings, config.ratings)
        XCTAssertEqual(seen.last, config.ratings, "progress ends at the total")
        XCTAssertEqual(Set(ratings.map(\.pair)).count, ratings.count, "no (customer, movie) pair twice")

        let customers = Set(ratings.map(\.pair.customer)), movies = Set(ratings.map(\.pair.movie))
        // ratings ≥ customers and ≥ movies, so everybody is rated.
        XCTAssertEqual(customers.count, config.customers)
        XCTAssertEqual(summary.customers, customers.count)
        XCTAssertEqual(movies, Set(1...config.movies))
        XCTAssertEqual(summary.movies, movies.count)
        // Sparse customer ids within 1 ... round(C·2,649,429/480,189).
        let upper = (config.customers * 2_649_429 + 240_094) / 480_189
        XCTAssertGreaterThan(customers.max()!, config.customers)
        XCTAssertLessThanOrEqual(customers.max()!, upper)
        XCTAssertGreaterThanOrEqual(customers.min()!, 1)

        XCTAssertTrue(ratings.allSatisfy { (1...5).contains($0.stars) })
        let mean = Double(ratings.reduce(0) { $0 + $1.stars }) / Double(ratings.count)
        XCTAssertEqual(summary.globalMean, mean, accuracy: 1e-12)
        XCTAssertEqual(summary.globalMean, 3.6, accuracy: 0.3)
        XCTAssertEqual(Set(ratings.map(\.stars)), [1, 2, 3, 4, 5], "every star value occurs")

        let datePattern = try NSRegularExpression(pattern: "^\\d{4}-\\d{2}-\\d{2}$")
        for date in Set(ratings.map(\.date)) {
            let text = String(date)
            XCTAssertNotNil(datePattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), text)
            XCTAssertTrue(text >= "1999-11-11" && text <= "2005-12-31", text)
        }
        // Skewed to later years, like Netflix's growth.
        let late = ratings.filter { $0.date >= "2004-01-01" }.count
        XCTAssertGreaterThan(Double(late) / Double(ratings.count), 0.5)

        // Heavy-tailed popularity, but no movie rated by more than half the customers.
        var perMovie: [Int: Int] = [:]
        for r in ratings { perMovie[r.pair.movie, default: 0] += 1 }
        let counts = perMovie.values.sorted()
        XCTAssertLessThanOrEqual(counts.last!, config.customers / 2)
        XCTAssertGreaterThan(counts.last!, 10 * counts[counts.count / 2])

        // Every file exists; Netflix's 4499/9210/13368 split scaled to 2,000 movies.
        let firstMovies = try (1...4).map { try lines(directory, "combined_data_\($0).txt").first.map(String.init) }
        XCTAssertEqual(firstMovies, ["1:", "507:", "1038:", "1506:"])
        XCTAssertEqual(summary.files, ["combined_data_1.txt", "combined_data_2.txt", "combined_data_3.txt",
                                       "combined_data_4.txt", "movie_titles.csv", "probe.txt",
                                       "planted_model.bin", "truth.json"])
    }

    func testNetflixProbeListsExistingRatings() throws {
        let config = netflixConfig()
        let (directory, summary) = try generate(config, "probe")
        let all = Set(try netflixRatings(directory).map(\.pair))
        let probe = try probePairs(directory)
        XCTAssertEqual(probe.count, summary.probeRatings)
        XCTAssertEqual(Set(probe).count, probe.count, "no probe pair twice")
        XCTAssertTrue(Set(probe).isSubset(of: all), "every probe pair is a rating in the combined files")
        // Binomial(40,000, 0.05): mean 2,000, sd ≈ 44; ±300 is ~7 sd.
        XCTAssertEqual(Double(probe.count), Double(config.ratings) * config.probeFraction, accuracy: 300)
        let movies = probe.map(\.movie)
        XCTAssertEqual(movies, movies.sorted(), "probe movies ascending")
        XCTAssertNotNil(summary.oracleRMSEProbe)
    }

    func testOracleRMSEIsNoiseLevelAndReproducibleFromPlantedModel() throws {
        let config = netflixConfig()
        let (directory, summary) = try generate(config, "oracle")
        // Observed − predicted = ε + rounding error. ε ~ N(0, 0.35²); rounding to integers adds
        // an error roughly uniform on ±0.5 (variance 1/12), independent of ε, so the RMSE is about
        // √(0.35² + 1/12) ≈ 0.45, a little less because clipping at 1 and 5 removes some error.
        // Far below the ~1.0 spread of the ratings themselves, far above 0.
        XCTAssertGreaterThan(summary.oracleRMSE, 0.25)
        XCTAssertLessThan(summary.oracleRMSE, 0.6)
        XCTAssertEqual(try XCTUnwrap(summary.oracleRMSEProbe), summary.oracleRMSE, accuracy: 0.05)

        let model = try readPlantedModel(directory)
        XCTAssertEqual(model.rank, config.rank)
        XCTAssertEqual(model.mu, 3.6)
        XCTAssertEqual(model.customers.count, summary.customers)
        XCTAssertEqual(model.movies.count, summary.movies)
        XCTAssertEqual(model.customerOrder, model.customerOrder.sorted(), "customers in ascending id order")
        XCTAssertEqual(model.movieOrder, Array(1...config.movies))

        var sse = 0.0
        for r in try netflixRatings(directory) {
            let e = Double(r.stars) - oracle(model, customer: r.pair.customer, movie: r.pair.movie, range: 1...5)
            sse += e * e
        }
        XCTAssertEqual((sse / Double(config.ratings)).squareRoot(), summary.oracleRMSE, accuracy: 1e-9,
                       "the oracle is recomputable from planted_model.bin")

        // truth.json is the summary in the one JSON form (sorted snake_case keys).
        let truth = try bytes(directory, "truth.json")
        let decoded = try JSON.decode(GenerationSummary.self, from: truth)
        XCTAssertEqual(decoded.oracleRMSE, summary.oracleRMSE)
        XCTAssertEqual(decoded.ratings, summary.ratings)
        let text = String(decoding: truth, as: UTF8.self)
        XCTAssertTrue(text.contains("\n  \"customers\" : "))
        XCTAssertLessThan(text.range(of: "\"customers\"")!.lowerBound, text.range(of: "\"ratings\"")!.lowerBound)
    }

    func testMovieTitlesAreLatin1WithNullYearsAndCommas() throws {
        let config = netflixConfig()
        let (directory, _) = try generate(config, "titles")
        let data = try bytes(directory, "movie_titles.csv")
        XCTAssertNil(String(data: data, encoding: .utf8), "single-byte accents make the file invalid UTF-8")
        XCTAssertTrue(data.contains(0xE9) || data.contains(0xFC) || data.contains(0xF1) || data.contains(0xE7))
        let text = try XCTUnwrap(String(data: data, encoding: .isoLatin1))
        let rows = text.split(separator: "\n")
        XCTAssertEqual(rows.count, config.movies)
        XCTAssertTrue(text.hasSuffix("\n"))

        var nullYears = 0, commaTitles = 0, accented = 0
        for (index, row) in rows.enumerated() {
            // The loader splits on the first two commas only.
            let parts = row.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
            XCTAssertEqual(parts.count, 3, String(row))
            XCTAssertEqual(Int(parts[0]), index + 1)
            if parts[1] == "NULL" { nullYears += 1 } else {
                XCTAssertTrue((1915...2005).contains(Int(parts[1]) ?? 0), String(row))
            }
            XCTAssertFalse(parts[2].isEmpty)
            if parts[2].contains(",") { commaTitles += 1 }
            if parts[2].unicodeScalars.contains(where: { $0.value >= 0x80 }) { accented += 1 }
        }
        // Expected 10 NULLs (0.5%), 100 comma titles (5%), 40 accented (2%) out of 2,000.
        XCTAssertTrue((1...40).contains(nullYears), "NULL years: \(nullYears)")
        XCTAssertTrue((50...170).contains(commaTitles), "comma titles: \(commaTitles)")
        XCTAssertTrue((10...90).contains(accented), "accented titles: \(accented)")
        XCTAssertTrue(text.contains("é") || text.contains("ü") || text.contains("ñ"))
    }

    func testFewMoviesStillCreatesEveryFile() throws {
        var config = GeneratorConfiguration()
        config.ratings = 20; config.customers = 30; config.movies = 2; config.threads = 2
        let (directory, summary) = try generate(config, "tiny")
        let sizes = try (1...4).map { try bytes(directory, "combined_data_\($0).txt").count }
        XCTAssertEqual(sizes.filter { $0 == 0 }.count, 2, "2 movies fill 2 of the 4 files: \(sizes)")
        let ratings = try netflixRatings(directory)
        XCTAssertEqual(ratings.count, 20)
        XCTAssertEqual(Set(ratings.map(\.pair)).count, 20)
        // Fewer ratings than customers: only the rated ones are counted.
        XCTAssertEqual(summary.customers, Set(ratings.map(\.pair.customer)).count)
        XCTAssertLessThan(summary.customers, config.customers)
        XCTAssertEqual(summary.movies, 2)
        XCTAssertEqual(try readPlantedModel(directory).customers.count, summary.customers)

        // At the distinctness limit every pair is taken exactly once.
        var full = GeneratorConfiguration()
        full.customers = 9; full.movies = 6; full.ratings = 27
        let (fullDirectory, _) = try generate(full, "full")
        let fullRatings = try netflixRatings(fullDirectory)
        XCTAssertEqual(fullRatings.count, 27)
        XCTAssertEqual(Set(fullRatings.map(\.pair)).count, 27)
    }

    func testRegenerationReplacesFiles() throws {
        var config = netflixConfig()
        let (directory, _) = try generate(config, "again")
        config.ratings = 5_000
        _ = try DatasetGenerator.generate(config, to: directory)
        XCTAssertEqual(try netflixRatings(directory).count, 5_000)
    }

    // MARK: MovieLens layout

    func testMovieLensRatingsAreHalfStarsGroupedByUser() throws {
        let (config, directory, summary, rows) = try movielensFile("ratings.csv", header: "userId,movieId,rating,timestamp",
                                                                   rowPer: \.ratings)

        var previous: (user: Int, movie: Int) = (0, 0)
        var users = Set<Int>(), movies = Set<Int>(), pairs = Set<Rating>()
        var sum = 0.0, stars = Set<String>()
        let first = 820_454_400, last = 1_704_067_199  // 1996-01-01 … 2023-12-31 UTC
        for row in rows.dropFirst() {
            let f = row.split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(f.count, 4, String(row))
            let user = try XCTUnwrap(Int(f[0])), movie = try XCTUnwrap(Int(f[1]))
            let rating = try XCTUnwrap(Double(f[2])), time = try XCTUnwrap(Int(f[3]))
            XCTAssertTrue(user > previous.user || (user == previous.user && movie > previous.movie),
                          "sorted by userId then movieId: \(row)")
            XCTAssertFalse(users.contains(user) && user != previous.user, "user \(user) lines contiguous")
            XCTAssertTrue((0.5...5.0).contains(rating) && (rating * 2).rounded() == rating * 2, String(row))
            XCTAssertEqual(f[2].count, 3, "one decimal: \(row)")
            XCTAssertTrue((first...last).contains(time), String(row))
            previous = (user, movie)
            users.insert(user); movies.insert(movie); pairs.insert(Rating(customer: user, movie: movie))
            sum += rating; stars.insert(String(f[2]))
        }
        XCTAssertEqual(pairs.count, config.ratings, "no pair twice")
        XCTAssertEqual(users, Set(1...config.customers), "dense user ids, all rated")
        XCTAssertEqual(summary.customers, users.count)
        XCTAssertEqual(summary.movies, movies.count)
        XCTAssertEqual(summary.globalMean, sum / Double(config.ratings), accuracy: 1e-12)
        XCTAssertTrue(stars.contains("0.5") || stars.contains("1.0"))
        XCTAssertTrue(stars.contains("4.5") && stars.contains("5.0") && stars.contains("3.0"))
        XCTAssertNil(summary.oracleRMSEProbe)
        XCTAssertEqual(summary.probeRatings, 0)
        // Half-star rounding error is ~uniform on ±0.25 (variance 1/48): √(0.35² + 1/48) ≈ 0.38.
        XCTAssertGreaterThan(summary.oracleRMSE, 0.25)
        XCTAssertLessThan(summary.oracleRMSE, 0.5)

        let model = try readPlantedModel(directory)
        XCTAssertEqual(model.customerOrder, Array(1...config.customers))
        XCTAssertEqual(Set(model.movieOrder), movies)
        var sse = 0.0
        for row in rows.dropFirst() {
            let f = row.split(separator: ",")
            let e = Double(f[2])! - oracle(model, customer: Int(f[0])!, movie: Int(f[1])!, range: 0.5...5)
            sse += e * e
        }
        XCTAssertEqual((sse / Double(config.ratings)).squareRoot(), summary.oracleRMSE, accuracy: 1e-9)

        // Every rated movie is listed in movies.csv; ids are sparse within 1…3·movies.
        let listed = try Set(lines(directory, "movies.csv").dropFirst().map { Int($0.prefix { $0 != "," })! })
        XCTAssertEqual(listed.count, config.movies)
        XCTAssertTrue(movies.isSubset(of: listed))
        XCTAssertLessThanOrEqual(listed.max()!, 3 * config.movies)
        XCTAssertGreaterThan(listed.max()!, config.movies)
    }

    func testMovieLensMoviesFollowRFC4180() throws {
        let (_, _, _, rows) = try movielensFile("movies.csv", header: "movieId,title,genres", rowPer: \.movies)
        let genreNames: Set<String> = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
                                       "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX",
                                       "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
        var commas = 0, quotes = 0, nonASCII = 0, previousID = 0
        for row in rows.dropFirst() {
            let fields = try XCTUnwrap(csvFields(row), "malformed CSV: \(row)")
            XCTAssertEqual(fields.count, 3, String(row))
            let id = try XCTUnwrap(Int(fields[0]))
            XCTAssertGreaterThan(id, previousID); previousID = id
            let title = fields[1]
            XCTAssertNotNil(title.range(of: #" \((19|20)\d\d\)$"#, options: .regularExpression), title)
            if title.contains(",") { commas += 1; XCTAssertTrue(row.contains("\"\(title.prefix(3))")) }
            if title.contains("\"") { quotes += 1; XCTAssertTrue(row.contains("\"\"")) }
            if title.unicodeScalars.contains(where: { $0.value >= 0x80 }) { nonASCII += 1 }
            if fields[2] != "(no genres listed)" {
                XCTAssertTrue(fields[2].split(separator: "|").allSatisfy { genreNames.contains(String($0)) }, fields[2])
            }
        }
        XCTAssertGreaterThan(commas, 20)
        XCTAssertGreaterThan(quotes, 2)
        XCTAssertGreaterThan(nonASCII, 5)
    }

    // MARK: Internals

    func testQuickselectFindsTheSmallestKeys() {
        var rng = GenRNG(seed: 3, stream: .ratings, index: 0)
        for n in [1, 2, 3, 10, 257, 5_000] {
            for k in [1, n / 3, n / 2, n - 1, n] where k >= 1 {
                // Few distinct keys, so ties are broken by index.
                var pairs = (0..<n).map { (key: Double(rng.below(7)), index: Int32($0)) }
                let expected = pairs.sorted { $0.key != $1.key ? $0.key < $1.key : $0.index < $1.index }.prefix(k)
                GenSelect.smallest(k, in: &pairs)
                XCTAssertEqual(Set(pairs.prefix(k).map(\.index)), Set(expected.map(\.index)), "n \(n) k \(k)")
            }
        }
    }

    func testRandomStreamsAreReproducibleAndDistinct() {
        var a = GenRNG(seed: 42, stream: .movie, index: 5), b = GenRNG(seed: 42, stream: .movie, index: 5)
        var c = GenRNG(seed: 42, stream: .movie, index: 6), d = GenRNG(seed: 42, stream: .customer, index: 5)
        let first = (0..<8).map { _ in a.next() }
        XCTAssertEqual(first, (0..<8).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<8).map { _ in c.next() })
        XCTAssertNotEqual(first, (0..<8).map { _ in d.next() })
        // Box–Muller moments over 200,000 draws: mean within ~5 sd (0.011), variance within 0.02.
        var rng = GenRNG(seed: 1, stream: .ratings, index: 0)
        var sum = 0.0, squares = 0.0
        for _ in 0..<200_000 { let z = rng.normal(); sum += z; squares += z * z }
        XCTAssertEqual(sum / 200_000, 0, accuracy: 0.012)
        XCTAssertEqual(squares / 200_000, 1, accuracy: 0.02)
        XCTAssertEqual(GenPlan.netflixLastDay - GenPlan.netflixFirstDay, 2_242)
    }
}

private final class ProgressBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func record(_ n: Int) { lock.lock(); value = max(value, n); lock.unlock() }
    var last: Int { lock.lock(); defer { lock.unlock() }; return value }
}
