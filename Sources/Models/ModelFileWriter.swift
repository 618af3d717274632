import Features
import Foundation
import Runtime
#if canImport(Glibc)
import Glibc
#endif

extension ModelFile {
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
            case .historyStart: return model.historyStart.count * 8
            case .history: return model.history.count * 4
            case .itemWeights: return model.itemWeights.count * 4
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
                    case .historyStart: model.historyStart.map(Int64.init).withUnsafeBytes(copy)
                    case .history: model.history.withUnsafeBytes(copy)
                    case .itemWeights: model.itemWeights.withUnsafeBytes(copy)
                    }
                }
                // The padding is already zero: the file was freshly allocated.
                put(checksum(UnsafeRawBufferPointer(rebasing: file[Layout.hashedFrom...])), at: Layout.checksumOffset)
            }
        } catch let failure as AtomicFile.Failure {
            throw ModelFileError.cannotWrite(path: url.path, reason: failure.reason)
        }
    }
}
