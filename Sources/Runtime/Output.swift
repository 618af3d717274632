import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A write that did not reach its destination (a full disk, a closed pipe).
public struct OutputError: Error, CustomStringConvertible, Sendable {
    /// What was written to: "standard output", "standard error" or a path.
    public var destination: String
    public var reason: String
    public var errorNumber: Int32

    public init(destination: String, errorNumber: Int32) {
        self.destination = destination
        self.errorNumber = errorNumber
        reason = String(cString: strerror(errorNumber))
    }

    public var description: String { "cannot write to \(destination): \(reason)" }
}

/// Every byte recsys writes to a stream or file descriptor goes through here:
/// write(2) in a loop (partial writes, EINTR), and a failure is an
/// `OutputError`, never a trap (Foundation's non-throwing
/// `FileHandle.write(_:)` traps on ENOSPC / EPIPE).
public enum Output {
    public static func write(_ bytes: UnsafeRawBufferPointer, to fd: Int32, destination: String) throws {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let written = Glibc.write(fd, base, left)
            if written < 0 {
                if errno == EINTR { continue }
                throw OutputError(destination: destination, errorNumber: errno)
            }
            if written == 0 { throw OutputError(destination: destination, errorNumber: EIO) }
            base += written
            left -= written
        }
    }

    public static func write(_ data: Data, to fd: Int32, destination: String) throws {
        try data.withUnsafeBytes { try write($0, to: fd, destination: destination) }
    }

    public static func write(_ text: String, to fd: Int32, destination: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0), to: fd, destination: destination) }
    }

    /// Results and `--json` documents; secrets are scrubbed first.
    public static func standardOutput(_ text: String) throws {
        try write(Secrets.scrub(text), to: STDOUT_FILENO, destination: "standard output")
    }

    /// Messages for people; secrets are scrubbed first.
    public static func standardError(_ text: String) throws {
        try write(Secrets.scrub(text), to: STDERR_FILENO, destination: "standard error")
    }

    /// Writes `data` to a new file at `url` through a temporary file beside it
    /// (registered with `TemporaryFiles`), synced and renamed into place: a
    /// reader, or a crash, sees the old file or the whole new one.
    public static func writeAtomically(_ data: Data, to url: URL, mode: mode_t = 0o644) throws {
        TemporaryFiles.removeOrphans(beside: url)
        let temporary = TemporaryFiles.name(beside: url)
        let token = TemporaryFiles.register(temporary.path)
        defer { TemporaryFiles.unregister(token) }
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw OutputError(destination: url.path, errorNumber: errno) }
        do {
            try write(data, to: fd, destination: url.path)
            guard fsync(fd) == 0 else { throw OutputError(destination: url.path, errorNumber: errno) }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary.path)
            throw error
        }
        guard rename(temporary.path, url.path) == 0 else {
            let failure = OutputError(destination: url.path, errorNumber: errno)
            unlink(temporary.path)
            throw failure
        }
    }
}

/// An append-only file (a log) written through `Output`: created with mode
/// 0600 in a folder of mode 0700, since log lines describe the user's data.
public final class AppendFile: @unchecked Sendable {
    public let url: URL
    private let fd: Int32

    public init(_ url: URL) throws {
        let folder = url.deletingLastPathComponent()
        try Self.makePrivateFolder(folder)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw OutputError(destination: url.path, errorNumber: errno) }
        fchmod(fd, 0o600)
        self.fd = fd
        self.url = url
    }

    deinit { close(fd) }

    public func append(_ text: String) throws {
        try Output.write(Secrets.scrub(text), to: fd, destination: url.path)
    }

    /// Creates `folder` (and its parents) when missing and sets it to 0700.
    public static func makePrivateFolder(_ folder: URL) throws {
        var info = stat()
        if lstat(folder.path, &info) != 0 {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            guard lstat(folder.path, &info) == 0 else { throw OutputError(destination: folder.path, errorNumber: errno) }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw OutputError(destination: folder.path, errorNumber: ENOTDIR) }
        if info.st_uid == geteuid() && info.st_mode & 0o077 != 0 { chmod(folder.path, 0o700) }
    }
}
