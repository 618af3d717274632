import ArgumentParser
import Foundation
import Reports
import Warehouse

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Data-quality expectations over the warehouse; exit 1 when one fails.",
        discussion: """
        In the spirit of dbt tests: unique and not-null keys of every table, no orphan fact keys \
        (queried, whatever constraints exist), accepted rating values (whole stars for Netflix, half \
        stars for MovieLens), dates within the source's documented range and not in the future, row \
        counts equal to the load's checkpoint and expected counts, customer aggregates equal to the \
        facts', and the last load's freshness. `recsys load` runs the same checks at its end.
        """
    )

    @Option(help: ArgumentHelp("The last load may be at most this many days old.", valueName: "days"))
    var maxAgeDays: Double = 30
    @Flag(help: "Print one JSON document on stdout: {passed, failed, results: [{name, passed, observed, expected, detail}], timings}.")
    var json = false
    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        if !(maxAgeDays >= 0) { throw ValidationError("--max-age-days must be 0 or more") }
    }

    func run() throws {
        let connection = try db.open().connect()
        let report = try DataQuality.run(connection, configuration: CheckConfiguration(maxAgeDays: maxAgeDays))
        if json { try printJSON(report) } else { try say(Self.render(report)) }
        if !report.passed { throw CheckFailure(report: report) }
    }

    /// The results as a text table with a closing line.
    static func render(_ report: CheckReport) -> String {
        var table = [["expectation", "result", "observed", "expected", "detail"]]
        for r in report.results {
            table.append([r.name, r.passed ? "pass" : "FAIL", r.observed, r.expected, r.detail])
        }
        let verdict = report.passed ? "all \(report.results.count) expectations passed"
            : "\(report.failed) of \(report.results.count) expectations failed"
        return TextTable.render(table) + "\n" + verdict + String(format: " (%.1f s)", report.seconds)
    }
}

/// At least one expectation failed: exit 1, naming them on stderr.
struct CheckFailure: Error, CustomStringConvertible {
    var report: CheckReport

    var description: String {
        let failed = report.results.filter { !$0.passed }
        return "data-quality check failed: \(failed.count) of \(report.results.count) expectations: "
            + failed.map { "\($0.name) (observed \($0.observed), expected \($0.expected))" }.joined(separator: "; ")
            + "\n  hint: `recsys check` shows every result; `recsys load --fresh` reloads from the source files"
    }
}
