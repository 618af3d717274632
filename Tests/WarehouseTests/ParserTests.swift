import XCTest
import Runtime
@testable import Warehouse

/// The line parsers on hand-written lines; each expected value is read off the line.
final class ParserTests: XCTestCase {
    private func netflix(_ text: String, movie: Int64? = 7) -> RatingLine {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { RatingLineParser.netflix(UnsafeRawBufferPointer($0), movie: movie) }
    }

    private func movieLens(_ text: String, line: Int = 2) -> RatingLine {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { RatingLineParser.movieLens(UnsafeRawBufferPointer($0), lineNumber: line) }
    }

    private func reason(_ line: RatingLine) -> String? {
        if case .bad(let reason) = line { return reason }
        return nil
    }

    func testNetflixValidLines() {
        XCTAssertEqual(netflix("1:"), .movieHeader(1))
        XCTAssertEqual(netflix("17770:", movie: nil), .movieHeader(17770))
        XCTAssertEqual(netflix("1488844,3,2005-09-06"),
                       .rating(RatingRecord(customerID: 1_488_844, movieID: 7, dateKey: 20050906, halfStars: 6)))
        XCTAssertEqual(netflix("2649429,5,2004-02-29"),   // 2004 is a leap year
                       .rating(RatingRecord(customerID: 2_649_429, movieID: 7, dateKey: 20040229, halfStars: 10)))
        XCTAssertEqual(netflix(""), .blank)
    }

    func testNetflixBadLines() {
        XCTAssertEqual(reason(netflix("1488844,3,2005-09-06", movie: nil)), "a rating line before any 'MovieID:' header")
        XCTAssertTrue(reason(netflix("1488844,7,2005-09-06"))!.contains("rating '7'"))
        XCTAssertTrue(reason(netflix("1488844,0,2005-09-06"))!.contains("rating '0'"))
        XCTAssertTrue(reason(netflix("1488844,3.5,2005-09-06"))!.contains("rating '3.5'"))
        XCTAssertTrue(reason(netflix("1488844,3,2005-02-29"))!.contains("date '2005-02-29'"))   // not a leap year
        XCTAssertTrue(reason(netflix("1488844,3,2005-13-01"))!.contains("date"))
        XCTAssertTrue(reason(netflix("1488844,3,2005-09"))!.contains("date '2005-09'"))
        XCTAssertTrue(reason(netflix("abc,3,2005-09-06"))!.contains("customer id 'abc'"))
        XCTAssertTrue(reason(netflix("-5,3,2005-09-06"))!.contains("customer id '-5'"))
        XCTAssertTrue(reason(netflix("0,3,2005-09-06"))!.contains("customer id '0'"))
        XCTAssertTrue(reason(netflix("1234567890123456,3,2005-09-06"))!.contains("customer id"))   // 16 digits
        XCTAssertTrue(reason(netflix("1488844,3"))!.contains("found 2 fields"))
        XCTAssertTrue(reason(netflix("1488844"))!.contains("no comma"))
        XCTAssertTrue(reason(netflix("\u{01}\u{02}garbage\u{7F}"))!.contains("no comma"))
        XCTAssertTrue(reason(netflix("x1:"))!.contains("MovieID header"))
        XCTAssertTrue(reason(netflix("1,3,2005-09-06,9"))!.contains("more"))
    }

    func testMovieLensLines() {
        XCTAssertEqual(movieLens("userId,movieId,rating,timestamp", line: 1), .columnNames)
        XCTAssertEqual(movieLens("1,296,5.0,1147880044"),   // 1147880044 s = 2006-05-17 15:34:04 UTC
                       .rating(RatingRecord(customerID: 1, movieID: 296, dateKey: 20060517, halfStars: 10)))
        XCTAssertEqual(movieLens("3,1,0.5,0"),               // the epoch itself
                       .rating(RatingRecord(customerID: 3, movieID: 1, dateKey: 19700101, halfStars: 1)))
        XCTAssertEqual(movieLens("3,1,4,86399"),             // last second of 1970-01-01
                       .rating(RatingRecord(customerID: 3, movieID: 1, dateKey: 19700101, halfStars: 8)))
        XCTAssertEqual(movieLens("3,1,3.50,86400"),
                       .rating(RatingRecord(customerID: 3, movieID: 1, dateKey: 19700102, halfStars: 7)))
        XCTAssertTrue(reason(movieLens("1,296,5.5,1147880044"))!.contains("rating '5.5'"))
        XCTAssertTrue(reason(movieLens("1,296,4.3,1147880044"))!.contains("rating '4.3'"))
        XCTAssertTrue(reason(movieLens("1,296,0.0,1147880044"))!.contains("rating '0.0'"))
        XCTAssertTrue(reason(movieLens("1,296,4.0"))!.contains("found 3"))
        XCTAssertTrue(reason(movieLens("1,296,4.0,12x"))!.contains("timestamp"))
        XCTAssertTrue(reason(movieLens("user,movie,rating,time", line: 1))!.contains("header"))
    }

    func testCivilDateRoundTrip() {
        // Known anchors: 2000-03-01 is day 11017; 1999-11-11 was a Thursday; 2005-12-31 a Saturday.
        XCTAssertEqual(CivilDate(year: 2000, month: 3, day: 1).daysSinceEpoch, 11017)
        XCTAssertEqual(CivilDate(year: 1999, month: 11, day: 11).isoWeekday, 4)
        XCTAssertEqual(CivilDate(year: 2005, month: 12, day: 31).isoWeekday, 6)
        for day in stride(from: -25567, to: 47482, by: 37) {   // 1900 … 2099
            XCTAssertEqual(CivilDate(daysSinceEpoch: day).daysSinceEpoch, day)
        }
    }

    func testLineIterationHandlesCRLFBOMAndMissingFinalNewline() throws {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lines-\(UUID()).txt")
        try Data([0xEF, 0xBB, 0xBF] + Array("1:\r\n5,3,2005-01-01\r\n\r\n6,4,2005-01-02".utf8)).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try MappedFile(url)
        var seen: [(String, Int, Int)] = []
        file.forEachLine(from: 0, firstLine: 0) { line, number, next in
            seen.append((String(decoding: line, as: UTF8.self), number, next))
            return true
        }
        XCTAssertEqual(seen.map(\.0), ["1:", "5,3,2005-01-01", "", "6,4,2005-01-02"])
        XCTAssertEqual(seen.map(\.1), [1, 2, 3, 4])
        XCTAssertEqual(seen.map(\.2), [7, 23, 25, 39])
        // Resuming at an offset continues with the right numbers.
        var resumed: [Int] = []
        file.forEachLine(from: 23, firstLine: 2) { _, number, _ in resumed.append(number); return true }
        XCTAssertEqual(resumed, [3, 4])
    }

    func testCSVQuoting() throws {
        let records = try CSV.parse("movieId,title,genres\n1,\"Story, The (1995)\",Comedy\n2,\"He said \"\"hi\"\" (2001)\",Drama\r\n", file: "movies.csv")
        XCTAssertEqual(records.map(\.fields), [["movieId", "title", "genres"], ["1", "Story, The (1995)", "Comedy"],
                                               ["2", "He said \"hi\" (2001)", "Drama"]])
        XCTAssertEqual(records.map(\.line), [1, 2, 3])
        XCTAssertThrowsError(try CSV.parse("1,\"open\n", file: "m.csv"))
    }

    func testNetflixTitlesSplitOnFirstTwoCommasAndDecodeLatin1() throws {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("titles-\(UUID()).csv")
        try Data(Array("1,2003,Dinosaur Planet\n2,NULL,Love, Actually, Again\n3,1999,Am".utf8) + [0xE9] + Array("lie\n".utf8)).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let movies = try TitlesReader.read(url, format: .netflix) { line, _, reason in XCTFail("line \(line) rejected: \(reason)") }
        XCTAssertEqual(movies.map(\.title), ["Dinosaur Planet", "Love, Actually, Again", "Amélie"])
        XCTAssertEqual(movies.map(\.year), [2003, nil, 1999])
    }

    func testRedactionHidesPasswords() {
        XCTAssertEqual(Redact.conninfo("postgresql://bob:s3cret@db.example/recsys"), "postgresql://bob:***@db.example/recsys")
        XCTAssertEqual(Redact.conninfo("host=x password=s3cret user=bob"), "host=x password=*** user=bob")
        XCTAssertEqual(Redact.conninfo("postgresql://h/db?password=s3cret&sslmode=require"), "postgresql://h/db?password=***&sslmode=require")
        XCTAssertFalse(DatabaseTarget.configured(conninfo: "postgres://u:hunter2@h/d", source: "--database").displayName.contains("hunter2"))
    }

    func testDatabaseTargetPrecedence() throws {
        let dotEnv = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("env-\(UUID())")
        try "RECSYS_DATABASE_URL=postgres://from-dotenv/db\n".write(to: dotEnv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: dotEnv) }
        let none = URL(fileURLWithPath: "/nonexistent/.env")
        XCTAssertEqual(DatabaseTarget.resolve(option: "postgres://opt/db", environment: ["RECSYS_DATABASE_URL": "postgres://env/db"], dotEnv: none),
                       .configured(conninfo: "postgres://opt/db", source: "--database"))
        XCTAssertEqual(DatabaseTarget.resolve(option: nil, environment: ["RECSYS_DATABASE_URL": "postgres://env/db", "PGHOST": "x"], dotEnv: none),
                       .configured(conninfo: "postgres://env/db", source: "RECSYS_DATABASE_URL"))
        XCTAssertEqual(DatabaseTarget.resolve(option: nil, environment: ["PGDATABASE": "x"], dotEnv: none), .libpqEnvironment)
        XCTAssertEqual(DatabaseTarget.resolve(option: nil, environment: [:], dotEnv: dotEnv),
                       .configured(conninfo: "postgres://from-dotenv/db", source: "RECSYS_DATABASE_URL"))
        XCTAssertEqual(DatabaseTarget.resolve(option: nil, environment: [:], dotEnv: none), .managed)
    }

    func testEmbeddedSchemaIsSchemaSQL() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("schema.sql"), encoding: .utf8)
        XCTAssertEqual(SchemaSQL.text, file, "the EmbedSchema build plugin embeds schema.sql byte for byte")
    }
}
