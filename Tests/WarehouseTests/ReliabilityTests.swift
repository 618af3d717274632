import Features
import Foundation
import Logging
import Runtime
import TestSupport
import XCTest
@testable import Warehouse

/// Regression tests of the reliability issue that need no database: parsers,
/// the cache file reader, the progress counter, the managed cluster's quoting.
final class ReliabilityTests: TemporaryFolderTestCase {
    override var folderPrefix: String { "reliability" }

    // 10. A byte-order mark says UTF-8.
    func testATitlesFileWithAByteOrderMarkIsUTF8() throws {
        let url = folder.appendingPathComponent("movie_titles.csv")
        try Data([0xEF, 0xBB, 0xBF] + Array("1,2001,Amélie\n2,1999,Crème brûlée, The\n".utf8)).write(to: url)
        let movies = try TitlesReader.read(url, format: .netflix) { line, _, reason in XCTFail("line \(line): \(reason)") }
        XCTAssertEqual(movies.map(\.title), ["Amélie", "Crème brûlée, The"])
        // Invalid UTF-8 in a file that says it is UTF-8 is a rejected line, not mojibake.
        try Data([0xEF, 0xBB, 0xBF] + Array("1,2001,Am".utf8) + [0xE9] + Array("lie\n2,2002,Fine\n".utf8)).write(to: url)
        var rejected: [(Int, String)] = []
        let kept = try TitlesReader.read(url, format: .netflix) { line, _, reason in rejected.append((line, reason)) }
        XCTAssertEqual(kept.map(\.title), ["Fine"])
        XCTAssertEqual(rejected.map(\.0), [1])
        XCTAssertTrue(rejected[0].1.contains("not valid UTF-8 (at byte 10"), rejected[0].1)
    }

    func testANULByteInANetflixTitleIsARejectedLine() throws {
        let url = folder.appendingPathComponent("movie_titles.csv")
        try Data(Array("1,2001,Ok\n2,2001,Bad".utf8) + [0] + Array("Title\n".utf8)).write(to: url)
        var rejected: [Int] = []
        let kept = try TitlesReader.read(url, format: .netflix) { line, _, _ in rejected.append(line) }
        XCTAssertEqual(kept.map(\.id), [1])
        XCTAssertEqual(rejected, [2])
    }

    /// A quoted field across lines: the bad byte on the record's second line rejects the record.
    func testAMovieLensRecordSpanningABadLineIsRejected() throws {
        let url = folder.appendingPathComponent("movies.csv")
        try Data(Array("movieId,title,genres\n1,\"Two\nlines ".utf8) + [0xFF] + Array(" (1999)\",Drama\n2,Ok (2000),Drama\n".utf8)).write(to: url)
        var rejected: [(Int, String)] = []
        let kept = try TitlesReader.read(url, format: .movielens) { line, _, reason in rejected.append((line, reason)) }
        XCTAssertEqual(kept.map(\.id), [2])
        XCTAssertEqual(rejected.map(\.0), [2])
        XCTAssertTrue(rejected[0].1.contains("line 3 of this record"), rejected[0].1)
    }

    // 7. Every header field of the cache is checked before it is used.
    func testDamagedCacheHeadersAreUnusableNotCrashes() throws {
        let matrix = RatingMatrix(customerIDs: [10, 20], movieIDs: [7, 8], entries: [
            .init(customer: 0, movie: 0, rating: 4, day: 1), .init(customer: 1, movie: 0, rating: 3, day: 2),
            .init(customer: 1, movie: 1, rating: 5, day: 3)])
        let url = folder.appendingPathComponent("ratings-v1.bin")
        try MatrixFile.write(matrix, dataVersion: "v1", to: url)
        XCTAssertEqual(try MatrixFile.read(url, dataVersion: "v1"), matrix)
        let good = try Data(contentsOf: url)
        // Each 8-byte count in turn set to values that overflowed or trapped before.
        var offset = 8
        var counts: [Int] = []
        while offset + 8 <= good.count - 8 {
            counts.append(offset)
            let count = good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
            let stride = counts.count == 1 ? 1 : [1, 8, 8, 8, 4, 4, 4, 8, 4, 4][counts.count - 1]
            offset += 8 + Int(count) * stride
        }
        XCTAssertEqual(counts.count, 10, "magic + 10 arrays")
        for at in counts {
            for value: UInt64 in [.max, UInt64(Int.max), 1 << 61, UInt64(good.count)] {
                var bad = good
                bad.withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: at, as: UInt64.self) }
                try bad.write(to: url)
                XCTAssertThrowsError(try MatrixFile.read(url, dataVersion: "v1"), "count at \(at) = \(value)")
            }
        }
        // A truncated file, and one with a bad index under a recomputed checksum.
        try good.prefix(good.count - 3).write(to: url)
        XCTAssertThrowsError(try MatrixFile.read(url, dataVersion: "v1"))
        // Counts that agree, an index that points past the movies.
        let badIndex = try XCTUnwrap(RatingMatrix(customerIDs: [10], movieIDs: [7], customerStart: [0, 1], customerMovie: [5],
                                                  customerRating: [4], customerDay: [1], movieStart: [0, 1], movieCustomer: [0],
                                                  movieRating: [4]))
        try MatrixFile.write(badIndex, dataVersion: "v1", to: url)
        XCTAssertThrowsError(try MatrixFile.read(url, dataVersion: "v1")) { error in
            XCTAssertEqual("\(error)", "the arrays do not form a rating matrix")
        }
    }

    // 15. Unique temporary names; a file some process holds is never cleaned up.
    func testCacheCleanupSparesFilesThatAreBeingWritten() throws {
        let current = folder.appendingPathComponent("ratings-new.bin")
        let old = folder.appendingPathComponent("ratings-old.bin")
        let partial = folder.appendingPathComponent(".ratings-new.bin.99-1.partial")
        let held = folder.appendingPathComponent(".ratings-new.bin.98-2.partial")
        for url in [current, old, partial, held] { try Data([1]).write(to: url) }
        let fd = open(held.path, O_RDWR)
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        defer { close(fd) }
        MatrixFile.removeStale(in: folder, keeping: current)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)),
                       [current.lastPathComponent, held.lastPathComponent])
        XCTAssertNotEqual(TemporaryFiles.name(beside: current), TemporaryFiles.name(beside: current))
    }

    // 16. Concurrent advances are never lost.
    func testProgressCountsEveryAdvanceFromManyThreads() {
        let progress = ProgressReporter(logger: Logger(label: "test"), interactive: false, logInterval: 3600)
        progress.begin("count", total: 80_000)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<10_000 { progress.advance(1) }
        }
        XCTAssertEqual(progress.completed, 80_000)
    }

    // 3. Quoting of the managed cluster's connection strings and configuration.
    func testManagedClusterValuesAreQuoted() {
        XCTAssertEqual(LocalCluster.quoted("/tmp/my home/it's\\x"), #"'/tmp/my home/it\'s\\x'"#)
        XCTAssertEqual(LocalCluster.percentEncoded("/tmp/my home/Zoë?&"), "/tmp/my%20home/Zo%C3%AB%3F%26")
        XCTAssertEqual(LocalCluster.configDirectoryList(#"/tmp/a "b" 'c'\d"#), #"'"/tmp/a ""b"" ''c''\\d"'"#)
        let cluster = LocalCluster(home: RecsysHome(url: URL(fileURLWithPath: "/tmp/a b")))
        XCTAssertTrue(cluster.conninfo.hasPrefix("host='/tmp/a b/postgres/run' port=5432 dbname='recsys'"), cluster.conninfo)
        XCTAssertEqual(cluster.url, "postgresql://recsys@/recsys?host=/tmp/a%20b/postgres/run&port=5432")
    }
}
