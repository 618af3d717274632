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

    func run() throws {
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
}
