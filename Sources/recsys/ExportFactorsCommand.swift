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
        let path: String
        if let model {
            path = model
        } else {
            let connection = try db.open().connect()
            try Database.migrate(connection)
            guard let newest = try SavedModels.intact(connection).first else {
                throw UsageError(description: "no saved model yet: run `recsys train` first (or give --model PATH)")
            }
            path = newest.path
        }
        let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
        let folder = URL(fileURLWithPath: out, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func url(_ name: String) -> URL { folder.appendingPathComponent(name) }
        try NumPy.writeMatrix(file.customerFactors, rows: file.customerCount, columns: file.rank, to: url("customer_factors.npy"))
        try NumPy.writeMatrix(file.movieFactors, rows: file.movieCount, columns: file.rank, to: url("movie_factors.npy"))
        try NumPy.writeVector(file.customerBias, to: url("customer_bias.npy"))
        try NumPy.writeVector(file.movieBias, to: url("movie_bias.npy"))
        try NumPy.writeVector(file.customerIDs, to: url("customer_ids.npy"))
        try NumPy.writeVector(file.movieIDs, to: url("movie_ids.npy"))
        struct Meta: Encodable {
            var kind: String
            var parameters: String
            var globalMean: Double
            var ratingMin: Double
            var ratingMax: Double
            var dataVersion: String
            var splitId: Int
            var model: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let meta = try encoder.encode(Meta(kind: file.kind, parameters: file.parameters, globalMean: file.globalMean, ratingMin: file.scale.minimum,
                                           ratingMax: file.scale.maximum, dataVersion: file.dataVersion, splitId: file.splitID, model: file.url.path))
        try Output.writeAtomically(meta, to: url("model.json"))
        try say("wrote \(file.customerCount) customer and \(file.movieCount) movie factor rows (rank \(file.rank)) to \(folder.path)")
    }
}
