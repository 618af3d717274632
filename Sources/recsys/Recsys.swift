import ArgumentParser
import Foundation
import Logging
import Warehouse

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
        LoggingSystem.bootstrap { label in ConsoleAndFileLogHandler(label: label) }
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            // Help and version requests end here too, with exit code 0.
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            FileHandle.standardError.write((fullMessage(for: error) + "\n").data(using: .utf8)!)
            Foundation.exit(ExitStatus.usage)
        }
        do {
            var runnable = command
            try runnable.run()
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch where exitCode(for: error) == .success {
            // `recsys help <command>` arrives here as a request to print help.
            exit(withError: error)
        } catch {
            let status = ExitStatus.code(for: error)
            if status == ExitStatus.usage, exitCode(for: error) != .success, !(error is InputError), !(error is UsageError) {
                FileHandle.standardError.write((fullMessage(for: error) + "\n").data(using: .utf8)!)
            } else {
                report(error)
            }
            Foundation.exit(status)
        }
    }

    private static func report(_ error: Error) {
        let prefix: String
        switch error {
        case is InputError: prefix = "error: bad input: "
        case is SafetyRefusal: prefix = "refused: "
        default: prefix = "error: "
        }
        FileHandle.standardError.write((prefix + String(describing: error) + "\n").data(using: .utf8)!)
        ConsoleAndFileLogHandler.sink.appendToFile(prefix + String(describing: error))
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
        case is InputError, is UsageError, is ValidationError: return usage
        case is SafetyRefusal: return refused
        case is GeneratorError: return usage
        default: return runtime
        }
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

/// Prints one JSON document on stdout.
/// The one JSON form of every document recsys prints (`--json`) or writes
/// (the reports' .json files): pretty, sorted, snake_case keys, a final newline.
func jsonDocument<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try encoder.encode(value) + Data("\n".utf8)
}

func printJSON<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try jsonDocument(value))
}
