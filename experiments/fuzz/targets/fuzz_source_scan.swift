// Fuzz target: the block-level scan, SourceScanner.scan (Sources/Warehouse/Scan.swift)
// over real files: a titles file plus 1–3 rating files.
//
// Input: byte 0 = control (bit 0: 0 Netflix, 1 MovieLens; bits 1–2: --max-rejects
// 0, 1, 3 or 1 000 000), then the files separated by 0x00 bytes:
//   Netflix:   movie_titles.csv \0 combined_data_1.txt [\0 combined_data_2.txt [\0 combined_data_3.txt]]
//   MovieLens: movies.csv \0 ratings.csv (later 0x00 bytes stay in ratings.csv)
//
// Properties:
// - no crash, no error other than InputError;
// - the catalog is consistent (keys, counts, dates, rejects ≤ max);
// - --max-rejects is exact: a scan that skipped r lines succeeds with exactly r
//   allowed and gives the same catalog, and with r − 1 stops on the r-th;
// - Netflix, several files: the parallel per-file scan equals a sequential scan
//   of one file holding all of them (when each later file opens with a `MovieID:`
//   header, the two are the same input), with line numbers mapped.
import Foundation

private struct Digest: Equatable, CustomStringConvertible {
    var movies: [Int64]
    var customers: [Int64]
    var keys: [Int32], first: [Int32], last: [Int32], count: [Int32]
    var minDate: Int32, maxDate: Int32
    var total: Int
    var rejects: [String]
    var description: String {
        "movies \(movies) customers \(customers) keys \(keys) count \(count) first \(first) last \(last) dates \(minDate)…\(maxDate) total \(total)\n  rejects \(rejects)"
    }
}

private enum Outcome: Equatable, CustomStringConvertible {
    case ok(Digest)
    case stopped(String)
    var description: String {
        switch self {
        case .ok(let d): return "ok: \(d)"
        case .stopped(let e): return "stopped: \(e)"
        }
    }
}

/// Reasons name other lines ("the first is at f:12", "block at line 7"); those numbers depend on the file split.
private func normalized(_ reason: String) -> String {
    var r = reason
    for marker in [" (the first is at", " block at line", " (first at", " (first on line"] {
        if let range = r.range(of: marker) { r = String(r[..<range.lowerBound]) + marker + " …" }
    }
    return r
}

private func digest(_ c: SourceCatalog, place: (String, Int) -> String) -> Digest {
    Digest(movies: c.movies.map(\.id), customers: c.customerIndex.ids, keys: c.customerKey, first: c.firstDate,
           last: c.lastDate, count: c.ratingCount, minDate: c.minDate, maxDate: c.maxDate, total: c.totalRatings,
           rejects: c.rejects.map { "\(place($0.file, $0.line)) \(normalized($0.reason)) | \($0.text)" })
}

private func scan(_ set: SourceSet, maxRejects: Int) -> Result<SourceCatalog, InputError> {
    do {
        return .success(try SourceScanner(maxRejects: maxRejects).scan(set))
    } catch let error as InputError {
        return .failure(error)
    } catch {
        Fuzz.check(false, "scan-error-type", "scan threw a non-InputError: \(type(of: error)) \(error)")
        fatalError()
    }
}

private func outcome(_ r: Result<SourceCatalog, InputError>, place: (String, Int) -> String) -> Outcome {
    switch r {
    case .success(let c): return .ok(digest(c, place: place))
    case .failure(let e): return .stopped("\(place(e.file, e.line)) \(normalized(e.problem))")
    }
}

private func checkCatalog(_ c: SourceCatalog, maxRejects: Int, lineCounts: [String: Int]) {
    let n = c.customerIndex.ids.count
    Fuzz.check(c.customerKey.count == n && c.firstDate.count == n && c.lastDate.count == n && c.ratingCount.count == n,
               "scan-catalog", "per-customer arrays differ in length")
    Fuzz.check(c.rejects.count <= maxRejects, "scan-catalog", "\(c.rejects.count) rejects > --max-rejects \(maxRejects)")
    Fuzz.check(c.totalRatings == c.ratingCount.reduce(0) { $0 + Int($1) }, "scan-catalog",
               "files say \(c.totalRatings) ratings, customers \(c.ratingCount.reduce(0) { $0 + Int($1) })")
    // Keys: 1…k over the customers with ratings, in id order; 0 for the others.
    let rated = (0..<n).filter { c.ratingCount[$0] > 0 }.sorted { c.customerIndex.ids[$0] < c.customerIndex.ids[$1] }
    for (rank, i) in rated.enumerated() {
        Fuzz.check(c.customerKey[i] == Int32(rank + 1), "scan-catalog", "customer \(c.customerIndex.ids[i]) has key \(c.customerKey[i]), expected \(rank + 1)")
        Fuzz.check(c.firstDate[i] <= c.lastDate[i] && c.minDate <= c.firstDate[i] && c.lastDate[i] <= c.maxDate,
                   "scan-catalog", "customer \(c.customerIndex.ids[i]) dates \(c.firstDate[i])…\(c.lastDate[i]) outside \(c.minDate)…\(c.maxDate)")
    }
    for i in 0..<n where c.ratingCount[i] == 0 {
        Fuzz.check(c.customerKey[i] == 0, "scan-catalog", "customer without ratings has key \(c.customerKey[i])")
    }
    for (i, id) in c.customerIndex.ids.enumerated() {
        Fuzz.check(c.customerIndex.find(id) == Int32(i), "scan-catalog", "IDIndex.find(\(id)) = \(String(describing: c.customerIndex.find(id))), expected \(i)")
    }
    Fuzz.check(Set(c.customerIndex.ids).count == n, "scan-catalog", "a customer id twice in the index")
    for (i, m) in c.movies.enumerated() {
        Fuzz.check(c.movieIndex.find(m.id) == Int32(i), "scan-catalog", "movie \(m.id) not at its index")
        if i > 0 { Fuzz.check(c.movies[i - 1].id < m.id, "scan-catalog", "movies not sorted by id / repeated") }
    }
    for f in c.files {
        if let expected = lineCounts[f.name] {
            Fuzz.check(f.lines == expected, "scan-line-count", "\(f.name): scan counted \(f.lines) lines, the file has \(expected)")
        }
    }
    if c.totalRatings == 0 {
        Fuzz.check(rated.isEmpty, "scan-catalog", "customers with ratings but no ratings")
    }
}

/// Lines as MappedFile.forEachLine numbers them.
private func lineCount(_ bytes: [UInt8]) -> Int { bytes.withUnsafeBytes { Fuzz.lines($0).count } }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSourceScan(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let control = data[0]
    let format: SourceFormat = control & 1 == 0 ? .netflix : .movielens
    let maxRejects = [0, 1, 3, 1_000_000][Int(control >> 1) & 3]
    let parts = Fuzz.parts(UnsafeRawBufferPointer(start: data + 1, count: size - 1), maxParts: format == .netflix ? 4 : 2)
    let titles = parts[0]
    let ratingParts = parts.count > 1 ? Array(parts[1...]) : [[]]

    let set: SourceSet
    var names: [String] = []
    switch format {
    case .netflix:
        let titlesURL = Fuzz.write(titles, to: "movie_titles.csv")
        var urls: [URL] = []
        for (i, part) in ratingParts.enumerated() {
            names.append("combined_data_\(i + 1).txt")
            urls.append(Fuzz.write(part, to: names[i]))
        }
        set = SourceSet(format: .netflix, directory: URL(fileURLWithPath: Fuzz.directory), ratingFiles: urls, titlesFile: titlesURL, probeFile: nil)
    case .movielens:
        let titlesURL = Fuzz.write(titles, to: "movies.csv")
        names = ["ratings.csv"]
        let ratings = Fuzz.write(ratingParts[0], to: "ratings.csv")
        set = SourceSet(format: .movielens, directory: URL(fileURLWithPath: Fuzz.directory), ratingFiles: [ratings], titlesFile: titlesURL, probeFile: nil)
    }
    var lineCounts: [String: Int] = [:]
    for (name, part) in zip(names, ratingParts) { lineCounts[name] = lineCount(part) }

    // Known finding (findings/source_scan-parallel-stop-before-reopen.bin): with a movie
    // block reopening in a later file, the parallel scan stops for too many rejects
    // before it notices the reopening, so it names a later line than a sequential scan.
    // RECSYS_FUZZ_IGNORE=scan-parallel-reopen-stop skips the checks such a stop would fail.
    var reopens = false
    if format == .netflix, ratingParts.count >= 2, !Fuzz.enabled("scan-parallel-reopen-stop") {
        var openedIn: [Int64: Int] = [:]
        for (i, part) in ratingParts.enumerated() {
            part.withUnsafeBytes { raw in
                for line in Fuzz.lines(raw) {
                    if case .movieHeader(let id) = RatingLineParser.netflix(line, movie: nil) {
                        if let j = openedIn[id], j != i { reopens = true }
                        openedIn[id] = i
                    }
                }
            }
        }
    }
    func known(_ r: Result<SourceCatalog, InputError>) -> Bool {
        if reopens, case .failure(let e) = r, e.hint != nil { return true }
        return false
    }

    let first = scan(set, maxRejects: maxRejects)
    if known(first) { return 0 }
    let identity: (String, Int) -> String = { "\($0):\($1)" }

    // --max-rejects is exact.
    switch first {
    case .success(let catalog):
        checkCatalog(catalog, maxRejects: maxRejects, lineCounts: lineCounts)
        let r = catalog.rejects.count
        if r < maxRejects {
            let again = scan(set, maxRejects: r)
            Fuzz.check(outcome(again, place: identity) == outcome(first, place: identity), "scan-max-rejects-exact",
                       "with --max-rejects \(maxRejects): \(outcome(first, place: identity))\nwith exactly \(r): \(outcome(again, place: identity))")
        }
        if r > 0 {
            let last = catalog.rejects[r - 1]
            let fewer = scan(set, maxRejects: r - 1)
            if known(fewer) {
            } else if case .failure(let e) = fewer {
                Fuzz.check(e.file == last.file && e.line == last.line, "scan-max-rejects-stop",
                           "with --max-rejects \(r - 1) the scan stopped at \(e.file):\(e.line) (\(e.problem)), not at the \(r)th reject \(last.file):\(last.line)")
            } else {
                Fuzz.check(false, "scan-max-rejects-stop", "\(r) lines rejected, yet --max-rejects \(r - 1) succeeds")
            }
        }
        // A line that ends with ':' but is no valid `MovieID:` header is rejected; the
        // rating lines under it belong to that unknown movie, so they must be rejected
        // too, not credited to the block before it.
        if format == .netflix, Fuzz.enabled("scan-garbled-header-block") {
            let rejected = Set(catalog.rejects.map { "\($0.file):\($0.line)" })
            for (name, part) in zip(names, ratingParts) {
                part.withUnsafeBytes { raw in
                    var garbledAt: Int? = nil
                    var open = false
                    for (i, line) in Fuzz.lines(raw).enumerated() {
                        switch RatingLineParser.netflix(line, movie: open ? 1 : nil) {
                        case .movieHeader: garbledAt = nil; open = true
                        case .bad where line.last == UInt8(ascii: ":"): garbledAt = i + 1
                        case .rating:
                            if let at = garbledAt {
                                Fuzz.check(rejected.contains("\(name):\(i + 1)"), "scan-garbled-header-block",
                                           "\(name):\(i + 1) follows the bad header at line \(at) but was accepted into the block before it")
                            }
                        default: break
                        }
                    }
                }
            }
        }
    case .failure(let error):
        if error.hint != nil, maxRejects < 1_000_000 {
            // A stop for too many rejects: with room for them all, the line it stopped at is reject number maxRejects + 1.
            if case .success(let catalog) = scan(set, maxRejects: 1_000_000) {
                Fuzz.check(catalog.rejects.count > maxRejects, "scan-max-rejects-stop",
                           "stopped at \(error.file):\(error.line) with --max-rejects \(maxRejects), but only \(catalog.rejects.count) rejects with room")
                if catalog.rejects.count > maxRejects {
                    let r = catalog.rejects[maxRejects]
                    Fuzz.check(r.file == error.file && r.line == error.line, "scan-max-rejects-stop",
                               "stopped at \(error.file):\(error.line) with --max-rejects \(maxRejects); reject #\(maxRejects + 1) with room is \(r.file):\(r.line)")
                }
            }
        }
    }

    // Parallel (several files) against sequential (one concatenated file).
    guard format == .netflix, ratingParts.count >= 2, Fuzz.enabled("scan-parallel-vs-sequential") else { return 0 }
    for part in ratingParts.dropFirst() {
        guard let headerLine = part.withUnsafeBytes({ Fuzz.lines($0, skipBOM: false).first.map(Array.init) }) else { return 0 }
        let isHeader = headerLine.withUnsafeBytes { line -> Bool in
            if case .movieHeader = RatingLineParser.netflix(line, movie: nil) { return true }
            return false
        }
        guard isHeader else { return 0 }
    }
    var all: [UInt8] = []
    var offset: [String: Int] = [:]
    var lines = 0
    for (name, part) in zip(names, ratingParts) {
        offset[name] = lines
        let skip = all.isEmpty && part.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        if part.count > skip {
            all += part
            if part.last != 0x0A { all.append(0x0A) }
        }
        lines += lineCount(part)
    }
    let allURL = Fuzz.write(all, to: "combined_all.txt")
    let sequentialSet = SourceSet(format: .netflix, directory: set.directory, ratingFiles: [allURL], titlesFile: set.titlesFile, probeFile: nil)
    let sequential = scan(sequentialSet, maxRejects: maxRejects)
    if known(sequential) { return 0 }
    let mapParallel: (String, Int) -> String = { file, line in offset[file].map { "all:\($0 + line)" } ?? "\(file):\(line)" }
    let mapSequential: (String, Int) -> String = { file, line in file == "combined_all.txt" ? "all:\(line)" : "\(file):\(line)" }
    let a = outcome(first, place: mapParallel), b = outcome(sequential, place: mapSequential)
    // An empty later file is refused as a whole; the concatenation cannot show that.
    if ratingParts.contains(where: \.isEmpty) { return 0 }
    Fuzz.check(a == b, "scan-parallel-vs-sequential", "\(ratingParts.count) files (--max-rejects \(maxRejects)):\n  \(a)\none file:\n  \(b)")
    return 0
}
