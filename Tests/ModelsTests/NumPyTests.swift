import Foundation
import XCTest
@testable import Models

/// `.npy` files parsed back by an independent reading of the format
/// (numpy/lib/format.py, version 1.0). Checked once by hand against
/// `numpy.load` as well; Python is not needed to run these tests.
final class NumPyTests: ScratchFolderTestCase {

    /// A parsed file: the header dict's text, and the data bytes after it.
    private struct Parsed {
        var dictionary: String
        var data: Data
    }

    private func parse(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws -> Parsed {
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0], "magic and version 1.0", file: file, line: line)
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let dataStart = 10 + headerLength
        XCTAssertEqual(dataStart % 64, 0, "the data starts on a multiple of 64", file: file, line: line)
        let text = try XCTUnwrap(String(data: bytes[10..<dataStart], encoding: .ascii), file: file, line: line)
        XCTAssertTrue(text.hasSuffix("\n"), file: file, line: line)
        let trimmed = text.dropLast().replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        return Parsed(dictionary: trimmed, data: bytes.subdata(in: dataStart..<bytes.count))
    }

    func testFloatMatrix() throws {
        let url = folder.appendingPathComponent("deep/factors.npy")
        let values: [Float] = [1, -2.5, 3e-8, .greatestFiniteMagnitude, 0, -0.0]
        try NumPy.writeMatrix(values, rows: 2, columns: 3, to: url)
        let parsed = try parse(url)
        XCTAssertEqual(parsed.dictionary, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")
        // Little-endian IEEE-754 binary32, row-major: 1.0 is 00 00 80 3F.
        XCTAssertEqual(Array(parsed.data.prefix(4)), [0x00, 0x00, 0x80, 0x3F])
        XCTAssertEqual(parsed.data, values.withUnsafeBytes { Data($0) })
    }

    func testVectorsOfEachType() throws {
        let floats: [Float] = [0.5, 0.25, 0.125]
        try NumPy.writeVector(floats, to: folder.appendingPathComponent("f.npy"))
        var parsed = try parse(folder.appendingPathComponent("f.npy"))
        XCTAssertEqual(parsed.dictionary, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }")
        XCTAssertEqual(parsed.data, floats.withUnsafeBytes { Data($0) })

        let ids: [Int64] = [1, -1, .max]
        try NumPy.writeVector(ids, to: folder.appendingPathComponent("i8.npy"))
        parsed = try parse(folder.appendingPathComponent("i8.npy"))
        XCTAssertEqual(parsed.dictionary, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }")
        // −1 is eight 0xFF bytes; Int64.max is FF…FF 7F (little-endian).
        XCTAssertEqual(Array(parsed.data), [1, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8)
                       + [UInt8](repeating: 0xFF, count: 7) + [0x7F])

        let counts: [Int32] = [7, -2]
        try counts.withUnsafeBufferPointer { try NumPy.writeVector($0, to: folder.appendingPathComponent("i4.npy")) }
        parsed = try parse(folder.appendingPathComponent("i4.npy"))
        XCTAssertEqual(parsed.dictionary, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }")
        XCTAssertEqual(Array(parsed.data), [7, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF])
    }

    func testEmptyArrays() throws {
        try NumPy.writeVector([Int64](), to: folder.appendingPathComponent("empty.npy"))
        var parsed = try parse(folder.appendingPathComponent("empty.npy"))
        XCTAssertEqual(parsed.dictionary, "{'descr': '<i8', 'fortran_order': False, 'shape': (0,), }")
        XCTAssertTrue(parsed.data.isEmpty)
        try NumPy.writeMatrix([Float](), rows: 0, columns: 50, to: folder.appendingPathComponent("none.npy"))
        parsed = try parse(folder.appendingPathComponent("none.npy"))
        XCTAssertEqual(parsed.dictionary, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 50), }")
    }

    func testEveryHeaderPadsToSixtyFour() throws {
        // The shortest dict is 59 characters, so 10 + 59 + 1 bytes already need two blocks (as
        // numpy's own writer gives); eight 9-digit dimensions (a dict of 141) need three.
        for shape in [[0], [7], [12_345_678_901_234], [2, 3], [480_189, 50]] {
            let header = NumPy.header(descr: "<f4", shape: shape)
            XCTAssertEqual(header.count, 128, "\(shape)")
            XCTAssertEqual(header.last, 0x0A)
        }
        XCTAssertEqual(NumPy.header(descr: "<f4", shape: Array(repeating: 123_456_789, count: 8)).count, 192)
    }

    func testWritingIntoAFileInsteadOfAFolderFails() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let blocker = folder.appendingPathComponent("file")
        try Data([1]).write(to: blocker)
        XCTAssertThrowsError(try NumPy.writeVector([Float(1)], to: blocker.appendingPathComponent("x.npy"))) { error in
            XCTAssertEqual((error as? NumPy.WriteError)?.path, blocker.appendingPathComponent("x.npy").path)
        }
    }
}
