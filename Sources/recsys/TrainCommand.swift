import ArgumentParser
import Features
import Foundation
import Reports
import Logging
import Models
import Warehouse
import Workflows

extension ModelKind: ExpressibleByArgument {}
extension ALSConfiguration.BiasMode: ExpressibleByArgument {}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on the features' train part (or grid-search one); report validation and test metrics; save it.",
        discussion: """
        Models: als (alternating least squares, ALS-WR, BLAS/LAPACK, parallel), svd (truncated SVD of the \
        bias residuals by a randomized range finder; unobserved entries count as zero residual), sgd \
        (biased matrix factorization by stochastic gradient descent, Funk / Koren, the "SVD" of Surprise).

        Uses the newest split of `recsys features` (built with its defaults — random, 10 % test, seed \
        42 — when there is none). Each iteration logs train RMSE, validation RMSE and seconds. The \
        model is written to --out (default .recsys/models/<model>-<run>-<time>.rsm: several warehouses \
        may share one .recsys) and registered in the model_runs table with its parameters, metrics, \
        timings and data version.

        --grid "rank=10,50;reg=0.01,0.1;iterations=10,20" scores every combination on the validation \
        part (or with --folds K cross-validation inside the train part) — never on the test part — \
        records every candidate in model_runs, then refits the best on the train part and saves it. \
        Keys: als rank, reg, iterations; svd rank, oversampling, power; sgd rank, reg, lr, epochs. \
        Iteration (epoch) counts of one configuration are scored from one run.
        """
    )

    @Option(help: "The model to train.") var model: ModelKind = .als
    @Option(help: "Latent factors.") var rank: Int = 10
    @Option(help: "Regularization λ (ALS-WR: weighted by each row's rating count; SGD: L2 on the factors).") var reg: Double?
    @Option(help: "ALS: full sweeps (default 10). SGD: epochs (default 20).") var iterations: Int?
    @Option(help: "SGD learning rate.") var lr: Double = 0.005
    @Option(help: "SVD: extra random directions beyond the rank.") var oversampling: Int = 10
    @Option(help: "SVD: power iterations of the range finder.") var powerIterations: Int = 2
    @Option(help: "Worker threads; OpenBLAS runs single-threaded inside them. Default: all cores.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Seed of the initial factors (and of the folds).") var seed: UInt64 = 42
    @Option(help: "ALS biases: joint (re-solved with the factors) or fixed (the features' damped biases).")
    var biases: ALSConfiguration.BiasMode = .joint
    @Option(help: ArgumentHelp("Grid search: key=v1,v2;key=… (see above).", valueName: "spec")) var grid: String?
    @Option(help: "With --grid: K-fold cross-validation inside the train part instead of the validation part.") var folds: Int = 0
    @Option(help: "Model file to write.") var out: String?
    @Flag(help: "Print one JSON document on stdout.") var json = false
    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if folds == 1 || folds < 0 || folds > 20 { throw ValidationError("--folds must be 2…20 (or left out)") }
        if folds > 0 && grid == nil { throw ValidationError("--folds goes with --grid") }
        if let grid { do { _ = try ParameterGrid(grid, keys: model.gridKeys) } catch { throw ValidationError(String(describing: error)) } }
        if rank < 1 || rank > 1000 { throw ValidationError("--rank must be 1…1000") }
        if let reg, !(reg >= 0) { throw ValidationError("--reg must be ≥ 0") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    /// The single-model parameters, as grid keys.
    var parameters: [String: Double] {
        var p: [String: Double] = ["rank": Double(rank)]
        switch model {
        case .als:
            p["reg"] = reg ?? 0.05
            p["iterations"] = Double(iterations ?? 10)
        case .svd:
            p["oversampling"] = Double(oversampling)
            p["power"] = Double(powerIterations)
        case .sgd:
            p["reg"] = reg ?? 0.02
            p["lr"] = lr
            p["epochs"] = Double(iterations ?? 20)
        }
        return p
    }

    func settings(_ parameters: [String: Double], _ data: TrainingData) -> ModelKind.Settings {
        var s = ModelKind.Settings(parameters: parameters, threads: threads)
        s.seed = seed
        s.alsBiases = biases
        s.scale = data.scale
        s.dataVersion = data.dataVersion
        s.splitID = data.splitID
        return s
    }

    func run() throws {
        let database = db.open()
        let logger = Logger(label: "recsys.train")
        let connection = try database.connect()
        let data = try TrainingSession.features(connection, home: database.home, logger: logger)
        logger.info("split \(data.splitID) (\(data.definition.kind.rawValue)): \(ProgressReporter.count(data.train.count)) train, \(ProgressReporter.count(data.split.validation.count)) validation, \(ProgressReporter.count(data.split.test.count)) test ratings")
        var chosen = parameters
        var candidates: [GridCandidate] = []
        var gridID: String?
        if let grid {
            let parsed = try ParameterGrid(grid, keys: model.gridKeys)
            gridID = "grid-\(LoadCommand.timestamp())"
            let scoredOn = folds >= 2 ? "\(folds)-fold cross-validation on the train part" : "the validation part"
            logger.info("grid search: \(parsed.size) \(model.rawValue) candidates, scored on \(scoredOn)")
            candidates = try GridSearch.run(parsed, budgetKey: model.budgetKey, train: data.train, validation: data.split.validation,
                                            folds: folds, seed: seed, fit: { params, budgets, train, snapshot in
                var merged = parameters
                for (k, v) in params { merged[k] = v }
                if budgets.isEmpty {
                    snapshot(nil, try model.fit(train, biases: data.biases, settings: settings(merged, data)))
                } else {
                    merged[model.budgetKey!] = Double(budgets.max()!)
                    _ = try model.fit(train, biases: data.biases, settings: settings(merged, data), snapshots: Set(budgets),
                                      snapshot: { snapshot($0, $1) })
                }
            }, progress: { done, total, candidate in
                logger.info("[\(done)/\(total)] \(Self.describe(candidate.parameters)): RMSE \(String(format: "%.4f", candidate.metrics.rmse)), \(String(format: "%.1f", candidate.fitSeconds)) s")
            })
            for candidate in candidates {
                var merged = parameters
                for (k, v) in candidate.parameters { merged[k] = v }
                _ = try ModelRegistry.record(connection, ModelRegistry.Run(
                    model: model.rawValue, params: try jsonText(merged),
                    metrics: try jsonText([folds >= 2 ? "cross_validation" : "validation": candidate.metrics]),
                    iterations: nil, fitSeconds: candidate.fitSeconds, dataVersion: data.dataVersion,
                    splitID: data.splitID, path: nil, gridID: gridID))
            }
            for (k, v) in candidates[0].parameters { chosen[k] = v }
            logger.info("best: \(Self.describe(candidates[0].parameters)); refitting it on the train part")
        }

        var log: [TrainStep] = []
        let started = Date()
        let fitted = try model.fit(data.train, biases: data.biases, settings: settings(chosen, data),
                                   validation: data.split.validation) { step in
            log.append(TrainStep(iteration: step.step, trainRmse: step.trainRMSE, validationRmse: step.validationRMSE, seconds: step.seconds))
            let validation = step.validationRMSE.map { String(format: ", validation RMSE %.4f", $0) } ?? ""
            logger.info("iteration \(step.step): train RMSE \(String(format: "%.4f", step.trainRMSE))\(validation), \(String(format: "%.1f", step.seconds)) s")
        }
        let fitSeconds = Date().timeIntervalSince(started)
        let validation = Evaluation.metrics(fitted, on: data.split.validation, trainedOn: data.train)
        let test = Evaluation.metrics(fitted, on: data.split.test, trainedOn: data.train)

        // The file records its run id, and the run is registered only once the
        // file is in place (under a lock of its folder, so that two runs writing
        // one --out register in the order they renamed): a run killed on the
        // way leaves neither a row nor a file.
        let runID = try ModelRegistry.reserveRunID(connection)
        let url = out.map { URL(fileURLWithPath: $0).standardizedFileURL }
            ?? database.home.models.appendingPathComponent("\(fitted.kind)-\(runID)-\(LoadCommand.timestamp()).rsm")
        let run = ModelRegistry.Run(
            model: fitted.kind, params: fitted.parameters,
            metrics: try jsonText(["validation": validation, "test": test]),
            iterations: log.isEmpty ? nil : try jsonText(log), fitSeconds: fitSeconds, dataVersion: data.dataVersion,
            splitID: data.splitID, path: url.path, gridID: gridID)
        try ModelFile.write(fitted, to: url, runID: runID, beforeRename: nil) {
            try ModelRegistry.record(connection, run, id: runID)
        }

        let report = TrainReport(model: fitted.kind, runId: runID, params: chosen, metrics: test,
                                 validationMetrics: validation, fitSeconds: fitSeconds,
                                 iterations: log, modelPath: url.path, splitId: data.splitID, dataVersion: data.dataVersion,
                                 modelParameters: fitted.parameters)
        if grid != nil {
            let gridReport = GridReport(candidates: candidates.map(GridRow.init), best: report, scoredOn: folds >= 2 ? "cross_validation" : "validation",
                                        gridId: gridID!)
            if json { return try printJSON(gridReport) }
            try say(gridReport.text)
            return
        }
        if json { return try printJSON(report) }
        try say(report.text)
    }

    static func describe(_ parameters: [String: Double]) -> String {
        parameters.keys.sorted().map { key in
            let v = parameters[key]!
            return "\(key)=" + (v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(v))
        }.joined(separator: " ")
    }
}

/// One iteration of the log `train` stores in model_runs.iterations (and `evaluate --out` reads back).
struct TrainStep: Codable {
    var iteration: Int
    var trainRmse: Double
    var validationRmse: Double?
    var seconds: Double
}

struct TrainReport: Encodable {
    var model: String
    var runId: Int
    /// The grid-style parameters (rank, reg, iterations, …).
    var params: [String: Double]
    /// On the test part; absent (not 0) when the part holds no ratings.
    var metrics: Metrics?
    var validationMetrics: Metrics?
    /// From the start of training to the fitted model, including the per-iteration RMSEs.
    var fitSeconds: Double
    var iterations: [TrainStep]
    var modelPath: String
    var splitId: Int
    var dataVersion: String
    /// Every parameter of the trainer, as stored in the model file (JSON text).
    var modelParameters: String

    var text: String {
        let rows = [["part", "RMSE", "MAE", "MAPE %", "MSE", "ratings", "fallbacks"],
                    row("validation", validationMetrics), row("test", metrics)]
        return """
            trained \(model) (\(TrainCommand.describe(params))) in \(String(format: "%.1f", fitSeconds)) s — run \(runId)
            \(TextTable.render(rows))
            model: \(modelPath)
            """
    }
}

private func row(_ name: String, _ m: Metrics?) -> [String] {
    guard let m else { return [name, "—", "—", "—", "—", "0", "—"] }
    return [name, String(format: "%.4f", m.rmse), String(format: "%.4f", m.mae), String(format: "%.2f", m.mape),
     String(format: "%.4f", m.mse), ProgressReporter.count(m.n), ProgressReporter.count(m.fallbacks)]
}

struct GridRow: Encodable {
    var params: [String: Double]
    var rmse: Double
    var mae: Double
    var mape: Double
    var mse: Double
    var n: Int
    var fitSeconds: Double

    init(_ c: GridCandidate) {
        params = c.parameters
        rmse = c.metrics.rmse
        mae = c.metrics.mae
        mape = c.metrics.mape
        mse = c.metrics.mse
        n = c.metrics.n
        fitSeconds = c.fitSeconds
    }
}

struct GridReport: Encodable {
    var candidates: [GridRow]
    var best: TrainReport
    var scoredOn: String
    var gridId: String

    var text: String {
        var table = [["#", "parameters", "RMSE", "MAE", "MAPE %", "MSE", "fit s"]]
        for (i, c) in candidates.enumerated() {
            table.append([String(i + 1), TrainCommand.describe(c.params), String(format: "%.4f", c.rmse), String(format: "%.4f", c.mae),
                          String(format: "%.2f", c.mape), String(format: "%.4f", c.mse), String(format: "%.1f", c.fitSeconds)])
        }
        return "grid \(gridId): \(candidates.count) candidates on the \(scoredOn == "validation" ? "validation part" : "cross-validation folds"), best first\n"
            + TextTable.render(table) + "\n\nbest, refitted on the train part:\n" + best.text
    }
}

/// Reads the features the models train on, building the default split when there is none.
enum TrainingSession {
    static func features(_ connection: Connection, home: RecsysHome, logger: Logger) throws -> TrainingData {
        try Database.migrate(connection)
        if try FeatureStore.newestSplit(connection) == nil {
            logger.info("no features yet: building the default split (random, 10 % test, seed 42); `recsys features` chooses another")
            return try FeatureStore.build(connection, home: home, definition: SplitDefinition(kind: .random)) { logger.info("\($0)") }
        }
        return try FeatureStore.load(connection, home: home)
    }
}

/// Compact JSON text with snake_case keys (for jsonb columns).
