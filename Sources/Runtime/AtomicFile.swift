import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file atomically: the new content goes into a uniquely named
/// temporary file beside the target, registered with `TemporaryFiles` (so an
/// interrupt removes it) and held under an exclusive flock (so a concurrent
/// command's cleanup never deletes a file being written), then is renamed
/// over the target (rename(2) replaces atomically: a reader sees the old file
/// or the whole new one). Model files and the ratings cache are written so.
public enum AtomicFile {
    public struct Failure: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Hands `write` the temporary file's descriptor and path. `sync` makes
    /// the data durable before the rename, so a crash cannot leave a renamed
    /// but empty file. With `afterRename`, the rename and that hook run under
    /// an exclusive flock of the folder (so registrations follow rename order).
    public static func replace(_ url: URL, sync: Bool, afterRename: (() throws -> Void)? = nil,
                               _ write: (_ descriptor: Int32, _ path: String) throws -> Void) throws {
        func failure(_ what: String) -> Failure { Failure(reason: "\(what): \(String(cString: strerror(errno)))") }
        let folder = url.deletingLastPathComponent()
        let temporary = TemporaryFiles.name(beside: url)
        let fd = open(temporary.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create \(temporary.path)") }
        let token = TemporaryFiles.register(temporary.path)
        var renamed = false
        defer {
            close(fd)
            if !renamed { unlink(temporary.path) }
            TemporaryFiles.unregister(token)
        }
        flock(fd, LOCK_EX)
        try write(fd, temporary.path)
        if sync { guard fsync(fd) == 0 else { throw failure("cannot sync") } }
        try Interruption.check()
        var folderLock: Int32 = -1
        if afterRename != nil {
            folderLock = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard folderLock >= 0 else { throw failure("cannot open the folder \(folder.path)") }
            while flock(folderLock, LOCK_EX) != 0 && errno == EINTR {}
        }
        defer { if folderLock >= 0 { close(folderLock) } }
        guard rename(temporary.path, url.path) == 0 else { throw failure("cannot rename into place") }
        renamed = true
        try afterRename?()
    }

    /// Lays the file out in a memory map of the temporary file: `fill` gets
    /// its `size` bytes, all zero. The folder is created when missing, and
    /// partial files of writers that are gone are removed first. The space is
    /// reserved with posix_fallocate: a full disk is then an error here
    /// instead of a SIGBUS while filling the map. Synced before the rename.
    public static func write(to url: URL, size: Int, afterRename: (() throws -> Void)? = nil,
                             fill: (UnsafeMutableRawBufferPointer) -> Void) throws {
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw Failure(reason: "cannot create the folder \(folder.path): \(error.localizedDescription)")
        }
        TemporaryFiles.removeOrphans(beside: url)
        try replace(url, sync: true, afterRename: afterRename) { fd, _ in
            guard size > 0 else { return }
            let status = posix_fallocate(fd, 0, off_t(size))
            guard status == 0 else {
                throw Failure(reason: "cannot reserve \(size) bytes: \(String(cString: strerror(status)))")
            }
            let map: MemoryMap
            do {
                map = try MemoryMap(descriptor: fd, size: size, access: .write)
            } catch {
                throw Failure(reason: "\(error)")
            }
            fill(map.mutableBytes)
        }
    }
}
