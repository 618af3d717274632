import Foundation
import Logging
import Runtime

/// How `recsys load --append DIR` runs.
public struct AppendOptions: Sendable {
    public var directory: URL
    /// Ratings per transaction (and per checkpoint).
    public var batchRows = 50_000
    /// A pause after each committed batch. Only for tests that kill an append mid-file.
    public var batchPauseMilliseconds = 0

    public init(directory: URL) { self.directory = directory }
}

/// What an append did, file by file.
public struct AppendReport: Codable, Sendable {
    public struct File: Codable, Sendable {
        public var file: String
        public var ratings: Int
        /// Applied by this run (fewer than `ratings` when it resumed; 0 when the file was done before).
        public var appliedThisRun: Int
        public var inserted: Int
        public var replaced: Int
        public var unchanged: Int
        public var newCustomers: Int
        public var alreadyLoaded: Bool
    }
    public var files: [File]
    public var newMovies: Int
    public var changedMovies: Int
    public var dataVersion: String
    public var seconds: Double
    /// True when every file of the folder was appended before: nothing to do.
    public var alreadyLoaded: Bool
}

/// Appends a folder of new rating files (and optionally a new titles file) to
/// a loaded warehouse, into the live tables with their keys in place.
///
/// Exactly once per file, as the first load: each file is fingerprinted and
/// checked whole before any of it is written (a bad line names the file and
/// line, and nothing of that file is applied); its ratings then go in batches,
/// each committed with the file's `rows_done`, so a killed append resumes where
/// it stopped and the same folder again is a no-op. A re-rating replaces the
/// current value and keeps the old one in fact_ratings_history; a changed
/// title keeps its versions in dim_movie_history. Lines may come in any order.
public final class AppendLoader {
    private let database: Database
    private let options: AppendOptions
    private let logger: Logger

    public init(database: Database, options: AppendOptions, logger: Logger) {
        (self.database, self.options, self.logger) = (database, options, logger)
    }

    public func run() throws -> AppendReport {
        let started = Date()
        let connection = try database.connect()
        try Database.migrate(connection)
        guard let run = try connection.execute("SELECT format, finished_at IS NOT NULL FROM etl_run").rows.first, run[1] == "t",
              let format = run[0].flatMap(SourceFormat.init(rawValue:)) else {
            throw WarehouseError(.usage, "--append adds to a loaded warehouse, and this one holds no complete load",
                                 hint: "run `recsys load --data DIR` first (or finish it by running it again)")
        }
        let (ratingFiles, titlesFile) = try Self.files(in: options.directory, format: format)
        // The load lock: an append is a load, and another append or load must wait.
        guard try connection.execute("SELECT pg_try_advisory_lock(\(AdvisoryLocks.load))").scalar() == "t" else {
            throw SafetyRefusal(reason: "another recsys load is running on this database",
                                action: "wait for it to finish; a stopped append resumes where it left off")
        }
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock(\(AdvisoryLocks.load))") }

        // Every file is read and checked before anything of the folder is written:
        // a bad line anywhere leaves the warehouse as it was.
        let titles = try titlesFile.flatMap { try readTitles($0, format: format, connection) }
        var movies = Set(try connection.execute("SELECT movie_id FROM dim_movie").rows.compactMap { $0[0].flatMap { Int64($0) } })
        movies.formUnion(titles?.records.map(\.id) ?? [])
        var pending: [(url: URL, fingerprint: FileFingerprint, known: Recorded?, ratings: [IncomingRating])] = []
        var files: [AppendReport.File] = []
        for url in ratingFiles {
            try Interruption.check()
            let fingerprint = try FileFingerprint.of(url)
            let known = try decide(url, fingerprint: fingerprint, connection)
            if let known, known.done {
                logger.info("\(url.lastPathComponent): appended before (\(known.rowsDone) ratings); skipped")
                files.append(.init(file: url.path, ratings: known.rowsDone, appliedThisRun: 0, inserted: 0, replaced: 0, unchanged: 0,
                                   newCustomers: 0, alreadyLoaded: true))
                continue
            }
            pending.append((url, fingerprint, known, try readRatings(url, format: format, movies: movies)))
        }
        var newMovies = 0, changedMovies = 0
        if let titles { (newMovies, changedMovies) = try appendTitles(titles, format: format, connection) }
        for file in pending {
            files.append(try appendRatings(file.url, fingerprint: file.fingerprint, known: file.known, ratings: file.ratings, connection))
        }
        files.sort { $0.file < $1.file }
        let version = try connection.execute("SELECT data_version FROM etl_run").scalar() ?? ""
        return AppendReport(files: files, newMovies: newMovies, changedMovies: changedMovies, dataVersion: version,
                            seconds: Date().timeIntervalSince(started),
                            alreadyLoaded: files.allSatisfy(\.alreadyLoaded) && newMovies == 0 && changedMovies == 0)
    }

    /// The folder's rating files (Netflix `combined_data_*.txt`, or MovieLens `ratings.csv`)
    /// and its titles file, if any, in the warehouse's layout.
    static func files(in directory: URL, format: SourceFormat) throws -> (ratings: [URL], titles: URL?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw InputError(file: directory.path, line: 0, problem: "no such folder", hint: "--append takes the folder that holds the new files")
        }
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
        let ratings: [String], titles: String
        switch format {
        case .netflix:
            ratings = names.filter { $0.hasPrefix("combined_data_") && $0.hasSuffix(".txt") }.sorted()
            titles = "movie_titles.csv"
        case .movielens:
            ratings = names.contains("ratings.csv") ? ["ratings.csv"] : []
            titles = "movies.csv"
        }
        guard !ratings.isEmpty || names.contains(titles) else {
            let wanted = format == .netflix ? "combined_data_*.txt or movie_titles.csv" : "ratings.csv or movies.csv"
            throw InputError(file: directory.path, line: 0, problem: "no \(wanted) here: the warehouse holds \(format.rawValue) data, and an append adds files of the same layout")
        }
        return (ratings.map { directory.appendingPathComponent($0) }, names.contains(titles) ? directory.appendingPathComponent(titles) : nil)
    }

    // MARK: - files and their bookkeeping

    private struct Recorded { var fingerprint: FileFingerprint; var rowsDone: Int; var done: Bool }

    private func recorded(_ path: String, _ connection: Connection) throws -> Recorded? {
        guard let r = try connection.execute("SELECT fingerprint::text, rows_done, done FROM etl_append_file WHERE path = $1", [path]).rows.first else {
            return nil
        }
        return Recorded(fingerprint: try JSON.decode(FileFingerprint.self, from: r[0] ?? "{}"), rowsDone: Int(r[1] ?? "") ?? 0, done: r[2] == "t")
    }

    /// Whether to skip the file (done before), or where to resume it.
    /// - Throws: `SafetyRefusal` when the file's bytes changed since it was (partly) appended.
    private func decide(_ url: URL, fingerprint: FileFingerprint, _ connection: Connection) throws -> Recorded? {
        guard let known = try recorded(url.path, connection) else { return nil }
        guard known.fingerprint == fingerprint else {
            throw SafetyRefusal(reason: "\(url.path) was \(known.done ? "appended" : "partly appended") before and its contents changed since (size \(known.fingerprint.size) → \(fingerprint.size) bytes)",
                                action: "put new ratings in a new file (a new folder per delivery); an appended file is never read twice")
        }
        return known
    }

    // MARK: - ratings

    private func appendRatings(_ url: URL, fingerprint: FileFingerprint, known: Recorded?, ratings: [IncomingRating],
                               _ connection: Connection) throws -> AppendReport.File {
        var report = AppendReport.File(file: url.path, ratings: ratings.count, appliedThisRun: 0, inserted: 0, replaced: 0, unchanged: 0,
                                       newCustomers: 0, alreadyLoaded: false)
        if known == nil {
            try connection.execute("INSERT INTO etl_append_file (path, kind, fingerprint, rows_total) VALUES ($1, 'ratings', $2::jsonb, $3)",
                                   [url.path, try JSON.text(fingerprint), String(ratings.count)])
        }
        var done = known?.rowsDone ?? 0
        if done > 0 { logger.info("\(url.lastPathComponent): resuming after \(done) of \(ratings.count) ratings") }
        while done < ratings.count {
            try Interruption.check()
            let batch = Array(ratings[done..<min(done + options.batchRows, ratings.count)])
            let result = try connection.transaction { () -> IngestResult in
                try connection.execute("SELECT pg_advisory_xact_lock(\(LiveRatings.ingestLock))")
                let version = try connection.execute("SELECT data_version FROM etl_run").scalar() ?? ""
                let result = try LiveRatings.apply(batch, version: version, idempotencyKey: "append:\(url.path):\(done)",
                                                   requestHash: fingerprint.sample, connection: connection)
                try connection.execute("UPDATE etl_append_file SET rows_done = rows_done + $2, done = ($3::bigint = rows_total), finished_at = CASE WHEN $3::bigint = rows_total THEN now() END WHERE path = $1",
                                       [url.path, String(batch.count), String(done + batch.count)])
                return result
            }
            done += batch.count
            report.appliedThisRun += batch.count
            report.inserted += result.inserted
            report.replaced += result.replaced
            report.unchanged += result.unchanged
            report.newCustomers += result.newCustomers
            if options.batchPauseMilliseconds > 0 { usleep(UInt32(options.batchPauseMilliseconds) * 1000) }
        }
        if ratings.isEmpty {
            try connection.execute("UPDATE etl_append_file SET done = true, finished_at = now() WHERE path = $1", [url.path])
        }
        logger.info("\(url.lastPathComponent): \(report.appliedThisRun) ratings appended (\(report.inserted) new pairs, \(report.replaced) re-ratings, \(report.newCustomers) new customers)")
        return report
    }

    /// Every rating of the file, checked whole: the layout's own line rules, a
    /// movie the warehouse has, a date not in the future, one rating per pair.
    private func readRatings(_ url: URL, format: SourceFormat, movies: Set<Int64>) throws -> [IncomingRating] {
        let file = try MappedFile(url)
        let today = CivilDate.today.key
        var ratings: [IncomingRating] = []
        var lineOf: [PairKey: Int] = [:]
        var movie: Int64?
        try file.forEachLine(from: 0, firstLine: 0) { line, number, _ in
            func fail(_ problem: String) -> InputError {
                InputError(file: url.path, line: number, problem: problem, text: printable(line))
            }
            let parsed = format == .netflix ? RatingLineParser.netflix(line, movie: movie) : RatingLineParser.movieLens(line, lineNumber: number)
            switch parsed {
            case .blank, .columnNames:
                break
            case .movieHeader(let id):
                guard movies.contains(id) else { throw fail("MovieID \(id) is not in the warehouse (dim_movie) nor in this folder's titles file") }
                movie = id
            case .bad(let problem):
                throw fail(problem)
            case .rating(let r):
                guard movies.contains(r.movieID) else { throw fail("movie \(r.movieID) is not in the warehouse (dim_movie) nor in this folder's titles file") }
                guard r.dateKey <= today else { throw fail("date \(CivilDate(key: r.dateKey).iso) is in the future") }
                if let first = lineOf.updateValue(number, forKey: PairKey(customer: r.customerID, movie: r.movieID)) {
                    throw fail("customer \(r.customerID) rates movie \(r.movieID) again (line \(first) did): one rating per pair and file")
                }
                ratings.append(IncomingRating(customerID: r.customerID, movieID: r.movieID, rating: Double(r.halfStars) / 2,
                                              date: CivilDate(key: r.dateKey)))
            }
            return true
        }
        return ratings
    }

    private struct PairKey: Hashable { var customer: Int64; var movie: Int64 }

    // MARK: - titles

    /// New movies get the next keys (in id order); a movie whose title, year or
    /// genres differ gets a new current version, the old one closed in dim_movie_history.
    private struct Titles { var url: URL; var fingerprint: FileFingerprint; var records: [MovieRecord] }

    /// The titles file, checked; nil when it was appended before.
    private func readTitles(_ url: URL, format: SourceFormat, _ connection: Connection) throws -> Titles? {
        let fingerprint = try FileFingerprint.of(url)
        if let known = try decide(url, fingerprint: fingerprint, connection), known.done {
            logger.info("\(url.lastPathComponent): appended before; skipped")
            return nil
        }
        let records = try TitlesReader.read(url, format: format) { line, text, reason in
            throw InputError(file: url.path, line: line, problem: reason, text: text)
        }
        var seen: [Int64: Int] = [:]
        for r in records {
            if let first = seen.updateValue(r.line, forKey: r.id) {
                throw InputError(file: url.path, line: r.line, problem: "movie \(r.id) appears again (line \(first) did)")
            }
        }
        return Titles(url: url, fingerprint: fingerprint, records: records)
    }

    private func appendTitles(_ titles: Titles, format: SourceFormat, _ connection: Connection) throws -> (new: Int, changed: Int) {
        let (url, fingerprint, records) = (titles.url, titles.fingerprint, titles.records)
        return try connection.transaction {
            var current: [Int64: (key: Int, title: String, year: Int?, genres: String?)] = [:]
            for r in try connection.execute("SELECT movie_id, movie_key, title, release_year, genres FROM dim_movie").rows {
                if let id = r[0].flatMap({ Int64($0) }), let key = r[1].flatMap({ Int($0) }) {
                    current[id] = (key, r[2] ?? "", r[3].flatMap { Int($0) }, r[4])
                }
            }
            var nextKey = (current.values.map(\.key).max() ?? 0) + 1
            var added = 0, changed = 0
            let loadStarted = "(SELECT started_at FROM etl_run)"
            for r in records.sorted(by: { $0.id < $1.id }) {
                let genres = format == .movielens ? r.genres : nil
                guard let old = current[r.id] else {
                    try connection.execute("INSERT INTO dim_movie (movie_key, movie_id, title, release_year, genres) VALUES ($1, $2, $3, $4, $5)",
                                           [String(nextKey), String(r.id), r.title, r.year.map(String.init), genres])
                    try connection.execute("""
                        INSERT INTO dim_movie_history (movie_key, movie_id, title, release_year, genres, valid_from, valid_to, is_current)
                        VALUES ($1, $2, $3, $4, $5, now(), NULL, true)
                        """, [String(nextKey), String(r.id), r.title, r.year.map(String.init), genres])
                    nextKey += 1
                    added += 1
                    continue
                }
                guard old.title != r.title || old.year != r.year || (format == .movielens && old.genres != genres) else { continue }
                // The first change of a movie also records the version the load wrote.
                try connection.execute("""
                    INSERT INTO dim_movie_history (movie_key, movie_id, title, release_year, genres, valid_from, valid_to, is_current)
                    SELECT movie_key, movie_id, title, release_year, genres, \(loadStarted), NULL, true FROM dim_movie
                    WHERE movie_key = $1 AND NOT EXISTS (SELECT 1 FROM dim_movie_history h WHERE h.movie_key = $1)
                    """, [String(old.key)])
                try connection.execute("UPDATE dim_movie_history SET valid_to = now(), is_current = false WHERE movie_key = $1 AND is_current",
                                       [String(old.key)])
                try connection.execute("""
                    INSERT INTO dim_movie_history (movie_key, movie_id, title, release_year, genres, valid_from, valid_to, is_current)
                    VALUES ($1, $2, $3, $4, $5, now(), NULL, true)
                    """, [String(old.key), String(r.id), r.title, r.year.map(String.init), format == .movielens ? genres : old.genres])
                try connection.execute("UPDATE dim_movie SET title = $2, release_year = $3, genres = $4 WHERE movie_key = $1",
                                       [String(old.key), r.title, r.year.map(String.init), format == .movielens ? genres : old.genres])
                changed += 1
            }
            try connection.execute("""
                INSERT INTO etl_append_file (path, kind, fingerprint, rows_total, rows_done, new_movies, done, finished_at)
                VALUES ($1, 'titles', $2::jsonb, $3, $3, $4, true, now())
                """, [url.path, try JSON.text(fingerprint), String(records.count), String(added)])
            logger.info("\(url.lastPathComponent): \(added) new movies, \(changed) changed titles")
            return (added, changed)
        }
    }
}
