import Features
import Foundation
import Logging
import Runtime

/// Exports the warehouse's ratings into a `RatingMatrix` once per data
/// version and caches it under `.recsys/cache`, so that training never reads
/// row by row from SQL. A new load gives a new data version, which makes a new
/// cache file; older ones are deleted.
public enum RatingExport {
    /// The matrix of the warehouse's complete load, from the cache when it holds this data version.
    public static func matrix(_ connection: Connection, home: RecsysHome) throws -> (matrix: RatingMatrix, dataVersion: String, cached: Bool) {
        try Database.migrate(connection)
        guard let row = try connection.execute("SELECT data_version, finished_at IS NOT NULL FROM etl_run").rows.first,
              let version = row[0] else {
            throw WarehouseError(.usage, "the warehouse holds no load yet", hint: "run `recsys load --data DIR` first")
        }
        guard row[1] == "t" else {
            throw WarehouseError(.usage, "the warehouse's load is not complete", hint: "run the same `recsys load` command again to finish it")
        }
        let file = home.cache.appendingPathComponent("ratings-\(version).bin")
        let logger = Logger(label: "recsys.cache")
        if FileManager.default.fileExists(atPath: file.path) {
            do {
                return (try MatrixFile.read(file, dataVersion: version), version, true)
            } catch {
                logger.warning("the ratings cache \(file.path) is unusable (\(error)); it is deleted and the ratings are exported again")
                unlink(file.path)
            }
        }
        let started = Date()
        let grown = try extended(connection, cache: home.cache, version: version, logger: logger)
        let matrix = try grown ?? export(connection)
        try Interruption.check()
        // The cache only saves the next command an export: failing to write it is a warning.
        do {
            try FileManager.default.createDirectory(at: home.cache, withIntermediateDirectories: true)
            try MatrixFile.write(matrix, dataVersion: version, to: file)
            MatrixFile.removeStale(in: home.cache, keeping: file)
            logger.info("ratings cache for data version \(version): \(ProgressReporter.count(matrix.count)) ratings \(grown == nil ? "exported in full" : "extended by the delta"), written in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        } catch let error as Interrupted {
            throw error
        } catch {
            logger.warning("could not write the ratings cache \(file.path) (\(error)); the next command exports again")
        }
        return (matrix, version, false)
    }

    /// The cached matrix of an earlier version of the same load, brought up to
    /// `version` by the rows live batches and appends wrote since (found through
    /// the partial index on fact_ratings.batch_id); nil when there is no such cache.
    static func extended(_ connection: Connection, cache: URL, version: String, logger: Logger) throws -> RatingMatrix? {
        let load = LiveRatings.loadPart(version)
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? [])
            .filter { $0.hasPrefix("ratings-\(load)") && $0.hasSuffix(".bin") }
            .compactMap { name -> (name: String, version: String, batch: Int)? in
                let old = String(name.dropFirst("ratings-".count).dropLast(".bin".count))
                guard LiveRatings.loadPart(old) == load, let batch = LiveRatings.batch(ofVersion: old) else { return nil }
                return (name, old, batch)
            }
        guard let newest = candidates.max(by: { $0.batch < $1.batch }),
              let target = LiveRatings.batch(ofVersion: version), newest.batch < target else { return nil }
        let started = Date()
        let old: RatingMatrix
        do {
            old = try MatrixFile.read(cache.appendingPathComponent(newest.name), dataVersion: newest.version)
        } catch {
            return nil
        }
        let read = Date().timeIntervalSince(started)
        let customerIDs = try denseIDs("SELECT customer_key, customer_id FROM dim_customer ORDER BY customer_key", connection)
        let movieIDs = try denseIDs("SELECT movie_key, movie_id FROM dim_movie ORDER BY movie_key", connection)
        var changes: [RatingMatrix.Entry] = []
        try copyRows("""
            COPY (SELECT movie_key, customer_key, date_key, rating::float4 FROM fact_ratings WHERE batch_id > \(newest.batch)) TO STDOUT (FORMAT binary)
            """, connection) { movie, customer, dateKey, rating in
            guard let c = Vocabulary.index(ofKey: customer, count: customerIDs.count), let m = Vocabulary.index(ofKey: movie, count: movieIDs.count) else {
                throw WarehouseError(.database, "fact_ratings references key \(customer)/\(movie) outside the dimensions")
            }
            changes.append(.init(customer: Int32(c), movie: Int32(m), rating: rating, day: Int32(CivilDate(key: dateKey).daysSinceEpoch)))
        }
        let fetched = Date().timeIntervalSince(started)
        guard let matrix = old.applying(changes, customerIDs: customerIDs, movieIDs: movieIDs) else { return nil }
        let seconds = { String(format: "%.1f", $0) }
        logger.info("ratings cache: \(ProgressReporter.count(changes.count)) rows written since data version \(newest.version) applied to its cache in \(seconds(Date().timeIntervalSince(started))) s (read \(seconds(read)) s, delta fetched \(seconds(fetched - read)) s, merged \(seconds(Date().timeIntervalSince(started) - fetched)) s; no full export)")
        return matrix
    }

    /// Source ids of a dimension in key order; its keys must be dense 1…n.
    private static func denseIDs(_ sql: String, _ connection: Connection) throws -> [Int64] {
        try connection.execute(sql).rows.enumerated().map { i, row in
            guard let key = Int(row[0] ?? ""), Vocabulary.index(ofKey: key) == i, let id = Int64(row[1] ?? "") else {
                throw WarehouseError(.database, "surrogate keys are not dense 1…n (\(sql))",
                                     hint: "the warehouse was changed outside recsys load; `recsys load --fresh` rebuilds it")
            }
            return id
        }
    }

    /// Runs a binary COPY of (movie_key, customer_key, date_key, rating::float4) rows.
    private static func copyRows(_ query: String, _ connection: Connection,
                                 _ row: (_ movie: Int32, _ customer: Int32, _ dateKey: Int32, _ rating: Float) throws -> Void) throws {
        var headerSeen = false
        try connection.copyOut(query) { message in
            var p = 0
            if !headerSeen {
                p = 19   // signature (11), flags (4), header extension length (4, zero)
                headerSeen = true
            }
            func int32(_ at: Int) -> Int32 {
                Int32(bitPattern: UInt32(message[at]) << 24 | UInt32(message[at + 1]) << 16 | UInt32(message[at + 2]) << 8 | UInt32(message[at + 3]))
            }
            guard message.count - p >= 2 else { return }
            let fields = Int16(bitPattern: UInt16(message[p]) << 8 | UInt16(message[p + 1]))
            if fields == -1 { return }   // trailer
            guard fields == 4, message.count - p >= 2 + 4 * 8 else {
                throw WarehouseError(.database, "unexpected tuple in the ratings export (\(fields) fields)")
            }
            // Each field: length (4) then 4 bytes; rating is float4.
            try row(int32(p + 6), int32(p + 14), int32(p + 22), Float(bitPattern: UInt32(bitPattern: int32(p + 30))))
        }
    }

    /// Reads fact_ratings with one binary COPY. Keys are dense, so each row's index is `Vocabulary.index(ofKey:)`.
    static func export(_ connection: Connection) throws -> RatingMatrix {
        let customerIDs = try denseIDs("SELECT customer_key, customer_id FROM dim_customer ORDER BY customer_key", connection)
        let movieIDs = try denseIDs("SELECT movie_key, movie_id FROM dim_movie ORDER BY movie_key", connection)
        let expected = try connection.execute("SELECT count(*) FROM fact_ratings").scalar().flatMap { Int($0) } ?? 0
        // In primary-key order the rows arrive as the CSC half of the matrix
        // (a Netflix load lays the table out in that order already), so no
        // list of entries is held: at Netflix scale that list was 1.6 GB.
        var movieStart = [Int](repeating: 0, count: movieIDs.count + 1)
        var movieCustomer: [Int32] = [], movieRating: [Float] = [], movieDay: [Int32] = []
        movieCustomer.reserveCapacity(expected)
        movieRating.reserveCapacity(expected)
        movieDay.reserveCapacity(expected)
        var lastMovie: Int32 = 0, lastCustomer: Int32 = 0
        let query = "COPY (SELECT movie_key, customer_key, date_key, rating::float4 FROM fact_ratings ORDER BY movie_key, customer_key) TO STDOUT (FORMAT binary)"
        try copyRows(query, connection) { movie, customer, dateKey, rating in
            guard let c = Vocabulary.index(ofKey: customer, count: customerIDs.count), let m = Vocabulary.index(ofKey: movie, count: movieIDs.count) else {
                throw WarehouseError(.database, "fact_ratings references key \(customer)/\(movie) outside the dimensions")
            }
            guard movie > lastMovie || (movie == lastMovie && customer > lastCustomer) else {
                throw WarehouseError(.database, "the ratings export is not in (movie_key, customer_key) order")
            }
            lastMovie = movie
            lastCustomer = customer
            movieStart[m + 1] += 1   // counts, shifted by one; summed below
            movieCustomer.append(Int32(c))
            movieRating.append(rating)
            movieDay.append(Int32(CivilDate(key: dateKey).daysSinceEpoch))
        }
        for m in 0..<movieIDs.count { movieStart[m + 1] += movieStart[m] }
        return RatingMatrix(customerIDs: customerIDs, movieIDs: movieIDs, movieStart: movieStart,
                            movieCustomer: movieCustomer, movieRating: movieRating, movieDay: movieDay)
    }
}

/// The cache file: magic, data version, the matrix's arrays as they are in
/// memory (little-endian), and a checksum of all of it. A truncated, foreign
/// or stale file is not used.
enum MatrixFile {
    // 2: the checksum is `ContentHash` (1 had a hash of its own); a version-1 file is re-exported.
    static let magic = Array("RSMATRX2".utf8)

    /// Why a cache file was not used.
    struct Unusable: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Streams the arrays to disk one after another (no second copy of the
    /// matrix in memory: at Netflix scale that copy alone was 2 GB) through
    /// `AtomicFile`, whose flock keeps `removeStale` off a file being written.
    /// Not synced: a cache lost to a crash is exported again.
    static func write(_ m: RatingMatrix, dataVersion: String, to url: URL) throws {
        try AtomicFile.replace(url, sync: false) { fd, temporary in try stream(m, dataVersion: dataVersion, to: fd, path: temporary) }
    }

    private static func stream(_ m: RatingMatrix, dataVersion: String, to fd: Int32, path temporary: String) throws {
        var hasher = ContentHash()
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        func flush() throws {
            try buffer.withUnsafeBytes { try Output.write($0, to: fd, destination: temporary) }
            buffer.removeAll(keepingCapacity: true)
        }
        func emit(_ bytes: UnsafeRawBufferPointer, hash: Bool = true) throws {
            if hash { hasher.add(bytes) }
            if bytes.count > 1 << 19 {
                try flush()
                try Output.write(bytes, to: fd, destination: temporary)
            } else {
                buffer.append(contentsOf: bytes)
                if buffer.count >= 1 << 20 { try flush() }
            }
        }
        func put<T>(_ array: [T]) throws {
            var count = UInt64(array.count)
            try withUnsafeBytes(of: &count) { try emit($0) }
            try array.withUnsafeBytes { try emit($0) }
            try Interruption.check()
        }
        try magic.withUnsafeBytes { try emit($0) }
        try put(Array(dataVersion.utf8))
        try put(m.customerIDs); try put(m.movieIDs)
        try put(m.customerStart.map(Int64.init)); try put(m.customerMovie); try put(m.customerRating); try put(m.customerDay)
        try put(m.movieStart.map(Int64.init)); try put(m.movieCustomer); try put(m.movieRating)
        var sum = hasher.value
        try withUnsafeBytes(of: &sum) { try emit($0, hash: false) }
        try flush()
    }

    /// Deletes the cache files of other data versions and the partial files
    /// of writers that are gone; a file some live process holds (flock) stays.
    static func removeStale(in folder: URL, keeping current: URL) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
            guard name.hasPrefix("ratings-") || name.hasPrefix(".ratings-"), name != current.lastPathComponent else { continue }
            let path = folder.appendingPathComponent(name).path
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink(path) }
            close(fd)
        }
    }

    /// Reads the arrays straight from the file into their final storage (no
    /// mapping, no intermediate copy), checking the checksum as it goes. Every
    /// count is checked against the file's size before it sizes anything, and
    /// the matrix's structure (offsets, indexes) before it is handed out.
    /// - Throws: `Unusable` naming what is wrong.
    static func read(_ url: URL, dataVersion: String) throws -> RatingMatrix {
        func unusable(_ reason: String) -> Unusable { Unusable(reason: reason) }
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw unusable("cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw unusable("cannot stat") }
        let size = Int(info.st_size)
        var consumed = 0
        var hasher = ContentHash()
        func readExactly(_ destination: UnsafeMutableRawPointer, _ count: Int, hash: Bool = true) throws {
            var done = 0
            while done < count {
                let got = Glibc.read(fd, destination + done, count - done)
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { throw unusable("truncated at byte \(consumed + done)") }
                done += got
            }
            if hash { hasher.add(UnsafeRawBufferPointer(start: destination, count: count)) }
            consumed += count
        }
        var head = [UInt8](repeating: 0, count: magic.count)
        guard size >= magic.count else { throw unusable("\(size) bytes, too short for a cache file") }
        try head.withUnsafeMutableBytes { try readExactly($0.baseAddress!, magic.count) }
        guard head == magic else { throw unusable("not a ratings cache file") }
        func take<T>(_: T.Type, _ name: String) throws -> [T] {
            var count: UInt64 = 0
            guard consumed + 8 <= size else { throw unusable("truncated before the \(name) count") }
            try withUnsafeMutableBytes(of: &count) { try readExactly($0.baseAddress!, 8) }
            // The count is checked before any arithmetic: a damaged count must not trap.
            guard count <= UInt64(size) else { throw unusable("the \(name) count \(count) exceeds the file's \(size) bytes") }
            let (bytes, overflow) = Int(count).multipliedReportingOverflow(by: MemoryLayout<T>.stride)
            guard !overflow, bytes <= size - consumed - 8 else {
                throw unusable("the \(name) count \(count) needs more bytes than the file holds")
            }
            var failure: Error?
            let array = [T](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
                do {
                    if bytes > 0 {
                        LargeArrays.preferHugePages(UnsafeMutableRawPointer(buffer.baseAddress!), bytes: bytes)
                        try readExactly(UnsafeMutableRawPointer(buffer.baseAddress!), bytes)
                    }
                    initialized = Int(count)
                } catch {
                    failure = error
                    initialized = 0
                }
            }
            if let failure { throw failure }
            return array
        }
        guard String(decoding: try take(UInt8.self, "data version"), as: UTF8.self) == dataVersion else {
            throw unusable("written for another data version")
        }
        let customerIDs = try take(Int64.self, "customer id"), movieIDs = try take(Int64.self, "movie id")
        let customerStart = try take(Int64.self, "customer offset"), customerMovie = try take(Int32.self, "customer movie")
        let customerRating = try take(Float.self, "customer rating"), customerDay = try take(Int32.self, "customer day")
        let movieStart = try take(Int64.self, "movie offset"), movieCustomer = try take(Int32.self, "movie customer")
        let movieRating = try take(Float.self, "movie rating")
        var stored: UInt64 = 0
        guard consumed + 8 == size else { throw unusable("\(size - consumed - 8) unexpected bytes before the checksum") }
        try withUnsafeMutableBytes(of: &stored) { try readExactly($0.baseAddress!, 8, hash: false) }
        guard hasher.value == stored else { throw unusable("checksum mismatch") }
        guard valid(starts: customerStart, indexes: customerMovie, below: movieIDs.count),
              valid(starts: movieStart, indexes: movieCustomer, below: customerIDs.count),
              let matrix = RatingMatrix(customerIDs: customerIDs, movieIDs: movieIDs, customerStart: customerStart.map { Int($0) },
                                        customerMovie: customerMovie, customerRating: customerRating, customerDay: customerDay,
                                        movieStart: movieStart.map { Int($0) }, movieCustomer: movieCustomer, movieRating: movieRating)
        else { throw unusable("the arrays do not form a rating matrix") }
        return matrix
    }

    /// Offsets that start at 0, never decrease and end at the index count; indexes in 0..<bound.
    private static func valid(starts: [Int64], indexes: [Int32], below bound: Int) -> Bool {
        guard starts.first == 0, starts.last == Int64(indexes.count) else { return false }
        for i in 1..<starts.count where starts[i] < starts[i - 1] { return false }
        let limit = Int32(clamping: bound)
        return indexes.allSatisfy { $0 >= 0 && $0 < limit }
    }
}

