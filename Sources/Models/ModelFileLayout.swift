import Features
import Foundation
import Runtime

/// The bytes of a model file: header fields at fixed offsets, then the
/// sections, each 64-byte aligned, and a checksum over all of it.
extension ModelFile {
    /// The file's checksum: `ContentHash` of everything from `Layout.hashedFrom` on.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 { ContentHash.of(bytes) }

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
        static let headerBytes = headerBytes(version: ModelFile.formatVersion)

        /// Where the section table starts in a file of `version`.
        static func sectionTableOffset(version: Int) -> Int { version == 1 ? 104 : sectionTableOffset }
        static func headerBytes(version: Int) -> Int { sectionTableOffset(version: version) + 16 * sections(version: version).count }
        /// The sections a file of `version` holds: version 3 added the item-based ones.
        static func sections(version: Int) -> ArraySlice<Section> {
            version >= 3 ? Section.allCases[...] : Section.allCases.prefix(10)
        }

        static let customerIDsAscendFlag: UInt64 = 1
        static let movieIDsAscendFlag: UInt64 = 2

        /// The sections, in file order.
        enum Section: Int, CaseIterable {
            case kind, parameters, dataVersion, customerIDs, movieIDs, customerBias, movieBias, customerTrainCount,
                 customerFactors, movieFactors
            /// Version 3, empty unless the model is item-based (EASE): the training
            /// history (CSR by customer) and the movies × movies weights.
            case historyStart, history, itemWeights
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
                for section in Layout.sections(version: version) {
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
                    case .historyStart: expected = length == 0 ? 0 : try product(customerCount + 1, 8)
                    case .history: expected = length % 4 == 0 ? nil : 0
                    case .itemWeights: expected = length == 0 ? 0 : try product(movieCount, movieCount, 4)
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
                // Item-based sections come together or not at all, the history's bounds inside it.
                for _ in sections.count..<Section.allCases.count { sections.append(fileLength..<fileLength) }
                let itemBased = !sections[Section.itemWeights.rawValue].isEmpty
                guard itemBased == !sections[Section.historyStart.rawValue].isEmpty,
                      itemBased || sections[Section.history.rawValue].isEmpty else {
                    throw corrupt("the item weights and the training history must come together")
                }
                if itemBased {
                    let starts = UnsafeRawBufferPointer(rebasing: bytes[sections[Section.historyStart.rawValue]]).bindMemory(to: Int64.self)
                    let entries = Int64(sections[Section.history.rawValue].count / 4)
                    guard starts.first == 0, starts.last == entries, zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                        throw corrupt("the training history's bounds do not fit its \(entries) entries")
                    }
                    let history = UnsafeRawBufferPointer(rebasing: bytes[sections[Section.history.rawValue]]).bindMemory(to: Int32.self)
                    guard history.allSatisfy({ $0 >= 0 && Int($0) < movieCount }) else { throw corrupt("the training history names a movie out of range") }
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
                                        (.customerFactors, "customer factors"), (.movieFactors, "movie factors"), (.itemWeights, "item weights")] {
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
