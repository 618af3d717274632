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

        --append DIR adds new rating files (any line order) and titles to the loaded warehouse, exactly \
        once per file, keeping replaced ratings and titles as history (see the README).

        Refuses (exit 3) when the warehouse holds rows no recorded load explains, when the source \
        files changed since the load they belong to, or while another load runs. Bad input stops \
        with exit 2 naming file and line, before anything is written.
        """
    )

    @Option(help: "Folder with the dataset's files.") var data: String = "data"
    @Option(help: ArgumentHelp("Folder of new files to add to the loaded warehouse.", valueName: "dir")) var append: String?
    @Option(help: "Layout of the folder: auto detects it from the file names.") var format: FormatChoice = .auto
    @Flag(help: "Delete everything the warehouse holds, then load from scratch.") var fresh = false
    @Option(help: "Skip up to N bad lines into the etl_rejects table instead of stopping at the first.") var maxRejects: Int = 0
    @Flag(help: "Report each stage's state and row counts instead of loading.") var status = false
    @Flag(help: "Do not run `recsys check` after a load that wrote data (two passes over the facts).") var skipCheck = false
    @OptionGroup var db: WarehouseOptions
    @Option(help: .hidden) var batchRows: Int = 2_000_000
    @Option(help: .hidden) var batchPauseMs: Int = 0

    func validate() throws {
        if maxRejects < 0 { throw ValidationError("--max-rejects must be 0 or more") }
        if batchRows < 1 { throw ValidationError("--batch-rows must be at least 1") }
        if status && fresh { throw ValidationError("--status only reports; it cannot be combined with --fresh") }
        if append != nil && (fresh || status || maxRejects > 0) {
            throw ValidationError("--append cannot be combined with --fresh, --status or --max-rejects (an appended file is applied whole or not at all)")
        }
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
        if let append {
            var options = AppendOptions(directory: URL(fileURLWithPath: append, isDirectory: true))
            options.batchRows = min(batchRows, 50_000)
            options.batchPauseMilliseconds = batchPauseMs
            let report = try Appending.run(options, database: database, logger: logger)
            return db.json ? try printJSON(report) : try say(report.text)
        }
        var options = LoadOptions(dataDirectory: URL(fileURLWithPath: data, isDirectory: true), format: format.format)
        options.fresh = fresh
        options.maxRejects = maxRejects
        options.batchRows = batchRows
        options.batchPauseMilliseconds = batchPauseMs
        let report = try Loading.run(options, check: !skipCheck, database: database, logger: logger)
        if db.json { try printJSON(report) } else {
            try say(report.text(log: logURL))
            if let check = report.check { try say("\n" + check.text) }
        }
        if let check = report.check, !check.passed { throw CheckFailure(report: check) }
    }

    private func showStatus(_ database: Database) throws {
        let status = try LoadStatus.read(database.connect())
        if db.json { return try printJSON(status) }
        try say(status.text)
    }
}
