import ArgumentParser
import Features
import Foundation
import Reports
import Runtime
import Logging
import Models
import Warehouse
import Workflows

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Metrics of saved models on the test part, beside the global-mean and bias-only baselines.",
        discussion: """
        Left out, --model means the newest saved model of each kind trained on the current features. \
        A model trained on another split or on other data is refused (its test metrics would not be \
        comparable, or would be measured on ratings it trained on). Predictions are clipped to the \
        rating scale; pairs whose customer or movie had no train rating fall back to the baseline and \
        are counted.

        --out DIR writes report.html (self-contained: inline SVG charts and CSS, no script), report.md, \
        charts/*.svg and metrics.json: the metrics beside the baselines, actual against predicted rating \
        distributions, RMSE by customer-activity and movie-popularity decile, learning curves and the \
        newest grid search of these features when model_runs has them, and ranking quality on the test \
        part — precision, recall and NDCG at --k and catalog coverage, a test rating of at least \
        --relevant counting as relevant, candidates being the movies the customer did not rate in training.
        """
    )

    @Option(name: .customLong("model"), help: ArgumentHelp("A model file; repeat to compare several.", valueName: "path"))
    var models: [String] = []
    @Option(help: ArgumentHelp("Write report.html, report.md, charts/ and metrics.json into this folder.", valueName: "dir"))
    var out: String?
    @Flag(help: "Also compute the ranking metrics without --out (top-k lists for every test customer).") var ranking = false
    @Option(help: "Ranking: length of each customer's list.") var k: Int = 10
    @Option(help: "Ranking: a test rating at least this counts as relevant.") var relevant: Double = 4
    @Option(help: "Worker threads for the ranking lists. Default: all cores.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @OptionGroup var support: SupportOptions
    @OptionGroup var db: WarehouseOptions

    func validate() throws {
        if k < 1 { throw ValidationError("--k must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard relevant.isFinite else { throw ValidationError("--relevant must be a number") }
    }

    func run() throws {
        // A report folder that cannot be written fails before the work, not after it.
        if let out { try Report.prepare(out) }
        var request = EvaluationRequest()
        request.models = models.map { URL(fileURLWithPath: $0) }
        request.ranking = ranking
        request.detailed = out != nil
        request.k = k
        request.relevant = relevant
        request.threads = threads
        request.support = support.policy
        let logger = Logger(label: "recsys.evaluate")
        let outcome = try Evaluator.run(request, database: db.open(), logger: logger)
        if let out, let document = outcome.document {
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            let files = try EvaluationReport.page(document).write(to: directory, json: try JSON.document(document), jsonName: "metrics.json")
            logger.info("wrote \(files.count) files to \(directory.path): report.html, report.md, metrics.json, charts/")
        }
        let rows = outcome.rows
        if db.json { return try printJSON(rows) }
        let ranked = request.detailed || ranking
        var header = ["model", "RMSE", "MAE", "MAPE %", "MSE", "ratings", "fallbacks"]
        if ranked { header += ["P@\(k)", "R@\(k)", "NDCG@\(k)", "MAP@\(k)", "hit@\(k)", "coverage", "popularity"] }
        var table = [header]
        for r in rows {
            // A ranking model's scores are not ratings: no rating metrics.
            var line = [r.name] + (r.metrics.map { m in
                [String(format: "%.4f", m.rmse), String(format: "%.4f", m.mae), String(format: "%.2f", m.mape),
                 String(format: "%.4f", m.mse), ProgressReporter.count(m.n), ProgressReporter.count(m.fallbacks)]
            } ?? Array(repeating: "–", count: 6))
            if ranked {
                line += r.ranking.map { [String(format: "%.4f", $0.precision), String(format: "%.4f", $0.recall),
                                         String(format: "%.4f", $0.ndcg), String(format: "%.4f", $0.map), String(format: "%.4f", $0.hitRate),
                                         String(format: "%.1f %%", 100 * $0.coverage), String(format: "%.0f", $0.meanPopularity)] }
                    ?? Array(repeating: "–", count: 7)
            }
            table.append(line)
        }
        try say("test part of split \(outcome.splitID) (\(outcome.split)), \(ProgressReporter.count(outcome.testRatings)) ratings")
        try say(TextTable.render(table))
        if ranked { try say("ranking: top \(k) of the movies each customer did not rate in training; relevant = a test rating ≥ \(Markup.number(relevant, decimals: 1)); global_mean ranks nothing (every score ties)") }
    }
}
