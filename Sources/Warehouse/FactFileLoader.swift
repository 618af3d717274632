import Features
import Foundation
import Runtime
import Logging

/// Streams one rating file into fact_ratings from its checkpoint on: a parser
/// thread encodes rows as binary COPY tuples while this thread sends them; a
/// batch ends at a line boundary and commits with its checkpoint.
struct FactFileLoader {
    let writer: StarSchemaWriter
    let file: MappedFile
    let checkpoint: CheckpointRow

    /// A block of encoded tuples and where the source stands after it.
    struct Chunk {
        var bytes: [UInt8]
        var rows: Int
        var endOffset, endLine: Int
        var context: Int64?
        var batchEnd, fileEnd: Bool
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
                    try copy.write(PGCopyBinary.header)
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
                    try copy.write(PGCopyBinary.trailer)
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
                Self.tuple(customer: Int32(truncatingIfNeeded: packed >> 32), movie: movieKey,
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
                        Self.tuple(customer: customerKey, movie: key, dateKey: record.dateKey, halfStars: record.halfStars, into: &buffer)
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

    /// One fact_ratings tuple: customer_key, movie_key, date_key, rating.
    @inline(__always)
    static func tuple(customer: Int32, movie: Int32, dateKey: Int32, halfStars: UInt8, into buffer: inout [UInt8]) {
        PGCopyBinary.beginTuple(fields: 4, &buffer)
        PGCopyBinary.int4(customer, &buffer)
        PGCopyBinary.int4(movie, &buffer)
        PGCopyBinary.int4(dateKey, &buffer)
        PGCopyBinary.rating(halfStars: halfStars, &buffer)
    }
}
