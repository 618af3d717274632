import Runtime
import XCTest

final class ContentHashTests: XCTestCase {
    private let bytes = [UInt8]((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })

    /// Values of the model-file checksum as format version 2 files carry them
    /// (computed by the one-shot implementation this type replaced): a model
    /// file written before stays readable.
    func testKnownValuesOfTheModelFileChecksum() {
        let expected: [(Int, String)] = [(0, "d6f40f85769ccd20"), (1, "260395a61fb9a778"), (7, "a0ebd7c74fbf8488"),
                                         (8, "c1d4523d73947dd2"), (9, "8589c7bbda92e18e"), (63, "117df108b5606496"),
                                         (64, "6d594d285270496a"), (65, "65863d23881aaaf4"), (1000, "2e1e9489615cfd01")]
        for (n, hex) in expected {
            XCTAssertEqual(String(bytes[0..<n].withUnsafeBytes { ContentHash.of($0) }, radix: 16), hex, "\(n) bytes")
            XCTAssertEqual(ContentHash.hex(bytes[0..<n]), hex, "\(n) bytes, byte by byte")
        }
    }

    func testPiecesOfAnySizeGiveTheSameValue() {
        let whole = bytes.withUnsafeBytes { ContentHash.of($0) }
        for pieceSizes in [[1], [3, 5], [7, 64, 1], [13], [64], [100, 1, 2]] {
            var hash = ContentHash()
            var offset = 0, i = 0
            while offset < bytes.count {
                let n = min(pieceSizes[i % pieceSizes.count], bytes.count - offset)
                bytes[offset..<(offset + n)].withUnsafeBytes { hash.add($0) }
                offset += n
                i += 1
            }
            XCTAssertEqual(hash.value, whole, "pieces \(pieceSizes)")
        }
    }

    func testEverySingleByteChangeChangesTheValue() {
        let whole = bytes.withUnsafeBytes { ContentHash.of($0) }
        var changed = bytes
        for i in stride(from: 0, to: bytes.count, by: 37) {
            changed[i] ^= 0x10
            XCTAssertNotEqual(changed.withUnsafeBytes { ContentHash.of($0) }, whole, "byte \(i)")
            changed[i] = bytes[i]
        }
        // Trailing zero bytes are part of the content: the length is hashed.
        XCTAssertNotEqual(ContentHash.hex(bytes + [0]), ContentHash.hex(bytes))
    }
}
