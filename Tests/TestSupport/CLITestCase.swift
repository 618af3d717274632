import Foundation
import Warehouse
import XCTest

/// A `DatabaseTestCase` that runs the built binary as a user would: against
/// this test's database, with this test's folder as RECSYS_HOME.
open class CLITestCase: DatabaseTestCase {
    /// `recsys arguments… --database <this test's database>`, run to the end.
    public func recsys(_ arguments: [String]) throws -> CLI.Result {
        try CLI.run(arguments + ["--database", conninfo], home: folder)
    }

    /// A new connection to this test's database, to check what a command left there.
    public var db: Connection { get throws { try TestServer.connect(conninfo) } }

    /// The rows of a query, NULL as "".
    public func rows(_ sql: String) throws -> [[String]] { try db.execute(sql).rows.map { $0.map { $0 ?? "" } } }
}
