import Foundation
import Runtime
import Features

/// Maps source ids (Int64, possibly sparse) to dense indexes in order of first
/// insertion. Ids below 2^24 use a direct table (Netflix's customer ids reach
/// 2.65M: 10 MB); larger ids go to a hash map, so any id up to 15 digits works.
struct IDIndex {
    private static let directLimit: Int64 = 1 << 24
    private var direct: [Int32] = []
    private var overflow: [Int64: Int32] = [:]
    private(set) var ids: [Int64] = []

    var count: Int { ids.count }

    @inline(__always)
    func find(_ id: Int64) -> Int32? {
        if id < Self.directLimit {
            let i = Int(id)
            guard i < direct.count else { return nil }
            let value = direct[i]
            return value >= 0 ? value : nil
        }
        return overflow[id]
    }

    /// Returns the id's index and whether it was new.
    @inline(__always)
    mutating func insert(_ id: Int64) -> (index: Int32, inserted: Bool) {
        if id < Self.directLimit {
            let i = Int(id)
            if i >= direct.count {
                let newCount = min(Int(Self.directLimit), max(i + 1, direct.count * 2, 1024))
                direct.append(contentsOf: repeatElement(-1, count: newCount - direct.count))
            }
            let value = direct[i]
            if value >= 0 { return (value, false) }
            let index = Int32(ids.count)
            direct[i] = index
            ids.append(id)
            return (index, true)
        }
        if let value = overflow[id] { return (value, false) }
        let index = Int32(ids.count)
        overflow[id] = index
        ids.append(id)
        return (index, true)
    }
}

/// A bad line skipped under `--max-rejects`.
public struct RejectedLine: Sendable, Equatable {
    public var file: String
    public var line: Int
    public var text: String
    public var reason: String
}

/// Everything the pre-load scan learned: the movies, the customers with their
/// dense keys and aggregates, the date range, and the lines to skip. Scanning
/// every rating file before anything is written means bad input stops the
/// load before it changes the warehouse, and keys come from dense arrays, not
/// database lookups.
struct SourceCatalog {
    struct FileSummary: Equatable {
        var name: String
        var lines: Int
        var ratings: Int
    }

    var format: SourceFormat
    /// Sorted by id; a movie's key is `Vocabulary.key(ofIndex:)` of its place here.
    var movies: [MovieRecord]
    var movieIndex: IDIndex
    var customerIndex: IDIndex
    /// customer_key of each customer, by insertion index (keys follow id order).
    var customerKey: [Int32]
    var firstDate, lastDate: [Int32]
    var ratingCount: [Int32]
    var minDate, maxDate: Int32
    var files: [FileSummary]
    var rejects: [RejectedLine]

    var totalRatings: Int { files.reduce(0) { $0 + $1.ratings } }
    var customerCount: Int { ratingCount.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }
    var dateCount: Int {
        ratingCount.isEmpty ? 0 : CivilDate(key: maxDate).daysSinceEpoch - CivilDate(key: minDate).daysSinceEpoch + 1
    }

    /// The movie_key of a source movie id; -1 when the titles lack it.
    func movieKey(of id: Int64) -> Int32 {
        movieIndex.find(id).map { Vocabulary.key(ofIndex: Int($0)) } ?? -1
    }

    /// Rejected line numbers of one file, ascending.
    func rejectedLines(of file: String) -> [Int] {
        rejects.filter { $0.file == file }.map(\.line).sorted()
    }
}

/// The pre-load scan: parses every rating line, checks it against the titles
/// and against the lines before it, and builds the catalog.
struct SourceScanner {
    var maxRejects: Int
    var progress: ((Int) -> Void)?

    func scan(_ source: SourceSet) throws -> SourceCatalog {
        var titleRejects: [RejectedLine] = []
        let titlesName = source.titlesFile.lastPathComponent
        var movies = try TitlesReader.read(source.titlesFile, format: source.format) { line, text, reason in
            let rejected = RejectedLine(file: titlesName, line: line, text: String(text.prefix(1000)), reason: reason)
            if titleRejects.count >= maxRejects { throw ScanState.stop(rejected, maxRejects: maxRejects) }
            titleRejects.append(rejected)
        }
        movies.sort { $0.id < $1.id }
        var movieIndex = IDIndex()
        for movie in movies { _ = movieIndex.insert(movie.id) }
        let files = try source.ratingFiles.map { try MappedFile($0) }
        // A rating file of 0 bytes is a broken download, not a file without
        // ratings (an empty `MovieID:` block inside a file stays valid).
        if let empty = files.first(where: { $0.bytes.isEmpty }) {
            throw InputError(file: empty.name, line: 0, problem: "the file is empty (0 bytes); a rating file always holds ratings — an interrupted download?",
                             hint: "download or copy the file again; nothing was written")
        }

        let merged: ScanState
        let summaries: [SourceCatalog.FileSummary]
        if source.format == .netflix, files.count > 1,
           let parallel = try scanInParallel(files, movieIndex: movieIndex, titleRejects: titleRejects) {
            (merged, summaries) = parallel
        } else {
            var state = ScanState(format: source.format, movieIndex: movieIndex, maxRejects: maxRejects)
            state.rejects = titleRejects
            summaries = try files.map { try state.scan($0, progress: progress) }
            merged = state
        }

        // Keys follow id order, whatever order the files listed customers in. A
        // customer seen only on rejected lines gets no key (and no dim row).
        let count = merged.customer.map(\.count)
        let ids = merged.customers.ids
        let order = ids.indices.filter { count[$0] > 0 }.sorted { ids[$0] < ids[$1] }
        var customerKey = [Int32](repeating: 0, count: ids.count)
        for (rank, index) in order.enumerated() { customerKey[index] = Vocabulary.key(ofIndex: rank) }
        return SourceCatalog(format: source.format, movies: movies, movieIndex: movieIndex,
                             customerIndex: merged.customers, customerKey: customerKey,
                             firstDate: merged.customer.map(\.first), lastDate: merged.customer.map(\.last), ratingCount: count,
                             minDate: merged.minDate, maxDate: merged.maxDate, files: summaries, rejects: merged.rejects)
    }

    /// Scans the Netflix files on all cores, one state per file, then merges.
    /// A file's checks only concern its own movie blocks, so they are the
    /// sequential scan's, except for a movie whose block reopens in a later
    /// file: then this returns nil and the caller scans in order, which
    /// reports that line exactly as a sequential reader would.
    private func scanInParallel(_ files: [MappedFile], movieIndex: IDIndex, titleRejects: [RejectedLine]) throws
        -> (ScanState, [SourceCatalog.FileSummary])? {
        final class Slot: @unchecked Sendable {
            var state: ScanState?
            var summary: SourceCatalog.FileSummary?
            var error: Error?
        }
        let slots = files.map { _ in Slot() }
        let progress = self.progress
        let maxRejects = self.maxRejects
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            var state = ScanState(format: .netflix, movieIndex: movieIndex, maxRejects: maxRejects)
            do { slots[i].summary = try state.scan(files[i], progress: progress) } catch { slots[i].error = error }
            slots[i].state = state
        }
        // A block that reopens in a later file is a reject the per-file scans
        // could not see: decided first, so that the sequential scan reports it
        // (and any stop) exactly where a reader meets it.
        var opened: [Int64: String] = [:]
        for slot in slots {
            for (movie, place) in slot.state!.groupOpenedAt {
                if opened[movie] != nil { return nil }
                opened[movie] = place
            }
        }
        // Rejects and a stop, in file order, as one sequential scan would meet them.
        var rejects: [RejectedLine] = titleRejects
        for slot in slots {
            if let error = slot.error {
                guard error is InputError, rejects.count + slot.state!.rejects.count >= maxRejects else { throw error }
            }
            for reject in slot.state!.rejects {
                if rejects.count == maxRejects { throw ScanState.stop(reject, maxRejects: maxRejects) }
                rejects.append(reject)
            }
            if let error = slot.error { throw error }
        }
        var merged = ScanState(format: .netflix, movieIndex: movieIndex, maxRejects: maxRejects)
        merged.rejects = rejects
        merged.groupOpenedAt = opened
        for slot in slots {
            let state = slot.state!
            merged.minDate = min(merged.minDate, state.minDate)
            merged.maxDate = max(merged.maxDate, state.maxDate)
            for (local, id) in state.customers.ids.enumerated() {
                let part = state.customer[local]
                let (index, inserted) = merged.customers.insert(id)
                if inserted {
                    merged.customer.append(part)
                    continue
                }
                let i = Int(index)
                if part.count == 0 { continue }
                if merged.customer[i].count == 0 {
                    merged.customer[i] = part
                } else {
                    merged.customer[i].first = min(merged.customer[i].first, part.first)
                    merged.customer[i].last = max(merged.customer[i].last, part.last)
                    merged.customer[i].count += part.count
                }
            }
        }
        return (merged, slots.map { $0.summary! })
    }
}

private struct ScanState {
    let format: SourceFormat
    let movieIndex: IDIndex
    let maxRejects: Int

    /// What the scan keeps per customer, packed so that one rating touches
    /// one cache line: at Netflix scale these arrays outgrow the caches and
    /// every rating lands on a random customer.
    struct CustomerAggregate {
        var first: Int32
        var last: Int32
        var count: Int32
        /// Netflix: the movie block that last saw this customer (duplicate check).
        var marker: Int32
    }

    var customers = IDIndex()
    var customer: [CustomerAggregate] = []
    var minDate: Int32 = .max
    var maxDate: Int32 = .min
    var rejects: [RejectedLine] = []

    // Duplicate detection. Ratings come in groups — a Netflix movie block, a
    // MovieLens user's run of lines — and within a group each partner may
    // appear once: marker[partner] holds the group that last saw it. A group
    // that opens a second time is refused, which keeps the check exact in O(1)
    // memory per partner. (Netflix keeps its marker in `customer`; this one
    // is MovieLens's, by movie.)
    var marker: [Int32] = []
    var groupOpenedAt: [Int64: String] = [:]
    var currentGroup: Int32 = -1

    init(format: SourceFormat, movieIndex: IDIndex, maxRejects: Int) {
        self.format = format
        self.movieIndex = movieIndex
        self.maxRejects = maxRejects
        if format == .movielens { marker = [Int32](repeating: -1, count: movieIndex.count) }
    }

    mutating func reject(_ file: MappedFile, _ number: Int, _ line: UnsafeRawBufferPointer, _ reason: String) throws {
        let rejected = RejectedLine(file: file.name, line: number, text: printable(line, limit: 1000), reason: reason)
        if rejects.count >= maxRejects { throw Self.stop(rejected, maxRejects: maxRejects) }
        rejects.append(rejected)
    }

    /// The error for the bad line one past what --max-rejects allows.
    static func stop(_ line: RejectedLine, maxRejects: Int) -> InputError {
        let hint = maxRejects == 0
            ? "fix the line and run the same command again; nothing was written. `--max-rejects N` skips up to N bad lines into etl_rejects instead"
            : "more than --max-rejects \(maxRejects) bad lines; nothing was written. Fix the file, or raise --max-rejects"
        return InputError(file: line.file, line: line.line, problem: line.reason, text: String(line.text.prefix(200)), hint: hint)
    }

    mutating func scan(_ file: MappedFile, progress: ((Int) -> Void)?) throws -> SourceCatalog.FileSummary {
        var ratings = 0
        var lines = 0
        // Netflix: the open block's movie, and whether its header was rejected.
        var openMovie: Int64? = nil
        var blockRejectedAt: Int? = nil
        var groupIndex: Int32 = -1
        let name = file.name
        try file.forEachLine(from: 0, firstLine: 0) { line, number, _ in
            lines = number
            let parsed: RatingLine = format == .netflix
                ? RatingLineParser.netflix(line, movie: openMovie)
                : RatingLineParser.movieLens(line, lineNumber: number)
            switch parsed {
            case .blank, .columnNames:
                return true
            case .bad(let reason):
                // A line that meant to open a block (it ends in ':') but is no valid
                // header: the rating lines after it belong to no known movie.
                if format == .netflix, line.last == UInt8(ascii: ":") { blockRejectedAt = number }
                try reject(file, number, line, reason)
            case .movieHeader(let id):
                openMovie = id
                blockRejectedAt = nil
                guard let index = movieIndex.find(id) else {
                    blockRejectedAt = number
                    try reject(file, number, line, "MovieID \(id) is not in movie_titles.csv")
                    return true
                }
                if let first = groupOpenedAt[id] {
                    blockRejectedAt = number
                    try reject(file, number, line, "MovieID \(id) opens a second block (the first is at \(first)); each movie's ratings must form one block")
                    return true
                }
                groupOpenedAt[id] = "\(name):\(number)"
                groupIndex = index
            case .rating(let record):
                if let at = blockRejectedAt {
                    try reject(file, number, line, "belongs to the MovieID block at line \(at), which was rejected")
                    return true
                }
                if format == .netflix {
                    try accept(record, movieIndex: groupIndex, file: file, number: number, line: line, &ratings)
                } else {
                    guard let movie = movieIndex.find(record.movieID) else {
                        try reject(file, number, line, "movieId \(record.movieID) is not in movies.csv")
                        return true
                    }
                    try accept(record, movieIndex: movie, file: file, number: number, line: line, &ratings)
                }
                if ratings & 0xFFFFF == 0 { progress?(1 << 20) }
            }
            return true
        }
        progress?(ratings & 0xFFFFF)
        return .init(name: name, lines: lines, ratings: ratings)
    }

    @inline(__always)
    private mutating func accept(_ record: RatingRecord, movieIndex movie: Int32, file: MappedFile, number: Int,
                                 line: UnsafeRawBufferPointer, _ ratings: inout Int) throws {
        let (customer, inserted) = customers.insert(record.customerID)
        let c = Int(customer)
        if inserted {
            self.customer.append(CustomerAggregate(first: record.dateKey, last: record.dateKey, count: 0, marker: -1))
        }
        switch format {
        case .netflix:
            if self.customer[c].marker == movie {
                try reject(file, number, line, "customer \(record.customerID) already rated movie \(record.movieID) in this block (duplicate customer–movie pair)")
                return
            }
            self.customer[c].marker = movie
        case .movielens:
            if customer != currentGroup {
                if !inserted && self.customer[c].count > 0 {
                    try reject(file, number, line, "userId \(record.customerID)'s lines resume here after other users' (first at \(groupOpenedAt[record.customerID] ?? "?")); ratings.csv must keep each user's lines together, as MovieLens exports do")
                    return
                }
                currentGroup = customer
                groupOpenedAt[record.customerID] = "\(file.name):\(number)"
            }
            let m = Int(movie)
            if marker[m] == customer {
                try reject(file, number, line, "userId \(record.customerID) already rated movieId \(record.movieID) (duplicate user–movie pair)")
                return
            }
            marker[m] = customer
        }
        self.customer.withUnsafeMutableBufferPointer { all in
            if all[c].count == 0 {
                all[c].first = record.dateKey
                all[c].last = record.dateKey
            } else {
                if record.dateKey < all[c].first { all[c].first = record.dateKey }
                if record.dateKey > all[c].last { all[c].last = record.dateKey }
            }
            all[c].count += 1
        }
        if record.dateKey < minDate { minDate = record.dateKey }
        if record.dateKey > maxDate { maxDate = record.dateKey }
        ratings += 1
    }
}
