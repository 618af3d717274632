import Foundation
import Runtime

/// The layouts `recsys load` reads.
public enum SourceFormat: String, Sendable, Codable, CaseIterable {
    /// Netflix Prize: combined_data_*.txt, movie_titles.csv, probe.txt.
    case netflix
    /// MovieLens: ratings.csv, movies.csv.
    case movielens
}

/// Bad source data: names the file, the line and what is wrong.
public struct InputError: Error, CustomStringConvertible, Sendable {
    public var file: String
    /// 1-based; 0 when the problem is the file as a whole.
    public var line: Int
    public var problem: String
    /// The offending line, shortened, when there is one.
    public var text: String?
    public var hint: String?

    public init(file: String, line: Int, problem: String, text: String? = nil, hint: String? = nil) {
        (self.file, self.line, self.problem, self.text, self.hint) = (file, line, problem, text, hint)
    }

    public var description: String {
        var out = line > 0 ? "\(file):\(line): \(problem)" : "\(file): \(problem)"
        if let text { out += "\n  line: \(text)" }
        if let hint { out += "\n  hint: \(hint)" }
        return out
    }
}

/// A fingerprint that tells whether a source file changed: size, modification
/// time, and a hash of 64 KiB sampled at 16 evenly spaced places plus the tail.
/// Reading the whole of Netflix's 2.4 GB to hash it would cost more than the
/// scan it protects; an edit changes size or mtime, and the samples catch a
/// same-size rewrite in most places.
public struct FileFingerprint: Codable, Equatable, Sendable {
    public var name: String
    public var size: Int64
    public var modified: Double
    public var sample: String

    public static func of(_ url: URL) throws -> FileFingerprint {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = ContentHash()
        let block: Int64 = 4096
        var offsets = (0..<16).map { size * Int64($0) / 16 }
        offsets.append(max(0, size - block))
        for offset in offsets {
            try handle.seek(toOffset: UInt64(offset))
            let data = handle.readData(ofLength: Int(block))
            data.withUnsafeBytes { hasher.add($0) }
        }
        return FileFingerprint(name: url.lastPathComponent, size: size,
                               modified: (modified * 1000).rounded() / 1000,
                               sample: String(hasher.value, radix: 16))
    }
}

/// The files of one dataset, resolved and checked for presence.
public struct SourceSet: Sendable {
    public var format: SourceFormat
    public var directory: URL
    /// Rating files in load order.
    public var ratingFiles: [URL]
    /// movie_titles.csv or movies.csv.
    public var titlesFile: URL
    /// Netflix probe.txt, when present.
    public var probeFile: URL?

    public var allFiles: [URL] { [titlesFile] + ratingFiles + (probeFile.map { [$0] } ?? []) }

    /// Finds the dataset's files in `directory`; `format` nil means detect.
    public static func resolve(directory: URL, format: SourceFormat?) throws -> SourceSet {
        let path = directory.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, line: 0, problem: "no such folder",
                             hint: "pass the folder that holds the dataset with --data, or make one with `recsys generate --out \(path)`")
        }
        guard isDirectory.boolValue else {
            throw InputError(file: path, line: 0, problem: "not a folder", hint: "--data takes the folder that holds the dataset's files")
        }
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
        let netflixRatings = names.filter { $0.hasPrefix("combined_data_") && $0.hasSuffix(".txt") }
            .sorted { numericSuffix($0) < numericSuffix($1) }
        let detected: SourceFormat
        if let format {
            detected = format
        } else if !netflixRatings.isEmpty || names.contains("movie_titles.csv") {
            detected = .netflix
        } else if names.contains("ratings.csv") || names.contains("movies.csv") {
            detected = .movielens
        } else {
            throw InputError(file: path, line: 0, problem: "no Netflix Prize files (combined_data_*.txt, movie_titles.csv) or MovieLens files (ratings.csv, movies.csv) here",
                             hint: "use --format to say which layout the folder holds")
        }
        switch detected {
        case .netflix:
            guard !netflixRatings.isEmpty else {
                throw InputError(file: path, line: 0, problem: "no combined_data_*.txt rating files in this Netflix Prize folder")
            }
            guard names.contains("movie_titles.csv") else {
                throw InputError(file: directory.appendingPathComponent("movie_titles.csv").path, line: 0,
                                 problem: "missing: the Netflix layout needs movie_titles.csv beside the rating files")
            }
            return SourceSet(format: .netflix, directory: directory,
                             ratingFiles: netflixRatings.map { directory.appendingPathComponent($0) },
                             titlesFile: directory.appendingPathComponent("movie_titles.csv"),
                             probeFile: names.contains("probe.txt") ? directory.appendingPathComponent("probe.txt") : nil)
        case .movielens:
            for required in ["ratings.csv", "movies.csv"] where !names.contains(required) {
                throw InputError(file: directory.appendingPathComponent(required).path, line: 0,
                                 problem: "missing: the MovieLens layout needs ratings.csv and movies.csv")
            }
            return SourceSet(format: .movielens, directory: directory,
                             ratingFiles: [directory.appendingPathComponent("ratings.csv")],
                             titlesFile: directory.appendingPathComponent("movies.csv"), probeFile: nil)
        }
    }

    public func fingerprints() throws -> [FileFingerprint] {
        try allFiles.map { try FileFingerprint.of($0) }
    }

    private static func numericSuffix(_ name: String) -> Int {
        Int(name.dropFirst("combined_data_".count).dropLast(".txt".count)) ?? Int.max
    }
}
