import ArgumentParser
import Foundation
import Reports
import Generator
import Warehouse

extension GeneratedFormat: ExpressibleByArgument {}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a realistic, seeded sample dataset from a planted model.",
        discussion: """
        Ratings come from global mean + customer and movie biases + low-rank factors + noise, with \
        Netflix-like popularity and activity skew. truth.json records the planted model's own RMSE \
        (the oracle); planted_model.bin holds its parameters. The same seed gives the same bytes.

        --delta K --from BASE writes follow-up batch K of a generated dataset for `recsys load \
        --append`: --ratings new ratings (default 10,000) over the --days after the base (and after \
        batches 1…K−1), from the same planted model and weights — mostly new pairs of existing \
        customers and movies, plus re-ratings of base pairs, new customers, new movies and a few \
        corrected release years (in the batch's titles file). delta.json counts each kind.
        """
    )

    @Option(help: "Folder to write into (created if missing).") var out: String
    @Option(help: "netflix (combined_data_*.txt, movie_titles.csv, probe.txt) or movielens (ratings.csv, movies.csv).")
    var format: GeneratedFormat = .netflix
    @Option(help: "Number of ratings.") var ratings: Int?
    @Option(help: "Number of customers.") var customers: Int?
    @Option(help: "Number of movies.") var movies: Int?
    @Option(help: "Rank of the planted factors.") var rank: Int?
    @Option(help: "Standard deviation of the noise added before rounding.") var noise: Double?
    @Option(help: "How strongly planted taste decides which movies a customer rates (0 = by activity and popularity alone; 4 is strong).")
    var taste: Double = 0
    @Option(help: "Seed; the same seed writes the same files.") var seed: UInt64 = 42
    @Flag(help: "Netflix's own sizes: 100,480,507 ratings, 480,189 customers, 17,770 movies.") var netflixScale = false
    @Flag(help: "Print the summary as one JSON document on stdout.") var json = false
    @Option(help: ArgumentHelp("Write follow-up batch K of the dataset in --from instead of a dataset.", valueName: "K"))
    var delta: Int?
    @Option(help: ArgumentHelp("The generated dataset a --delta batch follows.", valueName: "BASE")) var from: String?
    @Option(help: "Days a --delta batch covers.") var days: Int = 1
    @Option(help: "Share of a batch's ratings that re-rate a pair of the base.") var rerateShare: Double = 0.02
    @Option(help: "Share of a batch's ratings by new customers.") var newCustomerShare: Double = 0.05
    @Option(help: "Share of a batch's ratings of its new movies.") var newMovieShare: Double = 0.01
    @Option(help: "New movies in a batch (default: one per thousand movies of the base).") var newMovies: Int?
    @Option(help: "Corrected release years in a batch (default: one per two thousand movies).") var titleChanges: Int?

    func validate() throws {
        if delta == nil {
            guard from == nil else { throw ValidationError("--from goes with --delta K") }
            return
        }
        guard from != nil else { throw ValidationError("--delta needs --from BASE, the generated dataset it follows") }
        let shaping: [(String, Bool)] = [("--customers", customers != nil), ("--movies", movies != nil), ("--rank", rank != nil),
                                         ("--noise", noise != nil), ("--taste", taste != 0), ("--netflix-scale", netflixScale)]
        if let given = shaping.first(where: \.1) {
            throw ValidationError("\(given.0) shapes a base dataset; a --delta batch takes its shape from --from")
        }
    }

    func run() throws {
        if let delta, let from { return try runDelta(delta, from: from) }
        var config = netflixScale ? GeneratorConfiguration.netflixScale() : GeneratorConfiguration()
        config.format = format
        if let ratings { config.ratings = ratings }
        if let customers { config.customers = customers }
        if let movies { config.movies = movies }
        if let rank { config.rank = rank }
        if let noise { config.noise = noise }
        config.taste = taste
        config.seed = seed
        try config.validate()
        let directory = URL(fileURLWithPath: out, isDirectory: true)
        let progress = ProgressReporter(logger: .init(label: "recsys.generate"))
        progress.begin("generate", total: config.ratings)
        let summary = try DatasetGenerator.generate(config, to: directory, progress: { progress.update(done: $0) })
        progress.finish(rows: summary.ratings, seconds: summary.seconds)
        if json { return try printJSON(summary) }
        try say("wrote \(summary.format) dataset to \(summary.directory): \(summary.files.joined(separator: ", "))")
        try say("  \(summary.ratings) ratings, \(summary.customers) customers, \(summary.movies) movies, planted rank \(summary.rank)")
        try say("  oracle RMSE \(String(format: "%.4f", summary.oracleRMSE)) (the planted model's own error; truth.json)")
    }

    private func runDelta(_ index: Int, from: String) throws {
        var config = DeltaConfiguration()
        config.index = index
        if let ratings { config.ratings = ratings }
        config.days = days
        config.rerateShare = rerateShare
        config.newCustomerShare = newCustomerShare
        config.newMovieShare = newMovieShare
        config.newMovies = newMovies
        config.titleChanges = titleChanges
        let summary = try DeltaGenerator.generate(config, base: URL(fileURLWithPath: from, isDirectory: true),
                                                  to: URL(fileURLWithPath: out, isDirectory: true))
        try json ? printJSON(summary) : say(summary.text)
    }
}
