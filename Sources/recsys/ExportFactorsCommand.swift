import ArgumentParser
import Foundation
import Reports
import Runtime
import Models
import Warehouse
import Workflows

struct ExportFactorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-factors",
        abstract: "Write a model's factors, biases and id maps as NumPy .npy files, for Python users.",
        discussion: """
        Files: customer_factors.npy (customers × rank, float32), movie_factors.npy (movies × rank), \
        customer_bias.npy, movie_bias.npy (float32), customer_ids.npy, movie_ids.npy (int64: row i is \
        the source id of factor row i) and model.json (kind, parameters, global mean, rating scale, \
        data version). A prediction is clip(global_mean + customer_bias[u] + movie_bias[i] + \
        customer_factors[u] · movie_factors[i]).
        """
    )

    @Option(help: ArgumentHelp("Model file (default: the newest saved model).", valueName: "path")) var model: String?
    @Option(help: "Folder to write into (created if missing).") var out: String
    @OptionGroup var db: DatabaseOptions

    func run() throws {
        let file: ModelFile
        if let model {
            file = try SavedModels.choose(model, nil)
        } else {
            let connection = try db.open().connect()
            try Database.migrate(connection)
            file = try SavedModels.choose(nil, connection)
        }
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        try FactorExport.write(file, to: folder)
        try say("wrote \(file.customerCount) customer and \(file.movieCount) movie factor rows (rank \(file.rank)) to \(folder.path)")
    }
}
