import Foundation
import Runtime

/// Reads and writes the load's bookkeeping tables.
enum LoadBookkeeping {
    static func snapshot(_ connection: Connection) throws -> WarehouseSnapshot {
        let runRows = try connection.execute("SELECT format, source_dir, fingerprint::text, data_version, finished_at IS NOT NULL FROM etl_run")
        var run: RunRecord?
        if let row = runRows.rows.first {
            let prints = try JSON.decode([FileFingerprint].self, from: row[2] ?? "[]")
            run = RunRecord(format: SourceFormat(rawValue: row[0] ?? "") ?? .netflix, sourceDirectory: row[1] ?? "",
                            fingerprints: prints, dataVersion: row[3] ?? "", finished: row[4] == "t")
        }
        var counts: [String: Int] = [:]
        for stage in LoadStage.allCases {
            guard let table = stage.table else { continue }
            counts[table] = Int(try connection.execute("SELECT count(*) FROM \(table)").scalar() ?? "0") ?? 0
        }
        return WarehouseSnapshot(run: run, checkpoints: try checkpoints(connection), counts: counts)
    }

    static func checkpoints(_ connection: Connection) throws -> [CheckpointRow] {
        try connection.execute("""
            SELECT stage, file, byte_offset, line, context, rows, expected, done, seconds
            FROM etl_checkpoint ORDER BY stage, file
            """).rows.compactMap { r in
            guard let stage = LoadStage(rawValue: r[0] ?? "") else { return nil }
            return CheckpointRow(stage: stage, file: r[1] ?? "", byteOffset: Int(r[2] ?? "0") ?? 0, line: Int(r[3] ?? "0") ?? 0,
                                 context: r[4].flatMap { Int64($0) }, rows: Int(r[5] ?? "0") ?? 0,
                                 expected: Int(r[6] ?? "0") ?? 0, done: r[7] == "t", seconds: Double(r[8] ?? "0") ?? 0)
        }
    }

    static func rejectCount(_ connection: Connection) throws -> Int {
        Int(try connection.execute("SELECT count(*) FROM etl_rejects").scalar() ?? "0") ?? 0
    }

    /// Deletes all loaded data and bookkeeping (for `--fresh`).
    static func wipe(_ connection: Connection) throws {
        try connection.execute("TRUNCATE fact_ratings, dim_customer, dim_movie, dim_date, etl_checkpoint, etl_rejects, etl_run, rating_batch, fact_ratings_history, live_customer, etl_append_file, dim_movie_history, " +
                               "delta_movie_rating_counts, delta_daily_rating_counts, delta_customer_activity")
    }

    /// Records the run, its expected counts, its rejects and an empty
    /// checkpoint per stage, all in one transaction.
    static func recordRun(_ connection: Connection, source: SourceSet, fingerprints: [FileFingerprint],
                          catalog: SourceCatalog) throws -> String {
        let printsJSON = try JSON.text(fingerprints)
        let dataVersion = "\(ContentHash.hex(printsJSON.utf8))-\(Int(Date().timeIntervalSince1970))"
        let expected: [String: Int] = [
            "dim_date": catalog.dateCount, "dim_movie": catalog.movies.count, "dim_customer": catalog.customerCount,
            "fact_ratings": catalog.totalRatings, "rejects": catalog.rejects.count,
        ]
        let expectedJSON = try JSON.text(expected)
        try connection.transaction {
            try connection.execute("INSERT INTO etl_run (format, source_dir, fingerprint, expected, data_version) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)",
                                   [source.format.rawValue, source.directory.path, printsJSON, expectedJSON, dataVersion])
            for (stage, count) in [(LoadStage.dimDate, catalog.dateCount), (.dimMovie, catalog.movies.count), (.dimCustomer, catalog.customerCount)] {
                try connection.execute("INSERT INTO etl_checkpoint (stage, expected) VALUES ($1, $2)", [stage.rawValue, String(count)])
            }
            for file in catalog.files {
                try connection.execute("INSERT INTO etl_checkpoint (stage, file, expected) VALUES ($1, $2, $3)",
                                       [LoadStage.factRatings.rawValue, file.name, String(file.ratings)])
            }
            try connection.execute("INSERT INTO etl_checkpoint (stage) VALUES ($1)", [LoadStage.postProcessing.rawValue])
            if !catalog.rejects.isEmpty {
                try connection.copyIn("COPY etl_rejects (file, line, text, reason) FROM STDIN") { writer in
                    for reject in catalog.rejects {
                        try writer.write("\(CopyText.escape(reject.file))\t\(reject.line)\t\(CopyText.escape(reject.text))\t\(CopyText.escape(reject.reason))\n")
                    }
                }
            }
        }
        return dataVersion
    }

    /// On resume, the scan must find what the first run's scan found.
    static func verifyExpectations(_ connection: Connection, catalog: SourceCatalog) throws {
        let rows = try checkpoints(connection)
        for file in catalog.files {
            if let row = rows.first(where: { $0.stage == .factRatings && $0.file == file.name }), row.expected != file.ratings {
                throw SafetyRefusal(reason: "\(file.name) now holds \(file.ratings) ratings, but the interrupted load expected \(row.expected)",
                                    action: "`recsys load --fresh` starts over with the files as they are now")
            }
        }
    }
}
