import ArgumentParser
import Foundation
import Generator
import Models
import Reports
import Runtime
import Warehouse
import Workflows

/// A problem with how a command was called, found after parsing.
struct UsageError: Error, CustomStringConvertible {
    var description: String
}

enum ExitStatus {
    static let ok: Int32 = 0
    static let runtime: Int32 = 1
    static let usage: Int32 = 2
    static let refused: Int32 = 3

    static func code(for error: Error) -> Int32 {
        switch error {
        case is InputError, is UsageError, is ValidationError, is ReportFolderError, is WorkflowError: return usage
        case is SafetyRefusal: return refused
        case is GeneratorError: return usage
        case let interrupted as Interrupted: return interrupted.exitCode
        case let warehouse as WarehouseError where warehouse.kind == .badInput: return usage
        case let model as ModelFileError: return model.isBadContent ? usage : runtime
        default: return runtime
        }
    }

    /// The text of an error for people, with what to do about the usual system failures.
    static func describe(_ error: Error) -> String {
        if let cocoa = error as? CocoaError, cocoa.code == .fileWriteNoPermission || cocoa.code == .fileReadNoPermission {
            let path = cocoa.filePath ?? (cocoa.userInfo[NSURLErrorKey] as? URL)?.path ?? "a file"
            return "permission denied for \(path): it belongs to another user, or its folder is not writable; run as its owner, or set RECSYS_HOME to a folder of yours"
        }
        return String(describing: error)
    }
}
