import Foundation

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
