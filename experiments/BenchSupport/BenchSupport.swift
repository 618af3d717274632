// What every benchmark under experiments/ shares: its command line, the
// machine's peak memory, and the warehouse's ratings as recsys reads them.
import Features
import Foundation
import Warehouse

/// The value after `name` on the command line.
public func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return nil
}

/// The integer after `name`, or `fallback`.
public func argument(_ name: String, _ fallback: Int) -> Int { option(name).flatMap { Int($0) } ?? fallback }

/// This process's peak resident memory so far.
public func peakMemoryGB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1_048_576   // KiB → GiB
}

/// The ratings of the warehouse recsys would use (the managed cluster under
/// RECSYS_HOME unless --database / RECSYS_DATABASE_URL say otherwise), from
/// the cache when it holds this data version; prints where they came from.
public func warehouseRatings() throws -> (matrix: RatingMatrix, version: String, cached: Bool, home: RecsysHome, connection: Connection) {
    let home = RecsysHome()
    let database = Database(target: DatabaseTarget.resolve(option: option("--database")), home: home)
    let connection = try database.connect()
    let started = Date()
    let (matrix, version, cached) = try RatingExport.matrix(connection, home: home)
    print(String(format: "ratings: %d (%d customers, %d movies), data version %@, %@ in %.1f s",
                 matrix.count, matrix.customerCount, matrix.movieCount, version, cached ? "read from the cache" : "exported and cached",
                 Date().timeIntervalSince(started)))
    return (matrix, version, cached, home, connection)
}
