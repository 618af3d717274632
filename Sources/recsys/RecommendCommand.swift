import ArgumentParser
import Foundation
import Reports
import Logging
import Models
import Warehouse
import Workflows

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
    @OptionGroup var support: SupportOptions
    @OptionGroup var db: WarehouseOptions

    func validate() throws {
        if all == (customer != nil) { throw ValidationError("give either --customer ID or --all") }
        if top < 1 || top > 1000 { throw ValidationError("--top must be 1…1000") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let database = db.open()
        let connection = try database.connect()
        try Database.migrate(connection)
        let (file, chosen) = try model.map { (try SavedModels.choose($0, connection), "--model") } ?? SavedModels.bestRanking(connection)
        if all {
            let report = try Recommender.all(file: file, connection: connection, home: database.home, top: top, includeRated: includeRated, support: support.policy, requireSupport: support.explicit,
                                             threads: threads, logger: Logger(label: "recsys.recommend"))
            if db.json { return try printJSON(report) }
            return try say("wrote \(ProgressReporter.count(report.rows)) rows to recommendations (run \(report.runId)): top-\(top) in \(String(format: "%.1f", report.topNSeconds)) s, COPY in \(String(format: "%.1f", report.copySeconds)) s")
        }
        let list = try Recommender.list(customer: customer!, file: file, connection: connection, top: top, includeRated: includeRated,
                                        support: support.policy, requireSupport: support.explicit)
        if db.json { return try printJSON(list) }
        let why: String
        switch list.basis {
        case .model: why = "from the model"
        case .foldedIn: why = "folded in from the customer's \(list.ratingsKnown) current ratings (newer than the model)"
        case .baseline: why = "baseline list (μ + movie bias): the model has no training ratings of this customer"
        }
        try say("top \(list.recommendations.count) for customer \(list.customerId) — \(file.kind) model \(file.url.lastPathComponent) (\(chosen)), \(why)")
        var table = [["#", "movie", "title", "year", ModelKind(rawValue: file.kind)?.predictsRatings == false ? "score" : "predicted"]]
        for (i, r) in list.recommendations.enumerated() {
            table.append([String(i + 1), String(r.movieId), r.title, r.year.map(String.init) ?? "", r.predictedRating.map { String(format: "%.2f", $0) } ?? String(format: "%.4f", r.score)])
        }
        try say(TextTable.render(table))
    }
}
