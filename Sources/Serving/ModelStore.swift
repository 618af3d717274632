import Foundation
import Logging
import Models
import NIOConcurrencyHelpers
import Warehouse
import Workflows

/// One model as the server serves it: the mapped file and everything derived
/// from it once, so that a request never recomputes per-model state.
final class ServedModel: @unchecked Sendable {
    let file: ModelFile
    let runID: Int?
    /// Why this model (the registry's choice, or --model).
    let reason: String
    let loadedAt: Date
    let similar: SimilarMovies
    /// recommend's default for rating models, its tables made once.
    let scoring: ListScoring
    /// Titles of the warehouse's movies when the model was loaded: lists keep
    /// their titles while the warehouse is unreachable.
    let titles: [Int64: (title: String, year: Int?)]
    /// Source movie ids by warehouse key (index key − 1), as loaded with the model.
    let movieIDsByKey: [Int64]

    init(file: ModelFile, runID: Int?, reason: String, movieSupport: [Int32]?, titles: [Int64: (title: String, year: Int?)],
         movieIDsByKey: [Int64]) {
        self.movieIDsByKey = movieIDsByKey
        self.file = file
        self.runID = runID
        self.reason = reason
        self.titles = titles
        loadedAt = Date()
        similar = SimilarMovies(file)
        // recommend's default policy: the same lists from both front ends.
        scoring = ListScoring(file: file, support: .ratingDefault, movieSupport: movieSupport)
    }

    func title(of id: Int64) -> (title: String, year: Int?) { titles[id] ?? ("", nil) }

    func movieID(ofKey key: Int) -> Int64? { key >= 1 && key <= movieIDsByKey.count ? movieIDsByKey[key - 1] : nil }
}

/// The model being served, swapped atomically: a request takes one reference
/// at its start and uses it to the end, so no request mixes two models, and
/// the old file stays mapped until the last request holding it is done.
final class ModelStore: @unchecked Sendable {
    private let current = NIOLockedValueBox<ServedModel?>(nil)
    /// The file to serve always (--model); nil follows the registry.
    let fixedPath: String?

    init(fixedPath: String?) { self.fixedPath = fixedPath }

    var model: ServedModel? { current.withLockedValue { $0 } }

    func swap(to model: ServedModel) { current.withLockedValue { $0 = model } }

    /// Loads the model to serve now, if it differs from the one served.
    /// Returns the newly loaded model, nil when nothing changed.
    func refresh(_ connection: Connection?, logger: Logger) throws -> ServedModel? {
        let served = model
        let path: String, runID: Int?, reason: String
        if let fixedPath {
            guard served == nil else { return nil }
            path = fixedPath
            runID = nil
            reason = "--model \(fixedPath)"
        } else {
            guard let connection else { return nil }
            let choice = try SavedModels.bestRankingChoice(connection)
            guard choice.saved.runID != served?.runID else { return nil }
            (path, runID, reason) = (choice.saved.path, choice.saved.runID, choice.reason)
        }
        let file = try ModelFile(contentsOf: URL(fileURLWithPath: path).standardizedFileURL)
        let registered = try runID ?? connection.flatMap { try SavedModels.registeredRun(of: file, $0) }
        let support = try connection.flatMap { try ModelRegistry.movieSupport(split: file.splitID, $0) }
            .map { byID in file.movieIDs.map { byID[$0] ?? 0 } }
        let titles = try connection.map { try Catalog.titles($0) } ?? [:]
        let keys = try connection.map { try Catalog.movieIDsByKey($0) } ?? []
        let loaded = ServedModel(file: file, runID: registered, reason: reason, movieSupport: support, titles: titles, movieIDsByKey: keys)
        swap(to: loaded)
        logger.info("serving \(file.kind) model \(path) (run \(registered.map(String.init) ?? "unregistered")): \(reason)")
        return loaded
    }
}
