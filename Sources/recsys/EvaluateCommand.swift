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
    @Flag(help: "Print one JSON document on stdout: a list of {name, rmse, mae, mape, mse, n, fallbacks}.") var json = false
    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        if k < 1 { throw ValidationError("--k must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard relevant.isFinite else { throw ValidationError("--relevant must be a number") }
    }

    func run() throws {
        // A report folder that cannot be written fails before the work, not after it.
        if let out { try Report.prepare(out) }
        let database = db.open()
        let logger = Logger(label: "recsys.evaluate")
        let connection = try database.connect()
        let data = try Training.features(connection, home: database.home, logger: logger)
        var paths = models.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        if paths.isEmpty {
            paths = try SavedModels.intact(connection, latestPerKind: true)
                .filter { $0.splitID == data.splitID && $0.dataVersion == data.dataVersion }.map(\.path)
            if paths.isEmpty { logger.info("no saved model was trained on the current features (split \(data.splitID)); showing the baselines") }
        }
        let detailed = out != nil
        let ranked = detailed || ranking
        var rows: [EvaluationRow] = []
        var details: [EvaluatedModel] = []
        func add(_ name: String, _ predictor: some RatingPredictor, path: String?, run: Int?, rankable: FactorModel?) throws {
            guard let m = Evaluation.metrics(predictor, on: data.split.test, trainedOn: data.train) else {
                throw UsageError(description: "the test part of split \(data.splitID) holds no ratings; run `recsys features` to make a split with a test part")
            }
            var row = EvaluationRow(name: name, rmse: m.rmse, mae: m.mae, mape: m.mape, mse: m.mse, n: m.n,
                                    fallbacks: m.fallbacks, path: path)
            if ranked, let rankable {
                logger.info("\(name): top-\(k) lists for the test customers…")
                row.ranking = Ranking.evaluate(rankable, on: data.split.test, trainedOn: data.train, k: k, threshold: relevant, threads: threads)
                try Interruption.check()
            }
            rows.append(row)
            if detailed {
                var detail = EvaluatedModel(row: row, runId: run)
                detail.customerDeciles = Evaluation.errorByDecile(predictor, on: data.split.test, trainedOn: data.train, by: .customerActivity)
                detail.movieDeciles = Evaluation.errorByDecile(predictor, on: data.split.test, trainedOn: data.train, by: .moviePopularity)
                detail.distribution = Evaluation.distribution(predictor, on: data.split.test)
                if let run, let text = try ModelRegistry.iterations(run: run, connection) {
                    detail.iterations = (try? JSONDecoder.snakeCase.decode([TrainStep].self, from: Data(text.utf8))) ?? []
                }
                details.append(detail)
            }
        }
        try add("global_mean", BaselinePredictor.globalMean(data.biases, scale: data.scale), path: nil, run: nil, rankable: nil)
        try add("bias", BaselinePredictor.bias(data.biases, scale: data.scale), path: nil, run: nil,
                rankable: ranked ? Ranking.baselineModel(data.biases, train: data.train, scale: data.scale) : nil)
        for path in paths {
            let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
            guard file.dataVersion == data.dataVersion, file.splitID == data.splitID else {
                throw SafetyRefusal(
                    reason: "\(path) was trained on split \(file.splitID) of data version \(file.dataVersion); the features are split \(data.splitID) of \(data.dataVersion)",
                    action: "retrain it with `recsys train`, or evaluate it against the features it was trained on")
            }
            let run = try SavedModels.registeredRun(of: file, connection)
            let name = run.map { "\(file.kind) (run \($0))" } ?? file.kind
            let model = file.model()
            try add(name, model, path: path, run: run, rankable: model)
        }
        if let out {
            var document = EvaluationDocument(splitId: data.splitID, split: data.definition.kind.rawValue, dataVersion: data.dataVersion,
                                              testRatings: data.split.test.count, trainRatings: data.train.count,
                                              rankingK: k, relevantAtLeast: relevant, models: details)
            if let grid = try ModelRegistry.latestGrid(split: data.splitID, dataVersion: data.dataVersion, connection) {
                document.grid = EvaluationDocument.GridSearch(grid)
            }
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            let files = try EvaluationReport.page(document).write(to: directory, json: try jsonDocument(document), jsonName: "metrics.json")
            logger.info("wrote \(files.count) files to \(directory.path): report.html, report.md, metrics.json, charts/")
        }
        if json { return try printJSON(rows) }
        var header = ["model", "RMSE", "MAE", "MAPE %", "MSE", "ratings", "fallbacks"]
        if ranked { header += ["P@\(k)", "R@\(k)", "NDCG@\(k)", "coverage"] }
        var table = [header]
        for r in rows {
            var line = [r.name, String(format: "%.4f", r.rmse), String(format: "%.4f", r.mae), String(format: "%.2f", r.mape),
                        String(format: "%.4f", r.mse), ProgressReporter.count(r.n), ProgressReporter.count(r.fallbacks)]
            if ranked {
                line += r.ranking.map { [String(format: "%.4f", $0.precision), String(format: "%.4f", $0.recall),
                                         String(format: "%.4f", $0.ndcg), String(format: "%.1f %%", 100 * $0.coverage)] } ?? ["–", "–", "–", "–"]
            }
            table.append(line)
        }
        try say("test part of split \(data.splitID) (\(data.definition.kind.rawValue)), \(ProgressReporter.count(data.split.test.count)) ratings")
        try say(TextTable.render(table))
        if ranked { try say("ranking: top \(k) of the movies each customer did not rate in training; relevant = a test rating ≥ \(Markup.number(relevant, decimals: 1)); global_mean ranks nothing (every score ties)") }
    }
}

struct EvaluationRow: Encodable {
    var name: String
    var rmse: Double
    var mae: Double
    var mape: Double
    var mse: Double
    var n: Int
    var fallbacks: Int
    var path: String?
    /// With --ranking or --out; nil for global_mean (all scores tie).
    var ranking: RankingMetrics?
}

extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
