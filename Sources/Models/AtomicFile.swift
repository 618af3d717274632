import Foundation
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// Writes a file by laying it out in a memory-mapped temporary file next to
/// the target, syncing it and renaming it over the target (rename(2) replaces
/// atomically). The space is reserved with posix_fallocate first: a full disk
/// is then an error here instead of a SIGBUS while filling the map.
enum AtomicFile {
    struct Failure: Error { var reason: String }

    /// `fill` gets the file's `size` bytes, all zero. With `afterRename`, the
    /// rename and that hook run under an exclusive flock of the folder.
    static func write(to url: URL, size: Int, afterRename: (() throws -> Void)? = nil,
                      fill: (UnsafeMutableRawBufferPointer) -> Void) throws {
        func failure(_ what: String) -> Failure { Failure(reason: "\(what): \(String(cString: strerror(errno)))") }
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw Failure(reason: "cannot create the folder \(folder.path): \(error.localizedDescription)")
        }
        TemporaryFiles.removeOrphans(beside: url)
        let temporary = TemporaryFiles.name(beside: url)
        let fd = open(temporary.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create \(temporary.path)") }
        let token = TemporaryFiles.register(temporary.path)
        var done = false
        defer {
            close(fd)
            if !done { unlink(temporary.path) }
            TemporaryFiles.unregister(token)
        }
        if size > 0 {
            let status = posix_fallocate(fd, 0, off_t(size))
            guard status == 0 else {
                errno = status
                throw failure("cannot reserve \(size) bytes")
            }
            let map: MemoryMap
            do {
                map = try MemoryMap(descriptor: fd, size: size, access: .write)
            } catch {
                throw Failure(reason: "\(error)")
            }
            fill(map.mutableBytes)
        }
        // Synced before the rename, so that a crash cannot leave a renamed but empty file.
        guard fsync(fd) == 0 else { throw failure("cannot sync") }
        try Interruption.check()
        var folderLock: Int32 = -1
        if afterRename != nil {
            folderLock = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard folderLock >= 0 else { throw failure("cannot open the folder \(folder.path)") }
            while flock(folderLock, LOCK_EX) != 0 && errno == EINTR {}
        }
        defer { if folderLock >= 0 { close(folderLock) } }
        guard rename(temporary.path, url.path) == 0 else { throw failure("cannot rename into place") }
        done = true
        try afterRename?()
    }
}
