import ArgumentParser
import Foundation
import Workflows
import Reports
import Logging
import Warehouse

enum FormatChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, netflix, movielens
    var format: SourceFormat? { self == .auto ? nil : SourceFormat(rawValue: rawValue) }
}

struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load a Netflix Prize or MovieLens folder into the star schema, resumably and exactly once.",
        discussion: """
        Stages: scan (checks every line first), dim_date, dim_movie, dim_customer, fact_ratings, \
        post_processing (primary key, foreign keys, indexes, ANALYZE). A stage finished by an earlier \
        run is skipped; an interrupted fact stage resumes at its last committed batch. Running the \
        same command again after any stop (crash, kill, bad input fixed) finishes the load.

        Refuses (exit 3) when the warehouse holds rows no recorded load explains, when the source \
        files changed since the load they belong to, or while another load runs. Bad input stops \
        with exit 2 naming file and line, before anything is written.
        """
    )

    @Option(help: "Folder with the dataset's files.") var data: String = "data"
    @Option(help: "Layout of the folder: auto detects it from the file names.") var format: FormatChoice = .auto
    @Flag(help: "Delete everything the warehouse holds, then load from scratch.") var fresh = false
    @Option(help: "Skip up to N bad lines into the etl_rejects table instead of stopping at the first.") var maxRejects: Int = 0
    @Flag(help: "Report each stage's state and row counts instead of loading.") var status = false
    @Flag(help: "Print one JSON document on stdout (the load report, or the status with --status).") var json = false
    @Flag(help: "Do not run `recsys check` after a load that wrote data (two passes over the facts).") var skipCheck = false
    @OptionGroup var db: DatabaseOptions
    @Option(help: .hidden) var batchRows: Int = 2_000_000
    @Option(help: .hidden) var batchPauseMs: Int = 0

    func validate() throws {
        if maxRejects < 0 { throw ValidationError("--max-rejects must be 0 or more") }
        if batchRows < 1 { throw ValidationError("--batch-rows must be at least 1") }
        if status && fresh { throw ValidationError("--status only reports; it cannot be combined with --fresh") }
    }

    func run() throws {
        let database = db.open()
        if status { return try showStatus(database) }
        let logURL = database.home.logs.appendingPathComponent("load-\(runStamp()).log")
        try database.home.checkUsable()
        try ConsoleAndFileLogHandler.sink.openFile(logURL)
        let logger = Logger(label: "recsys.load")
        logger.info("log file: \(logURL.path)")
        logger.info("database: \(database.target.displayName)")
        var options = LoadOptions(dataDirectory: URL(fileURLWithPath: data, isDirectory: true), format: format.format)
        options.fresh = fresh
        options.maxRejects = maxRejects
        options.batchRows = batchRows
        options.batchPauseMilliseconds = batchPauseMs
        let loader = Loader(database: database, options: options, logger: logger, progress: ProgressReporter(logger: logger))
        var report = try loader.run()
        // The data-quality expectations, after a load that wrote something;
        // a failed one makes the load exit 1, after its table.
        if !report.alreadyComplete && !skipCheck {
            logger.info("checking data quality (`recsys check`)…")
            report.check = try DataQuality.run(database.connect())
        }
        if json { try printJSON(report) } else {
            try say(Self.summary(report, log: logURL))
            if let check = report.check { try say("\n" + CheckCommand.render(check)) }
        }
        if let check = report.check, !check.passed { throw CheckFailure(report: check) }
    }

    private func showStatus(_ database: Database) throws {
        let status = try LoadStatus.read(database.connect())
        if json { return try printJSON(status) }
        try say(status.state == "empty" ? "the warehouse holds no load" :
              "load of \(status.format ?? "?") data from \(status.sourceDir ?? "?"): \(status.state)")
        var table = [["stage", "file", "state", "rows", "expected", "seconds"]]
        for stage in status.stages {
            table.append([stage.stage, stage.file, stage.state, ProgressReporter.count(stage.rows),
                          ProgressReporter.count(stage.expected), String(format: "%.1f", stage.seconds)])
        }
        try say(TextTable.render(table))
        if status.rejects > 0 { try say("\(status.rejects) rejected lines (see the etl_rejects table)") }
    }

    static func summary(_ report: LoadReport, log: URL) -> String {
        if report.alreadyComplete {
            return "already loaded (data version \(report.dataVersion)); nothing to do"
        }
        var table = [["stage", "rows", "seconds", "rows/s", ""]]
        table.append(["scan", "", String(format: "%.1f", report.scanSeconds), "", ""])
        for stage in report.stages {
            let rate = stage.seconds > 0 && stage.rowsThisRun > 0 ? ProgressReporter.count(Int(Double(stage.rowsThisRun) / stage.seconds)) : ""
            let note = stage.skipped ? "(done earlier)"
                : stage.rowsThisRun < stage.rows ? "(resumed: \(ProgressReporter.count(stage.rowsThisRun)) rows this run)" : ""
            table.append([stage.stage, ProgressReporter.count(stage.rows), String(format: "%.1f", stage.seconds),
                          stage.skipped ? "" : rate, note])
        }
        table.append(["total", "", String(format: "%.1f", report.totalSeconds), "", ""])
        var text = "loaded \(report.format) data (data version \(report.dataVersion))\n" + TextTable.render(table)
        if report.rejects > 0 { text += "\n\(report.rejects) bad lines skipped into etl_rejects" }
        text += "\nlog: \(log.path)"
        return text
    }
}

