import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The partial files this process is writing (a model, a cache, a report
/// before its rename). When the process must end at once — the grace period
/// after a signal ran out — they are unlinked, so an interrupted command
/// leaves nothing half-written behind.
public enum TemporaryFiles {
    private static let paths = Mutex<[Int: String]>([:])
    private static let counter = Atomic<Int>(0)

    /// Registers `path`; pass the token to `unregister` once it is renamed or removed.
    public static func register(_ path: String) -> Int {
        let token = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        paths.withLock { $0[token] = path }
        return token
    }

    public static func unregister(_ token: Int) {
        _ = paths.withLock { $0.removeValue(forKey: token) }
    }

    /// Unlinks every registered file (called right before the process ends).
    public static func removeAll() {
        let all = paths.withLock { current -> [String] in
            defer { current.removeAll() }
            return Array(current.values)
        }
        for path in all { unlink(path) }
    }

    /// Removes the temporary files of `url` (`.<name>.<pid>-<random>.partial`)
    /// that a process which no longer runs left behind (killed with SIGKILL,
    /// or a crash): the next writer of the same file cleans up after it.
    public static func removeOrphans(beside url: URL) {
        let folder = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent)."
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
            guard name.hasPrefix(prefix), name.hasSuffix(".partial") else { continue }
            let middle = name.dropFirst(prefix.count).dropLast(".partial".count)
            guard let dash = middle.firstIndex(of: "-"), let pid = pid_t(middle[..<dash]), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(folder.appendingPathComponent(name).path) }
        }
    }

    /// A unique temporary name beside `url` (same folder, so rename(2) is atomic):
    /// `.<name>.<pid>-<random>.partial`.
    public static func name(beside url: URL) -> URL {
        url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).partial")
    }
}
