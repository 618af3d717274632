import Foundation
import Logging
import NIOConcurrencyHelpers
import Warehouse

/// What the server knows of the warehouse without asking it per request:
/// which movies each customer had rated (a `RatedIndex` snapshot) and which
/// customers live batches touched since (polled from live_customer, and
/// right after each of this server's own writes).
///
/// A request for a customer no batch touched since both the snapshot and the
/// model takes its rated movies from here; any other customer is read from
/// the warehouse and folded in, as before. Another process's append is seen
/// at the next poll.
final class LiveView: @unchecked Sendable {
    private struct State {
        var index: RatedIndex?
        /// The load the index and the touched map belong to (a reload resets both).
        var load: String?
        var lastBatch: [Int: Int] = [:]
        var seen = 0
        var building = false
    }
    private let state = NIOLockedValueBox(State())

    var index: RatedIndex? { state.withLockedValue { $0.index } }

    /// Reads the batches written since the last call; on a reload (another load
    /// part) forgets everything. Returns true when the index needs (re)building.
    @discardableResult
    func refresh(_ connection: Connection) throws -> Bool {
        let version = try connection.executePrepared("SELECT data_version FROM etl_run", []).scalar() ?? ""
        let load = String(LiveRatings.loadPart(version))
        let seen = state.withLockedValue { s -> Int in
            if s.load != load { s = State(index: nil, load: load, lastBatch: [:], seen: 0, building: s.building) }
            return s.seen
        }
        let touched = try RatedIndex.touched(after: seen, connection)
        return state.withLockedValue { s in
            for (key, batch) in touched { s.lastBatch[key] = max(s.lastBatch[key] ?? 0, batch) }
            s.seen = max(s.seen, touched.values.max() ?? 0)
            return s.index == nil && !s.building
        }
    }

    /// Builds the snapshot (one pass over the facts: about a minute at Netflix scale).
    func rebuild(_ connection: Connection, logger: Logger) throws {
        let claimed = state.withLockedValue { s -> Bool in
            guard !s.building else { return false }
            s.building = true
            return true
        }
        guard claimed else { return }
        defer { state.withLockedValue { $0.building = false } }
        let started = Date()
        let built = try RatedIndex.build(connection)
        state.withLockedValue { $0.index = built }
        if let built {
            logger.info("rated-movies snapshot: \(built.ratings) ratings as of batch \(built.batch), \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }

    /// The customer's rated movie ids when neither the snapshot nor a model of
    /// `modelVersion` is stale for them; nil sends the request to the warehouse.
    func ratedMovies(customer id: Int64, modelVersion: String, movieID: (Int) -> Int64?) -> [(movieID: Int64, rating: Double)]? {
        state.withLockedValue { s -> [(movieID: Int64, rating: Double)]? in
            guard let index = s.index, let key = index.key(of: id), s.load == String(LiveRatings.loadPart(modelVersion)),
                  let modelBatch = LiveRatings.batch(ofVersion: modelVersion),
                  (s.lastBatch[key] ?? 0) <= min(modelBatch, index.batch) else { return nil }
            // The values are not needed: a customer served from the model is not folded in.
            return index.movieKeys(ofCustomer: key).compactMap { movieID($0).map { (movieID: $0, rating: 0) } }
        }
    }
}
