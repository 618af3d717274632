import ArgumentParser
import Foundation
import Logging
import Workflows

struct RefreshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "A new version of a rating model for the ratings that arrived since it was trained, without a retrain.",
        discussion: """
        Takes --model, or the newest saved als, sgd or svd model, and the ratings live batches and \
        appends wrote since its data version. First scores the model on them (how well did yesterday's \
        model predict today?); then re-solves only the customers and movies with new ratings — each \
        customer against the fixed movie factors, then each such movie against the updated customers — \
        using the newest split (random, probe or file) extended pair by pair, so the new ratings in its validation \
        and test parts are held out; scores the new version on those; writes it as a new model file and \
        model_runs row (metrics.prequential holds both scores). `recsys serve` picks it up.
        """
    )

    @Option(help: ArgumentHelp("Model file to refresh (default: the newest saved als, sgd or svd model).", valueName: "path")) var model: String?
    @OptionGroup var db: WarehouseOptions

    func run() throws {
        let report = try Refreshing.run(modelPath: model, database: db.open(), logger: Logger(label: "recsys.refresh"))
        if db.json { return try printJSON(report) }
        try say(report.text)
    }
}
