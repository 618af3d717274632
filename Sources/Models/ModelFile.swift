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

/// Why a model file could not be read or written. Every message names the file and says what to do.
public enum ModelFileError: Error, Equatable, CustomStringConvertible {
    /// open(2) failed: usually a missing file or a wrong path.
    case cannotOpen(path: String, reason: String)
    /// Creating, filling or renaming the file failed (disk full, no permission, …).
    case cannotWrite(path: String, reason: String)
    /// The magic bytes are wrong: this is some other kind of file.
    case notAModelFile(path: String)
    /// A model file of another format version.
    case unsupportedVersion(path: String, found: Int, supported: Int)
    /// Fewer bytes than the header promises (an interrupted copy).
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The contents do not hash to the stored checksum: some bytes changed.
    case checksumMismatch(path: String)
    /// The header or section table contradicts itself or the file's size.
    case corrupt(path: String, reason: String)
    /// A value that must be a finite number is NaN or infinite (a diverged fit, or a forged file).
    case nonFinite(path: String, field: String, index: Int?)

    /// True for a file whose contents are wrong (bad input); false when the
    /// system refused to open or write it.
    public var isBadContent: Bool {
        switch self {
        case .cannotOpen, .cannotWrite: return false
        default: return true
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open model file \(path): \(reason); check the path"
        case .cannotWrite(let path, let reason):
            return "cannot write model file \(path): \(reason)"
        case .notAModelFile(let path):
            return "\(path) is not a recsys model file"
        case .unsupportedVersion(let path, let found, let supported):
            return "\(path) is a version \(found) model file, but this recsys reads version \(supported); retrain the model with this recsys"
        case .truncated(let path, let expected, let actual):
            return "\(path) is truncated (\(actual) of \(expected) bytes); retrain or copy it again"
        case .checksumMismatch(let path):
            return "\(path) does not match its checksum (the file was damaged); retrain or copy it again"
        case .corrupt(let path, let reason):
            return "\(path) is corrupt (\(reason)); retrain or copy it again"
        case .nonFinite(let path, let field, let index):
            let which = index.map { "\(field) [\($0)]" } ?? field
            return "\(path) holds a value that is not a finite number (\(which)); retrain the model"
        }
    }
}

/// A `FactorModel` in a versioned binary file, read through a read-only memory
/// map: opening a Netflix-scale model (~100 MB) costs one checksum pass and no
/// copy, and the factor matrices are handed to BLAS straight from the map.
///
/// Layout, version 2 (all integers little-endian; offsets in bytes):
///
///     0    magic "RSMODEL\0"
///     8    u32 format version (2)          12   u32 header bytes (272)
///     16   u64 checksum of bytes 24 ..< file length
///     24   u64 file length                 32   u64 flags (bit 0: customer ids ascend,
///                                                         bit 1: movie ids ascend)
///     40   i64 rank                        48   i64 customers      56   i64 movies
///     64   i64 split id                    72   f64 global mean
///     80   f64 scale minimum               88   f64 scale maximum  96   f64 scale step
///     104  i64 model_runs run id (−1: none)
///     112  section table: 10 × (u64 offset, u64 byte length), in `Section` order
///     272  zero padding, then each section at a multiple of 64, zero-padded,
///          the file itself ending on a multiple of 64
///
/// Version 1 is the same without the run id (section table at 104, header
/// 264 bytes); it is still read. The run id ties the file to its registry
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
    public static let formatVersion = 2
    /// The versions this reader understands.
    public static let readableVersions = 1...2

    public let url: URL
    public let kind: String
    /// The training parameters, a JSON object as text.
    public let parameters: String
    public let dataVersion: String
    public let splitID: Int
    public let scale: RatingScale
    public let rank: Int
    public let globalMean: Double
    public let customerCount: Int
    public let movieCount: Int
    /// The model_runs row that wrote this file (nil for a version-1 file or an unregistered write).
    public let runID: Int?

    // Immutable after init, and the map is read-only: safe to share across threads.
    private let map: MemoryMap
    private let customerIDsAscend: Bool
    private let movieIDsAscend: Bool

    // Typed views into the map (valid while this object lives).
    public let customerIDs: UnsafeBufferPointer<Int64>
    public let movieIDs: UnsafeBufferPointer<Int64>
    public let customerBias: UnsafeBufferPointer<Float>
    public let movieBias: UnsafeBufferPointer<Float>
    /// customers × rank, row-major.
    public let customerFactors: UnsafeBufferPointer<Float>
    /// movies × rank, row-major.
    public let movieFactors: UnsafeBufferPointer<Float>
    public let customerTrainCount: UnsafeBufferPointer<Int32>

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
        self.kind = header.kind
        self.parameters = header.parameters
        self.dataVersion = header.dataVersion
        self.splitID = header.splitID
        self.scale = header.scale
        self.rank = header.rank
        self.globalMean = header.globalMean
        self.customerCount = header.customerCount
        self.movieCount = header.movieCount
        self.runID = header.runID
        self.customerIDsAscend = header.customerIDsAscend
        self.movieIDsAscend = header.movieIDsAscend
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
    }

    /// The dense index of source customer id `id`, or nil when the model has no such customer.
    /// O(log n) when the ids ascend (as the warehouse's dense keys do), else a linear scan.
    public func customerIndex(of id: Int64) -> Int? {
        Vocabulary.index(of: id, in: customerIDs, ascending: customerIDsAscend)
    }

    /// The dense index of source movie id `id`, or nil when the model has no such movie.
    public func movieIndex(of id: Int64) -> Int? {
        Vocabulary.index(of: id, in: movieIDs, ascending: movieIDsAscend)
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
                    customerTrainCount: Array(customerTrainCount))
    }

    // MARK: Writing

    /// Writes `model` to `url` atomically: the file is laid out in a temporary
    /// file in the same folder (created with its parents when missing), synced,
    /// and renamed over `url`, so a reader sees the old file or the whole new one.
    /// - Throws: `ModelFileError.cannotWrite`.
    /// `afterRename`, when given, runs right after the rename while this
    /// process holds an exclusive lock on the target's folder, so that
    /// registering the file happens in the order the renames did.
    public static func write(_ model: FactorModel, to url: URL, runID: Int? = nil,
                             afterRename: (() throws -> Void)? = nil) throws {
        let strings: [Layout.Section: [UInt8]] = [
            .kind: Array(model.kind.utf8), .parameters: Array(model.parameters.utf8), .dataVersion: Array(model.dataVersion.utf8),
        ]
        // Section byte lengths, then offsets one after another on 64-byte boundaries.
        func byteLength(_ section: Layout.Section) -> Int {
            switch section {
            case .kind, .parameters, .dataVersion: return strings[section]!.count
            case .customerIDs: return model.customerIDs.count * 8
            case .movieIDs: return model.movieIDs.count * 8
            case .customerBias: return model.customerBias.count * 4
            case .movieBias: return model.movieBias.count * 4
            case .customerTrainCount: return model.customerTrainCount.count * 4
            case .customerFactors: return model.customerFactors.count * 4
            case .movieFactors: return model.movieFactors.count * 4
            }
        }
        var ranges: [(Layout.Section, Range<Int>)] = []
        var end = Layout.aligned(Layout.headerBytes)
        for section in Layout.Section.allCases {
            let length = byteLength(section)
            ranges.append((section, end..<(end + length)))
            end = Layout.aligned(end + length)
        }
        let fileLength = end
        let flags = (Vocabulary.strictlyAscending(model.customerIDs) ? Layout.customerIDsAscendFlag : 0)
            | (Vocabulary.strictlyAscending(model.movieIDs) ? Layout.movieIDsAscendFlag : 0)

        do {
            try AtomicFile.write(to: url, size: fileLength, afterRename: afterRename) { file in
                func put<T: FixedWidthInteger>(_ value: T, at offset: Int) { file.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
                func put(_ value: Double, at offset: Int) { put(value.bitPattern, at: offset) }
                Layout.magic.withUnsafeBytes { file.copyMemory(from: $0) }
                put(UInt32(formatVersion), at: Layout.versionOffset)
                put(UInt32(Layout.headerBytes), at: Layout.headerBytesOffset)
                put(UInt64(fileLength), at: Layout.fileLengthOffset)
                put(flags, at: Layout.flagsOffset)
                put(Int64(model.rank), at: Layout.rankOffset)
                put(Int64(model.customerCount), at: Layout.customerCountOffset)
                put(Int64(model.movieCount), at: Layout.movieCountOffset)
                put(Int64(model.splitID), at: Layout.splitIDOffset)
                put(model.globalMean, at: Layout.globalMeanOffset)
                put(model.scale.minimum, at: Layout.scaleMinimumOffset)
                put(model.scale.maximum, at: Layout.scaleMaximumOffset)
                put(model.scale.step, at: Layout.scaleStepOffset)
                put(Int64(runID ?? -1), at: Layout.runIDOffset)
                for (i, (section, range)) in ranges.enumerated() {
                    put(UInt64(range.lowerBound), at: Layout.sectionTableOffset + 16 * i)
                    put(UInt64(range.count), at: Layout.sectionTableOffset + 16 * i + 8)
                    func copy(_ source: UnsafeRawBufferPointer) {
                        guard !source.isEmpty else { return }
                        UnsafeMutableRawBufferPointer(rebasing: file[range]).copyMemory(from: source)
                    }
                    switch section {
                    case .kind, .parameters, .dataVersion: strings[section]!.withUnsafeBytes(copy)
                    case .customerIDs: model.customerIDs.withUnsafeBytes(copy)
                    case .movieIDs: model.movieIDs.withUnsafeBytes(copy)
                    case .customerBias: model.customerBias.withUnsafeBytes(copy)
                    case .movieBias: model.movieBias.withUnsafeBytes(copy)
                    case .customerTrainCount: model.customerTrainCount.withUnsafeBytes(copy)
                    case .customerFactors: model.customerFactors.withUnsafeBytes(copy)
                    case .movieFactors: model.movieFactors.withUnsafeBytes(copy)
                    }
                }
                // The padding is already zero: the file was freshly allocated.
                put(checksum(UnsafeRawBufferPointer(rebasing: file[Layout.hashedFrom...])), at: Layout.checksumOffset)
            }
        } catch let failure as AtomicFile.Failure {
            throw ModelFileError.cannotWrite(path: url.path, reason: failure.reason)
        }
    }

    // MARK: Checksum

    /// The file's checksum: `ContentHash` of everything from `Layout.hashedFrom` on.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 { ContentHash.of(bytes) }

    // MARK: Layout

    enum Layout {
        static let magic: [UInt8] = Array("RSMODEL\0".utf8)
        static let alignment = 64
        static let versionOffset = 8
        static let headerBytesOffset = 12
        static let checksumOffset = 16
        /// The checksum covers everything from here to the end of the file.
        static let hashedFrom = 24
        static let fileLengthOffset = 24
        static let flagsOffset = 32
        static let rankOffset = 40
        static let customerCountOffset = 48
        static let movieCountOffset = 56
        static let splitIDOffset = 64
        static let globalMeanOffset = 72
        static let scaleMinimumOffset = 80
        static let scaleMaximumOffset = 88
        static let scaleStepOffset = 96
        static let runIDOffset = 104
        static let sectionTableOffset = 112
        static let headerBytes = sectionTableOffset + 16 * Section.allCases.count

        /// Where the section table starts in a file of `version`.
        static func sectionTableOffset(version: Int) -> Int { version == 1 ? 104 : sectionTableOffset }
        static func headerBytes(version: Int) -> Int { sectionTableOffset(version: version) + 16 * Section.allCases.count }

        static let customerIDsAscendFlag: UInt64 = 1
        static let movieIDsAscendFlag: UInt64 = 2

        /// The sections, in file order.
        enum Section: Int, CaseIterable {
            case kind, parameters, dataVersion, customerIDs, movieIDs, customerBias, movieBias, customerTrainCount,
                 customerFactors, movieFactors
        }

        static func aligned(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

        /// The header of a mapped file, checked against the file's size.
        struct Header {
            var kind = "", parameters = "", dataVersion = ""
            var splitID = 0, rank = 0, customerCount = 0, movieCount = 0
            var runID: Int?
            var globalMean = 0.0
            var scale = RatingScale.netflix
            var customerIDsAscend = false, movieIDsAscend = false
            /// Byte ranges, indexed by `Section.rawValue`.
            var sections: [Range<Int>] = []

            /// - Precondition: `bytes` holds at least `headerBytes`.
            init(_ bytes: UnsafeRawBufferPointer, path: String, verify: Bool) throws {
                func corrupt(_ reason: String) -> ModelFileError { .corrupt(path: path, reason: reason) }
                func u64(_ offset: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian }
                func int(_ offset: Int, _ name: String) throws -> Int {
                    guard let value = Int(exactly: Int64(bitPattern: u64(offset))), value >= 0 else {
                        throw corrupt("\(name) is \(Int64(bitPattern: u64(offset)))")
                    }
                    return value
                }
                func double(_ offset: Int) -> Double { Double(bitPattern: u64(offset)) }

                guard Array(bytes[0..<magic.count]) == magic else { throw ModelFileError.notAModelFile(path: path) }
                let version = Int(bytes.loadUnaligned(fromByteOffset: versionOffset, as: UInt32.self).littleEndian)
                guard ModelFile.readableVersions.contains(version) else {
                    throw ModelFileError.unsupportedVersion(path: path, found: version, supported: ModelFile.formatVersion)
                }
                let headerBytes = Layout.headerBytes(version: version)
                let sectionTableOffset = Layout.sectionTableOffset(version: version)
                let declaredHeader = Int(bytes.loadUnaligned(fromByteOffset: headerBytesOffset, as: UInt32.self).littleEndian)
                guard declaredHeader == headerBytes else { throw corrupt("header of \(declaredHeader) bytes, expected \(headerBytes)") }
                guard let fileLength = Int(exactly: u64(fileLengthOffset)) else { throw corrupt("file length \(u64(fileLengthOffset))") }
                guard bytes.count >= fileLength else {
                    throw ModelFileError.truncated(path: path, expectedBytes: fileLength, actualBytes: bytes.count)
                }
                guard bytes.count == fileLength else {
                    throw corrupt("\(bytes.count - fileLength) bytes after the declared end at \(fileLength)")
                }
                // Checked first: a damaged file is reported as damaged, whatever field the damage hit.
                if verify, ModelFile.checksum(UnsafeRawBufferPointer(rebasing: bytes[hashedFrom...])) != u64(checksumOffset) {
                    throw ModelFileError.checksumMismatch(path: path)
                }

                let flags = u64(flagsOffset)
                guard flags & ~(customerIDsAscendFlag | movieIDsAscendFlag) == 0 else { throw corrupt("unknown flags \(flags)") }
                customerIDsAscend = flags & customerIDsAscendFlag != 0
                movieIDsAscend = flags & movieIDsAscendFlag != 0
                rank = try int(rankOffset, "rank")
                customerCount = try int(customerCountOffset, "the customer count")
                movieCount = try int(movieCountOffset, "the movie count")
                splitID = Int(Int64(bitPattern: u64(splitIDOffset)))
                globalMean = double(globalMeanOffset)
                guard globalMean.isFinite else { throw ModelFileError.nonFinite(path: path, field: "global mean", index: nil) }
                if version >= 2 {
                    let stored = Int64(bitPattern: u64(runIDOffset))
                    guard stored >= -1, let value = Int(exactly: stored) else { throw corrupt("run id \(stored)") }
                    runID = value >= 0 ? value : nil
                }
                let minimum = double(scaleMinimumOffset), maximum = double(scaleMaximumOffset), step = double(scaleStepOffset)
                guard minimum.isFinite, maximum.isFinite, step.isFinite, minimum < maximum, step > 0 else {
                    throw corrupt("rating scale \(minimum)…\(maximum) step \(step)")
                }
                scale = RatingScale(minimum: minimum, maximum: maximum, step: step)

                // Every section: where the writer puts it (in order, aligned,
                // inside the file) and exactly the size the counts imply.
                func product(_ factors: Int...) throws -> Int {
                    try factors.reduce(1) { total, factor in
                        let (value, overflow) = total.multipliedReportingOverflow(by: factor)
                        guard !overflow else { throw corrupt("section sizes overflow") }
                        return value
                    }
                }
                var previousEnd = headerBytes
                for section in Section.allCases {
                    let entry = sectionTableOffset + 16 * section.rawValue
                    guard let offset = Int(exactly: u64(entry)), let length = Int(exactly: u64(entry + 8)),
                          offset % alignment == 0, offset >= previousEnd, length <= fileLength, offset <= fileLength - length
                    else { throw corrupt("the \(section) section lies outside the file or out of order") }
                    let expected: Int?
                    switch section {
                    case .kind, .parameters, .dataVersion: expected = nil
                    case .customerIDs: expected = try product(customerCount, 8)
                    case .movieIDs: expected = try product(movieCount, 8)
                    case .customerBias, .customerTrainCount: expected = try product(customerCount, 4)
                    case .movieBias: expected = try product(movieCount, 4)
                    case .customerFactors: expected = try product(customerCount, rank, 4)
                    case .movieFactors: expected = try product(movieCount, rank, 4)
                    }
                    if let expected, length != expected {
                        throw corrupt("the \(section) section has \(length) bytes, its counts make \(expected)")
                    }
                    sections.append(offset..<(offset + length))
                    previousEnd = offset + length
                }
                func text(_ section: Section) throws -> String {
                    guard let value = String(validating: UnsafeRawBufferPointer(rebasing: bytes[sections[section.rawValue]]), as: UTF8.self) else {
                        throw corrupt("the \(section) text is not UTF-8")
                    }
                    return value
                }
                kind = try text(.kind)
                parameters = try text(.parameters)
                dataVersion = try text(.dataVersion)
                // The "ids ascend" flags steer binary search: a false one would make lookups miss.
                for (section, flagged, name) in [(Section.customerIDs, customerIDsAscend, "customer"), (.movieIDs, movieIDsAscend, "movie")] where flagged {
                    let ids = UnsafeRawBufferPointer(rebasing: bytes[sections[section.rawValue]]).bindMemory(to: Int64.self)
                    if let i = Vocabulary.firstOutOfOrder(ids) {
                        throw corrupt("the \(name) ids are flagged ascending, but id \(ids[i]) follows \(ids[i - 1])")
                    }
                }
                // A NaN bias or factor would make every score it touches NaN: evaluate
                // would stop, recommend would rank nothing. One pass, at memory speed.
                for (section, name) in [(Section.customerBias, "customer bias"), (.movieBias, "movie bias"),
                                        (.customerFactors, "customer factors"), (.movieFactors, "movie factors")] {
                    let range = sections[section.rawValue]
                    let floats = UnsafeRawBufferPointer(rebasing: bytes[range]).bindMemory(to: Float.self)
                    if let bad = Self.firstNonFinite(floats) {
                        throw ModelFileError.nonFinite(path: path, field: name, index: bad)
                    }
                }
            }

            /// The index of the first NaN or infinite value, if any: v · 0 is 0
            /// for a finite v and NaN otherwise, so a block's sum of them is
            /// finite exactly when all its values are — one multiply-add per value.
            static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
                var start = 0
                while start < values.count {
                    let end = min(values.count, start + 64)
                    var sum: Float = 0
                    for i in start..<end { sum += values[i] * 0 }
                    if !sum.isFinite {
                        for i in start..<end where !values[i].isFinite { return i }
                    }
                    start = end
                }
                return nil
            }
        }
    }
}

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
