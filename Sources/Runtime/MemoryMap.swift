import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file mapped into memory, unmapped when the last reference goes: the
/// source files the loader scans, the model files recommend and serve read in
/// place, and the model file being written. Callers keep their own errors; a
/// failed mapping says why in `MemoryMap.Failure.reason`.
public final class MemoryMap: @unchecked Sendable {
    public enum Access: Sendable {
        /// Private and read-only. `populate` faults every page in up front (worth
        /// it when every page is read anyway, as a checksum does); `sequential`
        /// tells the kernel to read ahead (a file scanned front to back).
        case read(populate: Bool = false, sequential: Bool = false)
        /// Shared and writable: stores land in the file.
        case write
    }

    public struct Failure: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// The mapped bytes; empty (and no mapping) for a file of 0 bytes.
    public let bytes: UnsafeRawBufferPointer
    private let address: UnsafeMutableRawPointer?

    /// Maps the first `size` bytes of the open file `descriptor`; the
    /// descriptor may be closed afterwards.
    public init(descriptor: Int32, size: Int, access: Access) throws {
        guard size > 0 else {
            address = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let protection: Int32, flags: Int32
        switch access {
        case .read(let populate, _):
            protection = PROT_READ
            flags = MAP_PRIVATE | (populate ? MAP_POPULATE : 0)
        case .write:
            protection = PROT_READ | PROT_WRITE
            flags = MAP_SHARED
        }
        guard let mapped = mmap(nil, size, protection, flags, descriptor, 0), mapped != MAP_FAILED else {
            throw Failure(reason: "cannot map into memory: \(String(cString: strerror(errno)))")
        }
        if case .read(_, true) = access { madvise(mapped, size, MADV_SEQUENTIAL) }
        address = mapped
        bytes = UnsafeRawBufferPointer(start: mapped, count: size)
    }

    /// The bytes for writing; only meaningful for `.write` maps.
    public var mutableBytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(mutating: bytes)
    }

    deinit {
        if let address { munmap(address, bytes.count) }
    }
}

public enum LargeArrays {
    /// Asks the kernel to back `bytes` at `start` with 2 MB pages when it first
    /// touches them. Filling a fresh multi-gigabyte array (the ratings cache
    /// read or merged) otherwise costs a page fault every 4 KB: at Netflix scale
    /// a third of the time went to those faults. Only the whole 2 MB pages
    /// inside the range are advised; small ranges are left alone.
    public static func preferHugePages(_ start: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        let huge = 1 << 21
        guard bytes >= 16 * huge else { return }
        let first = (Int(bitPattern: start) + huge - 1) & ~(huge - 1)
        let last = (Int(bitPattern: start) + bytes) & ~(huge - 1)
        guard last > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(aligned, last - first, MADV_HUGEPAGE)
        #endif
    }

    /// An array of `count` elements that `fill` writes in full (each index exactly
    /// once; a trivial element type), never zero-filled first, huge pages preferred.
    public static func filled<T>(_ count: Int, _ fill: (UnsafeMutableBufferPointer<T>) -> Void) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { preferHugePages(UnsafeMutableRawPointer(base), bytes: count * MemoryLayout<T>.stride) }
            fill(buffer)
            initialized = count
        }
    }
}
