import ArgumentParser
import Foundation
import Reports
import Warehouse
import Workflows

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
    @OptionGroup var db: WarehouseOptions

    func validate() throws {
        if !(maxAgeDays >= 0) { throw ValidationError("--max-age-days must be 0 or more") }
    }

    func run() throws {
        let connection = try db.open().connect()
        let report = try DataQuality.run(connection, configuration: CheckConfiguration(maxAgeDays: maxAgeDays))
        if db.json { try printJSON(report) } else { try say(report.text) }
        if !report.passed { throw CheckFailure(report: report) }
    }
}
