import ArgumentParser
import Foundation
import Reports
import Generator
import Logging
import Models
import Runtime
import Warehouse
import Workflows

/// The root command. Exit codes are decided here, in one place:
/// 0 ok; 1 runtime error; 2 usage error or bad input; 3 a safety check refused to run.
@main
struct Recsys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recsys",
        abstract: "Netflix Prize / MovieLens ratings → PostgreSQL star schema → recommendation models.",
        discussion: """
        With no database configured, recsys runs its own PostgreSQL cluster under .recsys/postgres \
        (set RECSYS_HOME to move it). A configured database wins: --database URL, then \
        RECSYS_DATABASE_URL, then libpq's PG* variables (also read from a .env file).

        Exit codes: 0 ok, 1 runtime error, 2 usage error or bad input, 3 a safety check refused to run.
        """,
        subcommands: [DbCommand.self, GenerateCommand.self, LoadCommand.self, FeaturesCommand.self, TrainCommand.self,
                      EvaluateCommand.self, RecommendCommand.self, ExportFactorsCommand.self,
                      GraphCommand.self, CheckCommand.self, AnalyticsCommand.self]
    )

    static func main() {
        Interruption.install()
        LoggingSystem.bootstrap { label in ConsoleAndFileLogHandler(label: label) }
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            // Help and version requests end here too, with exit code 0.
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            finish(ExitStatus.usage, message: fullMessage(for: error))
        }
        do {
            var runnable = command
            try runnable.run()
            // A log line that could not be written (stderr on a full disk) fails the command too.
            try Interruption.check()
            finish(ExitStatus.ok)
        } catch let error as ExitCode {
            finish(error.rawValue)
        } catch where exitCode(for: error) == .success {
            // `recsys help <command>` arrives here as a request to print help.
            exit(withError: error)
        } catch {
            // Interrupted work may fail in its own way (a query the signal cancelled): the signal decides.
            if let signal = Interruption.signal { finish(128 + signal, message: Interrupted(signal: signal).description, log: true) }
            let status = ExitStatus.code(for: error)
            if status == ExitStatus.usage, exitCode(for: error) != .success, !(error is InputError), !(error is UsageError), !(error is ReportFolderError), !(error is WorkflowError) {
                finish(status, message: fullMessage(for: error))
            }
            finish(status, message: message(for: error), log: true)
        }
    }

    private static func message(for error: Error) -> String {
        let prefix: String
        switch error {
        case is InputError: prefix = "error: bad input: "
        case is ReportFolderError: prefix = "error: "
        case is SafetyRefusal: prefix = "refused: "
        case is Interrupted: prefix = ""
        default: prefix = "error: "
        }
        return prefix + ExitStatus.describe(error)
    }

    /// Ends the process: partial files removed, the message (scrubbed of
    /// secrets) on stderr and in the log file. A message that cannot be
    /// written changes nothing: the exit code still tells.
    private static func finish(_ status: Int32, message: String? = nil, log: Bool = false) -> Never {
        TemporaryFiles.removeAll()
        if let message {
            try? Output.standardError(message + "\n")
            if log { ConsoleAndFileLogHandler.sink.appendToFile(message) }
        }
        // A write failure nobody reported yet (a full stdout/stderr) is an error too.
        if status == ExitStatus.ok, let failure = ConsoleAndFileLogHandler.sink.failure {
            try? Output.standardError("error: \(failure)\n")
            Foundation.exit(ExitStatus.runtime)
        }
        Foundation.exit(status)
    }
}

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

/// `--database` and `--json`, shared by the commands that talk to the warehouse.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "PostgreSQL URL or conninfo string.",
        discussion: "Left out: RECSYS_DATABASE_URL, then libpq's PG* variables (and .env), then the managed local cluster.",
        valueName: "url"))
    var database: String?

    func open() -> Database {
        Database(target: DatabaseTarget.resolve(option: database), home: RecsysHome())
    }
}

/// Prints one JSON document on stdout (`jsonDocument`, the one JSON form).
func printJSON<T: Encodable>(_ value: T) throws {
    try Output.standardOutput(String(decoding: try JSON.document(value), as: UTF8.self))
}

/// Prints a line of results on stdout; a failed write (a full disk, a closed pipe) throws.
func say(_ text: String) throws {
    try Output.standardOutput(text + "\n")
}

