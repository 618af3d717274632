import ArgumentParser
import Features
import Foundation
import Logging
import Models
import Warehouse

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
        """
    )

    @Option(name: .customLong("model"), help: ArgumentHelp("A model file; repeat to compare several.", valueName: "path"))
    var models: [String] = []
    @Flag(help: "Print one JSON document on stdout: a list of {name, rmse, mae, mape, mse, n, fallbacks}.") var json = false
    @OptionGroup var db: DatabaseOptions

    func run() throws {
        let database = db.open()
        let logger = Logger(label: "recsys.evaluate")
        let connection = try database.connect()
        let data = try TrainingSession.features(connection, home: database.home, logger: logger)
        var paths = models.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        if paths.isEmpty {
            paths = try ModelRegistry.savedModels(connection, latestPerKind: true)
                .filter { $0.splitID == data.splitID && $0.dataVersion == data.dataVersion }.map(\.path)
            if paths.isEmpty { logger.info("no saved model was trained on the current features (split \(data.splitID)); showing the baselines") }
        }
        var rows: [EvaluationRow] = []
        func add(_ name: String, _ predictor: some RatingPredictor, path: String?) {
            let m = Evaluation.metrics(predictor, on: data.split.test, trainedOn: data.train)
            rows.append(EvaluationRow(name: name, rmse: m.rmse, mae: m.mae, mape: m.mape, mse: m.mse, n: m.n,
                                      fallbacks: m.fallbacks, path: path))
        }
        add("global_mean", BaselinePredictor.globalMean(data.biases, scale: data.scale), path: nil)
        add("bias", BaselinePredictor.bias(data.biases, scale: data.scale), path: nil)
        for path in paths {
            let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
            guard file.dataVersion == data.dataVersion, file.splitID == data.splitID else {
                throw SafetyRefusal(
                    reason: "\(path) was trained on split \(file.splitID) of data version \(file.dataVersion); the features are split \(data.splitID) of \(data.dataVersion)",
                    action: "retrain it with `recsys train`, or evaluate it against the features it was trained on")
            }
            let name = try ModelRegistry.run(forPath: path, connection).map { "\(file.kind) (run \($0))" } ?? file.kind
            add(name, file.model(), path: path)
        }
        if json { return try printJSON(rows) }
        var table = [["model", "RMSE", "MAE", "MAPE %", "MSE", "ratings", "fallbacks"]]
        for r in rows {
            table.append([r.name, String(format: "%.4f", r.rmse), String(format: "%.4f", r.mae), String(format: "%.2f", r.mape),
                          String(format: "%.4f", r.mse), ProgressReporter.count(r.n), ProgressReporter.count(r.fallbacks)])
        }
        print("test part of split \(data.splitID) (\(data.definition.kind.rawValue)), \(ProgressReporter.count(data.split.test.count)) ratings")
        print(TextTable.render(table))
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
}
