// Fuzz target: RatingLineParser (Sources/Warehouse/SourceReaders.swift), both
// layouts, line by line, against an independent oracle of each grammar.
//   Netflix:   `MovieID:`  |  `CustomerID,Rating,YYYY-MM-DD`
//   MovieLens: `userId,movieId,rating,timestamp` (header allowed on line 1)
import Foundation
import Runtime
#if canImport(Glibc)
import Glibc
#endif

private let maxID = RatingLineParser.maxID

/// 1…15 ASCII digits, value > 0 (or >= 0).
private func oracleID(_ b: ArraySlice<UInt8>, allowZero: Bool = false) -> Int64? {
    guard (1...15).contains(b.count), b.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
    let v = b.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
    return v > 0 || allowZero ? v : nil
}

private func oracleDaysIn(_ y: Int, _ m: Int) -> Int {
    if m == 2 { return (y % 400 == 0 || (y % 4 == 0 && y % 100 != 0)) ? 29 : 28 }
    return [4, 6, 9, 11].contains(m) ? 30 : 31
}

/// `YYYY-MM-DD`, 1900…2099, calendar-checked → yyyymmdd.
private func oracleDate(_ b: ArraySlice<UInt8>) -> Int32? {
    let a = Array(b)
    guard a.count == 10, a[4] == 0x2D, a[7] == 0x2D else { return nil }
    func num(_ r: Range<Int>) -> Int? {
        guard a[r].allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return a[r].reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
    guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10),
          (1900...2099).contains(y), (1...12).contains(m), (1...oracleDaysIn(y, m)).contains(d) else { return nil }
    return Int32(y * 10000 + m * 100 + d)
}

private func oracleNetflix(_ line: [UInt8], movie: Int64?) -> RatingLine? {
    if line.isEmpty { return .blank }
    if line.last == 0x3A {
        guard let id = oracleID(line.dropLast()) else { return nil }
        return .movieHeader(id)
    }
    guard let movie else { return nil }
    let f = line.split(separator: 0x2C, omittingEmptySubsequences: false)
    guard f.count == 3, let customer = oracleID(f[0]), f[1].count == 1, let r = f[1].first, (0x31...0x35).contains(r),
          let date = oracleDate(f[2]) else { return nil }
    return .rating(RatingRecord(customerID: customer, movieID: movie, dateKey: date, halfStars: (r - 0x30) * 2))
}

/// `d`, `d.0`, `d.5`, `d.00`, `d.50`, 0.5 … 5.0.
private func oracleHalfStars(_ b: ArraySlice<UInt8>) -> UInt8? {
    let a = Array(b)
    guard !a.isEmpty, a.count <= 4, (0x30...0x35).contains(a[0]) else { return nil }
    var half = (a[0] - 0x30) * 2
    if a.count > 1 {
        guard a.count >= 3, a[1] == 0x2E else { return nil }
        if a[2] == 0x35 { half += 1 } else if a[2] != 0x30 { return nil }
        if a.count == 4, a[3] != 0x30 { return nil }
    }
    return (1...10).contains(half) ? half : nil
}

private func oracleUnixDate(_ seconds: Int64) -> Int32? {
    var t = time_t(seconds)
    var parts = tm()
    guard gmtime_r(&t, &parts) != nil else { return nil }
    let y = Int(parts.tm_year) + 1900
    guard (1900...2099).contains(y) else { return nil }
    return Int32(y * 10000 + Int(parts.tm_mon + 1) * 100 + Int(parts.tm_mday))
}

private func oracleMovieLens(_ line: [UInt8], lineNumber: Int) -> RatingLine? {
    if line.isEmpty { return .blank }
    if lineNumber == 1, !(0x30...0x39).contains(line[0]) {
        return line == Array("userId,movieId,rating,timestamp".utf8) ? .columnNames : nil
    }
    let f = line.split(separator: 0x2C, omittingEmptySubsequences: false)
    guard f.count == 4, let user = oracleID(f[0]), let movie = oracleID(f[1]), let half = oracleHalfStars(f[2]),
          let seconds = oracleID(f[3], allowZero: true), let date = oracleUnixDate(seconds) else { return nil }
    return .rating(RatingRecord(customerID: user, movieID: movie, dateKey: date, halfStars: half))
}

/// The parser's answer with `.bad`'s text dropped (the oracle says only "bad": nil).
private func strip(_ r: RatingLine) -> RatingLine? {
    if case .bad(let text) = r {
        Fuzz.check(!text.isEmpty, "rating-line-bad-message", "empty error text")
        return nil
    }
    return r
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRatingLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var movie: Int64? = nil
    for (i, line) in Fuzz.lines(bytes).enumerated() {
        let number = i + 1
        let array = Array(line)
        let show = String(decoding: array.prefix(80), as: UTF8.self).debugDescription

        // Netflix, outside any block and inside the block opened so far.
        let outside = RatingLineParser.netflix(line, movie: nil)
        Fuzz.check(strip(outside) == oracleNetflix(array, movie: nil), "rating-line-netflix-oracle",
                   "netflix(\(show), movie: nil) = \(outside), oracle \(String(describing: oracleNetflix(array, movie: nil)))")
        let inside = RatingLineParser.netflix(line, movie: movie ?? 1)
        let expected = oracleNetflix(array, movie: movie ?? 1)
        Fuzz.check(strip(inside) == expected, "rating-line-netflix-oracle",
                   "netflix(\(show), movie: \(movie ?? 1)) = \(inside), oracle \(String(describing: expected))")
        if case .movieHeader(let id) = inside {
            Fuzz.check((1...maxID).contains(id), "rating-line-id-range", "header id \(id)")
            movie = id
        }
        if case .rating(let r) = inside {
            // A canonical rewrite of the record parses to the same record.
            let text = Array("\(r.customerID),\(r.halfStars / 2),\(CivilDate(key: r.dateKey).iso)".utf8)
            let again = text.withUnsafeBytes { RatingLineParser.netflix($0, movie: r.movieID) }
            Fuzz.check(again == .rating(r), "rating-line-netflix-roundtrip", "\(show) → \(r) → \(again)")
        }

        // MovieLens, as line `number` and as a later line.
        for n in Set([number, 2]) {
            let got = RatingLineParser.movieLens(line, lineNumber: n)
            let want = oracleMovieLens(array, lineNumber: n)
            Fuzz.check(strip(got) == want, "rating-line-movielens-oracle",
                       "movieLens(\(show), lineNumber: \(n)) = \(got), oracle \(String(describing: want))")
        }
    }
    return 0
}
