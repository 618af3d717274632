import Foundation

/// What a dataset's files say, read naively (whole files, String splitting)
/// and independently of the loader's parsers, to check loads against.
public struct SourceTruth {
    public struct Customer: Equatable {
        public var count = 0
        public var first = ""
        public var last = ""

        public init(count: Int, first: String, last: String) {
            self.count = count
            self.first = first
            self.last = last
        }
    }

    public var ratings = 0
    /// Sum of ratings × 2 (half stars), exact.
    public var halfStarSum = 0
    public var perMovie: [Int: Int] = [:]
    public var customers: [Int: Customer] = [:]
    public var minDate = "9999-99-99"
    public var maxDate = "0000-00-00"
    public var movies = 0

    mutating func add(customer: Int, movie: Int, halfStars: Int, date: String) {
        ratings += 1
        halfStarSum += halfStars
        perMovie[movie, default: 0] += 1
        var c = customers[customer] ?? Customer(count: 0, first: date, last: date)
        c.count += 1
        c.first = min(c.first, date)
        c.last = max(c.last, date)
        customers[customer] = c
        minDate = min(minDate, date)
        maxDate = max(maxDate, date)
    }

    public static func netflix(_ folder: URL) throws -> SourceTruth {
        var truth = SourceTruth()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("combined_data_") }.sorted()
        for name in names {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            var movie = 0
            for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
                let line = raw.trimmingCharacters(in: CharacterSet(charactersIn: "\r\u{FEFF}"))
                if line.isEmpty { continue }
                if line.hasSuffix(":") { movie = Int(line.dropLast())!; continue }
                let f = line.split(separator: ",")
                truth.add(customer: Int(f[0])!, movie: movie, halfStars: Int(f[1])! * 2, date: String(f[2]))
            }
        }
        let titles = try Data(contentsOf: folder.appendingPathComponent("movie_titles.csv"))
        truth.movies = titles.split(separator: UInt8(ascii: "\n")).filter { !$0.isEmpty }.count
        return truth
    }

    public static func movieLens(_ folder: URL) throws -> SourceTruth {
        var truth = SourceTruth()
        let text = try String(contentsOf: folder.appendingPathComponent("ratings.csv"), encoding: .utf8)
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        for (i, raw) in text.split(separator: "\n").enumerated() where i > 0 {
            let f = raw.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
            guard f.count == 4 else { continue }
            let seconds = TimeInterval(f[3])!
            truth.add(customer: Int(f[0])!, movie: Int(f[1])!, halfStars: Int((Double(f[2])! * 2).rounded()),
                      date: formatter.string(from: Date(timeIntervalSince1970: seconds)))
        }
        let movies = try String(contentsOf: folder.appendingPathComponent("movies.csv"), encoding: .utf8)
        truth.movies = movies.split(separator: "\n").count - 1
        return truth
    }
}
