import Features
import Foundation
import Logging
import Reports
import Models
import Runtime
import Warehouse

/// What to train: a model's configuration and how to search around it.
public struct TrainingRequest: Sendable {
    /// The single model; a grid's candidates vary it.
    public var configuration: ModelConfiguration
    /// A grid SPEC (`key=v1,v2;key=…`), scored on the validation part or by `folds`-fold cross-validation.
    public var grid: String?
    public var folds: Int
    /// What the grid selects by; nil: RMSE for a rating model, NDCG@10 for a ranking model.
    public var select: GridObjective?
    /// The model file; nil: `.recsys/models/<model>-<run>-<time>.rsm`.
    public var out: URL?
    /// A previous model file of the same kind and rank to continue from (ALS, SGD).
    public var warmStart: URL?

    public init(configuration: ModelConfiguration, grid: String? = nil, folds: Int = 0, select: GridObjective? = nil, out: URL? = nil,
                warmStart: URL? = nil) {
        (self.configuration, self.grid, self.folds, self.select, self.out) = (configuration, grid, folds, select, out)
        self.warmStart = warmStart
    }
}

/// The knobs a front end offers for one model; nil leaves the trainer's default.
public struct TrainingOptions: Sendable {
    public var rank: Int?
    public var regularization: Double?
    /// ALS iterations or SGD epochs.
    public var iterations: Int?
    public var learningRate: Double?
    public var oversampling: Int?
    public var powerIterations: Int?
    /// Implicit ALS: the confidence scale α.
    public var alpha: Double?
    /// EASE: λ on the Gram matrix's diagonal.
    public var lambda: Double?
    /// Item kNN: neighbours kept per movie.
    public var neighbours: Int?
    public var biases: ALSConfiguration.BiasMode?
    /// ALS: how each row's normal equations are solved, and CG's steps.
    public var solver: ALSConfiguration.Solver?
    public var cgSteps: Int?
    public var seed: UInt64?
    public var threads: Int?

    public init() {}

    /// The model's defaults with these options set.
    /// - Throws: `WorkflowError.badRequest` for an option the model does not
    ///   have or a value out of its range.
    public func configuration(for model: ModelKind) throws -> ModelConfiguration {
        var c = model.defaults
        let given: [(name: String, key: String, value: Double?)] = [
            ("rank", "rank", rank.map(Double.init)), ("reg", "reg", regularization),
            ("iterations", model.budgetKey ?? "iterations", iterations.map(Double.init)), ("lr", "lr", learningRate),
            ("oversampling", "oversampling", oversampling.map(Double.init)), ("power-iterations", "power", powerIterations.map(Double.init)),
            ("alpha", "alpha", alpha), ("lambda", "lambda", lambda), ("neighbours", "neighbours", neighbours.map(Double.init)),
        ]
        do {
            for option in given {
                guard let value = option.value else { continue }
                guard model.gridKeys.contains(option.key) else {
                    throw WorkflowError(.badRequest, "option `\(option.name)` does not apply to \(model.rawValue)")
                }
                try c.set(option.key, value)
            }
            if let seed { c.seed = seed }
            if let threads { c.threads = threads }
            if biases != nil || solver != nil || cgSteps != nil {
                guard case .als(var als) = c else {
                    let name = biases != nil ? "biases" : solver != nil ? "solver" : "cg-steps"
                    throw WorkflowError(.badRequest, "option `\(name)` applies to als only")
                }
                if let biases { als.biases = biases }
                if let solver { als.solver = solver }
                if let cgSteps { als.cgSteps = cgSteps }
                c = .als(als)
            }
            try c.validate()
        } catch let error as WorkflowError {
            throw error
        } catch {
            throw WorkflowError(.badRequest, String(describing: error))
        }
        return c
    }
}

/// What a training run produced: one model, or a grid and its refitted best.
public enum TrainingOutcome: Sendable {
    case single(TrainReport)
    case grid(GridReport)
}

/// The train / grid-search use case.
public enum Training {
    /// The features the models train on, building the default split when there is none.
    public static func features(_ connection: Connection, home: RecsysHome, logger: Logger) throws -> TrainingData {
        try Database.migrate(connection)
        if try FeatureStore.newestSplit(connection) == nil {
            logger.info("no features yet: building the default split (random, 10 % test, seed 42); `recsys features` chooses another")
            return try FeatureStore.build(connection, home: home, definition: SplitDefinition(kind: .random)) { logger.info("\($0)") }
        }
        return try FeatureStore.load(connection, home: home)
    }

    /// Trains (or grid-searches, then refits the best), saves the model file,
    /// and registers every run in model_runs.
    public static func run(_ request: TrainingRequest, database: Database, logger: Logger) throws -> TrainingOutcome {
        let base = request.configuration, model = base.kind, folds = request.folds
        let connection = try database.connect()
        let data = try features(connection, home: database.home, logger: logger)
        let provenance = Provenance(scale: data.scale, dataVersion: data.dataVersion, splitID: data.splitID)
        logger.info("split \(data.splitID) (\(data.definition.kind.rawValue)): \(ProgressReporter.count(data.train.count)) train, \(ProgressReporter.count(data.split.validation.count)) validation, \(ProgressReporter.count(data.split.test.count)) test ratings")
        var chosen = base
        var candidates: [GridCandidate] = []
        var gridID: String?
        if let grid = request.grid {
            let objective = request.select ?? (model.predictsRatings ? .rmse : .ndcg(k: Ranking.defaultK))
            guard model.predictsRatings || objective != .rmse else {
                throw WorkflowError(.badRequest, "\(model.rawValue) ranks and predicts no ratings: its grid selects by a ranking metric (`--select ndcg@10`), not RMSE")
            }
            let parsed = try ParameterGrid(grid, varying: base)
            gridID = "grid-\(runStamp())"
            let scoredOn = folds >= 2 ? "\(folds)-fold cross-validation on the train part" : "the validation part"
            logger.info("grid search: \(parsed.size) \(model.rawValue) candidates, scored on \(scoredOn)")
            candidates = try GridSearch.run(parsed, budgetKey: model.budgetKey, train: data.train, validation: data.split.validation,
                                            folds: folds, seed: base.seed, objective: objective, predictsRatings: model.predictsRatings,
                                            fit: { params, budgets, train, snapshot in
                var candidate = try base.setting(params)
                if budgets.isEmpty {
                    snapshot(nil, try candidate.fit(train, biases: data.biases, provenance: provenance))
                } else {
                    try candidate.set(model.budgetKey!, Double(budgets.max()!))
                    _ = try candidate.fit(train, biases: data.biases, provenance: provenance, snapshots: Set(budgets),
                                          snapshot: { snapshot($0, $1) })
                }
            }, progress: { done, total, candidate in
                let scores = [candidate.metrics.map { String(format: "RMSE %.4f", $0.rmse) },
                              candidate.ranking.map { String(format: "NDCG@%d %.4f", $0.k, $0.ndcg) }].compactMap { $0 }
                logger.info("[\(done)/\(total)] \(describe(candidate.parameters)): \(scores.joined(separator: ", ")), \(String(format: "%.1f", candidate.fitSeconds)) s")
            })
            for candidate in candidates {
                _ = try ModelRegistry.record(connection, ModelRegistry.Run(
                    model: model.rawValue, params: try base.setting(candidate.parameters).json,
                    metrics: try JSON.text(GridRunMetrics(scoredOn: folds >= 2 ? "cross_validation" : "validation",
                                                          metrics: candidate.metrics, ranking: candidate.ranking)),
                    iterations: nil, fitSeconds: candidate.fitSeconds, dataVersion: data.dataVersion,
                    splitID: data.splitID, path: nil, gridID: gridID))
            }
            chosen = try base.setting(candidates[0].parameters)
            logger.info("best: \(describe(candidates[0].parameters)); refitting it on the train part")
        }

        // A warm start: the previous model's factors, grown to the customers and movies added since.
        let start = try request.warmStart.map { url -> FactorModel in
            guard request.grid == nil else { throw WorkflowError(.badRequest, "--warm-start continues one model; it does not go with --grid") }
            let file = try ModelFile(contentsOf: url.standardizedFileURL)
            guard file.kind == model.rawValue else {
                throw WorkflowError(.badRequest, "--warm-start \(url.path) is a \(file.kind) model; it can continue \(file.kind) only, not \(model.rawValue)")
            }
            logger.info("warm start from \(url.path) (\(file.kind), data version \(file.dataVersion), \(ProgressReporter.count(file.customerCount)) customers, \(ProgressReporter.count(file.movieCount)) movies)")
            return file.model()
        }
        var log: [TrainingStep] = []
        let started = Date()
        let fitted = try chosen.fit(data.train, biases: data.biases, provenance: provenance, validation: data.split.validation, start: start) { step in
            log.append(step)
            let validation = step.validationRMSE.map { String(format: ", validation RMSE %.4f", $0) } ?? ""
            logger.info("iteration \(step.iteration): train RMSE \(String(format: "%.4f", step.trainRMSE))\(validation), \(String(format: "%.1f", step.seconds)) s")
        }
        let fitSeconds = Date().timeIntervalSince(started)
        logger.info("fitted in \(String(format: "%.1f", fitSeconds)) s; scoring the validation part")
        // A ranking model's scores are not ratings: it has no rating metrics.
        let validation = model.predictsRatings ? Evaluation.metrics(fitted, on: data.split.validation, trainedOn: data.train) : nil
        let test = model.predictsRatings ? Evaluation.metrics(fitted, on: data.split.test, trainedOn: data.train) : nil
        // Every model's lists are scored on the validation part, so recommend can pick the one that ranks best.
        // A rating model's lists as recommend serves them: support-aware (`SupportPolicy.ratingDefault`).
        let served = model.predictsRatings ? fitted.ranking(with: .ratingDefault, movieSupport: data.train.movieSupport) : fitted
        let validationRanking = data.split.validation.count > 0
            ? Ranking.evaluate(served, on: data.split.validation, trainedOn: data.train, k: Ranking.defaultK,
                               threshold: Ranking.defaultThreshold, threads: chosen.threads)
            : nil
        if let validationRanking {
            logger.info("validation ranking: NDCG@\(validationRanking.k) \(String(format: "%.4f", validationRanking.ndcg)), precision@\(validationRanking.k) \(String(format: "%.4f", validationRanking.precision))")
        }

        // The file records its run id, and the run is registered only once the
        // file is in place (under a lock of its folder, so that two runs writing
        // one --out register in the order they renamed): a run killed on the
        // way leaves neither a row nor a file.
        let runID = try ModelRegistry.reserveRunID(connection)
        let url = request.out?.standardizedFileURL
            ?? database.home.models.appendingPathComponent("\(fitted.kind)-\(runID)-\(runStamp()).rsm")
        let run = ModelRegistry.Run(
            model: fitted.kind, params: fitted.parameters,
            metrics: try JSON.text(RunMetrics(validation: validation, test: test, validationRanking: validationRanking)),
            iterations: log.isEmpty ? nil : try JSON.text(log), fitSeconds: fitSeconds, dataVersion: data.dataVersion,
            splitID: data.splitID, path: url.path, gridID: gridID)
        try ModelFile.write(fitted, to: url, runID: runID) {
            try ModelRegistry.record(connection, run, id: runID)
        }

        let report = TrainReport(model: fitted.kind, runId: runID, params: chosen.gridValues, metrics: test,
                                 validationMetrics: validation, validationRanking: validationRanking, fitSeconds: fitSeconds,
                                 iterations: log, modelPath: url.path, splitId: data.splitID, dataVersion: data.dataVersion,
                                 modelParameters: fitted.parameters)
        if let gridID {
            return .grid(GridReport(candidates: candidates.map(GridRow.init), best: report,
                                    scoredOn: folds >= 2 ? "cross_validation" : "validation", gridId: gridID))
        }
        return .single(report)
    }

    /// `rank=50 reg=0.05`: parameters for people, sorted, whole numbers without a decimal point.
    public static func describe(_ parameters: [String: Double]) -> String {
        parameters.keys.sorted().map { key in
            let v = parameters[key]!
            return "\(key)=" + (v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(v))
        }.joined(separator: " ")
    }
}

/// `20261202-045701-1234`: a UTC time and the process id, for names that must not collide.
public func runStamp() -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date()) + "-\(getpid())"
}

/// What model_runs.metrics holds for a grid candidate: its metrics under the
/// part it was scored on (`validation` or `cross_validation`), its lists' under `…_ranking`.
struct GridRunMetrics: Encodable {
    var scoredOn: String
    var metrics: Metrics?
    var ranking: RankingMetrics?

    private struct Key: CodingKey {
        var stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.init(stringValue) }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(metrics, forKey: Key(scoredOn))
        try c.encodeIfPresent(ranking, forKey: Key(scoredOn + "_ranking"))
    }
}

/// What model_runs.metrics holds for a trained model.
struct RunMetrics: Encodable {
    var validation: Metrics?
    var test: Metrics?
    var validationRanking: RankingMetrics?

    // Nil parts are written as null, as the dictionary this replaces wrote them.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(validation, forKey: .validation)
        try c.encode(test, forKey: .test)
        try c.encodeIfPresent(validationRanking, forKey: .validationRanking)
    }

    private enum CodingKeys: String, CodingKey { case validation, test, validationRanking }
}

public struct TrainReport: Codable, Sendable {
    public var model: String
    public var runId: Int
    /// The grid-style parameters (rank, reg, iterations, …).
    public var params: [String: Double]
    /// On the test part; absent (not 0) when the part holds no ratings.
    public var metrics: Metrics?
    public var validationMetrics: Metrics?
    /// Top-10 lists on the validation part (what recommend chooses its default model by).
    public var validationRanking: RankingMetrics?
    /// From the start of training to the fitted model, including the per-iteration RMSEs.
    public var fitSeconds: Double
    public var iterations: [TrainingStep]
    public var modelPath: String
    public var splitId: Int
    public var dataVersion: String
    /// Every parameter of the trainer, as stored in the model file (JSON text).
    public var modelParameters: String
}


/// A grid candidate as train reports it: the rating metrics (absent for a
/// ranking model) and, selecting by NDCG, the validation lists' NDCG.
public struct GridRow: Codable, Sendable {
    public var params: [String: Double]
    public var rmse, mae, mape, mse: Double?
    public var n: Int?
    public var ndcg: Double?
    public var fitSeconds: Double

    public init(_ c: GridCandidate) {
        params = c.parameters
        (rmse, mae, mape, mse, n) = (c.metrics?.rmse, c.metrics?.mae, c.metrics?.mape, c.metrics?.mse, c.metrics?.n)
        ndcg = c.ranking?.ndcg
        fitSeconds = c.fitSeconds
    }
}

public struct GridReport: Codable, Sendable {
    public var candidates: [GridRow]
    public var best: TrainReport
    public var scoredOn: String
    public var gridId: String
}

extension TrainReport {
    /// What `recsys train` prints without --json.
    public var text: String {
        var lines = ["trained \(model) (\(Training.describe(params))) in \(String(format: "%.1f", fitSeconds)) s — run \(runId)"]
        if validationMetrics != nil || metrics != nil {
            lines.append(TextTable.render([["part", "RMSE", "MAE", "MAPE %", "MSE", "ratings", "fallbacks"],
                                           row("validation", validationMetrics), row("test", metrics)]))
        } else {
            lines.append("a ranking model: its scores order movies, they are not ratings (no RMSE)")
        }
        if let r = validationRanking {
            lines.append(String(format: "validation top-%d lists of %@ customers: precision %.4f, recall %.4f, NDCG %.4f, MAP %.4f, coverage %.1f %%",
                                r.k, ProgressReporter.count(r.customers), r.precision, r.recall, r.ndcg, r.map, 100 * r.coverage))
        }
        lines.append("model: \(modelPath)")
        return lines.joined(separator: "\n")
    }
}

private func row(_ name: String, _ m: Metrics?) -> [String] {
    guard let m else { return [name, "—", "—", "—", "—", "0", "—"] }
    return [name, String(format: "%.4f", m.rmse), String(format: "%.4f", m.mae), String(format: "%.2f", m.mape),
     String(format: "%.4f", m.mse), ProgressReporter.count(m.n), ProgressReporter.count(m.fallbacks)]
}

extension GridReport {
    /// What `recsys train` prints without --json.
    public var text: String {
        let ranked = candidates.contains { $0.ndcg != nil }
        var table = [["#", "parameters", "RMSE", "MAE", "MAPE %", "MSE"] + (ranked ? ["NDCG@10"] : []) + ["fit s"]]
        func cell(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "–" }
        for (i, c) in candidates.enumerated() {
            table.append([String(i + 1), Training.describe(c.params), cell(c.rmse, "%.4f"), cell(c.mae, "%.4f"), cell(c.mape, "%.2f"),
                          cell(c.mse, "%.4f")] + (ranked ? [cell(c.ndcg, "%.4f")] : []) + [String(format: "%.1f", c.fitSeconds)])
        }
        return "grid \(gridId): \(candidates.count) candidates on the \(scoredOn == "validation" ? "validation part" : "cross-validation folds"), best first\n"
            + TextTable.render(table) + "\n\nbest, refitted on the train part:\n" + best.text
    }
}
