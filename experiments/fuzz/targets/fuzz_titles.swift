// Fuzz target: TitlesReader (Sources/Warehouse/SourceReaders.swift) on a real
// file, both layouts: Netflix movie_titles.csv (ISO-8859-1, or UTF-8 after a
// BOM) and MovieLens movies.csv (RFC 4180, UTF-8).
//
// Properties: no crash; only InputError is thrown; every movie has a unique
// id in 1…maxID, a non-empty title without NUL and without a U+FFFD the file
// did not spell; a Netflix year is NULL or 1800…2100; a MovieLens year comes
// from a trailing "(YYYY)" of four ASCII digits; rejected lines are not movies.
import Foundation

private func run(_ body: (@escaping TitlesReader.Reject) throws -> [MovieRecord]) -> (movies: [MovieRecord]?, rejected: [Int]) {
    var rejected: [Int] = []
    do {
        let movies = try body { line, _, reason in
            Fuzz.check(!reason.isEmpty, "titles-reject-reason", "empty reject reason")
            rejected.append(line)
        }
        return (movies, rejected)
    } catch is InputError {
        return (nil, rejected)
    } catch {
        Fuzz.check(false, "titles-error-type", "threw a non-InputError: \(type(of: error)) \(error)")
        fatalError()
    }
}

private func common(_ movies: [MovieRecord], rejected: [Int], fileHasFFFD: Bool, layout: String) {
    var seen = Set<Int64>()
    for m in movies {
        Fuzz.check((1...RatingLineParser.maxID).contains(m.id), "titles-id", "\(layout): id \(m.id)")
        Fuzz.check(seen.insert(m.id).inserted, "titles-id", "\(layout): id \(m.id) twice")
        Fuzz.check(!m.title.trimmingCharacters(in: .whitespaces).isEmpty, "titles-empty", "\(layout): empty title on line \(m.line)")
        Fuzz.check(!m.title.unicodeScalars.contains("\u{0}") && !(m.genres ?? "").unicodeScalars.contains("\u{0}"),
                   "titles-nul", "\(layout): NUL in the movie of line \(m.line)")
        Fuzz.check(fileHasFFFD || !(m.title + (m.genres ?? "")).unicodeScalars.contains("\u{FFFD}"), "titles-replacement-char",
                   "\(layout): U+FFFD in line \(m.line)'s movie \(m.title.debugDescription), not in the file")
        Fuzz.check(!rejected.contains(m.line), "titles-rejected-is-movie", "\(layout): line \(m.line) rejected and read")
    }
    Fuzz.check(zip(movies, movies.dropFirst()).allSatisfy { $0.line < $1.line }, "titles-line-order", "\(layout): lines out of order")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTitles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let hasFFFD = size >= 3 && (0..<(size - 2)).contains { bytes[$0] == 0xEF && bytes[$0 + 1] == 0xBF && bytes[$0 + 2] == 0xBD }
    let url = Fuzz.write(bytes, to: "titles.csv")
    guard let file = try? MappedFile(url) else { Fuzz.check(false, "titles-map", "cannot map"); return 0 }

    let netflix = run { try TitlesReader.netflix(file, reject: $0) }
    if let movies = netflix.movies {
        common(movies, rejected: netflix.rejected, fileHasFFFD: hasFFFD, layout: "netflix")
        for m in movies {
            Fuzz.check(m.year.map { (1800...2100).contains($0) } ?? true, "titles-netflix-year", "year \(m.year!) on line \(m.line)")
        }
    }

    let movieLens = run { try TitlesReader.movieLens(file, reject: $0) }
    if let movies = movieLens.movies {
        common(movies, rejected: movieLens.rejected, fileHasFFFD: hasFFFD, layout: "movielens")
        if Fuzz.enabled("titles-movielens-year"), movies.contains(where: { $0.year != nil }) {
            // The title field as the CSV reader saw it, to see what the year was written as.
            var text = String(decoding: bytes, as: UTF8.self)
            if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
            let fields = (try? CSV.parse(text, file: "titles.csv")).map { Dictionary($0.map { ($0.line, $0.fields) }, uniquingKeysWith: { a, _ in a }) } ?? [:]
            for m in movies {
                guard let year = m.year, let title = fields[m.line]?[1].trimmingCharacters(in: .whitespaces) else { continue }
                let inside = title.dropLast().suffix(4)
                Fuzz.check(title.hasSuffix(")") && inside.utf8.count == 4 && inside.utf8.allSatisfy { (0x30...0x39).contains($0) }
                           && Int(inside) == year, "titles-movielens-year",
                           "line \(m.line): title field \(title.debugDescription) gave year \(year), not from four digits in parentheses")
            }
        }
    }
    return 0
}
