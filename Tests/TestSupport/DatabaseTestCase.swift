import Foundation
import Generator
import Logging
import Warehouse
import XCTest

/// A test with its own empty database on the test server and its own
/// temporary folder (a RECSYS_HOME, data), both removed afterwards.
open class DatabaseTestCase: XCTestCase {
    public var conninfo = ""
    public var folder: URL!

    /// Prefix of the database name, to tell test databases apart on the server.
    open var databasePrefix: String { "t" }

    open override func setUpWithError() throws {
        conninfo = try TestServer.makeDatabase(databasePrefix)
        folder = CLI.temporaryFolder(databasePrefix)
    }

    open override func tearDown() {
        TestServer.dropDatabase(conninfo)
        try? FileManager.default.removeItem(at: folder)
    }

    public var home: RecsysHome { RecsysHome(url: folder) }

    /// Runs a load into this test's database, in process.
    @discardableResult
    public func load(_ options: LoadOptions) throws -> LoadReport {
        let database = Database(target: .configured(conninfo: conninfo, source: "test"), home: home)
        let logger = Logger(label: "test")
        return try Loader(database: database, options: options, logger: logger,
                          progress: ProgressReporter(logger: logger, interactive: false)).run()
    }

    /// Writes a generated dataset into `directory`.
    public func generate(_ format: GeneratedFormat, into directory: URL, ratings: Int, customers: Int, movies: Int, seed: UInt64) throws {
        var config = GeneratorConfiguration()
        config.format = format
        config.ratings = ratings
        config.customers = customers
        config.movies = movies
        config.seed = seed
        _ = try DatasetGenerator.generate(config, to: directory)
    }
}
