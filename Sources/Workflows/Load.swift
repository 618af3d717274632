import Foundation
import Logging
import Reports
import Warehouse

/// The load use case: the exactly-once load of a source folder, then (when it
/// wrote something) the data-quality expectations.
public enum Loading {
    public static func run(_ options: LoadOptions, check: Bool, database: Database, logger: Logger) throws -> LoadReport {
        let loader = Loader(database: database, options: options, logger: logger, progress: ProgressReporter(logger: logger))
        var report = try loader.run()
        // A failed expectation makes the load fail (CheckFailure), after its table is shown.
        if !report.alreadyComplete && check {
            logger.info("checking data quality (`recsys check`)…")
            report.check = try DataQuality.run(database.connect())
        }
        return report
    }
}

/// The append use case (`recsys load --append DIR`): new files into the loaded
/// warehouse. The full check is not run after it (two passes over all the
/// facts would undo the point of a delta); `recsys check` runs it on demand.
public enum Appending {
    public static func run(_ options: AppendOptions, database: Database, logger: Logger) throws -> AppendReport {
        try AppendLoader(database: database, options: options, logger: logger).run()
    }
}

extension AppendReport {
    /// What `recsys load --append` prints without --json.
    public var text: String {
        if alreadyLoaded { return "every file here was appended before (data version \(dataVersion)); nothing to do" }
        var table = [["file", "ratings", "this run", "new pairs", "re-ratings", "unchanged", "new customers", ""]]
        for f in files {
            table.append([URL(fileURLWithPath: f.file).lastPathComponent, ProgressReporter.count(f.ratings), ProgressReporter.count(f.appliedThisRun),
                          ProgressReporter.count(f.inserted), ProgressReporter.count(f.replaced), ProgressReporter.count(f.unchanged),
                          ProgressReporter.count(f.newCustomers),
                          f.alreadyLoaded ? "(appended before)" : f.appliedThisRun < f.ratings ? "(resumed)" : ""])
        }
        // The notes column only when a row has a note (an empty last column prints trailing spaces).
        if table.dropFirst().allSatisfy({ $0.last?.isEmpty == true }) { table = table.map { Array($0.dropLast()) } }
        var text = "appended to the warehouse (data version \(dataVersion)) in \(String(format: "%.1f", seconds)) s\n" + TextTable.render(table)
        if newMovies > 0 || changedMovies > 0 { text += "\ntitles: \(newMovies) new movies, \(changedMovies) changed (versions in dim_movie_history)" }
        return text + "\nre-rated pairs keep their previous values in fact_ratings_history; `recsys check` verifies the warehouse"
    }
}

/// At least one expectation failed: exit 1, naming them on stderr.
public struct CheckFailure: Error, CustomStringConvertible {
    public var report: CheckReport
    public init(report: CheckReport) { self.report = report }

    public var description: String {
        let failed = report.results.filter { !$0.passed }
        return "data-quality check failed: \(failed.count) of \(report.results.count) expectations: "
            + failed.map { "\($0.name) (observed \($0.observed), expected \($0.expected))" }.joined(separator: "; ")
            + "\n  hint: `recsys check` shows every result; `recsys load --fresh` reloads from the source files"
    }
}

extension CheckReport {
    /// The results as a text table with a closing line.
    public var text: String {
        var table = [["expectation", "result", "observed", "expected", "detail"]]
        for r in results {
            table.append([r.name, r.passed ? "pass" : "FAIL", r.observed, r.expected, r.detail])
        }
        let verdict = passed ? "all \(results.count) expectations passed"
            : "\(failed) of \(results.count) expectations failed"
        return TextTable.render(table) + "\n" + verdict + String(format: " (%.1f s)", seconds)
    }
}

extension LoadReport {
    /// What `recsys load` prints without --json.
    public func text(log: URL) -> String {
        let report = self
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

extension LoadStatus {
    /// What `recsys load --status` prints without --json.
    public var text: String {
        var lines = [state == "empty" ? "the warehouse holds no load" : "load of \(format ?? "?") data from \(sourceDir ?? "?"): \(state)"]
        var table = [["stage", "file", "state", "rows", "expected", "seconds"]]
        for stage in stages {
            table.append([stage.stage, stage.file, stage.state, ProgressReporter.count(stage.rows),
                          ProgressReporter.count(stage.expected), String(format: "%.1f", stage.seconds)])
        }
        lines.append(TextTable.render(table))
        if rejects > 0 { lines.append("\(rejects) rejected lines (see the etl_rejects table)") }
        return lines.joined(separator: "\n")
    }
}
