import Features
import Foundation
import Logging
import Models
import Runtime
import Warehouse

/// How a list was made.
public enum RecommendationBasis: String, Codable, Sendable {
    /// From the customer's trained factors.
    case model
    /// From factors solved just now against the fixed movie factors (ratings newer than the model).
    case foldedIn = "folded_in"
    /// The model has nothing on this customer: μ + movie bias.
    case baseline
}

public struct Recommendation: Codable, Sendable, Equatable {
    public var movieId: Int64
    public var title: String
    public var year: Int?
    /// The rating the model predicts, on the scale; nil for a ranking model
    /// (implicit ALS), whose `score` orders movies but is not a rating.
    public var predictedRating: Double?
    /// What the list is ordered by.
    public var score: Double
}

/// One customer's list, as `recsys recommend --json` prints it.
public struct RecommendationList: Codable, Sendable {
    public var customerId: Int64
    public var basis: RecommendationBasis
    public var model: String
    public var modelPath: String
    /// The customer's ratings in the warehouse now.
    public var ratingsKnown: Int
    public var recommendations: [Recommendation]
}

/// What `recommend --all` wrote.
public struct BatchRecommendations: Codable, Sendable {
    public var runId: Int
    public var customers: Int
    public var top: Int
    public var rows: Int
    public var topNSeconds: Double
    public var copySeconds: Double
}

/// The recommend use case, shared by every front end.
///
/// The policy, in one place: a customer the model was trained with (and the
/// warehouse still holds that model's data version) gets the model's factors;
/// a customer whose ratings are newer than the model is folded in — factors
/// solved from all their current ratings against the model's fixed movie
/// factors, no retraining; a customer the model knows nothing of gets the
/// baseline (μ + movie bias). Rated movies are left out unless asked for.
public enum Recommender {
    /// The list for a customer whose current ratings are `ratings` (movie id, rating).
    /// - Parameters:
    ///   - currentDataVersion: the warehouse's complete load; a model of another version folds in.
    ///   - titles: title and year of movie ids (the warehouse, or a test's table).
    ///   - support: how a rating model's lists treat thinly supported movies; `movieSupport`
    ///     holds each model movie's training ratings (nil: the policy cannot apply).
    public static func list(customer id: Int64, ratings: [(movieID: Int64, rating: Double)], file: ModelFile,
                            currentDataVersion: String?, top: Int, includeRated: Bool,
                            support: SupportPolicy = .none, movieSupport: [Int32]? = nil,
                            titles: ([Int64]) throws -> [Int64: (title: String, year: Int?)]) throws -> RecommendationList {
        try list(customer: id, ratings: ratings, file: file, currentDataVersion: currentDataVersion, top: top, includeRated: includeRated,
                 scoring: ListScoring(file: file, support: support, movieSupport: movieSupport), titles: titles)
    }

    /// The same, with the model's scoring tables made beforehand (a server makes them once per model).
    public static func list(customer id: Int64, ratings: [(movieID: Int64, rating: Double)], file: ModelFile,
                            currentDataVersion: String?, top: Int, includeRated: Bool, scoring: ListScoring,
                            titles: ([Int64]) throws -> [Int64: (title: String, year: Int?)]) throws -> RecommendationList {
        let rated = ratings.compactMap { r in file.movieIndex(of: r.movieID).map { (movie: Int32($0), rating: Float(r.rating)) } }
        var basis = RecommendationBasis.baseline
        var factors = [Float](repeating: 0, count: file.rank)
        var bias: Float = 0
        if currentDataVersion == file.dataVersion {
            if let c = file.customerIndex(of: id), file.customerTrainCount[c] > 0 {
                basis = .model
                factors = Array(file.customerFactors[(c * file.rank)..<((c + 1) * file.rank)])
                bias = file.customerBias[c]
            }
        } else if !rated.isEmpty {
            basis = .foldedIn
            if !file.isItemBased { (factors, bias) = try foldIn(rated, file: file) }
        }
        let exclude = includeRated ? [] : rated.map(\.movie).sorted()
        let predictsRatings = ModelKind(rawValue: file.kind)?.predictsRatings ?? true
        let adjusted = scoring.adjusted
        // An item-based model (EASE) scores from the customer's current ratings, whatever the basis.
        let history = file.isItemBased ? rated.map(\.movie).sorted() : []
        let items = factors.withUnsafeBufferPointer { p in
            exclude.withUnsafeBufferPointer { ex in
                guard let adjusted else {
                    return TopN.single(customerFactor: p, customerBias: bias, globalMean: file.globalMean, movieBias: file.movieBias,
                                       movieFactors: file.movieFactors, rank: file.rank, exclude: ex, count: top,
                                       itemWeights: file.isItemBased ? file.itemWeights : nil, history: history)
                }
                return adjusted.movieBias.withUnsafeBufferPointer { b in
                    adjusted.movieFactors.withUnsafeBufferPointer { q in
                        TopN.single(customerFactor: p, customerBias: bias, globalMean: file.globalMean, movieBias: b,
                                    movieFactors: q, rank: file.rank, exclude: ex, count: top)
                    }
                }
            }
        }
        let ids = items.map { file.movieIDs[Int($0.movie)] }
        let known = try titles(ids)
        let list = zip(items, ids).map { item, movieID in
            Recommendation(movieId: movieID, title: known[movieID]?.title ?? "", year: known[movieID]?.year,
                           predictedRating: predictsRatings ? file.scale.clip(Double(item.score)) : nil, score: Double(item.score))
        }
        return RecommendationList(customerId: id, basis: basis, model: file.kind, modelPath: file.url.path,
                                  ratingsKnown: ratings.count, recommendations: list)
    }

    /// The list for customer `id` as the warehouse knows them now.
    /// - Throws: `WorkflowError.notFound` for a customer the warehouse does not have.
    /// `requireSupport`: refuse when the model's training ratings per movie are
    /// gone (asked for explicitly); otherwise the lists go without the policy.
    public static func list(customer id: Int64, file: ModelFile, connection: Connection, top: Int,
                            includeRated: Bool, support: SupportPolicy = .ratingDefault, requireSupport: Bool = false) throws -> RecommendationList {
        guard let person = try LiveRatings.customer(id: id, modelVersion: file.dataVersion, connection: connection) else {
            throw WorkflowError(.notFound, "customer \(id) is not in the warehouse (dim_customer has no customer_id \(id))")
        }
        return try list(customer: id, ratings: person.ratings, file: file,
                        currentDataVersion: person.modelIsCurrent ? file.dataVersion : person.warehouseVersion,
                        top: top, includeRated: includeRated, support: support,
                        movieSupport: support.isNone ? nil : try movieSupport(of: file, connection, required: requireSupport)) {
            try ModelRegistry.titles($0, connection)
        }
    }

    /// Each of the model's movies' training ratings, from its split's feature rows.
    /// - Throws: `WorkflowError.badRequest` when that split's rows are gone.
    static func movieSupport(of file: ModelFile, _ connection: Connection, required: Bool) throws -> [Int32]? {
        guard let byID = try ModelRegistry.movieSupport(split: file.splitID, connection) else {
            guard required else { return nil }
            throw WorkflowError(.badRequest, "the training ratings per movie of split \(file.splitID) (the model's) are gone — only the newest split keeps them; retrain on the current features to use --min-support or --shrinkage")
        }
        return file.movieIDs.map { byID[$0] ?? 0 }
    }

    /// Every customer's top-N into the recommendations table, for a model
    /// trained on the warehouse's current data.
    public static func all(file: ModelFile, connection: Connection, home: RecsysHome, top: Int, includeRated: Bool,
                           support: SupportPolicy = .ratingDefault, requireSupport: Bool = false, threads: Int,
                           logger: Logger) throws -> BatchRecommendations {
        guard let runID = try SavedModels.registeredRun(of: file, connection) else {
            throw WorkflowError(.badRequest, "\(file.url.path) is not registered in model_runs: batch results are stored per model run; train it with `recsys train`")
        }
        let (matrix, version, _) = try RatingExport.matrix(connection, home: home)
        guard version == file.dataVersion, matrix.customerCount == file.customerCount, matrix.movieCount == file.movieCount else {
            throw SafetyRefusal(reason: "the model was trained on data version \(file.dataVersion); the warehouse holds \(version)",
                                action: "retrain with `recsys train` for batch recommendations (single customers are folded in)")
        }
        let started = Date()
        let seenStart = includeRated ? [Int](repeating: 0, count: matrix.customerCount + 1) : matrix.customerStart
        let seenMovie = includeRated ? [] : matrix.customerMovie
        let predictsRatings = ModelKind(rawValue: file.kind)?.predictsRatings ?? true
        // The warehouse's current ratings are the model's data version: the support is the matrix's when the split's rows are gone.
        let movieCounts = predictsRatings && !support.isNone
            ? (try movieSupport(of: file, connection, required: requireSupport) ?? matrix.movieSupport) : nil
        let adjusted = movieCounts.map { support.apply(movieSupport: $0, movieBias: file.movieBias, movieFactors: file.movieFactors, rank: file.rank) }
            ?? (movieBias: Array(file.movieBias), movieFactors: [Float]())
        let result = file.isItemBased
            ? seenStart.withUnsafeBufferPointer { start in
                seenMovie.withUnsafeBufferPointer { movies in
                    matrix.customerStart.withUnsafeBufferPointer { historyStart in
                        matrix.customerMovie.withUnsafeBufferPointer { history in
                            TopN.itemBased(customerBias: file.customerBias, globalMean: file.globalMean, movieBias: file.movieBias,
                                           itemWeights: file.itemWeights, historyStart: historyStart, history: history,
                                           seenStart: start, seenMovie: movies, count: top, threads: threads)
                        }
                    }
                }
            }
            : seenStart.withUnsafeBufferPointer { start in
            seenMovie.withUnsafeBufferPointer { movies in
                adjusted.movieBias.withUnsafeBufferPointer { bias in
                    adjusted.movieFactors.withUnsafeBufferPointer { factors in
                        TopN.all(customerFactors: file.customerFactors, customerBias: file.customerBias, globalMean: file.globalMean,
                                 movieBias: bias, movieFactors: factors.isEmpty ? file.movieFactors : factors, rank: file.rank,
                                 seenStart: start, seenMovie: movies, count: top, threads: threads)
                    }
                }
            }
        }
        try Interruption.check()
        let topSeconds = Date().timeIntervalSince(started)
        logger.info("top-\(top) of \(ProgressReporter.count(matrix.customerCount)) customers in \(String(format: "%.1f", topSeconds)) s; writing them")
        let copyStarted = Date()
        // A ranking model's score is stored as it is: it is not a rating to clip.
        let rows = try ModelRegistry.replaceRecommendations(connection, run: runID) { emit in
            for c in 0..<matrix.customerCount {
                // A stop request rolls the whole replacement back.
                if c & 0xFFF == 0 { try Interruption.check() }
                for p in 0..<top {
                    let m = result.movies[c * top + p]
                    guard m >= 0 else { break }
                    let score = Double(result.scores[c * top + p])
                    try emit(Int(Vocabulary.key(ofIndex: c)), p + 1, Int(Vocabulary.key(ofIndex: Int(m))), predictsRatings ? file.scale.clip(score) : score)
                }
            }
        }
        return BatchRecommendations(runId: runID, customers: matrix.customerCount, top: top, rows: rows,
                                    topNSeconds: topSeconds, copySeconds: Date().timeIntervalSince(copyStarted))
    }

    /// λ of fold-in: the model's own regularization, else the ALS default.
    static func foldInRegularization(kind: String, parameters: String) -> Double {
        let own = (try? ModelConfiguration(kind: kind, json: parameters))?.regularization
        return own.flatMap { $0 > 0 ? $0 : nil } ?? ALSConfiguration().regularization
    }

    /// A customer's factors (and bias) solved from their ratings against the
    /// model's fixed movie factors, by the model's own objective: a ranking
    /// model's implicit normal equations, or the explicit ridge of the rating models.
    static func foldIn(_ rated: [(movie: Int32, rating: Float)], file: ModelFile) throws -> (factors: [Float], bias: Float) {
        if case .ials(let configuration)? = try? ModelConfiguration(kind: file.kind, json: file.parameters) {
            return (try ImplicitALSTrainer.solve(ratings: rated, movieFactors: file.movieFactors, rank: file.rank,
                                                 configuration: configuration), 0)
        }
        return try FoldIn.customer(ratings: rated, movieFactors: file.movieFactors, movieBias: file.movieBias,
                                   globalMean: file.globalMean, rank: file.rank,
                                   regularization: foldInRegularization(kind: file.kind, parameters: file.parameters))
    }
}

/// A model's movie biases and factors as a support policy changes them (an
/// unsupported movie's bias −∞, factors shrunk by support), for a rating
/// model; nothing for a ranking model or without the training counts.
public struct ListScoring: @unchecked Sendable {
    let adjusted: (movieBias: [Float], movieFactors: [Float])?

    public init(file: ModelFile, support: SupportPolicy, movieSupport: [Int32]?) {
        let predictsRatings = ModelKind(rawValue: file.kind)?.predictsRatings ?? true
        adjusted = predictsRatings && !support.isNone
            ? movieSupport.map { support.apply(movieSupport: $0, movieBias: file.movieBias, movieFactors: file.movieFactors, rank: file.rank) }
            : nil
    }
}

/// Which saved models can be used: registered, in place, and written by their own run.
public enum SavedModels {
    /// The registry's saved models whose file is in place and was written by that
    /// very run (a file records its run id): a row whose file was replaced by
    /// another run, or never finished, is passed over. Newest first.
    public static func intact(_ connection: Connection, latestPerKind: Bool = false) throws -> [ModelRegistry.SavedModel] {
        try ModelRegistry.savedModels(connection).filter { saved in
            switch ModelFile.recordedRun(at: URL(fileURLWithPath: saved.path)) {
            case .run(let id): return id == saved.runID
            case .unregistered: return true
            case .unreadable: return false
            }
        }.reduce(into: [ModelRegistry.SavedModel]()) { kept, saved in
            if !latestPerKind || !kept.contains(where: { $0.model == saved.model }) { kept.append(saved) }
        }
    }

    /// The model file to use: `path` when given, else the newest intact saved model.
    public static func choose(_ path: String?, _ connection: Connection?) throws -> ModelFile {
        if let path { return try ModelFile(contentsOf: URL(fileURLWithPath: path).standardizedFileURL) }
        guard let connection, let newest = try intact(connection).first else {
            throw WorkflowError(.notFound, "no saved model yet: run `recsys train` first (or give --model PATH)")
        }
        return try ModelFile(contentsOf: URL(fileURLWithPath: newest.path))
    }

    /// The model recommend serves without --model: of the intact saved models
    /// trained on the newest model's data version and split (their validation
    /// lists are comparable), the one whose validation top-10 lists rank best
    /// by NDCG@10 — the newest on a tie, or when none recorded a ranking.
    /// Returns the file and why it was chosen.
    public static func bestRanking(_ connection: Connection) throws -> (file: ModelFile, reason: String) {
        let (chosen, reason) = try bestRankingChoice(connection)
        return (try ModelFile(contentsOf: URL(fileURLWithPath: chosen.path)), reason)
    }

    /// `bestRanking`'s choice without opening the file (a server compares run ids first).
    public static func bestRankingChoice(_ connection: Connection) throws -> (saved: ModelRegistry.SavedModel, reason: String) {
        let saved = try intact(connection)
        guard let newest = saved.first else {
            throw WorkflowError(.notFound, "no saved model yet: run `recsys train` first (or give --model PATH)")
        }
        let comparable = saved.filter { $0.dataVersion == newest.dataVersion && $0.splitID == newest.splitID }
        // `max` keeps the first of equals; the list is newest first, so reversed it would keep the oldest.
        let best = comparable.filter { $0.validationNDCG != nil }
            .reduce(nil as ModelRegistry.SavedModel?) { best, m in best.map { m.validationNDCG! > $0.validationNDCG! ? m : $0 } ?? m }
        let chosen = best ?? newest
        let reason = best.map { String(format: "the best validation NDCG@10 (%.4f) of %d saved models on split %d", $0.validationNDCG!, comparable.count, $0.splitID ?? 0) }
            ?? "the newest saved model (none recorded a validation ranking)"
        return (chosen, reason)
    }

    /// The run that wrote `file`: the id the file records, else the newest registered run of its path.
    public static func registeredRun(of file: ModelFile, _ connection: Connection) throws -> Int? {
        if let id = file.runID {
            let known = try connection.execute("SELECT 1 FROM model_runs WHERE run_id = $1", [String(id)]).count > 0
            return known ? id : nil
        }
        return try ModelRegistry.run(forPath: file.url.path, connection)
    }
}
