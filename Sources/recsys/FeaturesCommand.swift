import ArgumentParser
import Features
import Foundation
import Reports
import Logging
import Warehouse
import Workflows

/// `random`, `temporal`, `probe[:PATH]` or `file:PATH`.
struct SplitChoice: ExpressibleByArgument {
    var kind: SplitDefinition.Kind
    var path: String?

    init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = parts.first, let kind = SplitDefinition.Kind(rawValue: first) else { return nil }
        let path = parts.count > 1 ? parts[1] : nil
        if kind == .file && (path ?? "").isEmpty { return nil }
        if (kind == .random || kind == .temporal) && path != nil { return nil }
        self.kind = kind
        self.path = path
    }

    static var allValueStrings: [String] { ["random", "temporal", "probe", "file:PATH"] }

    /// How --help shows the default: as it is typed.
    var defaultValueDescription: String { path.map { "\(kind.rawValue):\($0)" } ?? kind.rawValue }
}

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Split the ratings into train / validation / test and fit the baseline biases on train.",
        discussion: """
        Splits: random (each rating is test with probability --test-fraction, by a seeded hash of the \
        pair), temporal (each customer's latest --test-fraction of ratings by date), probe (the pairs of \
        the Netflix probe.txt beside the loaded files, or probe:PATH), file:PATH (a CSV of \
        customer_id,movie_id test pairs, to compare with another library on the same split). A \
        validation part (--validation-fraction of what is not test) is carved for tuning; training and \
        tuning never see the test part.

        The split's definition, counts and a checksum of its test pairs go to feature_split; the \
        global mean and the damped customer and movie biases (fitted on train) to \
        feature_customer_bias and feature_movie_bias. The same options give the same split.
        """
    )

    @Option(help: ArgumentHelp("How to choose the test ratings.", valueName: "random|temporal|probe|file:PATH"))
    var split: SplitChoice = SplitChoice(argument: "random")!
    @Option(help: "Share of ratings held out for testing (random, temporal).") var testFraction: Double = 0.1
    @Option(help: "Share of the non-test ratings held out for tuning.") var validationFraction: Double = 0.05
    @Option(help: "Seed of the random and validation assignment.") var seed: UInt64 = 42
    @OptionGroup var db: WarehouseOptions

    func validate() throws {
        guard testFraction > 0, testFraction < 1 else { throw ValidationError("--test-fraction must be between 0 and 1") }
        guard validationFraction >= 0, validationFraction < 1 else { throw ValidationError("--validation-fraction must be in [0, 1)") }
    }

    var definition: SplitDefinition {
        SplitDefinition(kind: split.kind, testFraction: testFraction, validationFraction: validationFraction, seed: seed,
                        source: split.path.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
    }

    func run() throws {
        let summary = try FeatureBuilding.run(definition, database: db.open(), logger: Logger(label: "recsys.features"))
        if db.json { return try printJSON(summary) }
        try say(summary.text)
    }
}
