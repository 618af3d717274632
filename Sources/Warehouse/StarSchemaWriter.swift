import Foundation
import Features
import Runtime
import Logging

/// Writes the stages of the star schema from a scanned source. Each dimension
/// is one transaction; the fact table goes in checkpointed batches; the
/// post-processing builds keys, indexes and statistics once the rows are in.
final class StarSchemaWriter {
    let connection: Connection
    /// Opens another connection to the same database, for work done side by side.
    let connect: () throws -> Connection
    let catalog: SourceCatalog
    let source: SourceSet
    let logger: Logger
    let progress: ProgressReporter
    let options: LoadOptions

    init(connection: Connection, connect: @escaping () throws -> Connection, catalog: SourceCatalog, source: SourceSet,
         logger: Logger, progress: ProgressReporter, options: LoadOptions) {
        self.connection = connection
        self.connect = connect
        self.catalog = catalog
        self.source = source
        self.logger = logger
        self.progress = progress
        self.options = options
    }

    /// Runs one stage; returns the rows this run wrote.
    func run(_ stage: LoadStage) throws -> Int {
        switch stage {
        case .dimDate: return try writeDimension(stage, total: catalog.dateCount, body: writeDates)
        case .dimMovie: return try writeDimension(stage, total: catalog.movies.count, body: writeMovies)
        case .dimCustomer: return try writeDimension(stage, total: catalog.customerCount, body: writeCustomers)
        case .factRatings: return try writeFacts()
        case .postProcessing: return try postProcess()
        }
    }

    // MARK: - dimensions

    private func writeDimension(_ stage: LoadStage, total: Int, body: (CopyWriter) throws -> Void) throws -> Int {
        let started = Date()
        progress.begin(stage.rawValue, total: total)
        let rows = try connection.transaction { () -> Int in
            let rows = try connection.copyIn("COPY \(stage.rawValue) FROM STDIN", body)
            try connection.execute("UPDATE etl_checkpoint SET rows = $1, done = true, seconds = $2, updated_at = now() WHERE stage = $3",
                                   [String(rows), String(Date().timeIntervalSince(started)), stage.rawValue])
            return rows
        }
        progress.advance(rows)
        progress.finish(rows: rows, seconds: Date().timeIntervalSince(started))
        return rows
    }

    private static let monthNames = ["January", "February", "March", "April", "May", "June", "July",
                                     "August", "September", "October", "November", "December"]

    private func writeDates(_ writer: CopyWriter) throws {
        let first = CivilDate(key: catalog.minDate).daysSinceEpoch
        let last = CivilDate(key: catalog.maxDate).daysSinceEpoch
        for day in first...last {
            let d = CivilDate(daysSinceEpoch: day)
            let weekday = d.isoWeekday
            try writer.write("\(d.key)\t\(d.iso)\t\(d.year)\t\((d.month - 1) / 3 + 1)\t\(d.month)\t\(d.day)\t\(weekday)\t\(Self.monthNames[d.month - 1])\t\(weekday >= 6 ? "t" : "f")\n")
        }
    }

    private func writeMovies(_ writer: CopyWriter) throws {
        for (index, movie) in catalog.movies.enumerated() {
            try writer.write("\(Vocabulary.key(ofIndex: index))\t\(movie.id)\t\(CopyText.escape(movie.title))\t\(CopyText.optional(movie.year))\t\(CopyText.optional(movie.genres))\n")
        }
    }

    private func writeCustomers(_ writer: CopyWriter) throws {
        let ids = catalog.customerIndex.ids
        let order = ids.indices.filter { catalog.ratingCount[$0] > 0 }.sorted { catalog.customerKey[$0] < catalog.customerKey[$1] }
        for i in order {
            try writer.write("\(catalog.customerKey[i])\t\(ids[i])\t\(CivilDate(key: catalog.firstDate[i]).iso)\t\(CivilDate(key: catalog.lastDate[i]).iso)\t\(catalog.ratingCount[i])\n")
        }
    }

    // MARK: - facts

    private func writeFacts() throws -> Int {
        let started = Date()
        // A bulk load into a table without keys or checks is many times
        // faster (the rating check alone costs a third: numeric arithmetic per
        // row); the post-processing stage puts them back and validates every
        // row. Only ever done while the fact stage is unfinished, so a
        // finished table keeps its keys.
        try connection.execute("""
            ALTER TABLE fact_ratings DROP CONSTRAINT IF EXISTS fact_ratings_pkey,
                DROP CONSTRAINT IF EXISTS fact_ratings_customer_fk, DROP CONSTRAINT IF EXISTS fact_ratings_movie_fk,
                DROP CONSTRAINT IF EXISTS fact_ratings_date_fk, DROP CONSTRAINT IF EXISTS fact_ratings_rating_check;
            DROP INDEX IF EXISTS fact_ratings_customer_idx;
            DROP INDEX IF EXISTS fact_ratings_pkey;
            """)
        let checkpoints = try LoadBookkeeping.checkpoints(connection).filter { $0.stage == .factRatings }
        let already = checkpoints.reduce(0) { $0 + $1.rows }
        progress.begin(LoadStage.factRatings.rawValue, total: catalog.totalRatings, alreadyDone: already)
        var written = 0
        for url in source.ratingFiles {
            guard let checkpoint = checkpoints.first(where: { $0.file == url.lastPathComponent }) else {
                throw WarehouseError(.database, "no checkpoint row for \(url.lastPathComponent)",
                                     hint: "the bookkeeping is incomplete; `recsys load --fresh` starts over")
            }
            if checkpoint.done { continue }
            written += try FactFileLoader(writer: self, file: try MappedFile(url), checkpoint: checkpoint).run()
        }
        progress.finish(rows: written, seconds: Date().timeIntervalSince(started))
        return written
    }

    // MARK: - post-processing

    /// Builds what the bulk load left out, each step only when it is missing,
    /// so an interrupted post-processing resumes at the step it was in.
    ///
    /// The two indexes are built side by side on two connections (each takes
    /// a SHARE lock, which does not conflict with the other's), one core each;
    /// the primary key then adopts its unique index without another scan.
    /// Foreign keys validate one after another: each locks the table against
    /// the others.
    private func postProcess() throws -> Int {
        let started = Date()
        progress.begin(LoadStage.postProcessing.rawValue, total: 9, unit: "steps")
        let session = "SET maintenance_work_mem = '2GB'; SET max_parallel_maintenance_workers = 0; SET work_mem = '256MB'"
        try connection.execute(session)
        func exists(_ sql: String) throws -> Bool { try connection.execute(sql).count > 0 }
        func timed(_ name: String, _ body: () throws -> Void) rethrows {
            let t = Date()
            try body()
            logger.info("post_processing: \(name) in \(String(format: "%.1f", Date().timeIntervalSince(t))) s")
            progress.advance(1)
        }

        let needPrimaryIndex = try !exists("SELECT 1 FROM pg_class WHERE relname = 'fact_ratings_pkey'")
        let needCustomerIndex = try !exists("SELECT 1 FROM pg_class WHERE relname = 'fact_ratings_customer_idx'")
        if needPrimaryIndex || needCustomerIndex {
            try timed("unique index (movie_key, customer_key) and index (customer_key), side by side") {
                let second = LockedValue<Error>()
                let group = DispatchGroup()
                if needCustomerIndex {
                    let connect = self.connect
                    DispatchQueue.global().async(group: group) {
                        do {
                            let other = try connect()
                            try other.execute(session)
                            try other.execute("CREATE INDEX fact_ratings_customer_idx ON fact_ratings (customer_key)")
                        } catch { second.value = error }
                    }
                }
                var first: Error?
                if needPrimaryIndex {
                    do {
                        try connection.execute("CREATE UNIQUE INDEX fact_ratings_pkey ON fact_ratings (movie_key, customer_key)")
                    } catch let error as WarehouseError where error.sqlState == SQLState.uniqueViolation {
                        first = WarehouseError(.database, "fact_ratings holds a customer–movie pair twice, so its primary key cannot be built: \(error.detail ?? "")",
                                               hint: "the scan refuses duplicates, so rows were added outside recsys load; `recsys load --fresh` reloads from the files")
                    } catch { first = error }
                }
                group.wait()
                if let error = first ?? second.value { throw error }
            }
        }
        if try !exists("SELECT 1 FROM pg_constraint WHERE conname = 'fact_ratings_pkey'") {
            // The key adopts the index without another pass. The rating check is
            // added NOT VALID: the scan has already checked every rating this load
            // wrote, and validating 100M numerics again costs a minute; new rows
            // are checked, and `convalidated` in pg_constraint says so honestly.
            try timed("primary key and rating check") {
                try connection.execute("""
                    ALTER TABLE fact_ratings ADD CONSTRAINT fact_ratings_pkey PRIMARY KEY USING INDEX fact_ratings_pkey,
                        ADD CONSTRAINT fact_ratings_rating_check CHECK (rating BETWEEN 0.5 AND 5.0 AND rating * 2 = trunc(rating * 2)) NOT VALID
                    """)
            }
        }
        // The analytics views read the finished facts under ACCESS SHARE locks,
        // which the foreign keys' SHARE ROW EXCLUSIVE locks do not block: they
        // refresh on a second connection, on the other core, while the keys
        // validate. (Netflix scale: 62 s on their own; the customer key slowed
        // from 64 to 99 s beside them, 16 s saved net in one pair of runs.)
        let refresh = LockedValue<Result<Double, Error>>()
        let refreshing = DispatchGroup()
        let connect = self.connect
        DispatchQueue.global().async(group: refreshing) {
            refresh.value = Result { try Analytics.refresh(connect()) }
        }
        // A failed key must not leave the refresh running against a connection being torn down.
        defer { refreshing.wait() }
        for (name, column, table) in [("customer", "customer_key", "dim_customer"), ("movie", "movie_key", "dim_movie"),
                                      ("date", "date_key", "dim_date")] {
            if try exists("SELECT 1 FROM pg_constraint WHERE conname = 'fact_ratings_\(name)_fk'") { continue }
            try timed("foreign key to \(table)") {
                try connection.execute("ALTER TABLE fact_ratings ADD CONSTRAINT fact_ratings_\(name)_fk FOREIGN KEY (\(column)) REFERENCES \(table) (\(column))")
            }
        }
        try timed("statistics (ANALYZE)") {
            try connection.execute("ANALYZE dim_date; ANALYZE dim_movie; ANALYZE dim_customer; ANALYZE fact_ratings")
        }
        var refreshSeconds = 0.0
        try timed("analytics views (REFRESH MATERIALIZED VIEW beside the foreign keys; waited)") {
            refreshing.wait()
            refreshSeconds = try refresh.value?.get() ?? 0
        }
        logger.info("post_processing: the analytics views took \(String(format: "%.1f", refreshSeconds)) s on their own connection")
        try connection.execute("RESET maintenance_work_mem; RESET max_parallel_maintenance_workers; RESET work_mem")
        // Write everything out now rather than in a checkpoint during the next
        // load. Needs superuser or pg_checkpoint; a configured database may refuse.
        do {
            try timed("checkpoint") { try connection.execute("CHECKPOINT") }
        } catch let error as WarehouseError where error.sqlState == SQLState.insufficientPrivilege {
            logger.info("post_processing: no CHECKPOINT (this role may not run one); the server's own checkpoints will write the data")
        }
        try connection.execute("UPDATE etl_checkpoint SET done = true, seconds = $1, updated_at = now() WHERE stage = $2",
                               [String(Date().timeIntervalSince(started)), LoadStage.postProcessing.rawValue])
        progress.finish(rows: 0, seconds: Date().timeIntervalSince(started))
        return 0
    }
}

/// Streams one rating file into fact_ratings from its checkpoint on: a parser
/// thread encodes rows as binary COPY tuples while this thread sends them; a
/// batch ends at a line boundary and commits with its checkpoint.
private struct FactFileLoader {
    let writer: StarSchemaWriter
    let file: MappedFile
    let checkpoint: CheckpointRow

    /// A block of encoded tuples and where the source stands after it.
    struct Chunk {
        var bytes: [UInt8]
        var rows: Int
        var endOffset: Int
        var endLine: Int
        var context: Int64?
        var batchEnd: Bool
        var fileEnd: Bool
    }

    /// PGCOPY signature, flags, header extension length.
    static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    static let trailer: [UInt8] = [0xFF, 0xFF]

    /// numeric(2,1) in PostgreSQL's binary form for 0.5 … 5.0, indexed by half stars:
    /// ndigits, weight, sign, dscale, then base-10000 digits.
    static let numericBytes: [[UInt8]] = (0...10).map { half -> [UInt8] in
        func i16(_ v: Int) -> [UInt8] { [UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        let whole = half / 2, fraction = half % 2
        var digits: [Int] = []
        var weight = 0
        if whole > 0 { digits.append(whole) } else { weight = -1 }
        if fraction == 1 { digits.append(5000) }
        let body = i16(digits.count) + i16(weight) + i16(0) + i16(1) + digits.flatMap(i16)
        return [0, 0, 0, UInt8(body.count)] + body
    }

    func run() throws -> Int {
        let connection = writer.connection
        let queue = BoundedQueue<Chunk>(capacity: 8)
        let cancelled = ManagedAtomicFlag()
        let producerFailure = LockedValue<Error>()
        let producer = Thread { [self] in
            do { try produce(into: queue, cancelled: cancelled) } catch {
                producerFailure.value = error
                queue.close()
            }
        }
        producer.stackSize = 1 << 22
        producer.start()
        defer {
            cancelled.set()
            queue.drainAndClose()
        }

        var committed = checkpoint.rows
        var written = 0
        var finished = false
        while !finished {
            let started = Date()
            var last: Chunk?
            var batchRows = 0
            try connection.transaction {
                try connection.copyIn("COPY fact_ratings (customer_key, movie_key, date_key, rating) FROM STDIN (FORMAT binary)") { copy in
                    try copy.write(Self.header)
                    while let chunk = queue.pop() {
                        // A stop request aborts the COPY: the batch and its checkpoint roll back together.
                        try Interruption.check()
                        try chunk.bytes.withUnsafeBytes { try copy.write($0) }
                        batchRows += chunk.rows
                        writer.progress.advance(chunk.rows)
                        last = chunk
                        if chunk.batchEnd { break }
                    }
                    if let failure = producerFailure.value { throw failure }
                    guard last?.batchEnd == true else {
                        throw WarehouseError(.database, "the reader of \(file.name) stopped before the end of a batch")
                    }
                    try copy.write(Self.trailer)
                }
                let end = last!
                try connection.execute("""
                    UPDATE etl_checkpoint SET byte_offset = $1, line = $2, context = $3, rows = rows + $4,
                        done = $5, seconds = seconds + $6, updated_at = now()
                    WHERE stage = 'fact_ratings' AND file = $7
                    """, [String(end.endOffset), String(end.endLine), end.context.map(String.init), String(batchRows),
                          end.fileEnd ? "true" : "false", String(Date().timeIntervalSince(started)), file.name])
            }
            committed += batchRows
            written += batchRows
            finished = last!.fileEnd
            if writer.options.batchPauseMilliseconds > 0 {
                Thread.sleep(forTimeInterval: Double(writer.options.batchPauseMilliseconds) / 1000)
            }
        }
        return written
    }

    /// The parser side: reads from the checkpoint, skips the lines the scan
    /// rejected, encodes every other rating.
    ///
    /// Netflix rows go out one movie block at a time, sorted by customer key,
    /// and a batch ends only between blocks. The files list movies in id
    /// order and movie keys follow ids, so the table fills in primary-key
    /// order (movie_key, customer_key) and building that key later finds its
    /// input already sorted, which turns the load's most expensive step into a
    /// pass over the table.
    private func produce(into queue: BoundedQueue<Chunk>, cancelled: ManagedAtomicFlag) throws {
        let catalog = writer.catalog
        let netflix = catalog.format == .netflix
        let rejected = catalog.rejectedLines(of: file.name)
        var nextReject = rejected.firstIndex(where: { $0 > checkpoint.line }) ?? rejected.count
        let batchRows = max(1, writer.options.batchRows)
        let chunkBytes = 1 << 20

        var context = checkpoint.context
        var movieKey: Int32 = -1
        if let open = context, let index = catalog.movieIndex.find(open) { movieKey = Vocabulary.key(ofIndex: Int(index)) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(chunkBytes + 64)
        var chunkRows = 0
        var rowsInBatch = 0
        var failure: Error?
        // The open Netflix block: customer key << 32 | date key << 4 | half stars, so
        // that sorting the numbers sorts by customer.
        var block: [UInt64] = []

        func emit(offset: Int, line: Int, batchEnd: Bool, fileEnd: Bool) -> Bool {
            let chunk = Chunk(bytes: buffer, rows: chunkRows, endOffset: offset, endLine: line, context: context,
                              batchEnd: batchEnd, fileEnd: fileEnd)
            buffer.removeAll(keepingCapacity: true)
            chunkRows = 0
            if batchEnd { rowsInBatch = 0 }
            return queue.push(chunk)
        }

        func flushBlock() {
            block.sort()
            for packed in block {
                Self.encode(customer: Int32(truncatingIfNeeded: packed >> 32), movie: movieKey,
                            dateKey: Int32(truncatingIfNeeded: (packed >> 4) & 0x0FFF_FFFF), halfStars: UInt8(packed & 0xF),
                            into: &buffer)
            }
            chunkRows += block.count
            rowsInBatch += block.count
            block.removeAll(keepingCapacity: true)
        }

        var lastOffset = checkpoint.byteOffset
        var lastLine = checkpoint.line
        file.forEachLine(from: checkpoint.byteOffset, firstLine: checkpoint.line) { line, number, next in
            if nextReject < rejected.count && rejected[nextReject] == number {
                nextReject += 1
            } else {
                let parsed = netflix ? RatingLineParser.netflix(line, movie: context)
                    : RatingLineParser.movieLens(line, lineNumber: number)
                switch parsed {
                case .blank, .columnNames:
                    break
                case .movieHeader(let id):
                    // Between blocks: the only place a Netflix chunk or batch may end.
                    flushBlock()
                    context = nil
                    if rowsInBatch >= batchRows || buffer.count >= chunkBytes {
                        let batchEnd = rowsInBatch >= batchRows
                        if !emit(offset: lastOffset, line: lastLine, batchEnd: batchEnd, fileEnd: false) || cancelled.isSet {
                            return false
                        }
                    }
                    context = id
                    movieKey = catalog.movieKey(of: id)
                case .rating(let record):
                    let key = netflix ? movieKey : catalog.movieKey(of: record.movieID)
                    guard key > 0, let customer = catalog.customerIndex.find(record.customerID) else {
                        failure = InputError(file: file.name, line: number, problem: "this line differs from what the scan read (was the file changed during the load?)")
                        return false
                    }
                    let customerKey = catalog.customerKey[Int(customer)]
                    if netflix {
                        block.append(UInt64(UInt32(bitPattern: customerKey)) << 32 | UInt64(UInt32(bitPattern: record.dateKey)) << 4
                                     | UInt64(record.halfStars))
                    } else {
                        Self.encode(customer: customerKey, movie: key, dateKey: record.dateKey, halfStars: record.halfStars, into: &buffer)
                        chunkRows += 1
                        rowsInBatch += 1
                    }
                case .bad(let reason):
                    failure = InputError(file: file.name, line: number, problem: "\(reason) (the file changed after the scan)")
                    return false
                }
            }
            lastOffset = next
            lastLine = number
            if !netflix && (rowsInBatch >= batchRows || buffer.count >= chunkBytes) {
                return emit(offset: next, line: number, batchEnd: rowsInBatch >= batchRows, fileEnd: false) && !cancelled.isSet
            }
            return true
        }
        if let failure { throw failure }
        if cancelled.isSet { return }
        flushBlock()
        context = nil
        _ = emit(offset: lastOffset, line: lastLine, batchEnd: true, fileEnd: true)
        queue.close()
    }

    @inline(__always)
    static func encode(customer: Int32, movie: Int32, dateKey: Int32, halfStars: UInt8, into buffer: inout [UInt8]) {
        @inline(__always) func int4(_ v: Int32, _ b: inout [UInt8]) {
            b.append(0); b.append(0); b.append(0); b.append(4)
            let u = UInt32(bitPattern: v)
            b.append(UInt8(u >> 24)); b.append(UInt8((u >> 16) & 0xFF)); b.append(UInt8((u >> 8) & 0xFF)); b.append(UInt8(u & 0xFF))
        }
        buffer.append(0); buffer.append(4)
        int4(customer, &buffer)
        int4(movie, &buffer)
        int4(dateKey, &buffer)
        buffer.append(contentsOf: numericBytes[Int(halfStars)])
    }
}


/// A flag set once, read from another thread.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// A blocking FIFO with a fixed capacity, for one producer and one consumer.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int
    private var closed = false

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; false once the queue is closed.
    func push(_ item: Element) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while items.count - head >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item; nil once the queue is closed and empty.
    func pop() -> Element? {
        condition.lock(); defer { condition.unlock() }
        while head == items.count && !closed { condition.wait() }
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head > 64 { items.removeFirst(head); head = 0 }
        condition.broadcast()
        return item
    }

    /// No more items will come; items already queued can still be popped.
    func close() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }

    /// Drops what is queued and closes, releasing a blocked producer.
    func drainAndClose() {
        condition.lock(); items.removeAll(); head = 0; closed = true; condition.broadcast(); condition.unlock()
    }
}

/// A value (a result, an error) handed from one thread to another.
final class LockedValue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
