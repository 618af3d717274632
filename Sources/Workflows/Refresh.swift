import Features
import Foundation
import Logging
import Models
import Runtime
import Warehouse

/// What `recsys refresh` did: yesterday's model scored on today's ratings, the
/// changed rows re-solved, the new version scored on the held-out ones.
public struct RefreshReport: Codable, Sendable {
    public var runId: Int
    public var model: String
    public var modelPath: String
    public var fromRunId: Int?
    public var fromDataVersion: String
    public var dataVersion: String
    /// Ratings written since the model's data version (new pairs and re-ratings).
    public var newRatings: Int
    /// The model before the refresh, on every new rating: how well yesterday's model predicted today.
    public var before: Metrics?
    /// The new ratings the split holds out (its validation and test parts), not used for the refresh.
    public var heldOut: Int
    /// The refreshed model on those held-out new ratings; `beforeHeldOut` the old one on the same.
    public var after: Metrics?
    public var beforeHeldOut: Metrics?
    public var customersRefreshed: Int
    public var moviesRefreshed: Int
    public var newCustomers: Int
    public var newMovies: Int
    public var seconds: Double
}

/// The refresh use case: a new version of a rating model for the ratings that
/// arrived since it was trained, without a retrain. Only the customers and
/// movies with new ratings are re-solved — each customer's factors and bias
/// from their training-part ratings against the fixed movie factors, then each
/// such movie's against the updated customers (one half-sweep each, restricted
/// to the changed rows). The split is the newest one (random, probe or file),
/// extended pair by pair as it assigns them, so the new ratings in its validation and test parts are held
/// out and score the new version (prequential evaluation); both scores land in
/// `model_runs`.
public enum Refreshing {
    public static func run(modelPath: String?, database: Database, logger: Logger) throws -> RefreshReport {
        let started = Date()
        let connection = try database.connect()
        try Database.migrate(connection)
        // Without --model: the newest saved model that can be refreshed (a ranking model may be newer).
        let file = try modelPath.map { try SavedModels.choose($0, connection) }
            ?? SavedModels.intact(connection).first { ["als", "sgd", "svd"].contains($0.model) }
                .map { try ModelFile(contentsOf: URL(fileURLWithPath: $0.path)) }
            ?? { throw WorkflowError(.notFound, "no saved als, sgd or svd model to refresh: train one with `recsys train`") }()
        guard let kind = ModelKind(rawValue: file.kind), kind.predictsRatings, !file.isItemBased, file.rank > 0 else {
            throw WorkflowError(.badRequest, "refresh re-solves the factors of a rating model (als, sgd, svd); \(file.kind) is not one: retrain it with `recsys train`")
        }
        guard let split = try FeatureStore.newestSplit(connection), split.definition.kind != .temporal else {
            throw WorkflowError(.badRequest, "refresh extends the newest split pair by pair, and a temporal split's parts depend on each customer's other ratings: use `recsys features` and `recsys train --warm-start`")
        }
        let (matrix, version, _) = try RatingExport.matrix(connection, home: database.home)
        guard LiveRatings.loadPart(version) == LiveRatings.loadPart(file.dataVersion),
              let fromBatch = LiveRatings.batch(ofVersion: file.dataVersion) else {
            throw WorkflowError(.badRequest, "the model was trained on data version \(file.dataVersion), another load than the warehouse's (\(version)): retrain with `recsys train`")
        }
        guard version != file.dataVersion else {
            throw WorkflowError(.badRequest, "no ratings arrived since the model was trained (data version \(version)): nothing to refresh")
        }
        // The model's ids must be a prefix of today's (dense keys only grow).
        guard matrix.customerIDs.starts(with: file.customerIDs), matrix.movieIDs.starts(with: file.movieIDs) else {
            throw WorkflowError(.badRequest, "the model's customers or movies are not the warehouse's in key order: retrain with `recsys train`")
        }
        var model = file.model()
        let old = model
        let rank = model.rank
        let newCustomers = matrix.customerCount - model.customerCount
        let newMovies = matrix.movieCount - model.movieCount
        model.customerIDs = matrix.customerIDs
        model.movieIDs = matrix.movieIDs
        model.customerBias += [Float](repeating: 0, count: newCustomers)
        model.customerFactors += [Float](repeating: 0, count: newCustomers * rank)
        model.customerTrainCount += [Int32](repeating: 0, count: newCustomers)
        model.movieBias += [Float](repeating: 0, count: newMovies)
        model.movieFactors += [Float](repeating: 0, count: newMovies * rank)

        // The new ratings (dense indexes), and the part the split gives each.
        let delta = try LiveRatings.written(after: fromBatch, connection)
        let definition = split.definition
        let listed = try FeatureStore.listedPairs(definition, matrix: matrix, connection)
        func part(_ c: Int, _ m: Int) -> Split.Part {
            Splitter.part(customerID: matrix.customerIDs[c], movieID: matrix.movieIDs[m], definition,
                          listed: !listed.isEmpty && listed.contains(Int64(c) << 32 | Int64(m)))
        }
        // Yesterday's model on today's ratings (a customer or movie it never saw: the baseline it can give).
        var before = Metrics.Accumulator(scale: file.scale), beforeHeld = Metrics.Accumulator(scale: file.scale)
        var heldOut: [(c: Int, m: Int, rating: Double)] = []
        var customers = Set<Int>(), movies = Set<Int>()
        for d in delta {
            let c = d.customerKey - 1, m = d.movieKey - 1
            let known = c < old.customerCount && m < old.movieCount
            let predicted = known ? old.score(customer: c, movie: m)
                : old.globalMean + (c < old.customerCount ? Double(old.customerBias[c]) : 0) + (m < old.movieCount ? Double(old.movieBias[m]) : 0)
            before.add(actual: d.rating, predicted: predicted, fallback: !known)
            if part(c, m) == .train {
                customers.insert(c)
                movies.insert(m)
            } else {
                heldOut.append((c, m, d.rating))
                beforeHeld.add(actual: d.rating, predicted: predicted, fallback: !known)
            }
        }
        let lambda = Recommender.foldInRegularization(kind: file.kind, parameters: file.parameters)
        // One ridge per changed row against the fixed other side (factors and biases): a customer
        // against the movies, a movie against the customers — the same solve with the roles swapped.
        let globalMean = model.globalMean
        func solve(_ rated: [(movie: Int32, rating: Float)], fixedFactors: [Float], fixedBias: [Float]) throws -> (factors: [Float], bias: Float) {
            try fixedFactors.withUnsafeBufferPointer { q in
                try fixedBias.withUnsafeBufferPointer { b in
                    try FoldIn.customer(ratings: rated, movieFactors: q, movieBias: b, globalMean: globalMean, rank: rank, regularization: lambda)
                }
            }
        }
        // Customers first, against the fixed movie factors; then the movies, against the updated
        // customers. Each row's solve reads only the fixed side: rows go to every core.
        Linalg.setBLASThreads(1)
        let customerList = customers.sorted()
        let (movieFactors, movieBias) = (model.movieFactors, model.movieBias)
        let solvedCustomers = try Parallel.map(count: customerList.count, threads: Parallel.defaultThreads) { i -> (solved: (factors: [Float], bias: Float), count: Int) in
            let c = customerList[i]
            let rated = (matrix.customerStart[c]..<matrix.customerStart[c + 1])
                .filter { part(c, Int(matrix.customerMovie[$0])) == .train }.map { (movie: matrix.customerMovie[$0], rating: matrix.customerRating[$0]) }
            return (try solve(rated, fixedFactors: movieFactors, fixedBias: movieBias), rated.count)
        }
        for (i, c) in customerList.enumerated() {
            model.customerFactors.replaceSubrange((c * rank)..<((c + 1) * rank), with: solvedCustomers[i].solved.factors)
            model.customerBias[c] = solvedCustomers[i].solved.bias
            model.customerTrainCount[c] = Int32(solvedCustomers[i].count)
        }
        try Interruption.check()
        let movieList = movies.sorted()
        let (customerFactors, customerBias) = (model.customerFactors, model.customerBias)
        let solvedMovies = try Parallel.map(count: movieList.count, threads: Parallel.defaultThreads) { i -> (factors: [Float], bias: Float) in
            let m = movieList[i]
            let rated = (matrix.movieStart[m]..<matrix.movieStart[m + 1])
                .filter { part(Int(matrix.movieCustomer[$0]), m) == .train }.map { (movie: matrix.movieCustomer[$0], rating: matrix.movieRating[$0]) }
            return try solve(rated, fixedFactors: customerFactors, fixedBias: customerBias)
        }
        for (i, m) in movieList.enumerated() {
            model.movieFactors.replaceSubrange((m * rank)..<((m + 1) * rank), with: solvedMovies[i].factors)
            model.movieBias[m] = solvedMovies[i].bias
        }
        try Interruption.check()
        model.dataVersion = version
        var after = Metrics.Accumulator(scale: file.scale)
        for h in heldOut { after.add(actual: h.rating, predicted: model.score(customer: h.c, movie: h.m)) }
        logger.info("refresh: \(delta.count) new ratings; yesterday's model RMSE \(before.metrics.map { String(format: "%.4f", $0.rmse) } ?? "-") on them; \(customers.count) customers and \(movies.count) movies re-solved; held-out \(heldOut.count): \(beforeHeld.metrics.map { String(format: "%.4f", $0.rmse) } ?? "-") → \(after.metrics.map { String(format: "%.4f", $0.rmse) } ?? "-")")

        let fromRun = file.runID
        let runID = try ModelRegistry.reserveRunID(connection)
        let url = database.home.models.appendingPathComponent("\(file.kind)-\(runID)-\(runStamp()).rsm")
        let seconds = Date().timeIntervalSince(started)
        struct Prequential: Codable {
            var refreshedFrom: Int?
            var fromDataVersion: String
            var newRatings: Int
            var before: Metrics?
            var heldOut: Int
            var beforeHeldOut: Metrics?
            var after: Metrics?
        }
        let metrics = try JSON.text(["prequential": Prequential(refreshedFrom: fromRun, fromDataVersion: file.dataVersion, newRatings: delta.count,
                                                                before: before.metrics, heldOut: heldOut.count,
                                                                beforeHeldOut: beforeHeld.metrics, after: after.metrics)])
        // No split was built on this version: the run has none, and comparisons by split leave it out.
        let run = ModelRegistry.Run(model: file.kind, params: file.parameters, metrics: metrics, iterations: nil, fitSeconds: seconds,
                                    dataVersion: version, splitID: nil, path: url.path, gridID: nil)
        try ModelFile.write(model, to: url, runID: runID) {
            try ModelRegistry.record(connection, run, id: runID)
        }
        return RefreshReport(runId: runID, model: file.kind, modelPath: url.path, fromRunId: fromRun, fromDataVersion: file.dataVersion,
                             dataVersion: version, newRatings: delta.count, before: before.metrics, heldOut: heldOut.count,
                             after: after.metrics, beforeHeldOut: beforeHeld.metrics, customersRefreshed: customers.count,
                             moviesRefreshed: movies.count, newCustomers: newCustomers, newMovies: newMovies, seconds: seconds)
    }
}

extension RefreshReport {
    public var text: String {
        func rmse(_ m: Metrics?) -> String { m.map { String(format: "%.4f", $0.rmse) } ?? "-" }
        return """
            refreshed \(model) run \(fromRunId.map(String.init) ?? "?") → run \(runId): \(newRatings) new ratings since data version \(fromDataVersion)
              yesterday's model on them: RMSE \(rmse(before))
              re-solved \(customersRefreshed) customers (\(newCustomers) new) and \(moviesRefreshed) movies (\(newMovies) new)
              held out \(heldOut) of the new ratings (the split's validation/test parts): RMSE \(rmse(beforeHeldOut)) before → \(rmse(after)) after
              model: \(modelPath) (\(String(format: "%.1f", seconds)) s)
            """
    }
}
