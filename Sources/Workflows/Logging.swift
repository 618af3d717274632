import Foundation
import Reports
import Logging
import Runtime

/// Log lines go to stderr (stdout is kept for results and --json) and, once a
/// command names one, to a log file under .recsys/logs.
public struct ConsoleAndFileLogHandler: LogHandler {
    /// Every line is scrubbed of secrets before it leaves. A line that cannot
    /// be written (stderr or the log on a full disk) asks the running command
    /// to stop (`Interruption.request`), which then ends with that error, exit 1.
    public final class Sink: @unchecked Sendable {
        private let lock = NSLock()
        private var file: AppendFile?
        public private(set) var path: URL?
        private var firstFailure: OutputError?
        public var quiet = false

        /// The first write that failed, if any.
        public var failure: OutputError? { lock.lock(); defer { lock.unlock() }; return firstFailure }

        /// Opens (creating with mode 0600, in a folder of mode 0700) the log file.
        public func openFile(_ url: URL) throws {
            let opened = try AppendFile(url)
            lock.lock(); defer { lock.unlock() }
            file = opened
            path = url
        }

        public func appendToFile(_ line: String) {
            lock.lock(); defer { lock.unlock() }
            guard let file else { return }
            attempt { try file.append(Self.stamp() + " " + line + "\n") }
        }

        public func write(_ line: String, level: Logger.Level) {
            lock.lock(); defer { lock.unlock() }
            if !quiet || level >= .warning {
                attempt { try Output.standardError(line + "\n") }
            }
            if let file { attempt { try file.append(Self.stamp() + " [\(level)] " + line + "\n") } }
        }

        private func attempt(_ body: () throws -> Void) {
            do { try body() } catch let error as OutputError {
                if firstFailure == nil {
                    firstFailure = error
                    Interruption.request(failure: error)
                }
            } catch {}
        }

        static func stamp() -> String {
            let formatter = ISO8601DateFormatter()
            return formatter.string(from: Date())
        }
    }

    public static let sink = Sink()

    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = ProcessInfo.processInfo.environment["RECSYS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?,
             source: String, file: String, function: String, line: UInt) {
        let prefix = level >= .warning ? "\(level): " : ""
        Self.sink.write(prefix + message.description, level: level)
    }
}
