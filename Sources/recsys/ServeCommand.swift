import ArgumentParser
import Foundation
import Logging
import Runtime
import Serving
import Warehouse

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "An HTTP recommendation service over the warehouse and the latest model (JSON, routes under /v1).",
        discussion: """
        Serves the model `recsys recommend` would choose, or --model PATH, and swaps in a newer one \
        within --poll-seconds; customers with ratings newer than the model are folded in per request. \
        POST /v1/ratings needs 'Authorization: Bearer <token>' (--token-file or RECSYS_API_TOKEN, ≥ 16 \
        characters; with neither, writes answer 403). GET /openapi.json documents every route. Binds \
        127.0.0.1 unless --host says otherwise; SIGTERM drains requests (up to 5 s) and exits 0.
        """
    )

    @Option(help: "Address to bind (default loopback only).") var host = "127.0.0.1"
    @Option(help: "TCP port.") var port = 8080
    @Option(help: ArgumentHelp("Serve this model file always (default: follow the registry).", valueName: "path")) var model: String?
    @Option(help: ArgumentHelp("File holding the bearer token of the write routes.", valueName: "file")) var tokenFile: String?
    @Option(help: "Seconds between checks for a newer registered model.") var pollSeconds: Double = 2
    @Option(help: "Warehouse connections (requests past them wait, then get 503).") var connections = 8
    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        if !(1...65535).contains(port) { throw ValidationError("--port must be 1…65535") }
        if !(pollSeconds > 0 && pollSeconds <= 3600) { throw ValidationError("--poll-seconds must be more than 0 and at most 3600") }
        if !(1...256).contains(connections) { throw ValidationError("--connections must be 1…256") }
    }

    func run() throws {
        var configuration = ServeConfiguration(database: db.open())
        configuration.host = host
        configuration.port = port
        configuration.modelPath = try model.map { path in
            guard FileManager.default.fileExists(atPath: path) else { throw UsageError(description: "--model \(path): no such file") }
            return URL(fileURLWithPath: path).standardizedFileURL.path
        }
        configuration.token = try ServeConfiguration.token(file: tokenFile)
        configuration.pollInterval = .milliseconds(Int64(pollSeconds * 1000))
        configuration.poolSize = connections
        let logger = Logger(label: "recsys.serve")
        if configuration.token == nil { logger.notice("no API token configured: POST /v1/ratings is off (403)") }
        // The server drains on SIGTERM and exits 0: the CLI's stop-now handlers step aside.
        Interruption.handOver()
        try RecommendationServer(configuration, logger: logger).runUntilStopped()
    }
}
