import Foundation
import Runtime

/// Writes arrays as NumPy `.npy` files (format version 1.0), so that Python
/// users can `numpy.load` a model's factors, biases and ids without a parser
/// for our own format.
///
/// A file is the magic "\x93NUMPY", the version bytes 1 0, a little-endian
/// u16 header length, then the header — a Python dict literal such as
///
///     {'descr': '<f4', 'fortran_order': False, 'shape': (480189, 50), }
///
/// padded with spaces and ended by "\n" so that the data starts on a multiple
/// of 64 bytes (NumPy asks for 64 since 1.23; older readers accept any
/// multiple of 16) — then the raw little-endian elements, row-major.
/// Reference: numpy/lib/format.py ("The .npy format").
public enum NumPy {
    /// An element type NumPy can read: its `descr` type string.
    public protocol Element {
        static var numpyDescr: String { get }
    }

    /// Failed to create, fill or rename the file.
    public struct WriteError: Error, Equatable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// Writes a rows × columns row-major matrix (NumPy shape (rows, columns)), atomically.
    /// - Precondition: `values.count == rows * columns`.
    /// - Throws: `NumPy.WriteError`.
    public static func writeMatrix<T: Element>(_ values: UnsafeBufferPointer<T>, rows: Int, columns: Int, to url: URL) throws {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns, "a matrix needs rows × columns values")
        try write(UnsafeRawBufferPointer(values), header: header(descr: T.numpyDescr, shape: [rows, columns]), to: url)
    }

    /// Writes a vector (NumPy shape (n,)), atomically.
    /// - Throws: `NumPy.WriteError`.
    public static func writeVector<T: Element>(_ values: UnsafeBufferPointer<T>, to url: URL) throws {
        try write(UnsafeRawBufferPointer(values), header: header(descr: T.numpyDescr, shape: [values.count]), to: url)
    }

    public static func writeMatrix<T: Element>(_ values: [T], rows: Int, columns: Int, to url: URL) throws {
        try values.withUnsafeBufferPointer { try writeMatrix($0, rows: rows, columns: columns, to: url) }
    }

    public static func writeVector<T: Element>(_ values: [T], to url: URL) throws {
        try values.withUnsafeBufferPointer { try writeVector($0, to: url) }
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    static let alignment = 64

    /// Magic, version, header length and the padded header: everything before the data.
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        // A one-element tuple needs its trailing comma: (n,).
        let dimensions = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        let dictionary = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dimensions), }"
        let unpadded = magic.count + 2 + dictionary.utf8.count + 1
        let padded = (unpadded + alignment - 1) / alignment * alignment
        let text = dictionary + String(repeating: " ", count: padded - unpadded) + "\n"
        let length = UInt16(text.utf8.count)
        return magic + [UInt8(length & 0xFF), UInt8(length >> 8)] + Array(text.utf8)
    }

    private static func write(_ data: UnsafeRawBufferPointer, header: [UInt8], to url: URL) throws {
        do {
            try AtomicFile.write(to: url, size: header.count + data.count) { file in
                header.withUnsafeBytes { file.copyMemory(from: $0) }
                if !data.isEmpty { UnsafeMutableRawBufferPointer(rebasing: file[header.count...]).copyMemory(from: data) }
            }
        } catch let failure as AtomicFile.Failure {
            throw WriteError(path: url.path, reason: failure.reason)
        }
    }
}

extension Float: NumPy.Element { public static var numpyDescr: String { "<f4" } }
extension Int32: NumPy.Element { public static var numpyDescr: String { "<i4" } }
extension Int64: NumPy.Element { public static var numpyDescr: String { "<i8" } }
