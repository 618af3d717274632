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
                      GraphCommand.self, CheckCommand.self, AnalyticsCommand.self, ServeCommand.self, RefreshCommand.self]
    )

    static func main() {
        Linalg.restartWithBetterBLASKernels()
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
