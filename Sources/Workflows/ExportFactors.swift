import Foundation
import Models
import Runtime

/// Factors for Python users: NumPy .npy arrays and a model.json of the rest.
public enum FactorExport {
    struct Meta: Encodable {
        var kind, parameters: String
        var globalMean, ratingMin, ratingMax: Double
        var dataVersion: String
        var splitId: Int
        var model: String
    }

    /// Writes customer_factors.npy, movie_factors.npy, the biases, the ids and model.json into `folder` (created if missing);
    /// an item-based model also item_weights.npy (movies × movies).
    public static func write(_ file: ModelFile, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func url(_ name: String) -> URL { folder.appendingPathComponent(name) }
        try NumPy.writeMatrix(file.customerFactors, rows: file.customerCount, columns: file.rank, to: url("customer_factors.npy"))
        try NumPy.writeMatrix(file.movieFactors, rows: file.movieCount, columns: file.rank, to: url("movie_factors.npy"))
        try NumPy.writeVector(file.customerBias, to: url("customer_bias.npy"))
        try NumPy.writeVector(file.movieBias, to: url("movie_bias.npy"))
        try NumPy.writeVector(file.customerIDs, to: url("customer_ids.npy"))
        try NumPy.writeVector(file.movieIDs, to: url("movie_ids.npy"))
        // An item-based model (EASE, item kNN) is its weights: row j, rated movie j's weight to every movie.
        if file.isItemBased {
            try NumPy.writeMatrix(file.itemWeights, rows: file.movieCount, columns: file.movieCount, to: url("item_weights.npy"))
        }
        let meta = Meta(kind: file.kind, parameters: file.parameters, globalMean: file.globalMean, ratingMin: file.scale.minimum,
                        ratingMax: file.scale.maximum, dataVersion: file.dataVersion, splitId: file.splitID, model: file.url.path)
        try Output.writeAtomically(try JSON.document(meta), to: url("model.json"))
    }
}
