import Features
import Foundation
import XCTest
@testable import Models

/// Model files: round trips, and every kind of damage named as such.
final class ModelFileTests: ScratchFolderTestCase {

    /// 3 customers (ids ascending), 4 movies (ids not ascending), rank 2; every value distinct.
    private func sampleModel() -> FactorModel {
        FactorModel(kind: "als", parameters: "{\"rank\": 2, \"note\": \"ünïcode\"}", dataVersion: "v2024-01-01", splitID: 7,
                    scale: .movieLens, customerIDs: [6, 10, 1_000_000_007], movieIDs: [30, 10, 20, -5],
                    globalMean: 3.604_289, customerBias: [0.25, -0.5, 0.125], movieBias: [0.1, -0.2, 0.3, -0.4],
                    rank: 2, customerFactors: [1, 2, 3, 4, 5, 6], movieFactors: [-1, -2, -3, -4, 0.5, 0.25, 1e-3, 7e5],
                    customerTrainCount: [10, 0, 3])
    }

    private func written(_ model: FactorModel, name: String = "model.rsm") throws -> URL {
        let url = folder.appendingPathComponent("nested/folder/\(name)")
        try ModelFile.write(model, to: url)
        return url
    }

    private func assertThrows(_ url: URL, _ expected: ModelFileError, verify: Bool = true,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelFile(contentsOf: url, verify: verify), file: file, line: line) { error in
            XCTAssertEqual(error as? ModelFileError, expected, file: file, line: line)
        }
    }

    func testRoundTripGivesTheModelBackThroughViewsAndCopy() throws {
        let model = sampleModel()
        let url = try written(model)
        let file = try ModelFile(contentsOf: url)
        XCTAssertEqual(file.model(), model)
        XCTAssertEqual(file.kind, "als")
        XCTAssertEqual(file.parameters, model.parameters)
        XCTAssertEqual(file.dataVersion, "v2024-01-01")
        XCTAssertEqual(file.splitID, 7)
        XCTAssertEqual(file.scale, .movieLens)
        XCTAssertEqual(file.rank, 2)
        XCTAssertEqual(file.globalMean, 3.604_289)
        XCTAssertEqual(file.customerCount, 3)
        XCTAssertEqual(file.movieCount, 4)
        XCTAssertEqual(Array(file.customerIDs), model.customerIDs)
        XCTAssertEqual(Array(file.movieIDs), model.movieIDs)
        XCTAssertEqual(Array(file.customerBias), model.customerBias)
        XCTAssertEqual(Array(file.movieBias), model.movieBias)
        XCTAssertEqual(Array(file.customerFactors), model.customerFactors)
        XCTAssertEqual(Array(file.movieFactors), model.movieFactors)
        XCTAssertEqual(Array(file.customerTrainCount), model.customerTrainCount)
        // Every array starts on a 64-byte boundary of the (page-aligned) map.
        for address in [UnsafeRawPointer(file.customerIDs.baseAddress!), UnsafeRawPointer(file.movieFactors.baseAddress!),
                        UnsafeRawPointer(file.customerTrainCount.baseAddress!)] {
            XCTAssertEqual(Int(bitPattern: address) % 64, 0)
        }
        // The atomic write leaves no temporary file behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path), ["model.rsm"])
    }

    func testIndexLookupsBinarySearchAscendingIdsAndScanTheOthers() throws {
        let file = try ModelFile(contentsOf: try written(sampleModel()))
        // Customers ascend (binary search): every id, and absent ids below, between and above.
        XCTAssertEqual(file.customerIndex(of: 6), 0)
        XCTAssertEqual(file.customerIndex(of: 10), 1)
        XCTAssertEqual(file.customerIndex(of: 1_000_000_007), 2)
        for absent: Int64 in [-1, 5, 7, 11, 1_000_000_008, .max, .min] { XCTAssertNil(file.customerIndex(of: absent)) }
        // Movies [30, 10, 20, -5] do not ascend (the lookup table built at open).
        XCTAssertEqual(file.movieIndex(of: 30), 0)
        XCTAssertEqual(file.movieIndex(of: 10), 1)
        XCTAssertEqual(file.movieIndex(of: 20), 2)
        XCTAssertEqual(file.movieIndex(of: -5), 3)
        for absent: Int64 in [0, 15, 31, -6] { XCTAssertNil(file.movieIndex(of: absent)) }
    }

    func testBinarySearchOverManyAscendingIds() throws {
        let ids = (0..<1000).map { Int64($0) * 3 + 1 }
        let model = FactorModel(kind: "bias", parameters: "{}", dataVersion: "", splitID: 0, scale: .netflix,
                                customerIDs: ids, movieIDs: [], globalMean: 3, customerBias: ids.map { _ in 0 }, movieBias: [],
                                rank: 0, customerFactors: [], movieFactors: [], customerTrainCount: ids.map { _ in 1 })
        let file = try ModelFile(contentsOf: try written(model))
        for (index, id) in ids.enumerated() {
            XCTAssertEqual(file.customerIndex(of: id), index)
            XCTAssertNil(file.customerIndex(of: id + 1))
        }
        XCTAssertNil(file.customerIndex(of: 0))
    }

    func testEmptyModelRoundTrips() throws {
        let model = FactorModel(kind: "", parameters: "", dataVersion: "", splitID: 0, scale: .netflix,
                                customerIDs: [], movieIDs: [], globalMean: 0, customerBias: [], movieBias: [], rank: 10,
                                customerFactors: [], movieFactors: [], customerTrainCount: [])
        let file = try ModelFile(contentsOf: try written(model))
        XCTAssertEqual(file.model(), model)
        XCTAssertEqual(file.customerFactors.count, 0)
        XCTAssertNil(file.customerIndex(of: 1))
        XCTAssertNil(file.movieIndex(of: 1))
    }

    func testRewritingReplacesTheFile() throws {
        var model = sampleModel()
        let url = try written(model)
        model.globalMean = 1.5
        model.kind = "svd"
        try ModelFile.write(model, to: url)
        XCTAssertEqual(try ModelFile(contentsOf: url).model(), model)
    }

    func testTruncatedFilesAreNamedTruncated() throws {
        let url = try written(sampleModel())
        let bytes = try Data(contentsOf: url)
        let full = bytes.count
        XCTAssertEqual(full % 64, 0)
        // Inside the magic, inside the header (before and after the length field), inside
        // the section table, inside a section, one byte short.
        let cuts = [0, 5, 20, 40, 200, ModelFile.Layout.headerBytes + 10, full / 2, full - 1]
        for cut in cuts {
            let damaged = folder.appendingPathComponent("cut-\(cut).rsm")
            try bytes.prefix(cut).write(to: damaged)
            // Before byte 32 the length field is not there yet: the header size is what is known to be missing.
            let expected = cut < 32 ? ModelFile.Layout.headerBytes : full
            assertThrows(damaged, .truncated(path: damaged.path, expectedBytes: expected, actualBytes: cut))
            assertThrows(damaged, .truncated(path: damaged.path, expectedBytes: expected, actualBytes: cut), verify: false)
        }
        let error = ModelFileError.truncated(path: "/m.rsm", expectedBytes: 100, actualBytes: 40)
        XCTAssertEqual(error.description, "/m.rsm is truncated (40 of 100 bytes); retrain or copy it again")
    }

    func testTrailingBytesAreCorrupt() throws {
        let url = try written(sampleModel())
        var bytes = try Data(contentsOf: url)
        let full = bytes.count
        bytes.append(0)
        try bytes.write(to: url)
        assertThrows(url, .corrupt(path: url.path, reason: "1 bytes after the declared end at \(full)"))
    }

    func testAFlippedByteInTheFactorsFailsTheChecksum() throws {
        let model = sampleModel()
        let url = try written(model)
        var bytes = try Data(contentsOf: url)
        // The movie factors, found by their content: flip one bit in the third float.
        let factorBytes = model.movieFactors.withUnsafeBytes { Data($0) }
        let found = try XCTUnwrap(bytes.range(of: factorBytes)).lowerBound
        bytes[found + 9] ^= 0x10
        try bytes.write(to: url)
        assertThrows(url, .checksumMismatch(path: url.path))
        // Unverified, the damage goes unseen: the structure is intact.
        XCTAssertNotEqual(try ModelFile(contentsOf: url, verify: false).model(), model)
    }

    func testAFlippedByteInTheHeaderFailsTheChecksum() throws {
        let url = try written(sampleModel())
        var bytes = try Data(contentsOf: url)
        bytes[ModelFile.Layout.rankOffset] ^= 0x01
        try bytes.write(to: url)
        assertThrows(url, .checksumMismatch(path: url.path))
        // Unverified, the section sizes no longer match rank 3.
        XCTAssertThrowsError(try ModelFile(contentsOf: url, verify: false)) { error in
            guard case .corrupt = error as? ModelFileError else { return XCTFail("\(error)") }
        }
    }

    func testATextFileIsNotAModelFile() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in [("short.txt", "customer_id,movie_id\n"), ("long.txt", String(repeating: "1,2,3,2005-09-06\n", count: 100))] {
            let url = folder.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            assertThrows(url, .notAModelFile(path: url.path))
        }
    }

    func testAnotherVersionIsUnsupported() throws {
        let url = try written(sampleModel())
        var bytes = try Data(contentsOf: url)
        bytes[ModelFile.Layout.versionOffset] = 99
        try bytes.write(to: url)
        assertThrows(url, .unsupportedVersion(path: url.path, found: 99, supported: ModelFile.formatVersion))
        // Also when the file is too short to hold a version-1 header.
        try bytes.prefix(64).write(to: url)
        assertThrows(url, .unsupportedVersion(path: url.path, found: 99, supported: ModelFile.formatVersion))
    }

    func testSectionOutsideTheFileIsCorruptEvenWithAValidChecksum() throws {
        let url = try written(sampleModel())
        var bytes = try Data(contentsOf: url)
        // Point the movie factors (the last section) past the end, then re-seal the checksum.
        let entry = ModelFile.Layout.sectionTableOffset + 16 * ModelFile.Layout.Section.movieFactors.rawValue
        let pastTheEnd = UInt64(bytes.count)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: pastTheEnd.littleEndian, toByteOffset: entry, as: UInt64.self) }
        reseal(&bytes)
        try bytes.write(to: url)
        assertThrows(url, .corrupt(path: url.path, reason: "the movieFactors section lies outside the file or out of order"))
    }

    func testABadScaleIsCorruptNotACrash() throws {
        let url = try written(sampleModel())
        var bytes = try Data(contentsOf: url)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: (0.0).bitPattern.littleEndian, toByteOffset: ModelFile.Layout.scaleStepOffset, as: UInt64.self) }
        reseal(&bytes)
        try bytes.write(to: url)
        assertThrows(url, .corrupt(path: url.path, reason: "rating scale 0.5…5.0 step 0.0"))
    }

    func testAMissingFileNamesThePath() {
        let url = folder.appendingPathComponent("absent.rsm")
        assertThrows(url, .cannotOpen(path: url.path, reason: "No such file or directory"))
        XCTAssertEqual(ModelFileError.cannotOpen(path: url.path, reason: "No such file or directory").description,
                       "cannot open model file \(url.path): No such file or directory; check the path")
    }

    func testWritingIntoAFileInsteadOfAFolderFails() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let blocker = folder.appendingPathComponent("file")
        try Data([1]).write(to: blocker)
        XCTAssertThrowsError(try ModelFile.write(sampleModel(), to: blocker.appendingPathComponent("model.rsm"))) { error in
            guard case .cannotWrite = error as? ModelFileError else { return XCTFail("\(error)") }
        }
    }

    /// A valid checksum over a NaN does not make a usable model: the reader names the value.
    func testNonFiniteValuesAreRejectedWhenOpened() throws {
        let cases: [(String, (inout FactorModel) -> Void, ModelFileError)] = [
            ("mean", { $0.globalMean = .nan }, .nonFinite(path: "", field: "global mean", index: nil)),
            ("cbias", { $0.customerBias[1] = -.infinity }, .nonFinite(path: "", field: "customer bias", index: 1)),
            ("mfactor", { $0.movieFactors[$0.movieFactors.count - 1] = .nan }, .nonFinite(path: "", field: "movie factors", index: nil)),
        ]
        for (name, damage, expected) in cases {
            var model = sampleModel()
            damage(&model)
            let url = folder.appendingPathComponent("nan-\(name).rsm")
            try ModelFile.write(model, to: url)
            for verify in [true, false] {
                XCTAssertThrowsError(try ModelFile(contentsOf: url, verify: verify)) { error in
                    guard case .nonFinite(let path, let field, let index) = error as? ModelFileError,
                          case .nonFinite(_, let expectedField, let expectedIndex) = expected else { return XCTFail("\(error)") }
                    XCTAssertEqual(path, url.path)
                    XCTAssertEqual(field, expectedField)
                    if let expectedIndex { XCTAssertEqual(index, expectedIndex) }
                    XCTAssertTrue((error as! ModelFileError).isBadContent)
                }
            }
        }
        XCTAssertEqual(ModelFileError.nonFinite(path: "/m.rsm", field: "movie factors", index: 7).description,
                       "/m.rsm holds a value that is not a finite number (movie factors [7]); retrain the model")
    }

    /// Fuzzing finding: the "ids ascend" flag steers binary search, so a false one is corrupt.
    func testAFalseAscendingFlagIsCorrupt() throws {
        let model = sampleModel()
        XCTAssertTrue(zip(model.customerIDs, model.customerIDs.dropFirst()).allSatisfy { $0 < $1 }, "the sample's ids ascend")
        let url = try written(model)
        var bytes = try Data(contentsOf: url)
        // Swap the first two customer ids, found by content, and re-seal the checksum.
        let ids = model.customerIDs.withUnsafeBytes { Data($0) }
        let at = try XCTUnwrap(bytes.range(of: ids)).lowerBound
        let first = bytes.subdata(in: at..<(at + 8)), second = bytes.subdata(in: (at + 8)..<(at + 16))
        bytes.replaceSubrange(at..<(at + 8), with: second)
        bytes.replaceSubrange((at + 8)..<(at + 16), with: first)
        reseal(&bytes)
        try bytes.write(to: url)
        assertThrows(url, .corrupt(path: url.path, reason: "the customer ids are flagged ascending, but id \(model.customerIDs[0]) follows \(model.customerIDs[1])"))
    }

    /// The run id written into the header is what the file says, read whole or from the header alone.
    func testTheRunIDTravelsWithTheFile() throws {
        let url = folder.appendingPathComponent("run.rsm")
        try ModelFile.write(sampleModel(), to: url, runID: 4242)
        XCTAssertEqual(try ModelFile(contentsOf: url).runID, 4242)
        XCTAssertEqual(ModelFile.recordedRun(at: url), .run(4242))
        try ModelFile.write(sampleModel(), to: url)
        XCTAssertNil(try ModelFile(contentsOf: url).runID)
        XCTAssertEqual(ModelFile.recordedRun(at: url), .unregistered)
        XCTAssertEqual(ModelFile.recordedRun(at: folder.appendingPathComponent("absent.rsm")), .unreadable)
    }

    /// Files written before the run id (format version 1) still open.
    func testVersionOneFilesStillOpen() throws {
        let model = sampleModel()
        let url = try written(model)
        var bytes = try Data(contentsOf: url)
        // Version 1: 10 sections, the table at 104 (the item-based sections of version 3 are empty here).
        let table = 16 * ModelFile.Layout.sections(version: 1).count
        let entries = bytes.subdata(in: ModelFile.Layout.sectionTableOffset..<(ModelFile.Layout.sectionTableOffset + table))
        bytes.replaceSubrange(104..<(104 + table), with: entries)
        bytes.replaceSubrange((104 + table)..<ModelFile.Layout.headerBytes,
                              with: [UInt8](repeating: 0, count: ModelFile.Layout.headerBytes - 104 - table))
        bytes.withUnsafeMutableBytes {
            $0.storeBytes(of: UInt32(1).littleEndian, toByteOffset: ModelFile.Layout.versionOffset, as: UInt32.self)
            $0.storeBytes(of: UInt32(104 + table).littleEndian, toByteOffset: ModelFile.Layout.headerBytesOffset, as: UInt32.self)
        }
        reseal(&bytes)
        try bytes.write(to: url)
        let file = try ModelFile(contentsOf: url)
        XCTAssertEqual(file.model(), model)
        XCTAssertNil(file.runID)
    }

    // MARK: The checksum itself

    func testChecksumSeesEverySingleBitFlipAndTheLength() {
        var bytes = [UInt8]((0..<203).map { UInt8(truncatingIfNeeded: $0 &* 37) })   // 25 words and a 3-byte tail
        let original = bytes.withUnsafeBytes(ModelFile.checksum)
        var seen: Set<UInt64> = [original]
        for i in bytes.indices {
            for bit in 0..<8 {
                bytes[i] ^= 1 << bit
                seen.insert(bytes.withUnsafeBytes(ModelFile.checksum))
                bytes[i] ^= 1 << bit
            }
        }
        XCTAssertEqual(seen.count, 1 + bytes.count * 8, "every flip gives its own checksum")
        // Zero bytes appended change it too (the length is hashed).
        XCTAssertNotEqual((bytes + [0]).withUnsafeBytes(ModelFile.checksum), original)
        XCTAssertNotEqual([UInt8]().withUnsafeBytes(ModelFile.checksum), [UInt8](repeating: 0, count: 8).withUnsafeBytes(ModelFile.checksum))
    }

    /// Recomputes the stored checksum after a deliberate edit.
    private func reseal(_ bytes: inout Data) {
        let sum = bytes.withUnsafeBytes { ModelFile.checksum(UnsafeRawBufferPointer(rebasing: $0[ModelFile.Layout.hashedFrom...])) }
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: sum.littleEndian, toByteOffset: ModelFile.Layout.checksumOffset, as: UInt64.self) }
    }
}
