import Foundation
import Hummingbird
import Logging
import Models
import NIOConcurrencyHelpers
import Runtime
import ServiceLifecycle
import Warehouse
import Workflows

/// How `recsys serve` runs.
public struct ServeConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Serve this file always; nil follows the registry (the choice `recsys recommend` makes).
    public var modelPath: String?
    /// The bearer token of the write routes; nil turns them off.
    public var token: String?
    public var database: Database
    /// How often the registry is asked for a newer model.
    public var pollInterval: Duration = .seconds(2)
    /// Warehouse connections (and the threads that run their blocking calls).
    public var poolSize = 8
    /// How long a request waits for a free connection before a 503.
    public var poolWait: Duration = .seconds(2)
    /// How long SIGTERM waits for requests in flight.
    public var drain: Duration = .seconds(5)

    /// The largest request body: 10,000 ratings take about 0.7 MB.
    public static let maxBodyBytes = 2 * 1024 * 1024

    public init(database: Database) { self.database = database }

    /// The write token: from `file` when given, else `RECSYS_API_TOKEN`; nil when neither.
    /// - Throws: `UsageError` for an unreadable or empty file (the token itself is never shown).
    public static func token(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        let token: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw WorkflowError(.badRequest, "cannot read the token file \(file)")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw WorkflowError(.badRequest, "the token file \(file) is empty") }
        } else if let given = environment["RECSYS_API_TOKEN"], !given.isEmpty {
            token = given
        } else {
            return nil
        }
        guard token.count >= 16 else {
            throw WorkflowError(.badRequest, "the API token is too short (\(token.count) characters; at least 16): a guessable token protects nothing")
        }
        Secrets.register(token)
        return token
    }
}

/// The recommendation service: Hummingbird routes over the library calls the
/// CLI makes, the model watcher, and the warehouse pool.
public struct RecommendationServer: Sendable {
    let configuration: ServeConfiguration
    let store: ModelStore
    let pool: ConnectionPool
    let metrics = ServerMetrics()
    let live = LiveView()
    let logger: Logger

    public init(_ configuration: ServeConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        store = ModelStore(fixedPath: configuration.modelPath)
        // The first connection migrates: the schema this binary expects is there.
        let migrated = NIOLockedValueBox(false)
        pool = ConnectionPool(database: configuration.database, size: configuration.poolSize, wait: configuration.poolWait,
                              prepare: { connection in
                                  guard !migrated.withLockedValue({ $0 }) else { return }
                                  try Database.migrate(connection)
                                  migrated.withLockedValue { $0 = true }
                              })
        // Requests are the parallelism: one BLAS thread each (OpenBLAS's own threads spin against them).
        Linalg.setBLASThreads(1)
    }

    /// Loads the first model (a bad --model file is an error here, not a 503 later)
    /// and the rated-movies snapshot (about a minute at Netflix scale).
    public func prepare() async throws {
        do {
            let store = self.store, live = self.live, logger = self.logger
            let loaded = try await pool.withConnection { connection -> ServedModel? in
                defer { _ = try? live.refresh(connection); try? live.rebuild(connection, logger: logger) }
                return try store.refresh(connection, logger: logger)
            }
            if let loaded { metrics.modelLoaded(runID: loaded.runID) }
        } catch where Endpoints.isOutage(error) {
            logger.warning("the warehouse is unreachable (\(Endpoints.describe(error))); serving starts without it and keeps trying")
            if configuration.modelPath != nil, let loaded = try store.refresh(nil, logger: logger) { metrics.modelLoaded(runID: loaded.runID) }
        } catch let error as WorkflowError where error.kind == .notFound {
            logger.warning("\(error.description); the server answers 503 for recommendations until a model is registered")
        }
    }

    func refreshModel() async throws {
        let store = self.store, logger = self.logger, live = self.live
        let (loaded, stale) = try await pool.withConnection { connection -> (ServedModel?, Bool) in
            let loaded = try store.refresh(connection, logger: logger)
            let missing = try live.refresh(connection)
            // A newer model than the snapshot: the customers touched in between go to the warehouse until it is rebuilt.
            let behind = loaded.flatMap { LiveRatings.batch(ofVersion: $0.file.dataVersion) }.map { $0 > (live.index?.batch ?? -1) } ?? false
            return (loaded, missing || behind)
        }
        if let loaded { metrics.modelLoaded(runID: loaded.runID) }
        if stale {
            let pool = self.pool
            Task.detached {
                do { try await pool.withConnection { try live.rebuild($0, logger: logger) } } catch {
                    logger.warning("cannot build the rated-movies snapshot: \(Endpoints.describe(error)); requests read the warehouse")
                }
            }
        }
    }

    /// The Hummingbird application (tests run it with HummingbirdTesting).
    public func application() -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware(logger: logger))
        let endpoints = Endpoints(store: store, pool: pool, live: live, metrics: metrics, token: configuration.token, logger: logger)
        for route in Routes.all {
            let handler = route.handler(endpoints)
            router.on(RouterPath(Routes.routerPath(route.path)), method: route.method) { request, context in
                try await handler(request, context)
            }
        }
        var app = Application(router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                                                    serverName: "recsys"), logger: logger)
        app.addServices(ModelWatcher(server: self))
        return app
    }

    /// `run()` for a synchronous caller (the CLI's command): blocks until the server stops.
    public func runUntilStopped() throws {
        let failure = NIOLockedValueBox<Error?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await run() } catch { failure.withLockedValue { $0 = error } }
            done.signal()
        }
        done.wait()
        if let error = failure.withLockedValue({ $0 }) { throw error }
    }

    /// Runs until SIGTERM or SIGINT, then lets requests in flight finish (up to `drain`).
    public func run() async throws {
        try await prepare()
        let app = application()
        var group = ServiceGroupConfiguration(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = configuration.drain
        try await ServiceGroup(configuration: group).run()
        // Not awaited: a snapshot rebuild in progress (a minute at Netflix scale) must not hold up
        // the exit once the requests are drained; the process ends with its threads.
        Task { await pool.shutdown() }
    }
}

/// Asks the registry for the model to serve every `pollInterval` and swaps it in.
struct ModelWatcher: Service {
    let server: RecommendationServer

    func run() async throws {
        // A service that returns ends the whole group: a fixed model's watcher just waits.
        guard server.configuration.modelPath == nil else {
            try? await gracefulShutdown()
            return
        }
        var failing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: server.configuration.pollInterval) }
            if Task.isShuttingDownGracefully { break }
            do {
                try await server.refreshModel()
                if failing { server.logger.info("the model registry is reachable again") }
                failing = false
            } catch {
                // Logged once per outage, not once per poll.
                if !failing { server.logger.warning("cannot check for a newer model: \(Endpoints.describe(error))") }
                failing = true
            }
        }
    }
}
