import ArgumentParser
import Features
import Foundation
import Logging
import Models
import Warehouse

enum ModelChoice: String, ExpressibleByArgument, CaseIterable {
    case als
}

extension ALSConfiguration.BiasMode: ExpressibleByArgument {}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on the features' train part; report validation and test metrics; save it.",
        discussion: """
        Uses the newest split of `recsys features` (built with its defaults — random, 10 % test, seed \
        42 — when there is none). Each iteration logs train RMSE, validation RMSE and seconds. The \
        model is written to --out (default .recsys/models/<model>-<run>-<time>.rsm) and registered in the \
        model_runs table with its parameters, metrics, timings and data version.
        """
    )

    @Option(help: "The model to train.") var model: ModelChoice = .als
    @Option(help: "Latent factors.") var rank: Int = 10
    @Option(help: "Regularization λ (ALS-WR: weighted by each row's rating count).") var reg: Double = 0.05
    @Option(help: "Iterations (ALS: full sweeps).") var iterations: Int = 10
    @Option(help: "Worker threads; OpenBLAS runs single-threaded inside them. Default: all cores.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Seed of the initial factors.") var seed: UInt64 = 42
    @Option(help: "ALS biases: joint (re-solved with the factors) or fixed (the features' damped biases).")
    var biases: ALSConfiguration.BiasMode = .joint
    @Option(help: "Model file to write (default .recsys/models/<model>-<run>-<time>.rsm).") var out: String?
    @Flag(help: "Print one JSON document on stdout.") var json = false
    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        var config = alsConfiguration
        config.threads = max(1, threads)
        do { try config.validate() } catch { throw ValidationError(String(describing: error)) }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    var alsConfiguration: ALSConfiguration {
        var config = ALSConfiguration()
        config.rank = rank
        config.regularization = reg
        config.iterations = iterations
        config.threads = threads
        config.seed = seed
        config.biases = biases
        return config
    }

    func run() throws {
        let database = db.open()
        let logger = Logger(label: "recsys.train")
        let connection = try database.connect()
        let data = try TrainingSession.features(connection, home: database.home, logger: logger)
        logger.info("split \(data.splitID) (\(data.definition.kind.rawValue)): \(ProgressReporter.count(data.train.count)) train, \(ProgressReporter.count(data.split.validation.count)) validation, \(ProgressReporter.count(data.split.test.count)) test ratings")

        let config = alsConfiguration
        var log: [ALSIteration] = []
        let started = Date()
        let fitted = try ALSTrainer(config).fit(data.train, biases: data.biases, scale: data.scale, dataVersion: data.dataVersion,
                                                splitID: data.splitID, validation: data.split.validation) { step in
            log.append(step)
            let validation = step.validationRMSE.map { String(format: ", validation RMSE %.4f", $0) } ?? ""
            logger.info("iteration \(step.iteration)/\(config.iterations): train RMSE \(String(format: "%.4f", step.trainRMSE))\(validation), \(String(format: "%.1f", step.seconds)) s")
        }
        let fitSeconds = Date().timeIntervalSince(started)
        let sweepSeconds = log.reduce(0) { $0 + $1.seconds }
        let validation = Evaluation.metrics(fitted, on: data.split.validation, trainedOn: data.train)
        let test = Evaluation.metrics(fitted, on: data.split.test, trainedOn: data.train)

        let runID = try ModelRegistry.record(connection, ModelRegistry.Run(
            model: fitted.kind, params: fitted.parameters,
            metrics: try jsonText(["validation": validation, "test": test]),
            iterations: try jsonText(log), fitSeconds: fitSeconds, dataVersion: data.dataVersion,
            splitID: data.splitID, path: nil))
        let url = out.map { URL(fileURLWithPath: $0).standardizedFileURL }
            ?? database.home.models.appendingPathComponent("\(fitted.kind)-\(runID)-\(LoadCommand.timestamp()).rsm")
        try ModelFile.write(fitted, to: url)
        try ModelRegistry.setPath(connection, run: runID, path: url.path)

        let report = TrainReport(model: fitted.kind, runId: runID, params: ALSParams(config), metrics: test,
                                 validationMetrics: validation, fitSeconds: fitSeconds, sweepSeconds: sweepSeconds,
                                 iterations: log, modelPath: url.path, splitId: data.splitID, dataVersion: data.dataVersion)
        if json { return try printJSON(report) }
        print(report.text)
    }
}

/// The parameters as train --json prints them.
struct ALSParams: Encodable {
    var rank: Int
    var reg: Double
    var iterations: Int
    var threads: Int
    var seed: UInt64
    var biases: String

    init(_ c: ALSConfiguration) {
        rank = c.rank
        reg = c.regularization
        iterations = c.iterations
        threads = c.threads
        seed = c.seed
        biases = c.biases.rawValue
    }
}

struct TrainReport: Encodable {
    var model: String
    var runId: Int
    var params: ALSParams
    /// On the test part.
    var metrics: Metrics
    var validationMetrics: Metrics
    /// From the start of training to the fitted model, including the per-iteration RMSEs.
    var fitSeconds: Double
    /// The sweeps alone.
    var sweepSeconds: Double
    var iterations: [ALSIteration]
    var modelPath: String
    var splitId: Int
    var dataVersion: String

    var text: String {
        let rows = [["part", "RMSE", "MAE", "MAPE %", "MSE", "ratings", "fallbacks"],
                    row("validation", validationMetrics), row("test", metrics)]
        return """
            trained \(model) (rank \(params.rank), λ \(params.reg), \(params.iterations) iterations, \(params.biases) biases) in \(String(format: "%.1f", fitSeconds)) s — run \(runId)
            \(TextTable.render(rows))
            model: \(modelPath)
            """
    }

    private func row(_ name: String, _ m: Metrics) -> [String] {
        [name, String(format: "%.4f", m.rmse), String(format: "%.4f", m.mae), String(format: "%.2f", m.mape),
         String(format: "%.4f", m.mse), ProgressReporter.count(m.n), ProgressReporter.count(m.fallbacks)]
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
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
