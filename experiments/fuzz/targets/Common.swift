// Shared by every fuzz target; compiled into the same module as the Sources
// files the target needs, so that their `internal` API is reachable.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum Fuzz {
    /// Property ids listed in RECSYS_FUZZ_IGNORE (comma-separated) are not
    /// checked: a finding already reported does not stop the search for others.
    static let ignored: Set<String> = Set((ProcessInfo.processInfo.environment["RECSYS_FUZZ_IGNORE"] ?? "")
        .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })

    static func enabled(_ id: String) -> Bool { !ignored.contains(id) }

    /// A property of the code under test. A violation prints its id and aborts,
    /// so libFuzzer saves the input as a crash.
    static func check(_ condition: @autoclosure () -> Bool, _ id: String, _ message: @autoclosure () -> String) {
        guard enabled(id) else { return }
        if !condition() {
            FileHandle.standardError.write(Data("\n==== FUZZ PROPERTY VIOLATED [\(id)]: \(message())\n".utf8))
            abort()
        }
    }

    /// A private scratch folder (tmpfs when RECSYS_FUZZ_TMP points there), one per process.
    static let directory: String = {
        let base = ProcessInfo.processInfo.environment["RECSYS_FUZZ_TMP"] ?? NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent("recsys-fuzz-\(getpid())")
        mkdir(base, 0o755)
        mkdir(path, 0o755)
        atexit { removeScratch() }
        return path
    }()

    nonisolated(unsafe) private static var urls: [String: URL] = [:]

    static func url(_ name: String) -> URL {
        if let url = urls[name] { return url }
        let url = URL(fileURLWithPath: (directory as NSString).appendingPathComponent(name))
        urls[name] = url
        return url
    }

    /// Writes `bytes` to the scratch file `name` (replacing it) and returns its URL.
    @discardableResult
    static func write<C: Collection>(_ bytes: C, to name: String) -> URL where C.Element == UInt8 {
        let url = url(name)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot create \(url.path)")
        let array = Array(bytes)
        array.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                precondition(n > 0, "cannot write \(url.path)")
                done += n
            }
        }
        close(fd)
        return url
    }

    static func removeScratch() {
        for url in urls.values { unlink(url.path) }
        if let names = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for name in names { unlink((directory as NSString).appendingPathComponent(name)) }
        }
        rmdir(directory)
    }

    /// The lines of `bytes` as `MappedFile.forEachLine` cuts them (a BOM at
    /// the start is skipped, `\n` or `\r\n` ends a line, a final line may
    /// lack its newline), written independently of it.
    static func lines(_ bytes: UnsafeRawBufferPointer, skipBOM: Bool = true) -> [UnsafeRawBufferPointer] {
        var out: [UnsafeRawBufferPointer] = []
        var start = 0
        if skipBOM, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        var i = start
        while i < bytes.count {
            if bytes[i] == 0x0A {
                var end = i
                if end > start, bytes[end - 1] == 0x0D { end -= 1 }
                out.append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                start = i + 1
            }
            i += 1
        }
        if start < bytes.count {
            var end = bytes.count
            if bytes[end - 1] == 0x0D { end -= 1 }
            out.append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        }
        return out
    }

    /// Splits `bytes` at each 0x00 into at most `maxParts` parts (the last keeps any further zeros).
    static func parts(_ bytes: UnsafeRawBufferPointer, maxParts: Int) -> [[UInt8]] {
        bytes.split(separator: 0, maxSplits: maxParts - 1, omittingEmptySubsequences: false).map { Array($0) }
    }
}
