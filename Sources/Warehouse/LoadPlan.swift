import Foundation

/// The stages of a load, in order. Each is skipped when its checkpoint says done.
public enum LoadStage: String, CaseIterable, Codable, Sendable {
    case dimDate = "dim_date"
    case dimMovie = "dim_movie"
    case dimCustomer = "dim_customer"
    case factRatings = "fact_ratings"
    case postProcessing = "post_processing"

    /// The table a stage fills, for the stages that fill one.
    var table: String? { self == .postProcessing ? nil : rawValue }
}

/// A load recorded in the warehouse (`etl_run`).
struct RunRecord: Equatable {
    var format: SourceFormat
    var sourceDirectory: String
    var fingerprints: [FileFingerprint]
    var dataVersion: String
    var finished: Bool
}

/// One `etl_checkpoint` row.
struct CheckpointRow: Equatable {
    var stage: LoadStage
    var file: String
    var byteOffset, line: Int
    var context: Int64?
    var rows, expected: Int
    var done: Bool
    var seconds: Double
}

/// What the warehouse holds before a load starts.
struct WarehouseSnapshot: Equatable {
    var run: RunRecord?
    var checkpoints: [CheckpointRow]
    /// Row counts of the four star-schema tables.
    var counts: [String: Int]
}

/// A safety check refused to run: the load would lose, mix or duplicate data.
public struct SafetyRefusal: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var action: String

    public init(reason: String, action: String) {
        self.reason = reason
        self.action = action
    }

    public var description: String { "\(reason)\n  what to do: \(action)" }
}

/// Decides, from the warehouse's bookkeeping and the source's fingerprints
/// alone, whether a load may start, resume or must refuse. Pure: tested
/// without a database.
enum LoadPlan: Equatable {
    /// An empty warehouse: load everything.
    case start
    /// A load of these same files was interrupted: go on after its checkpoints.
    case resume(done: [LoadStage])
    /// These files are loaded completely; nothing to do.
    case complete

    static func decide(_ snapshot: WarehouseSnapshot, source: [FileFingerprint], format: SourceFormat) throws -> LoadPlan {
        let tables = LoadStage.allCases.compactMap(\.table)
        guard let run = snapshot.run else {
            let held = tables.filter { (snapshot.counts[$0] ?? 0) > 0 }
            if held.isEmpty { return .start }
            let list = held.map { "\($0): \(snapshot.counts[$0]!) rows" }.joined(separator: ", ")
            throw SafetyRefusal(
                reason: "the warehouse already holds rows that no recorded recsys load explains (\(list))",
                action: "`recsys load --fresh` deletes them and loads the source from scratch; or give --database an empty database")
        }
        if run.format != format || run.fingerprints != source {
            let changes = describeChanges(recorded: run.fingerprints, current: source, recordedFormat: run.format, format: format)
            if run.finished {
                throw SafetyRefusal(
                    reason: "the warehouse holds a complete load of other source files than these (\(changes))",
                    action: "`recsys load --fresh` replaces the loaded data with these files; to keep it, give --database another database")
            }
            throw SafetyRefusal(
                reason: "the source files changed since the interrupted load began (\(changes)); resuming would mix two versions of the data",
                action: "restore the files the load began with and run the same command again, or run `recsys load --fresh` to start over with these files")
        }
        // Every row in the star tables must be accounted for by a committed checkpoint.
        var mismatches: [String] = []
        for stage in LoadStage.allCases {
            guard let table = stage.table else { continue }
            let accounted = snapshot.checkpoints.filter { $0.stage == stage }.reduce(0) { $0 + $1.rows }
            let held = snapshot.counts[table] ?? 0
            if held != accounted { mismatches.append("\(table) holds \(held) rows, the checkpoint accounts for \(accounted)") }
        }
        if !mismatches.isEmpty {
            throw SafetyRefusal(
                reason: "the warehouse was changed outside recsys load: \(mismatches.joined(separator: "; "))",
                action: "`recsys load --fresh` reloads everything from the source files")
        }
        let done = LoadStage.allCases.filter { stage in
            let rows = snapshot.checkpoints.filter { $0.stage == stage }
            return !rows.isEmpty && rows.allSatisfy(\.done)
        }
        return done.count == LoadStage.allCases.count && run.finished ? .complete : .resume(done: done)
    }

    static func describeChanges(recorded: [FileFingerprint], current: [FileFingerprint],
                                recordedFormat: SourceFormat, format: SourceFormat) -> String {
        if recordedFormat != format { return "the warehouse holds \(recordedFormat.rawValue) data, the source is \(format.rawValue)" }
        var notes: [String] = []
        let old = Dictionary(recorded.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(current.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in Set(old.keys).union(new.keys).sorted() {
            switch (old[name], new[name]) {
            case (nil, _?): notes.append("\(name) is new")
            case (_?, nil): notes.append("\(name) is gone")
            case let (a?, b?) where a != b:
                notes.append(a.size != b.size ? "\(name) changed size \(a.size) → \(b.size) bytes" : "\(name) was modified")
            default: break
            }
        }
        return notes.isEmpty ? "the file set differs" : notes.joined(separator: ", ")
    }
}
