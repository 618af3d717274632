import Foundation
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// A source file mapped into memory, read-only. Rating files are read front
/// to back; resuming starts at a byte offset, which a map makes free.
final class MappedFile {
    let url: URL
    let bytes: UnsafeRawBufferPointer
    private let map: MemoryMap

    init(_ url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            throw InputError(file: url.path, line: 0, problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        do {
            map = try MemoryMap(descriptor: fd, size: Int(info.st_size), access: .read(sequential: true))
        } catch {
            throw InputError(file: url.path, line: 0, problem: "\(error)")
        }
        bytes = map.bytes
    }

    var name: String { url.lastPathComponent }

    /// Calls `body` with each line from `offset` on, without its line end
    /// (`\n` or `\r\n`); a UTF-8 byte-order mark at the start of the file and a
    /// missing final newline are accepted. `body` gets the line, its 1-based
    /// number and the offset of the next line, and returns false to stop.
    @inline(__always)
    func forEachLine(from offset: Int, firstLine: Int,
                     _ body: (UnsafeRawBufferPointer, Int, Int) throws -> Bool) rethrows {
        guard let base = bytes.baseAddress else { return }
        let end = bytes.count
        var position = offset
        if position == 0, end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }
        var lineNumber = firstLine
        while position < end {
            let remaining = end - position
            let found = memchr(base + position, 0x0A, remaining)
            let lineEnd = found.map { base.distance(to: UnsafeRawPointer($0)) } ?? end
            var contentEnd = lineEnd
            if contentEnd > position, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            lineNumber += 1
            let next = found == nil ? end : lineEnd + 1
            let line = UnsafeRawBufferPointer(start: base + position, count: contentEnd - position)
            if try !body(line, lineNumber, next) { return }
            position = next
        }
    }
}

/// Renders a source line for an error message: lossy UTF-8, no control bytes, shortened.
func printable(_ line: UnsafeRawBufferPointer, limit: Int = 200) -> String {
    let text = String(decoding: line.prefix(limit * 2), as: UTF8.self)
        .map { $0.isASCII && ($0.asciiValue! < 0x20 || $0.asciiValue! == 0x7F) ? "?" : String($0) }.joined()
    return text.count > limit ? String(text.prefix(limit)) + "…" : text
}

/// One rating as the source states it, before keys are assigned.
struct RatingRecord: Equatable {
    var customerID: Int64
    var movieID: Int64
    /// yyyymmdd.
    var dateKey: Int32
    /// The rating times two: 1 … 10 (0.5 … 5.0 stars).
    var halfStars: UInt8
}

/// What one line of a rating file says.
enum RatingLine: Equatable {
    /// An empty line; skipped.
    case blank
    /// A CSV header row; skipped.
    case columnNames
    /// Netflix `MovieID:` — opens the block of one movie's ratings.
    case movieHeader(Int64)
    /// A rating. Netflix lines take their movie from the open block.
    case rating(RatingRecord)
    /// A line that breaks the format; the text says how.
    case bad(String)
}

/// Strict, allocation-free parsers of the two rating-file layouts.
enum RatingLineParser {
    static let maxID: Int64 = 999_999_999_999_999   // 15 digits; bigint holds it, arithmetic never overflows

    /// Netflix `combined_data_*.txt`: `MovieID:` or `CustomerID,Rating,YYYY-MM-DD`.
    @inline(__always)
    static func netflix(_ line: UnsafeRawBufferPointer, movie: Int64?) -> RatingLine {
        let n = line.count
        if n == 0 { return .blank }
        if line[n - 1] == UInt8(ascii: ":") {
            guard let id = parseID(line, 0, n - 1) else {
                return .bad("MovieID header '\(printable(line))' is not a positive whole number followed by ':'")
            }
            return .movieHeader(id)
        }
        guard let movie else {
            return .bad("a rating line before any 'MovieID:' header")
        }
        guard let c1 = index(of: UInt8(ascii: ","), in: line, from: 0) else {
            return .bad("expected CustomerID,Rating,YYYY-MM-DD but found no comma (truncated or garbled line)")
        }
        guard let c2 = index(of: UInt8(ascii: ","), in: line, from: c1 + 1) else {
            return .bad("expected CustomerID,Rating,YYYY-MM-DD but found 2 fields (truncated line?)")
        }
        guard let customer = parseID(line, 0, c1) else {
            return .bad("customer id '\(field(line, 0, c1))' is not a positive whole number")
        }
        guard c2 == c1 + 2, (UInt8(ascii: "1")...UInt8(ascii: "5")).contains(line[c1 + 1]) else {
            return .bad("rating '\(field(line, c1 + 1, c2))' is not one of 1, 2, 3, 4, 5")
        }
        let stars = line[c1 + 1] - UInt8(ascii: "0")
        if index(of: UInt8(ascii: ","), in: line, from: c2 + 1) != nil {
            return .bad("expected 3 fields CustomerID,Rating,YYYY-MM-DD but found more")
        }
        guard let date = parseISODate(line, c2 + 1, n) else {
            return .bad("date '\(field(line, c2 + 1, n))' is not a valid YYYY-MM-DD date between 1900 and 2099")
        }
        return .rating(RatingRecord(customerID: customer, movieID: movie, dateKey: date, halfStars: stars * 2))
    }

    /// MovieLens `ratings.csv`: `userId,movieId,rating,timestamp` (header row
    /// allowed on line 1), half-star ratings, unix seconds.
    static func movieLens(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> RatingLine {
        let n = line.count
        if n == 0 { return .blank }
        if lineNumber == 1, line.first.map({ !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) == true {
            return printable(line) == "userId,movieId,rating,timestamp" ? .columnNames
                : .bad("expected the header userId,movieId,rating,timestamp, found '\(printable(line))'")
        }
        var commas: [Int] = []
        commas.reserveCapacity(3)
        var i = 0
        while let c = index(of: UInt8(ascii: ","), in: line, from: i) {
            commas.append(c)
            i = c + 1
            if commas.count > 3 { break }
        }
        guard commas.count == 3 else {
            return .bad("expected 4 fields userId,movieId,rating,timestamp but found \(commas.count + 1)\(commas.count < 3 ? " (truncated line?)" : "")")
        }
        guard let user = parseID(line, 0, commas[0]) else {
            return .bad("userId '\(field(line, 0, commas[0]))' is not a positive whole number")
        }
        guard let movie = parseID(line, commas[0] + 1, commas[1]) else {
            return .bad("movieId '\(field(line, commas[0] + 1, commas[1]))' is not a positive whole number")
        }
        guard let half = parseHalfStars(line, commas[1] + 1, commas[2]) else {
            return .bad("rating '\(field(line, commas[1] + 1, commas[2]))' is not a half star between 0.5 and 5.0")
        }
        guard let seconds = parseID(line, commas[2] + 1, n, allowZero: true),
              let date = dateKey(unixSeconds: seconds) else {
            return .bad("timestamp '\(field(line, commas[2] + 1, n))' is not unix seconds between 1900 and 2099")
        }
        return .rating(RatingRecord(customerID: user, movieID: movie, dateKey: date, halfStars: half))
    }

    // MARK: - fields

    @inline(__always)
    static func index(of byte: UInt8, in line: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        while i < line.count {
            if line[i] == byte { return i }
            i += 1
        }
        return nil
    }

    static func field(_ line: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> String {
        printable(UnsafeRawBufferPointer(rebasing: line[from..<to]), limit: 40)
    }

    @inline(__always)
    static func parseID(_ line: UnsafeRawBufferPointer, _ from: Int, _ to: Int, allowZero: Bool = false) -> Int64? {
        guard to > from, to - from <= 15 else { return nil }
        var value: Int64 = 0
        var i = from
        while i < to {
            let digit = line[i] &- UInt8(ascii: "0")
            if digit > 9 { return nil }
            value = value * 10 + Int64(digit)
            i += 1
        }
        return value > 0 || allowZero ? value : nil
    }

    /// "4", "4.0", "4.5", "0.5" → 8, 8, 9, 1.
    static func parseHalfStars(_ line: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> UInt8? {
        guard to > from, to - from <= 4 else { return nil }
        let whole = line[from] &- UInt8(ascii: "0")
        guard whole <= 5 else { return nil }
        var half = whole * 2
        if to - from > 1 {
            guard line[from + 1] == UInt8(ascii: "."), to - from >= 3 else { return nil }
            let tenths = line[from + 2] &- UInt8(ascii: "0")
            if to - from == 4 { guard line[from + 3] == UInt8(ascii: "0") else { return nil } }
            if tenths == 5 { half += 1 } else if tenths != 0 { return nil }
        }
        return (1...10).contains(half) ? half : nil
    }

    /// `YYYY-MM-DD` → yyyymmdd, calendar-checked.
    @inline(__always)
    static func parseISODate(_ line: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int32? {
        guard to - from == 10, line[from + 4] == UInt8(ascii: "-"), line[from + 7] == UInt8(ascii: "-") else { return nil }
        func digits(_ a: Int, _ b: Int) -> Int32? {
            var v: Int32 = 0
            for i in a..<b {
                let d = line[i] &- UInt8(ascii: "0")
                if d > 9 { return nil }
                v = v * 10 + Int32(d)
            }
            return v
        }
        guard let y = digits(from, from + 4), let m = digits(from + 5, from + 7), let d = digits(from + 8, from + 10),
              (1900...2099).contains(y), (1...12).contains(m), d >= 1, d <= CivilDate.daysInMonth(year: Int(y), month: Int(m))
        else { return nil }
        return y * 10000 + m * 100 + d
    }

    static func dateKey(unixSeconds: Int64) -> Int32? {
        let date = CivilDate(daysSinceEpoch: Int(unixSeconds / 86_400))
        guard (1900...2099).contains(date.year) else { return nil }
        return date.key
    }
}

/// A movie as the titles file states it.
struct MovieRecord: Equatable {
    var id: Int64
    var title: String
    var year: Int?
    var genres: String?
    var line: Int
}

/// Reads the titles file of either layout. A line whose bytes cannot be a
/// title (a NUL byte; invalid UTF-8 where the file is UTF-8) goes to `reject`,
/// which counts it against --max-rejects like a bad rating line; the movie it
/// would have named is then unknown.
enum TitlesReader {
    typealias Reject = (_ line: Int, _ text: String, _ reason: String) throws -> Void

    static func read(_ url: URL, format: SourceFormat, reject: Reject) throws -> [MovieRecord] {
        let file = try MappedFile(url)
        switch format {
        case .netflix: return try netflix(file, reject: reject)
        case .movielens: return try movieLens(file, reject: reject)
        }
    }

    /// The reason a line's bytes are unusable as text, if they are: a NUL byte,
    /// or (for UTF-8) a byte sequence that is not UTF-8.
    static func encodingProblem(_ bytes: UnsafeRawBufferPointer, utf8: Bool) -> String? {
        if let nul = bytes.firstIndex(of: 0) { return "holds a NUL byte (at byte \(nul + 1) of the line)" }
        guard utf8 else { return nil }
        if String(validating: bytes, as: UTF8.self) == nil {
            // The first byte where decoding goes wrong, for the message.
            var position = 0
            var iterator = bytes.makeIterator()
            var decoder = Unicode.UTF8()
            var offset = 0
            decode: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar): offset += UTF8.width(scalar)
                case .emptyInput: break decode
                case .error: position = offset; break decode
                }
            }
            return "is not valid UTF-8 (at byte \(position + 1) of the line)"
        }
        return nil
    }

    /// `MovieID,YearOfRelease,Title`, ISO-8859-1, unquoted; the title may hold
    /// commas, so only the first two commas split. A file that opens with a
    /// UTF-8 byte-order mark is UTF-8: the mark says so.
    static func netflix(_ file: MappedFile, reject: Reject) throws -> [MovieRecord] {
        let utf8 = file.bytes.count >= 3 && file.bytes[0] == 0xEF && file.bytes[1] == 0xBB && file.bytes[2] == 0xBF
        var movies: [MovieRecord] = []
        var seen: [Int64: Int] = [:]
        try file.forEachLine(from: 0, firstLine: 0) { line, number, _ in
            if line.isEmpty { return true }
            func fail(_ problem: String) -> InputError {
                InputError(file: file.name, line: number, problem: problem, text: printable(line))
            }
            if let problem = encodingProblem(line, utf8: utf8) {
                try reject(number, printable(line, limit: 1000), "the line " + problem)
                return true
            }
            guard let c1 = RatingLineParser.index(of: UInt8(ascii: ","), in: line, from: 0),
                  let c2 = RatingLineParser.index(of: UInt8(ascii: ","), in: line, from: c1 + 1) else {
                throw fail("expected MovieID,YearOfRelease,Title (truncated line?)")
            }
            guard let id = RatingLineParser.parseID(line, 0, c1) else {
                throw fail("MovieID '\(RatingLineParser.field(line, 0, c1))' is not a positive whole number")
            }
            let yearText = String(decoding: UnsafeRawBufferPointer(rebasing: line[(c1 + 1)..<c2]), as: UTF8.self)
            var year: Int?
            if yearText != "NULL" {
                guard let value = Int(yearText), (1800...2100).contains(value) else {
                    throw fail("YearOfRelease '\(yearText)' is neither a year nor NULL")
                }
                year = value
            }
            let titleBytes = UnsafeRawBufferPointer(rebasing: line[(c2 + 1)...])
            // ISO-8859-1 maps each byte to the code point of the same value.
            let title = utf8 ? String(decoding: titleBytes, as: UTF8.self)
                : String(String.UnicodeScalarView(titleBytes.map { Unicode.Scalar($0) }))
            guard !title.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail("empty title") }
            if let first = seen[id] { throw fail("MovieID \(id) is listed twice (first on line \(first))") }
            seen[id] = number
            movies.append(MovieRecord(id: id, title: title, year: year, genres: nil, line: number))
            return true
        }
        return movies
    }

    /// `movieId,title,genres` with RFC 4180 quoting, UTF-8; the year is the
    /// trailing "(YYYY)" of the title.
    static func movieLens(_ file: MappedFile, reject: Reject) throws -> [MovieRecord] {
        // Lines whose bytes are not text; the records that touch them are rejected below
        // (decoding the whole file would turn them into U+FFFD silently).
        var badLines: [Int: String] = [:]
        file.forEachLine(from: 0, firstLine: 0) { line, number, _ in
            if let problem = encodingProblem(line, utf8: true) { badLines[number] = problem }
            return true
        }
        var text = String(decoding: file.bytes, as: UTF8.self)
        if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
        var records = try CSV.parse(text, file: file.name)
        guard let header = records.first else { return [] }
        guard header.fields.map({ $0.trimmingCharacters(in: .whitespaces) }) == ["movieId", "title", "genres"] else {
            throw InputError(file: file.name, line: header.line, problem: "expected the header movieId,title,genres")
        }
        records.removeFirst()
        var movies: [MovieRecord] = []
        var seen: [Int64: Int] = [:]
        for (i, record) in records.enumerated() {
            if !badLines.isEmpty {
                // A quoted field may span lines: the record covers its lines up to the next record's.
                let end = i + 1 < records.count ? records[i + 1].line : Int.max
                if let bad = badLines.keys.filter({ $0 >= record.line && $0 < end }).min() {
                    try reject(record.line, record.fields.joined(separator: ","),
                               bad == record.line ? "the line \(badLines[bad]!)" : "line \(bad) of this record \(badLines[bad]!)")
                    continue
                }
            }
            if record.fields == [""] { continue }
            func fail(_ problem: String) -> InputError {
                InputError(file: file.name, line: record.line, problem: problem, text: record.fields.joined(separator: ","))
            }
            guard record.fields.count == 3 else { throw fail("expected 3 fields movieId,title,genres, found \(record.fields.count)") }
            guard let id = Int64(record.fields[0]), id > 0, id <= RatingLineParser.maxID else {
                throw fail("movieId '\(record.fields[0])' is not a positive whole number")
            }
            var title = record.fields[1].trimmingCharacters(in: .whitespaces)
            var year: Int?
            if title.hasSuffix(")"), let open = title.lastIndex(of: "(") {
                let inside = title[title.index(after: open)..<title.index(before: title.endIndex)]
                if inside.count == 4, inside.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(inside) {
                    year = value
                    title = title[..<open].trimmingCharacters(in: .whitespaces)
                }
            }
            guard !title.isEmpty else { throw fail("empty title") }
            if let first = seen[id] { throw fail("movieId \(id) is listed twice (first on line \(first))") }
            seen[id] = record.line
            let genres = record.fields[2]
            movies.append(MovieRecord(id: id, title: title, year: year,
                                      genres: genres == "(no genres listed)" ? nil : genres, line: record.line))
        }
        return movies
    }
}

/// RFC 4180 records with the line each starts on.
enum CSV {
    struct Record { var fields: [String]; var line: Int }

    static func parse(_ text: String, file: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var afterQuote = false
        var chars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func endRecord() {
            fields.append(field)
            records.append(Record(fields: fields, line: recordLine))
            fields = []
            field = ""
        }
        while let c = pending ?? chars.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let next = chars.next() {
                        if next == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; afterQuote = true; pending = next }
                    } else { inQuotes = false; afterQuote = true }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case ",":
                fields.append(field); field = ""; afterQuote = false
            case "\r":
                continue
            case "\n":
                endRecord(); afterQuote = false
                line += 1
                recordLine = line
            case "\"":
                if field.isEmpty && !afterQuote { inQuotes = true } else {
                    throw InputError(file: file, line: line, problem: "a quote inside an unquoted field (RFC 4180 wants the field quoted and the quote doubled)")
                }
            default:
                if afterQuote {
                    throw InputError(file: file, line: line, problem: "text after a closing quote")
                }
                field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw InputError(file: file, line: recordLine, problem: "a quoted field is never closed (truncated file?)") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
