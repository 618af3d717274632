import Features
import Foundation
import Runtime
#if canImport(Glibc)
import Glibc
#endif

// Arrays are stored as they lie in memory; the format is little-endian.
#if _endian(big)
#error("model files are little-endian: add byte swapping before building on a big-endian host")
#endif

/// A `FactorModel` in a versioned binary file, read through a read-only memory
/// map: opening a Netflix-scale model (~100 MB) costs one checksum pass and no
/// copy, and the factor matrices are handed to BLAS straight from the map.
///
/// Layout, version 3 (all integers little-endian; offsets in bytes):
///
///     0    magic "RSMODEL\0"
///     8    u32 format version (3)          12   u32 header bytes (320)
///     16   u64 checksum of bytes 24 ..< file length
///     24   u64 file length                 32   u64 flags (bit 0: customer ids ascend,
///                                                         bit 1: movie ids ascend)
///     40   i64 rank                        48   i64 customers      56   i64 movies
///     64   i64 split id                    72   f64 global mean
///     80   f64 scale minimum               88   f64 scale maximum  96   f64 scale step
///     104  i64 model_runs run id (−1: none)
///     112  section table: 13 × (u64 offset, u64 byte length), in `Section` order
///     320  zero padding, then each section at a multiple of 64, zero-padded,
///          the file itself ending on a multiple of 64
///
/// Version 2 is the same with 10 sections (header 272 bytes), without the
/// item-based model's history and weights; version 1 also lacks the run id
/// (section table at 104, header 264 bytes). Both are still read. The run id ties the file to its registry
/// row: two runs writing one path leave the file of one of them, and the file
/// says which.
///
/// Magic and version come before the checksum so that a foreign or newer file
/// is named as such, not as damaged. Sections start on 64-byte boundaries so
/// that the typed views are aligned (and each array starts on a cache line).
/// The ids' order is recorded so that lookups can binary-search.
///
/// The checksum (`ModelFile.checksum`) hashes 8-byte words over eight
/// independent lanes: it runs near memory bandwidth, where a byte-wise hash
/// would take most of `recsys recommend`'s time budget.
public final class ModelFile: @unchecked Sendable {
    public static let formatVersion = 3
    /// The versions this reader understands.
    public static let readableVersions = 1...3

    public let url: URL
    // Immutable after init, and the map is read-only: safe to share across threads.
    private let map: MemoryMap
    /// The header fields, checked when the file was opened.
    private let header: Layout.Header

    public var kind: String { header.kind }
    /// The training parameters, a JSON object as text.
    public var parameters: String { header.parameters }
    public var dataVersion: String { header.dataVersion }
    public var splitID: Int { header.splitID }
    public var scale: RatingScale { header.scale }
    public var rank: Int { header.rank }
    public var globalMean: Double { header.globalMean }
    public var customerCount: Int { header.customerCount }
    public var movieCount: Int { header.movieCount }
    /// The model_runs row that wrote this file (nil for a version-1 file or an unregistered write).
    public var runID: Int? { header.runID }

    // Typed views into the map (valid while this object lives).
    public let customerIDs: UnsafeBufferPointer<Int64>
    public let movieIDs: UnsafeBufferPointer<Int64>
    /// Id → dense index for a side whose ids do not ascend (nil when they do: binary search).
    /// Built once at open: a linear scan per lookup cost `serve` 10 ms a request at Netflix scale.
    private let customerLookup: [Int64: Int32]?
    private let movieLookup: [Int64: Int32]?
    public let customerBias: UnsafeBufferPointer<Float>
    public let movieBias: UnsafeBufferPointer<Float>
    /// customers × rank, row-major.
    public let customerFactors: UnsafeBufferPointer<Float>
    /// movies × rank, row-major.
    public let movieFactors: UnsafeBufferPointer<Float>
    public let customerTrainCount: UnsafeBufferPointer<Int32>
    /// An item-based model's training history (CSR by customer) and movies × movies weights; empty otherwise.
    public let historyStart: UnsafeBufferPointer<Int64>
    public let history: UnsafeBufferPointer<Int32>
    public let itemWeights: UnsafeBufferPointer<Float>
    public var isItemBased: Bool { !itemWeights.isEmpty }

    /// Maps the file read-only and checks its magic, version, length, section
    /// table and — when `verify` — its checksum. With `verify: false` the
    /// contents are trusted (the structure is still checked, so a bad file
    /// cannot make a view point outside the map).
    /// - Throws: `ModelFileError`.
    public init(contentsOf url: URL, verify: Bool = true) throws {
        let path = url.path
        self.url = url
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelFileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ModelFileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ModelFileError.cannotOpen(path: path, reason: "not a regular file") }
        let size = Int(info.st_size)

        // Too short to hold a header: a cut-off model file if what is there
        // starts like one, otherwise some other file.
        if size < Layout.headerBytes {
            var head = [UInt8](repeating: 0, count: min(size, Layout.fileLengthOffset + 8))
            let got = head.isEmpty ? 0 : pread(fd, &head, head.count, 0)
            guard got == head.count else { throw ModelFileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            let magicPart = min(head.count, Layout.magic.count)
            guard Array(head[0..<magicPart]) == Array(Layout.magic[0..<magicPart]) else { throw ModelFileError.notAModelFile(path: path) }
            var expected = Layout.headerBytes
            if head.count >= Layout.versionOffset + 4 {
                let version = head.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: Layout.versionOffset, as: UInt32.self).littleEndian) }
                guard Self.readableVersions.contains(version) else {
                    throw ModelFileError.unsupportedVersion(path: path, found: version, supported: Self.formatVersion)
                }
            }
            if head.count >= Layout.fileLengthOffset + 8 {
                let promised = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: Layout.fileLengthOffset, as: UInt64.self).littleEndian }
                expected = Int(exactly: promised).map { max($0, Layout.headerBytes) } ?? expected
            }
            throw ModelFileError.truncated(path: path, expectedBytes: expected, actualBytes: size)
        }

        // Populating the page tables up front is cheaper than faulting page by
        // page, but only worth it when the checksum will read every page anyway.
        let map: MemoryMap
        do {
            map = try MemoryMap(descriptor: fd, size: size, access: .read(populate: verify))
        } catch {
            throw ModelFileError.cannotOpen(path: path, reason: "\(error)")
        }
        let header = try Layout.Header(map.bytes, path: path, verify: verify)
        let address = map.bytes.baseAddress!
        self.header = header
        self.map = map
        // The header check proved each range in bounds, 64-byte aligned and a whole number of elements.
        func view<T>(_ section: Layout.Section, as _: T.Type) -> UnsafeBufferPointer<T> {
            let range = header.sections[section.rawValue]
            let start = (UnsafeRawPointer(address) + range.lowerBound).assumingMemoryBound(to: T.self)
            return UnsafeBufferPointer(start: start, count: range.count / MemoryLayout<T>.stride)
        }
        customerIDs = view(.customerIDs, as: Int64.self)
        movieIDs = view(.movieIDs, as: Int64.self)
        customerBias = view(.customerBias, as: Float.self)
        movieBias = view(.movieBias, as: Float.self)
        customerFactors = view(.customerFactors, as: Float.self)
        movieFactors = view(.movieFactors, as: Float.self)
        customerTrainCount = view(.customerTrainCount, as: Int32.self)
        historyStart = view(.historyStart, as: Int64.self)
        history = view(.history, as: Int32.self)
        itemWeights = view(.itemWeights, as: Float.self)
        func lookup(_ ids: UnsafeBufferPointer<Int64>, ascending: Bool) -> [Int64: Int32]? {
            guard !ascending else { return nil }
            var table = [Int64: Int32](minimumCapacity: ids.count)
            // The first position of an id wins, as a scan from the front finds it.
            for (i, id) in ids.enumerated().reversed() { table[id] = Int32(i) }
            return table
        }
        customerLookup = lookup(customerIDs, ascending: header.customerIDsAscend)
        movieLookup = lookup(movieIDs, ascending: header.movieIDsAscend)
    }

    /// The dense index of source customer id `id`, or nil when the model has no such customer.
    /// O(log n) when the ids ascend (as the warehouse's dense keys do), else a hash lookup.
    public func customerIndex(of id: Int64) -> Int? {
        if let customerLookup { return customerLookup[id].map(Int.init) }
        return Vocabulary.index(of: id, in: customerIDs, ascending: true)
    }

    /// The dense index of source movie id `id`, or nil when the model has no such movie.
    public func movieIndex(of id: Int64) -> Int? {
        if let movieLookup { return movieLookup[id].map(Int.init) }
        return Vocabulary.index(of: id, in: movieIDs, ascending: true)
    }

    /// What the header of the file at `url` says about its run, read without
    /// mapping it: `.run(id)`, `.unregistered` (a version-1 file, or written
    /// without a run), or `.unreadable` (missing, or not a model file).
    public enum RecordedRun: Equatable { case run(Int), unregistered, unreadable }

    public static func recordedRun(at url: URL) -> RecordedRun {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .unreadable }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: Layout.runIDOffset + 8)
        guard pread(fd, &head, head.count, 0) == head.count, Array(head[0..<Layout.magic.count]) == Layout.magic else { return .unreadable }
        let version = head.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: Layout.versionOffset, as: UInt32.self).littleEndian) }
        guard readableVersions.contains(version) else { return .unreadable }
        guard version >= 2 else { return .unregistered }
        let id = head.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: Layout.runIDOffset, as: Int64.self)) }
        return id >= 0 ? .run(Int(id)) : .unregistered
    }

    /// Copies everything out of the map into a `FactorModel`.
    public func model() -> FactorModel {
        FactorModel(kind: kind, parameters: parameters, dataVersion: dataVersion, splitID: splitID, scale: scale,
                    customerIDs: Array(customerIDs), movieIDs: Array(movieIDs), globalMean: globalMean,
                    customerBias: Array(customerBias), movieBias: Array(movieBias), rank: rank,
                    customerFactors: Array(customerFactors), movieFactors: Array(movieFactors),
                    customerTrainCount: Array(customerTrainCount), itemWeights: Array(itemWeights),
                    historyStart: historyStart.map { Int($0) }, history: Array(history))
    }
}
