import ArgumentParser
import Features
import Foundation
import Reports
import Runtime
import Logging
import Models
import Warehouse

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Top-N movies a customer has not rated, from a saved model; or every customer's top-N into the warehouse.",
        discussion: """
        Uses --model, or the newest saved model. A customer who rated more since the model was trained \
        (the warehouse holds a newer load) is folded in: their factors are solved against the model's \
        fixed movie factors from all their current ratings, with no retraining. A customer the model \
        has no training ratings for gets the baseline list (μ + movie bias: well-rated, well-attested \
        movies), labelled as such. An unknown customer id is an error (exit 2).

        --all writes every customer's top-N to the recommendations table (blocked matrix products and \
        a per-row selection on all cores); the model must be trained on the current data.
        """
    )

    @Option(help: "The customer's id in the source data.") var customer: Int64?
    @Flag(help: "Recommend for every customer into the recommendations table.") var all = false
    @Option(help: "How many movies.") var top: Int = 10
    @Option(help: ArgumentHelp("Model file (default: the newest saved model).", valueName: "path")) var model: String?
    @Flag(help: "Also recommend movies the customer has already rated.") var includeRated = false
    @Option(help: "Worker threads for --all. Default: all cores.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Print one JSON document on stdout.") var json = false
    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        if all == (customer != nil) { throw ValidationError("give either --customer ID or --all") }
        if top < 1 || top > 1000 { throw ValidationError("--top must be 1…1000") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let database = db.open()
        let connection = try database.connect()
        try Database.migrate(connection)
        let path: String
        if let model {
            path = URL(fileURLWithPath: model).standardizedFileURL.path
        } else {
            guard let newest = try intactSavedModels(connection).first else {
                throw UsageError(description: "no saved model yet: run `recsys train` first (or give --model PATH)")
            }
            path = newest.path
        }
        let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
        if all { return try recommendAll(file, connection: connection, home: database.home) }
        try recommendOne(customer!, file, connection: connection)
    }

    /// How a list was made.
    enum Basis: String, Encodable {
        /// From the customer's trained factors.
        case model
        /// From factors solved just now against the fixed movie factors (ratings newer than the model).
        case foldedIn = "folded_in"
        /// The model has nothing on this customer: μ + movie bias.
        case baseline
    }

    private func recommendOne(_ id: Int64, _ file: ModelFile, connection: Connection) throws {
        guard let person = try ModelRegistry.customer(id: id, connection) else {
            throw UsageError(description: "customer \(id) is not in the warehouse (dim_customer has no customer_id \(id))")
        }
        let currentVersion = try ModelRegistry.dataVersion(connection)
        let rated = person.ratings.compactMap { r in file.movieIndex(of: r.movieID).map { (movie: Int32($0), rating: Float(r.rating)) } }
        var basis = Basis.baseline
        var factors = [Float](repeating: 0, count: file.rank)
        var bias: Float = 0
        if currentVersion == file.dataVersion {
            if let c = file.customerIndex(of: id), file.customerTrainCount[c] > 0 {
                basis = .model
                factors = Array(file.customerFactors[(c * file.rank)..<((c + 1) * file.rank)])
                bias = file.customerBias[c]
            }
        } else if !rated.isEmpty {
            basis = .foldedIn
            (factors, bias) = try FoldIn.customer(ratings: rated, movieFactors: file.movieFactors, movieBias: file.movieBias,
                                                  globalMean: file.globalMean, rank: file.rank,
                                                  regularization: Self.regularization(file.parameters))
        }
        let exclude = includeRated ? [] : rated.map(\.movie).sorted()
        let items = factors.withUnsafeBufferPointer { p in
            exclude.withUnsafeBufferPointer { ex in
                TopN.single(customerFactor: p, customerBias: bias, globalMean: file.globalMean, movieBias: file.movieBias,
                            movieFactors: file.movieFactors, rank: file.rank, exclude: ex, count: top)
            }
        }
        let ids = items.map { file.movieIDs[Int($0.movie)] }
        let titles = try ModelRegistry.titles(ids, connection)
        let list = zip(items, ids).map { item, movieID in
            Recommendation(movieId: movieID, title: titles[movieID]?.title ?? "", year: titles[movieID]?.year,
                           predictedRating: file.scale.clip(Double(item.score)))
        }
        let report = RecommendReport(customerId: id, basis: basis, model: file.kind, modelPath: file.url.path,
                                     ratingsKnown: person.ratings.count, recommendations: list)
        if json { return try printJSON(report) }
        let why: String
        switch basis {
        case .model: why = "from the model"
        case .foldedIn: why = "folded in from \(rated.count) ratings newer than the model"
        case .baseline: why = "baseline list (μ + movie bias): the model has no training ratings of this customer"
        }
        try say("top \(list.count) for customer \(id) — \(file.kind) model \(file.url.lastPathComponent), \(why)")
        var table = [["#", "movie", "title", "year", "predicted"]]
        for (i, r) in list.enumerated() {
            table.append([String(i + 1), String(r.movieId), r.title, r.year.map(String.init) ?? "", String(format: "%.2f", r.predictedRating)])
        }
        try say(TextTable.render(table))
    }

    private func recommendAll(_ file: ModelFile, connection: Connection, home: RecsysHome) throws {
        let logger = Logger(label: "recsys.recommend")
        guard let runID = try registeredRun(of: file, connection) else {
            throw UsageError(description: "\(file.url.path) is not registered in model_runs: batch results are stored per model run; train it with `recsys train`")
        }
        let (matrix, version, _) = try RatingExport.matrix(connection, home: home)
        guard version == file.dataVersion, matrix.customerCount == file.customerCount, matrix.movieCount == file.movieCount else {
            throw SafetyRefusal(reason: "the model was trained on data version \(file.dataVersion); the warehouse holds \(version)",
                                action: "retrain with `recsys train` for batch recommendations (single customers are folded in)")
        }
        let started = Date()
        let seenStart = includeRated ? [Int](repeating: 0, count: matrix.customerCount + 1) : matrix.customerStart
        let seenMovie = includeRated ? [] : matrix.customerMovie
        let result = seenStart.withUnsafeBufferPointer { start in
            seenMovie.withUnsafeBufferPointer { movies in
                TopN.all(customerFactors: file.customerFactors, customerBias: file.customerBias, globalMean: file.globalMean,
                         movieBias: file.movieBias, movieFactors: file.movieFactors, rank: file.rank,
                         seenStart: start, seenMovie: movies, count: top, threads: threads)
            }
        }
        try Interruption.check()
        let topSeconds = Date().timeIntervalSince(started)
        logger.info("top-\(top) of \(ProgressReporter.count(matrix.customerCount)) customers in \(String(format: "%.1f", topSeconds)) s; writing them")
        let copyStarted = Date()
        let rows = try ModelRegistry.replaceRecommendations(connection, run: runID) { emit in
            for c in 0..<matrix.customerCount {
                // A stop request rolls the whole replacement back.
                if c & 0xFFF == 0 { try Interruption.check() }
                for p in 0..<top {
                    let m = result.movies[c * top + p]
                    guard m >= 0 else { break }
                    try emit(c + 1, p + 1, Int(m) + 1, file.scale.clip(Double(result.scores[c * top + p])))
                }
            }
        }
        let report = BatchReport(runId: runID, customers: matrix.customerCount, top: top, rows: rows,
                                 topNSeconds: topSeconds, copySeconds: Date().timeIntervalSince(copyStarted))
        if json { return try printJSON(report) }
        try say("wrote \(ProgressReporter.count(rows)) rows to recommendations (run \(runID)): top-\(top) in \(String(format: "%.1f", report.topNSeconds)) s, COPY in \(String(format: "%.1f", report.copySeconds)) s")
    }

    /// λ from the model's parameters, for fold-in.
    static func regularization(_ parameters: String) -> Double {
        guard let object = try? JSONSerialization.jsonObject(with: Data(parameters.utf8)) as? [String: Any],
              let value = object["regularization"] as? Double, value > 0 else { return 0.05 }
        return value
    }
}

struct Recommendation: Encodable {
    var movieId: Int64
    var title: String
    var year: Int?
    var predictedRating: Double
}

struct RecommendReport: Encodable {
    var customerId: Int64
    var basis: RecommendCommand.Basis
    var model: String
    var modelPath: String
    var ratingsKnown: Int
    var recommendations: [Recommendation]
}

struct BatchReport: Encodable {
    var runId: Int
    var customers: Int
    var top: Int
    var rows: Int
    var topNSeconds: Double
    var copySeconds: Double
}
