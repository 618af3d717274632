import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import Warehouse

/// The warehouse could not be reached, or every connection stayed busy past the wait.
struct DatabaseUnavailable: Error, CustomStringConvertible {
    var description: String
}

/// A bounded pool of libpq connections for async handlers.
///
/// libpq blocks, so every use runs on the pool's own threads, never on the
/// event loops or Swift's cooperative threads (two cores: one blocked query
/// there would stall every request). At most `size` run at once; a request
/// past that waits up to `wait`, then fails as unavailable (503). A
/// connection the server dropped is discarded and the next use connects
/// anew, so the database coming back needs no restart.
final class ConnectionPool: @unchecked Sendable {
    private let database: Database
    private let threads: NIOThreadPool
    private let gate: Gate
    private let idle = NIOLockedValueBox<[Connection]>([])
    private let wait: Duration
    private let prepare: @Sendable (Connection) throws -> Void

    init(database: Database, size: Int, wait: Duration, prepare: @escaping @Sendable (Connection) throws -> Void = { _ in }) {
        self.database = database
        self.wait = wait
        self.prepare = prepare
        threads = NIOThreadPool(numberOfThreads: size)
        threads.start()
        gate = Gate(slots: size)
    }

    func shutdown() async {
        try? await threads.shutdownGracefully()
        idle.withLockedValue { $0.removeAll() }
    }

    /// Runs `body` with a connection on a pool thread.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await gate.acquire(timeout: wait)
        do {
            let value = try await threads.runIfActive { [self] () throws -> T in
                let connection = try take()
                do {
                    let value = try body(connection)
                    give(connection)
                    return value
                } catch {
                    give(connection)
                    throw error
                }
            }
            await gate.release()
            return value
        } catch {
            await gate.release()
            throw error
        }
    }

    private func take() throws -> Connection {
        if let reused = idle.withLockedValue({ $0.popLast() }) { return reused }
        let connection: Connection
        do {
            connection = try database.connect()
        } catch {
            throw DatabaseUnavailable(description: "the warehouse is unreachable: \(error)")
        }
        try prepare(connection)
        return connection
    }

    private func give(_ connection: Connection) {
        // A connection the server closed is useless: the next take connects anew.
        guard connection.isOpen else { return }
        idle.withLockedValue { $0.append(connection) }
    }
}

/// At most `slots` holders; the rest wait in order, each for a bounded time.
actor Gate {
    private var slots: Int
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
    private var nextID: UInt64 = 0

    init(slots: Int) { self.slots = slots }

    func acquire(timeout: Duration) async throws {
        if slots > 0 {
            slots -= 1
            return
        }
        nextID += 1
        let id = nextID
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            waiters.append((id, continuation))
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.expire(id)
            }
        }
    }

    func release() {
        if waiters.isEmpty {
            slots += 1
        } else {
            waiters.removeFirst().continuation.resume()
        }
    }

    private func expire(_ id: UInt64) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(throwing: DatabaseUnavailable(
            description: "every warehouse connection stayed busy for the whole wait; try again"))
    }
}
