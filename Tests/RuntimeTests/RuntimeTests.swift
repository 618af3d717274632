import Foundation
@testable import Runtime
import XCTest

final class SecretsTests: XCTestCase {
    override func tearDown() { Secrets.reset() }

    /// libpq quotes the value it could not parse; the registered password is masked wherever it stands.
    func testRegisteredURLPasswordIsMaskedInAnyMessage() {
        Secrets.registerConnection("postgresql://bob:hunt%zzer2@/x?host=/nonexistent")
        let libpq = #"cannot connect: invalid percent-encoded token: "hunt%zzer2""#
        XCTAssertEqual(Secrets.scrub(libpq), #"cannot connect: invalid percent-encoded token: "***""#)
        Secrets.registerConnection("postgresql://ann:s%40fe@/db")
        XCTAssertEqual(Secrets.scrub("password s@fe and s%40fe"), "password *** and ***")
    }

    /// A misspelt key still names a secret: its value is masked although libpq never accepted it.
    func testPasswordLikeKeysAreMaskedEvenUnregistered() {
        XCTAssertEqual(Secrets.scrub(#"invalid connection option "passwd" in host=/x passwd=hunter2 user=u"#),
                       #"invalid connection option "passwd" in host=/x passwd=*** user=u"#)
        XCTAssertEqual(Secrets.scrub(#"host=h password='it\'s x' dbname=d"#), "host=h password=*** dbname=d")
        XCTAssertEqual(Secrets.scrub("postgresql://bob:hunter2@db/x"), "postgresql://bob:***@db/x")
        XCTAssertEqual(Secrets.scrub("api_token=abc&x=1"), "api_token=***&x=1")
        // Nothing secret: unchanged.
        XCTAssertEqual(Secrets.scrub("rank=50 reg=0.05 user=bob"), "rank=50 reg=0.05 user=bob")
    }

    func testQuotedConninfoValueIsRegisteredUnquoted() {
        Secrets.registerConnection(#"host=/x password='se cr\'et'"#)
        XCTAssertEqual(Secrets.scrub("the server said: se cr'et is wrong"), "the server said: *** is wrong")
    }

    func testShortSecretsAreNotRegisteredButKeysStillMask() {
        Secrets.registerConnection("host=/x password=ab")
        XCTAssertEqual(Secrets.scrub("a cab"), "a cab")
        XCTAssertEqual(Secrets.scrub("password=ab"), "password=***")
    }
}

final class OutputTests: XCTestCase {
    /// A full disk is an error that names the destination, not a trap.
    func testWriteToFullDeviceThrows() throws {
        let fd = open("/dev/full", O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertThrowsError(try Output.write("hello", to: fd, destination: "/dev/full")) { error in
            let failure = error as? OutputError
            XCTAssertEqual(failure?.errorNumber, ENOSPC)
            XCTAssertEqual(failure?.description, "cannot write to /dev/full: No space left on device")
        }
    }

    func testAtomicWriteLeavesNoTemporaryFile() throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("report.html")
        try Output.writeAtomically(Data("one".utf8), to: target)
        try Output.writeAtomically(Data("two".utf8), to: target)
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["report.html"])
    }

    func testLogFilesArePrivate() throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("logs-\(UUID().uuidString)/logs")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let file = try AppendFile(folder.appendingPathComponent("load.log"))
        Secrets.register("hunter2")
        defer { Secrets.reset() }
        try file.append("password hunter2 in a line\n")
        var info = stat()
        XCTAssertEqual(stat(folder.path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertEqual(stat(file.url.path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(try String(contentsOf: file.url, encoding: .utf8), "password *** in a line\n")
    }
}

final class InterruptionTests: XCTestCase {
    override func tearDown() { Interruption.reset() }

    func testChunkCounterHandsOutEveryChunkOnceAcrossThreads() {
        let counter = ChunkCounter()
        let seen = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 10_000)
        seen.initialize(repeating: 0)
        defer { seen.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            while let chunk = counter.take(below: 10_000) { seen[chunk] += 1 }
        }
        XCTAssertTrue(seen.allSatisfy { $0 == 1 })
    }

    func testARequestStopsChunksAndCheckThrows() {
        let counter = ChunkCounter()
        XCTAssertEqual(counter.take(below: 5), 0)
        Interruption.simulate(signal: SIGTERM)
        XCTAssertNil(counter.take(below: 5))
        XCTAssertThrowsError(try Interruption.check()) { error in
            XCTAssertEqual((error as? Interrupted)?.exitCode, 143)
        }
    }

    func testAnOutputFailureIsWhatCheckThrows() {
        Interruption.request(failure: OutputError(destination: "standard error", errorNumber: ENOSPC))
        XCTAssertThrowsError(try Interruption.check()) { error in
            XCTAssertEqual((error as? OutputError)?.destination, "standard error")
        }
    }
}
