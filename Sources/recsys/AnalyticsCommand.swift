import ArgumentParser
import Foundation
import Reports
import Runtime
import Logging
import Warehouse
import Workflows

struct AnalyticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "The warehouse's business questions: most- and best-rated movies, ratings by month, distributions.",
        discussion: """
        Served from materialized views (mv_movie_rating_counts, mv_daily_rating_counts, mv_customer_activity) that the load \
        refreshes at the end of post-processing; views never filled (a warehouse loaded before they \
        existed) are refreshed first. Without --out or --json: a text summary. --out DIR writes \
        report.html (self-contained: inline SVG charts and CSS, no script), report.md, charts/*.svg \
        and analytics.json.
        """
    )

    @Option(help: ArgumentHelp("Write report.html, report.md, charts/ and analytics.json into this folder.", valueName: "dir"))
    var out: String?
    @Option(help: "Best-rated counts only movies with at least this many ratings.") var minRatings: Int = 100
    @Option(help: "Length of the most-rated and best-rated lists.") var top: Int = 10
    @Flag(help: "Refresh the materialized views first (the load already does, after post-processing).") var refresh = false
    @OptionGroup var db: WarehouseOptions

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if minRatings < 1 { throw ValidationError("--min-ratings must be at least 1") }
    }

    func run() throws {
        if let out { try Report.prepare(out) }
        let logger = Logger(label: "recsys.analytics")
        let report = try AnalyticsQuestions.run(.init(top: top, minRatings: minRatings), refresh: refresh, database: db.open(), logger: logger)
        if let out {
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            let files = try AnalyticsPage.page(report).write(to: directory, json: try JSON.document(report), jsonName: "analytics.json")
            logger.info("wrote \(files.count) files to \(directory.path): report.html, report.md, analytics.json, charts/")
        }
        if db.json { return try printJSON(report) }
        if out == nil { try say(AnalyticsPage.summary(report)) }
    }
}
