import Foundation
import Runtime

/// Which movies every customer has rated, as of one batch: what a front end
/// needs to leave rated movies out of a list without asking the warehouse.
///
/// Reading a customer's ratings from fact_ratings costs a few hundred random
/// heap reads (the table is laid out by movie); at thousands of requests a
/// second that, not the scoring, was the limit. Built once per served model
/// from one COPY in a repeatable-read snapshot; movie keys are stored as
/// 16-bit (key − 1), so 100M ratings take 200 MB.
public final class RatedIndex: Sendable {
    /// Customer key → index into `start` (key − 1).
    private let start: [Int]
    private let movies: [UInt16]
    private let keyOfID: [Int64: Int32]
    /// The last live batch the snapshot holds (0: the load's data only).
    public let batch: Int
    public let ratings: Int

    /// Builds the index, or nil when the warehouse has 65,536 movies or more.
    public static func build(_ connection: Connection) throws -> RatedIndex? {
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { _ = try? connection.execute("COMMIT") }
        guard let movieCount = try connection.execute("SELECT count(*) FROM dim_movie").scalar().flatMap({ Int($0) }), movieCount < 65_536 else {
            return nil
        }
        let batch = try connection.execute("SELECT coalesce(max(batch_id), 0) FROM rating_batch").scalar().flatMap { Int($0) } ?? 0
        var keyOfID: [Int64: Int32] = [:]
        var start = [0]
        for row in try connection.execute("SELECT customer_key, customer_id, total_ratings FROM dim_customer ORDER BY customer_key").rows {
            guard let key = row[0].flatMap({ Int($0) }), key == start.count, let id = row[1].flatMap({ Int64($0) }),
                  let n = row[2].flatMap({ Int($0) }) else {
                throw WarehouseError(.database, "dim_customer keys are not dense 1…n", hint: "`recsys load --fresh` rebuilds the warehouse")
            }
            keyOfID[id] = Int32(key)
            start.append(start[start.count - 1] + n)
        }
        var movies = [UInt16](repeating: 0, count: start[start.count - 1])
        var next = start
        var headerSeen = false
        try connection.copyOut("COPY (SELECT customer_key, movie_key FROM fact_ratings) TO STDOUT (FORMAT binary)") { message in
            var p = 0
            if !headerSeen { p = 19; headerSeen = true }
            guard message.count - p >= 2 else { return }
            let fields = Int16(bitPattern: UInt16(message[p]) << 8 | UInt16(message[p + 1]))
            if fields == -1 { return }
            func int32(_ at: Int) -> Int {
                Int(Int32(bitPattern: UInt32(message[at]) << 24 | UInt32(message[at + 1]) << 16 | UInt32(message[at + 2]) << 8 | UInt32(message[at + 3])))
            }
            let customer = int32(p + 6), movie = int32(p + 14)
            guard customer >= 1, customer < start.count, movie >= 1, movie <= movieCount, next[customer - 1] < start[customer] else {
                throw WarehouseError(.database, "fact_ratings disagrees with dim_customer.total_ratings (customer key \(customer)); `recsys check` tells more")
            }
            movies[next[customer - 1]] = UInt16(movie - 1)
            next[customer - 1] += 1
        }
        // Rows come in the table's order (by movie for a load, appended rows last): sort each customer's run.
        movies.withUnsafeMutableBufferPointer { m in
            for c in 0..<(start.count - 1) where start[c + 1] - start[c] > 1 {
                var run = UnsafeMutableBufferPointer(rebasing: m[start[c]..<start[c + 1]])
                run.sort()
            }
        }
        return RatedIndex(start: start, movies: movies, keyOfID: keyOfID, batch: batch)
    }

    private init(start: [Int], movies: [UInt16], keyOfID: [Int64: Int32], batch: Int) {
        (self.start, self.movies, self.keyOfID, self.batch) = (start, movies, keyOfID, batch)
        ratings = movies.count
    }

    /// The warehouse key of customer `id` in the snapshot.
    public func key(of id: Int64) -> Int? { keyOfID[id].map(Int.init) }

    /// The movie keys customer `key` had rated, ascending.
    public func movieKeys(ofCustomer key: Int) -> [Int] {
        guard key >= 1, key < start.count else { return [] }
        return movies[start[key - 1]..<start[key]].map { Int($0) + 1 }
    }

    /// Every customer a live batch after `batch` touched, with the last such batch.
    public static func touched(after batch: Int, _ connection: Connection) throws -> [Int: Int] {
        var out: [Int: Int] = [:]
        for r in try connection.executePrepared("SELECT customer_key, batch_id FROM live_customer WHERE batch_id > $1", [String(batch)]).rows {
            if let k = r[0].flatMap({ Int($0) }), let b = r[1].flatMap({ Int($0) }) { out[k] = b }
        }
        return out
    }
}
