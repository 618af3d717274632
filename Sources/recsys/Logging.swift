import Foundation
import Logging

/// Log lines go to stderr (stdout is kept for results and --json) and, once a
/// command names one, to a log file under .recsys/logs.
struct ConsoleAndFileLogHandler: LogHandler {
    final class Sink: @unchecked Sendable {
        private let lock = NSLock()
        private var file: FileHandle?
        private(set) var path: URL?
        var quiet = false

        func openFile(_ url: URL) throws {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: url.path, contents: nil)
            lock.lock(); defer { lock.unlock() }
            file = try FileHandle(forWritingTo: url)
            path = url
        }

        func appendToFile(_ line: String) {
            lock.lock(); defer { lock.unlock() }
            file?.write((Self.stamp() + " " + line + "\n").data(using: .utf8)!)
        }

        func write(_ line: String, level: Logger.Level) {
            lock.lock(); defer { lock.unlock() }
            if !quiet || level >= .warning {
                FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
            }
            file?.write((Self.stamp() + " [\(level)] " + line + "\n").data(using: .utf8)!)
        }

        static func stamp() -> String {
            let formatter = ISO8601DateFormatter()
            return formatter.string(from: Date())
        }
    }

    static let sink = Sink()

    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = ProcessInfo.processInfo.environment["RECSYS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?,
             source: String, file: String, function: String, line: UInt) {
        let prefix = level >= .warning ? "\(level): " : ""
        Self.sink.write(prefix + message.description, level: level)
    }
}
