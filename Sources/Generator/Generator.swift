import Foundation
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// The file layout a generated dataset imitates.
public enum GeneratedFormat: String, Sendable, CaseIterable {
    /// `combined_data_1…4.txt`, `movie_titles.csv` (ISO-8859-1), `probe.txt`.
    case netflix
    /// `ratings.csv` and `movies.csv` (UTF-8, RFC 4180).
    case movielens
}

/// What to generate. Sizes are exact: the files hold exactly `ratings` ratings.
public struct GeneratorConfiguration: Sendable {
    public var format: GeneratedFormat = .netflix
    /// Exact number of ratings written.
    public var ratings: Int = 1_000_000
    /// Customers (users) with planted parameters; all are rated when `ratings ≥ customers`.
    public var customers: Int = 20_000
    /// Movies with planted parameters; all are rated when `ratings ≥ movies`.
    public var movies: Int = 2_000
    /// Rank of the planted factors p_u, q_i.
    public var rank: Int = 8
    /// Standard deviation of the Gaussian noise added to the planted rating before rounding.
    public var noise: Double = 0.35
    /// Netflix only: each rating is listed in `probe.txt` independently with this probability.
    public var probeFraction: Double = 0.014
    /// How strongly planted taste decides *which* movies a customer rates (β ≥ 0):
    /// a drawn (customer, movie) pair is kept with probability σ(β·p_u·q_i), so with
    /// β > 0 customers mostly rate what they would like (missing not at random) and
    /// who-rated-what carries the taste a ranking model should find. 0 keeps the
    /// uniform draw by activity and popularity alone (and its exact bytes).
    public var taste: Double = 0
    public var seed: UInt64 = 42
    /// Worker threads. The output does not depend on it.
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    /// The size of the Netflix Prize training set: 100,480,507 ratings by
    /// 480,189 customers of 17,770 movies.
    public static func netflixScale() -> GeneratorConfiguration {
        var config = GeneratorConfiguration()
        config.format = .netflix
        config.ratings = 100_480_507
        config.customers = 480_189
        config.movies = 17_770
        return config
    }

    /// Checks the configuration can be generated: distinct (customer, movie) pairs
    /// need ratings ≤ customers·movies/2 (the factor ½ leaves room for the
    /// popularity skew while no movie is rated by more than about half the customers).
    public func validate() throws {
        func fail(_ message: String) -> GeneratorError { GeneratorError(description: "invalid generator configuration: \(message)") }
        guard ratings >= 1 else { throw fail("ratings must be at least 1 (got \(ratings))") }
        guard customers >= 1 else { throw fail("customers must be at least 1 (got \(customers))") }
        guard movies >= 1 else { throw fail("movies must be at least 1 (got \(movies))") }
        guard customers < Int(Int32.max) / 8, movies < Int(Int32.max) / 8 else {
            throw fail("customers and movies must each be below \(Int(Int32.max) / 8)")
        }
        let (pairs, overflow) = customers.multipliedReportingOverflow(by: movies)
        guard overflow || ratings <= pairs / 2 else {
            throw fail("ratings (\(ratings)) must be at most customers × movies / 2 = \(pairs / 2) so that every (customer, movie) pair is distinct")
        }
        guard (1...200).contains(rank) else { throw fail("rank must be in 1...200 (got \(rank))") }
        guard noise >= 0, noise.isFinite else { throw fail("noise must be a finite number ≥ 0 (got \(noise))") }
        guard probeFraction >= 0, probeFraction < 1 else {
            throw fail("probeFraction must be in 0..<1 (got \(probeFraction))")
        }
        guard taste >= 0, taste <= 20 else { throw fail("taste must be in 0...20 (got \(taste))") }
    }
}

public struct GeneratorError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// What was generated, and how well the planted model itself predicts it.
/// Written as `truth.json`.
public struct GenerationSummary: Sendable, Codable {
    public var format: String
    public var directory: String
    /// File names inside `directory`, including `planted_model.bin` and `truth.json`.
    public var files: [String]
    public var ratings: Int
    /// Customers with at least one rating.
    public var customers: Int
    /// Movies with at least one rating.
    public var movies: Int
    public var probeRatings: Int
    public var seed: UInt64
    public var rank: Int
    public var noise: Double
    /// The taste selectivity β of who rates what; absent when the draw is uniform (β = 0).
    public var taste: Double?
    /// Mean of the written ratings.
    public var globalMean: Double
    /// √(mean over all written ratings of (r − clip(μ + b_u + b_i + p_u·q_i))²),
    /// the clip being to the rating scale. This is the floor a perfect learner of
    /// the planted model would reach: it is made of the noise and the rounding.
    public var oracleRMSE: Double
    /// The same over the probe ratings (Netflix only).
    public var oracleRMSEProbe: Double?
    public var seconds: Double

    // Spelled as JSON.decode reads oracle_rmse back.
    private enum CodingKeys: String, CodingKey {
        case format, directory, files, ratings, customers, movies, probeRatings, seed, rank, noise, taste, globalMean, seconds
        case oracleRMSE = "oracleRmse", oracleRMSEProbe = "oracleRmseProbe"
    }
}

/// Seeded, streaming generator of rating datasets from a planted model.
///
/// The model: r̂(u,i) = μ + b_u + b_i + p_u·q_i with μ = 3.6, b_u ~ N(0, 0.4²),
/// b_i ~ N(0, 0.5²) (slightly correlated with popularity), p_u, q_i ~ N(0, σ_f²·I)
/// with σ_f² = 0.5/√rank so that p·q has standard deviation 0.5. The observed rating
/// is round_to_scale(clip(r̂ + ε)), ε ~ N(0, noise²); Netflix uses the integers 1…5,
/// MovieLens half stars 0.5…5.0.
///
/// Who rates what: the *major* side (movies for Netflix, users for MovieLens, the
/// side the files are grouped by) gets exact degrees ∝ a lognormal weight, clamped
/// to [1, max(⌊minor/2⌋, ⌈R/major⌉)] and summing to `ratings`. Each *minor* entity is
/// given one "home" partner so none is left unrated; the rest of a major's partners
/// are drawn without replacement weighted by a lognormal activity/popularity and,
/// with `taste` β > 0, thinned by σ(β·p_u·q_i) so that taste decides what is rated. Every
/// major entity uses its own generator seeded by (seed, index), so files are
/// byte-identical for any thread count, and only a bounded window of blocks is
/// ever in memory.
public enum DatasetGenerator {
    /// Writes the dataset into `directory` (created if missing; existing files of the same names are replaced),
    /// plus `truth.json` (the GenerationSummary, pretty-printed, sorted keys) and `planted_model.bin`
    /// (layout: see `writePlantedModel`).
    /// `progress` is called now and then (from any thread) with the number of ratings written so far.
    public static func generate(_ config: GeneratorConfiguration, to directory: URL,
                                progress: (@Sendable (Int) -> Void)? = nil) throws -> GenerationSummary {
        try config.validate()
        let started = DispatchTime.now().uptimeNanoseconds
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let plan = GenPlan(config)
        var totals: GenTotals
        var files: [String]
        switch config.format {
        case .netflix:
            files = (1...4).map { "combined_data_\($0).txt" } + ["movie_titles.csv", "probe.txt"]
            try writeNetflixTitles(plan, movies: config.movies, to: directory.appendingPathComponent("movie_titles.csv"))
            totals = try writeNetflixRatings(plan, threads: config.threads, directory: directory, progress: progress)
        case .movielens:
            files = ["ratings.csv", "movies.csv"]
            try writeMovieLensMovies(plan, to: directory.appendingPathComponent("movies.csv"))
            totals = try writeMovieLensRatings(plan, threads: config.threads,
                                               to: directory.appendingPathComponent("ratings.csv"), progress: progress)
        }
        let counts = try writePlantedModel(plan, to: directory.appendingPathComponent("planted_model.bin"))
        files += ["planted_model.bin", "truth.json"]

        let summary = GenerationSummary(
            format: config.format.rawValue,
            directory: directory.path,
            files: files,
            ratings: totals.ratings,
            customers: counts.customers,
            movies: counts.movies,
            probeRatings: totals.probeCount,
            seed: config.seed,
            rank: config.rank,
            noise: config.noise,
            taste: config.taste > 0 ? config.taste : nil,
            globalMean: totals.ratings > 0 ? Double(totals.halfUnits) / 2 / Double(totals.ratings) : 0,
            oracleRMSE: totals.ratings > 0 ? (totals.sse / Double(totals.ratings)).squareRoot() : 0,
            oracleRMSEProbe: config.format == .netflix && totals.probeCount > 0
                ? (totals.probeSSE / Double(totals.probeCount)).squareRoot() : nil,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        try JSON.document(summary).write(to: directory.appendingPathComponent("truth.json"), options: .atomic)
        return summary
    }

    /// `planted_model.bin`, little-endian:
    ///
    ///     "RSPLANT1"                      8 bytes magic
    ///     UInt32 rank, UInt32 customerCount, UInt32 movieCount
    ///     Float64 mu
    ///     customerCount × { Int64 customerID, Float32 b_u, rank × Float32 p_u }   ascending id
    ///     movieCount    × { Int64 movieID,    Float32 b_i, rank × Float32 q_i }   ascending id
    ///
    /// Only customers and movies with at least one rating are listed; ids are the
    /// ids in the data files. The oracle prediction for a pair is
    /// clip(mu + b_u + b_i + Σ_f p_u[f]·q_i[f]) to the rating scale; the generator
    /// computed exactly these Float32 values (summing the dot product in Float32).
    static func writePlantedModel(_ plan: GenPlan, to url: URL) throws -> (customers: Int, movies: Int) {
        let netflix = plan.format == .netflix
        let majorRated = (0..<plan.majorCount).map { plan.degree[$0] > 0 }
        let customerRated = netflix ? plan.minorRated : majorRated
        let movieRated = netflix ? majorRated : plan.minorRated
        let customerCount = customerRated.lazy.filter { $0 }.count
        let movieCount = movieRated.lazy.filter { $0 }.count
        let file = try GenFile(url)
        let buffer = GenBytes(capacity: 1 << 23)
        buffer.append(Array("RSPLANT1".utf8))
        buffer.appendLE(UInt32(plan.rank))
        buffer.appendLE(UInt32(customerCount))
        buffer.appendLE(UInt32(movieCount))
        buffer.appendLE(plan.mu)
        func side(ids: [Int64], rated: [Bool], bias: UnsafeMutableBufferPointer<Float>,
                  factors: UnsafeMutableBufferPointer<Float>) throws {
            for k in ids.indices where rated[k] {
                buffer.appendLE(ids[k])
                buffer.appendLE(bias[k])
                for f in 0..<plan.rank { buffer.appendLE(factors[k * plan.rank + f]) }
                if buffer.count >= 1 << 23 { try file.write(buffer); buffer.count = 0 }
            }
        }
        if netflix {
            try side(ids: plan.minorIDs, rated: customerRated, bias: plan.minorBias, factors: plan.minorFactors)
            try side(ids: plan.majorIDs, rated: movieRated, bias: plan.majorBias, factors: plan.majorFactors)
        } else {
            try side(ids: plan.majorIDs, rated: customerRated, bias: plan.majorBias, factors: plan.majorFactors)
            try side(ids: plan.minorIDs, rated: movieRated, bias: plan.minorBias, factors: plan.minorFactors)
        }
        try file.write(buffer)
        try file.close()
        return (customerCount, movieCount)
    }
}
