import Features
import Foundation

/// The ratings as the models see them: the newest split's train part (a
/// `RatingMatrix` over all customers and movies, so index = key − 1), its
/// validation and test parts, and the biases stored for it.
public struct TrainingData: Sendable {
    public var splitID: Int
    public var definition: SplitDefinition
    public var dataVersion: String
    public var scale: RatingScale
    public var split: Split
    /// Fitted on the train part only; read back from feature_customer_bias / feature_movie_bias.
    public var biases: BiasModel
    public var testChecksum: String
    public var seconds: Double

    public var train: RatingMatrix { split.train }
}

/// `recsys features`: builds a split and its biases and records both in the
/// warehouse (feature_split, feature_split_pair, feature_*_bias); and reads
/// them back, re-deriving the split from its definition and checking it is
/// the recorded one (same counts, same test checksum).
public enum FeatureStore {
    /// Builds the features for `definition` on the warehouse's complete load.
    /// - Parameter pairsFile: the test pairs (probe / file); for probe, left
    ///   out means `probe.txt` in the load's source folder.
    public static func build(_ connection: Connection, home: RecsysHome, definition: SplitDefinition,
                             log: (String) -> Void = { _ in }) throws -> TrainingData {
        let started = Date()
        var definition = definition
        try definition.validate()
        let (matrix, dataVersion, cached) = try RatingExport.matrix(connection, home: home)
        log("ratings: \(matrix.count) (\(matrix.customerCount) customers, \(matrix.movieCount) movies), \(cached ? "from the cache" : "exported")")
        let run = try loadRun(connection)
        var pairs: [(customer: Int32, movie: Int32)] = []
        switch definition.kind {
        case .probe:
            let file = definition.source.map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: run.sourceDirectory).appendingPathComponent("probe.txt")
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw InputError(file: file.path, line: 0, problem: "no probe file here",
                                 hint: run.format == "netflix"
                                    ? "the probe split needs the Netflix probe.txt beside the loaded files, or --split file:PATH"
                                    : "a \(run.format) load has no probe.txt: use --split random, temporal or file:PATH")
            }
            definition.source = file.path
            pairs = try TestPairs.read(file, format: .probe, matrix: matrix)
        case .file:
            guard let path = definition.source else { throw WarehouseError(.usage, "a file split needs a path (file:PATH)") }
            pairs = try TestPairs.read(URL(fileURLWithPath: path), format: .csv, matrix: matrix)
        case .random, .temporal:
            break
        }
        let parts = try Splitter.assign(matrix, definition, testPairs: pairs)
        // `consume` ends the full matrix here, so its arrays are freed while the train part is built.
        let split = (consume matrix).partitioned(by: parts)
        // A metric over zero ratings means nothing; a split without test ratings is refused.
        guard split.test.count > 0 else {
            throw WarehouseError(.badInput, "the \(definition.kind.rawValue) split leaves the test part empty (0 of \(split.train.count + split.validation.count) ratings); nothing was recorded",
                                 hint: definition.kind == .random || definition.kind == .temporal
                                    ? "raise --test-fraction, or load more ratings" : "the split's pairs match no loaded rating: check the file")
        }
        guard split.train.count > 0 else {
            throw WarehouseError(.badInput, "the \(definition.kind.rawValue) split leaves the train part empty; nothing was recorded",
                                 hint: "lower --test-fraction / --validation-fraction")
        }
        let biases = BiasModel(fitting: split.train)
        let checksum = split.test.checksum(customerIDs: split.train.customerIDs, movieIDs: split.train.movieIDs)
        let seconds = Date().timeIntervalSince(started)

        let splitID: Int = try connection.transaction {
            let row = try connection.execute("""
                INSERT INTO feature_split (kind, source, seed, test_fraction, validation_fraction, data_version,
                    train_ratings, validation_ratings, test_ratings, test_checksum, global_mean,
                    customer_damping, movie_damping, seconds)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 5, 5, $12) RETURNING split_id
                """, [definition.kind.rawValue, definition.source, String(Int64(bitPattern: definition.seed)),
                      definition.kind == .random || definition.kind == .temporal ? String(definition.testFraction) : nil,
                      String(definition.validationFraction), dataVersion, String(split.train.count),
                      String(split.validation.count), String(split.test.count), checksum,
                      String(biases.globalMean), String(seconds)])
            guard let id = row.int(0, 0) else { throw WarehouseError(.database, "feature_split returned no id") }
            if definition.kind == .probe || definition.kind == .file {
                _ = try connection.copyIn("COPY feature_split_pair (split_id, customer_key, movie_key) FROM STDIN") { out in
                    for i in 0..<split.test.count {
                        try out.write("\(id)\t\(Vocabulary.key(ofIndex: Int(split.test.customer[i])))\t\(Vocabulary.key(ofIndex: Int(split.test.movie[i])))\n")
                    }
                }
            }
            // Only the newest split keeps its bias rows.
            _ = try connection.execute("DELETE FROM feature_customer_bias")
            _ = try connection.execute("DELETE FROM feature_movie_bias")
            _ = try connection.copyIn("COPY feature_customer_bias (split_id, customer_key, bias, ratings) FROM STDIN") { out in
                for c in 0..<split.train.customerCount {
                    try out.write("\(id)\t\(Vocabulary.key(ofIndex: c))\t\(biases.customerBias[c])\t\(split.train.customerStart[c + 1] - split.train.customerStart[c])\n")
                }
            }
            _ = try connection.copyIn("COPY feature_movie_bias (split_id, movie_key, bias, ratings) FROM STDIN") { out in
                for m in 0..<split.train.movieCount {
                    try out.write("\(id)\t\(Vocabulary.key(ofIndex: m))\t\(biases.movieBias[m])\t\(split.train.movieStart[m + 1] - split.train.movieStart[m])\n")
                }
            }
            return id
        }
        return TrainingData(splitID: splitID, definition: definition, dataVersion: dataVersion, scale: run.scale,
                            split: split, biases: biases, testChecksum: checksum, seconds: seconds)
    }

    /// The newest split, rebuilt from its definition, with its stored biases.
    /// - Throws: `SafetyRefusal` when a load changed the data since the
    ///   features were built, or when the rebuilt split differs from the record.
    public static func load(_ connection: Connection, home: RecsysHome) throws -> TrainingData {
        let started = Date()
        try Database.migrate(connection)
        guard let stored = try newestSplit(connection) else {
            throw WarehouseError(.usage, "the warehouse has no features yet", hint: "run `recsys features` first")
        }
        let (matrix, dataVersion, _) = try RatingExport.matrix(connection, home: home)
        guard stored.dataVersion == dataVersion else {
            throw SafetyRefusal(
                reason: "the features (split \(stored.id)) were built on data version \(stored.dataVersion), but the warehouse now holds \(dataVersion)",
                action: "run `recsys features` again to rebuild the split and biases on the current data")
        }
        let run = try loadRun(connection)
        var pairs: [(customer: Int32, movie: Int32)] = []
        if stored.definition.kind == .probe || stored.definition.kind == .file {
            try connection.copyOut("COPY (SELECT customer_key, movie_key FROM feature_split_pair WHERE split_id = \(stored.id)) TO STDOUT") { row in
                let fields = TextRow.fields(row)
                guard fields.count == 2, let c = Int32(fields[0]), let m = Int32(fields[1]) else { return }
                pairs.append((Int32(Vocabulary.index(ofKey: c)), Int32(Vocabulary.index(ofKey: m))))
            }
        }
        let parts = try Splitter.assign(matrix, stored.definition, testPairs: pairs)
        // `consume` ends the full matrix here, so its arrays are freed while the train part is built.
        let split = (consume matrix).partitioned(by: parts)
        let checksum = split.test.checksum(customerIDs: split.train.customerIDs, movieIDs: split.train.movieIDs)
        guard split.train.count == stored.trainCount, split.validation.count == stored.validationCount,
              split.test.count == stored.testCount, checksum == stored.testChecksum else {
            throw SafetyRefusal(
                reason: "the split rebuilt from its definition (split \(stored.id)) is not the recorded one: train/validation/test \(split.train.count)/\(split.validation.count)/\(split.test.count) (checksum \(checksum)) vs recorded \(stored.trainCount)/\(stored.validationCount)/\(stored.testCount) (checksum \(stored.testChecksum))",
                action: "run `recsys features` again to record a fresh split")
        }
        var customerBias = [Double](repeating: 0, count: split.train.customerCount)
        var movieBias = [Double](repeating: 0, count: split.train.movieCount)
        var customerRows = 0, movieRows = 0
        try connection.copyOut("COPY (SELECT customer_key, bias FROM feature_customer_bias WHERE split_id = \(stored.id)) TO STDOUT") { row in
            let fields = TextRow.fields(row)
            if fields.count == 2, let key = Int(fields[0]), let c = Vocabulary.index(ofKey: key, count: customerBias.count), let bias = Double(fields[1]) {
                customerBias[c] = bias
                customerRows += 1
            }
        }
        try connection.copyOut("COPY (SELECT movie_key, bias FROM feature_movie_bias WHERE split_id = \(stored.id)) TO STDOUT") { row in
            let fields = TextRow.fields(row)
            if fields.count == 2, let key = Int(fields[0]), let m = Vocabulary.index(ofKey: key, count: movieBias.count), let bias = Double(fields[1]) {
                movieBias[m] = bias
                movieRows += 1
            }
        }
        guard customerRows == split.train.customerCount, movieRows == split.train.movieCount else {
            throw SafetyRefusal(reason: "the bias tables of split \(stored.id) are incomplete (\(customerRows) customers, \(movieRows) movies)",
                                action: "run `recsys features` again")
        }
        return TrainingData(splitID: stored.id, definition: stored.definition, dataVersion: dataVersion, scale: run.scale,
                            split: split, biases: BiasModel(globalMean: stored.globalMean, customerBias: customerBias, movieBias: movieBias),
                            testChecksum: checksum, seconds: Date().timeIntervalSince(started))
    }

    /// The features' split as recorded.
    public struct StoredSplit: Sendable {
        public var id: Int
        public var definition: SplitDefinition
        public var dataVersion: String
        public var trainCount: Int
        public var validationCount: Int
        public var testCount: Int
        public var testChecksum: String
        public var globalMean: Double
    }

    public static func newestSplit(_ connection: Connection) throws -> StoredSplit? {
        let result = try connection.execute("""
            SELECT split_id, kind, source, seed, test_fraction, validation_fraction, data_version,
                   train_ratings, validation_ratings, test_ratings, test_checksum, global_mean
            FROM feature_split ORDER BY split_id DESC LIMIT 1
            """)
        guard let r = result.rows.first, let id = Int(r[0] ?? ""), let kind = SplitDefinition.Kind(rawValue: r[1] ?? ""),
              let seed = Int64(r[3] ?? ""), let validation = Double(r[5] ?? "") else { return nil }
        let definition = SplitDefinition(kind: kind, testFraction: Double(r[4] ?? "") ?? 0.1, validationFraction: validation,
                                         seed: UInt64(bitPattern: seed), source: r[2])
        return StoredSplit(id: id, definition: definition, dataVersion: r[6] ?? "", trainCount: Int(r[7] ?? "") ?? -1,
                           validationCount: Int(r[8] ?? "") ?? -1, testCount: Int(r[9] ?? "") ?? -1,
                           testChecksum: r[10] ?? "", globalMean: Double(r[11] ?? "") ?? 0)
    }

    struct RunInfo {
        var format: String
        var sourceDirectory: String
        var scale: RatingScale { format == "movielens" ? .movieLens : .netflix }
    }

    static func loadRun(_ connection: Connection) throws -> RunInfo {
        guard let row = try connection.execute("SELECT format, source_dir FROM etl_run").rows.first else {
            throw WarehouseError(.usage, "the warehouse holds no load yet", hint: "run `recsys load --data DIR` first")
        }
        return RunInfo(format: row[0] ?? "netflix", sourceDirectory: row[1] ?? ".")
    }

    /// The rating scale of the loaded data (Netflix whole stars, MovieLens half stars).
    public static func scale(_ connection: Connection) throws -> RatingScale { try loadRun(connection).scale }
}

/// Fields of one row of `COPY … TO STDOUT` in text format (no escapes needed: numbers only).
enum TextRow {
    static func fields(_ row: UnsafeRawBufferPointer) -> [Substring] {
        var text = Substring(decoding: row, as: UTF8.self)
        if text.hasSuffix("\n") { text = text.dropLast() }
        return text.split(separator: "\t", omittingEmptySubsequences: false)
    }
}

/// Test pairs given by file: the Netflix `probe.txt` (`MovieID:` lines, then
/// one `CustomerID` per line) or a CSV of `customer_id,movie_id` (a header line
/// is allowed; extra columns are ignored). Every pair must be a rating of the
/// warehouse; an error names the file, the line and the problem.
extension FeatureStore {
    /// The test pairs of a probe or file split on `matrix` (dense indexes packed as customer << 32 | movie);
    /// empty for the other kinds.
    public static func listedPairs(_ definition: SplitDefinition, matrix: RatingMatrix, _ connection: Connection) throws -> Set<Int64> {
        let pairs: [(customer: Int32, movie: Int32)]
        switch definition.kind {
        case .probe:
            let file = try definition.source.map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: loadRun(connection).sourceDirectory).appendingPathComponent("probe.txt")
            pairs = try TestPairs.read(file, format: .probe, matrix: matrix)
        case .file:
            pairs = try TestPairs.read(URL(fileURLWithPath: definition.source ?? ""), format: .csv, matrix: matrix)
        case .random, .temporal:
            return []
        }
        return Set(pairs.map { Int64($0.customer) << 32 | Int64($0.movie) })
    }
}

enum TestPairs {
    enum Format { case probe, csv }

    static func read(_ url: URL, format: Format, matrix: RatingMatrix) throws -> [(customer: Int32, movie: Int32)] {
        let file = try MappedFile(url)
        var pairs: [(customer: Int32, movie: Int32)] = []
        var movie: Int32? = nil
        var movieLine = ""
        func fail(_ line: Int, _ problem: String, _ text: UnsafeRawBufferPointer, hint: String? = nil) -> InputError {
            InputError(file: url.path, line: line, problem: problem, text: printable(text), hint: hint)
        }
        try file.forEachLine(from: 0, firstLine: 0) { line, number, _ in
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if text.isEmpty { return true }
            let customerText: Substring
            switch format {
            case .probe:
                if text.hasSuffix(":") {
                    guard let id = Int64(text.dropLast()) else { throw fail(number, "a movie line must be `MovieID:`", line) }
                    guard let m = matrix.movies.index(of: id) else { throw fail(number, "movie \(id) is not in the warehouse", line) }
                    movie = Int32(m)
                    movieLine = String(id)
                    return true
                }
                guard movie != nil else { throw fail(number, "a customer line before the first `MovieID:` line", line) }
                customerText = Substring(text)
            case .csv:
                let fields = text.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count >= 2 else { throw fail(number, "expected `customer_id,movie_id`", line) }
                guard let id = Int64(fields[1].trimmingCharacters(in: .whitespaces)) else {
                    if number == 1 { return true }   // a header
                    throw fail(number, "the movie id `\(fields[1])` is not an integer", line)
                }
                if Int64(fields[0].trimmingCharacters(in: .whitespaces)) == nil, number == 1 { return true }
                guard let m = matrix.movies.index(of: id) else { throw fail(number, "movie \(id) is not in the warehouse", line) }
                movie = Int32(m)
                movieLine = String(id)
                customerText = Substring(fields[0].trimmingCharacters(in: .whitespaces))
            }
            guard let id = Int64(customerText) else { throw fail(number, "the customer id `\(customerText)` is not an integer", line) }
            guard let c = matrix.customers.index(of: id) else { throw fail(number, "customer \(id) is not in the warehouse", line) }
            let rated = matrix.ratings(ofCustomer: Int(c)).movies
            guard rated.contains(movie!) else {
                throw fail(number, "customer \(id) has no rating of movie \(movieLine)", line,
                           hint: "test pairs must be ratings of the loaded data")
            }
            pairs.append((Int32(c), movie!))
            return true
        }
        guard !pairs.isEmpty else { throw InputError(file: url.path, line: 0, problem: "the file lists no test pairs") }
        return pairs
    }
}
