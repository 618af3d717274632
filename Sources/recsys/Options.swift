import ArgumentParser
import Foundation
import Models
import Runtime
import Warehouse

/// `--database`, for the commands that talk to the warehouse.
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

/// Prints one JSON document on stdout (`JSON.document`, the one JSON form).
func printJSON<T: Encodable>(_ value: T) throws {
    try Output.standardOutput(String(decoding: try JSON.document(value), as: UTF8.self))
}

/// Prints a line of results on stdout; a failed write (a full disk, a closed pipe) throws.
func say(_ text: String) throws {
    try Output.standardOutput(text + "\n")
}


/// `--database` and `--json`: the commands that read the warehouse and print a document.
struct WarehouseOptions: ParsableArguments {
    @OptionGroup var connection: DatabaseOptions
    @Flag(help: "Print one JSON document on stdout (the command's document; see its discussion).") var json = false

    func open() -> Database { connection.open() }
}

/// --min-support and --shrinkage, for the commands that list movies.
struct SupportOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Rating models never list a movie with fewer training ratings than this (default \(SupportPolicy.ratingDefault.minSupport); 0: any).",
                               valueName: "n"))
    var minSupport: Int?
    @Option(help: ArgumentHelp("Rating models' interaction term p·q is shrunk by n/(n + β) toward the baseline, n the movie's training ratings (default \(SupportPolicy.ratingDefault.shrinkage); 0: none).",
                               valueName: "β"))
    var shrinkage: Double?

    var policy: SupportPolicy {
        SupportPolicy(minSupport: minSupport ?? SupportPolicy.ratingDefault.minSupport, shrinkage: shrinkage ?? SupportPolicy.ratingDefault.shrinkage)
    }
    /// Asked for explicitly: a model whose training ratings per movie are gone is refused, not served without the policy.
    var explicit: Bool { minSupport != nil || shrinkage != nil }

    func validate() throws {
        do { try policy.validate() } catch { throw ValidationError(String(describing: error)) }
    }
}
