import Features
import Foundation
import Logging
import Models
import Reports
import Runtime
import Warehouse

/// One line of `recsys evaluate`: a model's (or baseline's) metrics on the test part.
/// Its JSON is flat: the metrics' fields beside name, path and ranking. A
/// ranking model (implicit ALS, popularity) has no rating metrics: its scores
/// are not ratings.
@dynamicMemberLookup
public struct EvaluationRow: Codable, Sendable {
    public var name: String
    public var metrics: Metrics?
    public var path: String?
    /// With ranking or a report; nil for global_mean (all scores tie).
    public var ranking: RankingMetrics?

    public subscript<T>(dynamicMember field: KeyPath<Metrics, T>) -> T? { metrics?[keyPath: field] }

    private enum CodingKeys: String, CodingKey { case name, path, ranking }

    public init(name: String, metrics: Metrics?, path: String?, ranking: RankingMetrics?) {
        (self.name, self.metrics, self.path, self.ranking) = (name, metrics, path, ranking)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), metrics: try? Metrics(from: decoder),
                  path: try c.decodeIfPresent(String.self, forKey: .path), ranking: try c.decodeIfPresent(RankingMetrics.self, forKey: .ranking))
    }

    public func encode(to encoder: Encoder) throws {
        try metrics?.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(path, forKey: .path)
        try c.encodeIfPresent(ranking, forKey: .ranking)
    }
}

/// What to evaluate and how much.
public struct EvaluationRequest: Sendable {
    /// Model files; empty: the newest intact saved model of each kind trained on the current features.
    public var models: [URL] = []
    /// Top-k lists and ranking metrics for every test customer.
    public var ranking = false
    /// Everything a report shows: deciles, distributions, learning curves, the newest grid.
    public var detailed = false
    public var k = 10
    public var relevant = 4.0
    /// How the rating models' (and the bias baseline's) lists treat thinly supported movies.
    public var support = SupportPolicy.ratingDefault
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init() {}
}

/// What an evaluation found: the rows, and the report's document when asked for.
public struct EvaluationOutcome: Sendable {
    public var rows: [EvaluationRow]
    public var document: EvaluationDocument?
    public var splitID: Int
    public var split: String
    public var testRatings: Int
}

/// The evaluate use case: the models beside the global-mean and bias baselines
/// on the test part of the current features. A model trained on another split
/// or on other data is refused (its test metrics would not be comparable).
public enum Evaluator {
    public static func run(_ request: EvaluationRequest, database: Database, logger: Logger) throws -> EvaluationOutcome {
        let k = request.k, relevant = request.relevant, threads = request.threads
        let connection = try database.connect()
        let data = try Training.features(connection, home: database.home, logger: logger)
        var paths = request.models.map { $0.standardizedFileURL.path }
        if paths.isEmpty {
            paths = try SavedModels.intact(connection, latestPerKind: true)
                .filter { $0.splitID == data.splitID && $0.dataVersion == data.dataVersion }.map(\.path)
            if paths.isEmpty { logger.info("no saved model was trained on the current features (split \(data.splitID)); showing the baselines") }
        }
        let detailed = request.detailed
        let ranked = detailed || request.ranking
        var rows: [EvaluationRow] = []
        var details: [EvaluatedModel] = []
        guard data.split.test.count > 0 else {
            throw WorkflowError(.badRequest, "the test part of split \(data.splitID) holds no ratings; run `recsys features` to make a split with a test part")
        }
        let movieSupport = data.train.movieSupport
        /// `predictsRatings` false: a ranking model, whose scores are not ratings (no rating metrics, no deciles).
        func add(_ name: String, _ predictor: some RatingPredictor, path: String?, run: Int?, rankable: FactorModel?,
                 predictsRatings: Bool = true) throws {
            let m = predictsRatings ? Evaluation.metrics(predictor, on: data.split.test, trainedOn: data.train) : nil
            var row = EvaluationRow(name: name, metrics: m, path: path, ranking: nil)
            if ranked, let rankable {
                logger.info("\(name): top-\(k) lists for the test customers…")
                let lists = predictsRatings ? rankable.ranking(with: request.support, movieSupport: movieSupport) : rankable
                row.ranking = Ranking.evaluate(lists, on: data.split.test, trainedOn: data.train, k: k, threshold: relevant, threads: threads)
                try Interruption.check()
            }
            rows.append(row)
            if detailed {
                var detail = EvaluatedModel(row: row, runId: run)
                if predictsRatings {
                    detail.customerDeciles = Evaluation.errorByDecile(predictor, on: data.split.test, trainedOn: data.train, by: .customerActivity)
                    detail.movieDeciles = Evaluation.errorByDecile(predictor, on: data.split.test, trainedOn: data.train, by: .moviePopularity)
                    detail.distribution = Evaluation.distribution(predictor, on: data.split.test)
                }
                if let run, let text = try ModelRegistry.iterations(run: run, connection) {
                    detail.iterations = (try? JSON.decode([TrainingStep].self, from: text)) ?? []
                }
                details.append(detail)
            }
        }
        try add("global_mean", BaselinePredictor.globalMean(data.biases, scale: data.scale), path: nil, run: nil, rankable: nil)
        try add("bias", BaselinePredictor.bias(data.biases, scale: data.scale), path: nil, run: nil,
                rankable: ranked ? Ranking.baselineModel(data.biases, train: data.train, scale: data.scale) : nil)
        if ranked {
            let popularity = Ranking.popularityModel(train: data.train, scale: data.scale)
            try add("popularity", popularity, path: nil, run: nil, rankable: popularity, predictsRatings: false)
        }
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
            try add(name, model, path: path, run: run, rankable: model,
                    predictsRatings: ModelKind(rawValue: file.kind)?.predictsRatings ?? true)
        }
        var document: EvaluationDocument?
        if detailed {
            var made = EvaluationDocument(splitId: data.splitID, split: data.definition.kind.rawValue, dataVersion: data.dataVersion,
                                              testRatings: data.split.test.count, trainRatings: data.train.count,
                                              rankingK: k, relevantAtLeast: relevant, models: details)
            if let grid = try ModelRegistry.latestGrid(split: data.splitID, dataVersion: data.dataVersion, connection) {
                made.grid = EvaluationDocument.GridSearch(grid)
            }
            made.prequential = try ModelRegistry.prequential(connection)
            document = made
        }
        return EvaluationOutcome(rows: rows, document: document, splitID: data.splitID, split: data.definition.kind.rawValue,
                                 testRatings: data.split.test.count)
    }
}
