import ArgumentParser
import Foundation
import Logging
import Workflows

struct RefreshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "A new version of a rating model for the ratings that arrived since it was trained, without a retrain.",
        discussion: """
        Scores the model (--model, or the newest saved als, sgd or svd model) on the ratings written since \
        its data version, re-solves only the customers and movies with new ratings on the newest split \
        extended pair by pair, scores the new version on the new ratings that split holds out, and \
        registers it (model_runs.metrics.prequential); `recommend` and `serve` then use it.
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
