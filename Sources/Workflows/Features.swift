import Features
import Foundation
import Logging
import Reports
import Warehouse

/// The features use case: split the ratings, fit the baseline biases on the
/// train part, record both in the warehouse.
public enum FeatureBuilding {
    public static func run(_ definition: SplitDefinition, database: Database, logger: Logger) throws -> FeatureSummary {
        let connection = try database.connect()
        let data = try FeatureStore.build(connection, home: database.home, definition: definition) { logger.info("\($0)") }
        return FeatureSummary(data)
    }
}

/// What `recsys features` reports (also printed by train when it builds default features).
public struct FeatureSummary: Codable, Sendable {
    public var splitId: Int
    public var split: String
    public var source: String?
    public var seed: UInt64
    public var testFraction: Double?
    public var validationFraction: Double
    public var trainRatings: Int
    public var validationRatings: Int
    public var testRatings: Int
    public var testChecksum: String
    public var globalMean: Double
    public var dataVersion: String
    public var seconds: Double

    public init(_ data: TrainingData) {
        let d = data.definition
        splitId = data.splitID
        split = d.kind.rawValue
        source = d.source
        seed = d.seed
        testFraction = d.kind == .random || d.kind == .temporal ? d.testFraction : nil
        validationFraction = d.validationFraction
        trainRatings = data.split.train.count
        validationRatings = data.split.validation.count
        testRatings = data.split.test.count
        testChecksum = data.testChecksum
        globalMean = data.biases.globalMean
        dataVersion = data.dataVersion
        seconds = data.seconds
    }

    /// What `recsys features` prints without --json.
    public var text: String {
        var how = split
        if let testFraction { how += String(format: " (test fraction %.3g, seed %llu)", testFraction, seed) }
        if let source { how += " (\(source))" }
        let table = TextTable.render([
            ["part", "ratings"],
            ["train", ProgressReporter.count(trainRatings)],
            ["validation", ProgressReporter.count(validationRatings)],
            ["test", ProgressReporter.count(testRatings)],
        ])
        return """
            features: split \(splitId), \(how), validation fraction \(validationFraction)
            \(table)
            global mean \(String(format: "%.4f", globalMean)); customer and movie biases (damping 5) in feature_customer_bias, feature_movie_bias
            test checksum \(testChecksum), data version \(dataVersion), \(String(format: "%.1f", seconds)) s
            """
    }
}
