import CLibPQ
import Foundation
import Runtime

/// An error raised by the warehouse: a database failure with its SQLSTATE, or a
/// problem the warehouse found itself. Messages say what to do next.
public struct WarehouseError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The server or libpq reported a failure.
        case database
        /// No connection could be made.
        case connection
        /// A managed-cluster operation (initdb, pg_ctl) failed.
        case cluster
        /// Something the caller asked for cannot be done as asked.
        case usage
        /// The data or the options describe something that cannot be used (exit 2).
        case badInput
    }

    public var kind: Kind
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The statement that failed, shortened; never holds data or credentials.
    public var statement: String?

    public init(_ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil,
                hint: String? = nil, statement: String? = nil) {
        (self.kind, self.message, self.sqlState) = (kind, message, sqlState)
        (self.detail, self.hint, self.statement) = (detail, hint, statement)
    }

    public var description: String {
        var text = message
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail, !detail.isEmpty { text += "\n  detail: \(detail)" }
        if let hint, !hint.isEmpty { text += "\n  hint: \(hint)" }
        if let statement { text += "\n  while running: \(statement)" }
        return text
    }
}

/// The rows of a finished query, as text (libpq's text format); `nil` is SQL NULL.
public struct QueryResult: Sendable {
    public let columns: [String]
    public let rows: [[String?]]

    public var count: Int { rows.count }

    /// The single value of a one-row, one-column result.
    public func scalar() -> String? { rows.first?.first ?? nil }

    public func int(_ row: Int, _ column: Int) -> Int? { rows[row][column].flatMap { Int($0) } }
}

/// One libpq connection. Owns its `PGconn` and closes it in `deinit`; every
/// status is checked right after the call and turned into a `WarehouseError`.
public final class Connection {
    private let conn: OpaquePointer
    /// A description of the target that is safe to print (no password).
    public let target: String

    public init(conninfo: String, target: String) throws {
        // Whatever libpq says about this string may quote its password.
        Secrets.registerConnection(conninfo)
        guard let conn = PQconnectdb(conninfo) else {
            throw WarehouseError(.connection, "libpq could not allocate a connection")
        }
        self.conn = conn
        self.target = target
        guard PQstatus(conn) == CONNECTION_OK else {
            // deinit runs for a class whose stored properties are all set, and frees `conn`.
            let message = Secrets.scrub(String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines))
            throw WarehouseError(.connection, "cannot connect to \(Secrets.scrub(target)): \(message)",
                                 hint: "check --database / RECSYS_DATABASE_URL, or unset them to use the managed local cluster (`recsys db start`)")
        }
        Self.live.register(self)
        // Notices (e.g. "relation already exists, skipping") are expected during
        // idempotent migrations; they are not errors and must not reach the terminal.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
    }

    deinit {
        Self.live.unregister(self)
        PQfinish(conn)
    }

    /// The open connections, so that a signal can cancel what the server is
    /// running for them: a CREATE INDEX or a long COPY cannot poll for a stop.
    private static let live = LiveConnections()

    private final class LiveConnections: @unchecked Sendable {
        private let lock = NSLock()
        private var cancels: [ObjectIdentifier: OpaquePointer] = [:]
        private var hooked = false

        func register(_ connection: Connection) {
            guard let cancel = PQgetCancel(connection.conn) else { return }
            lock.lock(); defer { lock.unlock() }
            cancels[ObjectIdentifier(connection)] = cancel
            if !hooked {
                hooked = true
                Interruption.onSignal { [self] in cancelAll() }
            }
        }

        func unregister(_ connection: Connection) {
            lock.lock(); defer { lock.unlock() }
            if let cancel = cancels.removeValue(forKey: ObjectIdentifier(connection)) { PQfreeCancel(cancel) }
        }

        func cancelAll() {
            lock.lock(); defer { lock.unlock() }
            var buffer = [CChar](repeating: 0, count: 256)
            for cancel in cancels.values { _ = PQcancel(cancel, &buffer, Int32(buffer.count)) }
        }
    }

    /// False once the server went away (a pool drops such a connection).
    public var isOpen: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Runs one or more statements; returns the last result's rows.
    @discardableResult
    public func execute(_ sql: String) throws -> QueryResult {
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        return try check(result, sql: sql)
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …); `nil` is NULL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?]) throws -> QueryResult {
        var cStrings: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { cStrings.forEach { free($0) } }
        let result = cStrings.withUnsafeMutableBufferPointer { buffer -> OpaquePointer? in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                PQexecParams(conn, sql, Int32(parameters.count), nil, $0, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        return try check(result, sql: sql)
    }

    /// Statements this connection has prepared, by their text.
    private var prepared: [String: String] = [:]

    /// Runs one statement with text parameters, prepared once per connection:
    /// for the queries a server repeats thousands of times a second, planning
    /// them each time cost more than running them.
    @discardableResult
    public func executePrepared(_ sql: String, _ parameters: [String?]) throws -> QueryResult {
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "recsys_\(prepared.count + 1)"
            let result = PQprepare(conn, name, sql, Int32(parameters.count), nil)
            defer { PQclear(result) }
            _ = try check(result, sql: sql)
            prepared[sql] = name
        }
        var cStrings: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { cStrings.forEach { free($0) } }
        let result = cStrings.withUnsafeMutableBufferPointer { buffer -> OpaquePointer? in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                PQexecPrepared(conn, name, Int32(parameters.count), $0, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        return try check(result, sql: sql)
    }

    /// Runs `body` inside BEGIN … COMMIT; a throw rolls back and rethrows.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `COPY … FROM STDIN` and hands a writer to `body`. A throw inside
    /// `body` aborts the COPY (the server discards every row of it) and rethrows
    /// the caller's error. Returns the number of rows the server stored.
    @discardableResult
    public func copyIn(_ sql: String, _ body: (CopyWriter) throws -> Void) throws -> Int {
        let start = PQexec(conn, sql)
        let status = PQresultStatus(start)
        if status != PGRES_COPY_IN {
            defer { PQclear(start) }
            _ = try check(start, sql: sql)
            throw WarehouseError(.database, "the server did not enter COPY mode", statement: Self.shorten(sql))
        }
        PQclear(start)
        let writer = CopyWriter(conn: conn)
        do {
            try body(writer)
            try writer.flush()
        } catch {
            PQputCopyEnd(conn, "aborted by recsys")
            drainResults()
            throw error
        }
        guard PQputCopyEnd(conn, nil) == 1 else {
            throw WarehouseError(.database, "ending COPY failed: \(lastError)", statement: Self.shorten(sql))
        }
        var rows = 0
        var failure: Error?
        while let result = PQgetResult(conn) {
            do {
                let status = PQresultStatus(result)
                if status == PGRES_COMMAND_OK {
                    rows = Int(String(cString: PQcmdTuples(result))) ?? 0
                } else {
                    _ = try check(result, sql: sql)
                }
            } catch { failure = failure ?? error }
            PQclear(result)
        }
        if let failure { throw failure }
        return rows
    }

    /// Runs `COPY … TO STDOUT` and hands each data message to `body` (in
    /// binary format: the file header with the first tuple, then one tuple each).
    public func copyOut(_ sql: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let start = PQexec(conn, sql)
        if PQresultStatus(start) != PGRES_COPY_OUT {
            defer { PQclear(start) }
            _ = try check(start, sql: sql)
            throw WarehouseError(.database, "the server did not enter COPY OUT mode", statement: Self.shorten(sql))
        }
        PQclear(start)
        var failure: Error?
        while true {
            var buffer: UnsafeMutablePointer<CChar>? = nil
            let length = PQgetCopyData(conn, &buffer, 0)
            if length == -1 { break }
            if length == -2 {
                failure = failure ?? WarehouseError(.database, "COPY OUT failed: \(lastError)", statement: Self.shorten(sql))
                break
            }
            if let buffer {
                // After a failure keep draining, so the connection stays usable.
                if failure == nil {
                    do { try body(UnsafeRawBufferPointer(start: buffer, count: Int(length))) } catch { failure = error }
                }
                PQfreemem(buffer)
            }
        }
        while let result = PQgetResult(conn) {
            do { _ = try check(result, sql: sql) } catch { failure = failure ?? error }
            PQclear(result)
        }
        if let failure { throw failure }
    }

    private func drainResults() {
        while let result = PQgetResult(conn) { PQclear(result) }
    }

    fileprivate var lastError: String {
        String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func check(_ result: OpaquePointer?, sql: String) throws -> QueryResult {
        guard let result else {
            throw WarehouseError(.database, "no result from the server: \(lastError)", statement: Self.shorten(sql))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_COPY_OUT:
            return QueryResult(columns: [], rows: [])
        case PGRES_TUPLES_OK:
            let nRows = Int(PQntuples(result)), nCols = Int(PQnfields(result))
            let columns = (0..<nCols).map { String(cString: PQfname(result, Int32($0))) }
            var rows: [[String?]] = []
            rows.reserveCapacity(nRows)
            for r in 0..<nRows {
                rows.append((0..<nCols).map { c in
                    PQgetisnull(result, Int32(r), Int32(c)) == 1 ? nil
                        : String(cString: PQgetvalue(result, Int32(r), Int32(c)))
                })
            }
            return QueryResult(columns: columns, rows: rows)
        default:
            func field(_ code: Int32) -> String? {
                PQresultErrorField(result, code).map { String(cString: $0) }
            }
            let message = field(Int32(UInt8(ascii: "M"))) ?? lastError
            throw WarehouseError(.database, message,
                                 sqlState: field(Int32(UInt8(ascii: "C"))),
                                 detail: field(Int32(UInt8(ascii: "D"))),
                                 hint: field(Int32(UInt8(ascii: "H"))),
                                 statement: Self.shorten(sql))
        }
    }

    static func shorten(_ sql: String) -> String {
        let oneLine = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return oneLine.count > 160 ? String(oneLine.prefix(157)) + "…" : oneLine
    }
}

/// Streams bytes into an open COPY. Buffers locally so that libpq is called
/// with large blocks rather than once per row.
public final class CopyWriter {
    private let conn: OpaquePointer
    private var buffer: [UInt8] = []
    private let flushThreshold = 1 << 20

    fileprivate init(conn: OpaquePointer) {
        self.conn = conn
        buffer.reserveCapacity(flushThreshold + 4096)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > flushThreshold { try flush() }
        if bytes.count >= flushThreshold {
            try send(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try send($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
        if PQputCopyData(conn, base, Int32(bytes.count)) != 1 {
            throw WarehouseError(.database, "sending COPY data failed: \(String(cString: PQerrorMessage(conn)))")
        }
    }
}

/// The PostgreSQL error codes recsys acts on (Appendix A of the manual).
public enum SQLState {
    /// unique_violation: a row with this key is already stored.
    public static let uniqueViolation = "23505"
    /// insufficient_privilege.
    public static let insufficientPrivilege = "42501"
    /// duplicate_database: CREATE DATABASE found it there already.
    public static let duplicateDatabase = "42P04"
}
