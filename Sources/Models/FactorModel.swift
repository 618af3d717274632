import Features

/// What evaluate and recommend ask of any fitted model.
public protocol RatingPredictor: Sendable {
    /// The model kind as stored and shown ("als", "svd", "sgd", "bias", …).
    var kind: String { get }
    var scale: RatingScale { get }
    /// The unclipped prediction for a customer and a movie, by the dense
    /// indexes of the matrix the model was trained on.
    func score(customer: Int, movie: Int) -> Double
}

/// A fitted latent-factor model, whichever trainer made it:
///
///     r̂_ui = clip(μ + b_u + b_i + p_u · q_i)
///
/// ALS, the randomized SVD and SGD all end as one of these; it is what model
/// files store and what recommend serves. Indexes are those of the training
/// `RatingMatrix`; `customerIDs` / `movieIDs` map them to the source's ids.
public struct FactorModel: RatingPredictor, Equatable {
    public var kind: String
    /// The training parameters as a JSON object (text), for model_runs and reports.
    public var parameters: String
    /// The warehouse data version the model was trained on.
    public var dataVersion: String
    /// The feature split (feature_split.split_id) whose train part it saw; 0 when none.
    public var splitID: Int
    public var scale: RatingScale
    public var customerIDs: [Int64]
    public var movieIDs: [Int64]
    public var globalMean: Double
    public var customerBias: [Float]
    public var movieBias: [Float]
    public var rank: Int
    /// customers × rank, row-major.
    public var customerFactors: [Float]
    /// movies × rank, row-major.
    public var movieFactors: [Float]
    /// Training ratings per customer (0: the customer had none in training), so
    /// that recommend can tell when a customer has rated more since.
    public var customerTrainCount: [Int32]

    public init(kind: String, parameters: String, dataVersion: String, splitID: Int, scale: RatingScale,
                customerIDs: [Int64], movieIDs: [Int64], globalMean: Double, customerBias: [Float], movieBias: [Float],
                rank: Int, customerFactors: [Float], movieFactors: [Float], customerTrainCount: [Int32]) {
        precondition(customerBias.count == customerIDs.count && customerTrainCount.count == customerIDs.count
                     && movieBias.count == movieIDs.count, "one bias and one count per id")
        precondition(customerFactors.count == customerIDs.count * rank && movieFactors.count == movieIDs.count * rank,
                     "factor shapes must be ids × rank")
        self.kind = kind
        self.parameters = parameters
        self.dataVersion = dataVersion
        self.splitID = splitID
        self.scale = scale
        self.customerIDs = customerIDs
        self.movieIDs = movieIDs
        self.globalMean = globalMean
        self.customerBias = customerBias
        self.movieBias = movieBias
        self.rank = rank
        self.customerFactors = customerFactors
        self.movieFactors = movieFactors
        self.customerTrainCount = customerTrainCount
    }

    public var customerCount: Int { customerIDs.count }
    public var movieCount: Int { movieIDs.count }

    public func score(customer: Int, movie: Int) -> Double {
        var dot: Float = 0
        let p = customer * rank, q = movie * rank
        for f in 0..<rank { dot += customerFactors[p + f] * movieFactors[q + f] }
        return globalMean + Double(customerBias[customer]) + Double(movieBias[movie]) + Double(dot)
    }
}

/// How top-N lists of a rating model treat movies with few training ratings:
/// a rating model predicts a high score for an obscure movie from a handful
/// of ratings, and top-N by predicted rating puts exactly those first
/// (Cremonesi, Koren & Turrin 2010).
public struct SupportPolicy: Sendable, Equatable, Codable {
    /// Movies with fewer training ratings are never listed.
    public var minSupport: Int
    /// β of the shrinkage n_i / (n_i + β) applied to each movie's interaction
    /// term p_u·q_i, which pulls a thinly supported movie's score toward its
    /// baseline μ + b_u + b_i; 0 leaves the scores alone.
    public var shrinkage: Double

    public init(minSupport: Int = 0, shrinkage: Double = 0) {
        self.minSupport = minSupport
        self.shrinkage = shrinkage
    }

    /// Leaves every score as the model makes it.
    public static let none = SupportPolicy()

    public var isNone: Bool { minSupport <= 0 && shrinkage <= 0 }

    public func validate() throws {
        guard minSupport >= 0 else { throw ConfigurationError("the minimum support must be 0 or more, got \(minSupport)") }
        guard shrinkage >= 0, shrinkage.isFinite else { throw ConfigurationError("the shrinkage must be 0 or more, got \(shrinkage)") }
    }

    /// The movie biases and factors top-N scores with, given each movie's
    /// training ratings: an unsupported movie's bias is −∞ (the top-N kernels
    /// never list a −∞ score), and q_i is scaled by n_i / (n_i + β).
    public func apply(movieSupport: [Int32], movieBias: UnsafeBufferPointer<Float>, movieFactors: UnsafeBufferPointer<Float>,
                      rank: Int) -> (movieBias: [Float], movieFactors: [Float]) {
        var bias = Array(movieBias), factors = Array(movieFactors)
        for m in 0..<min(movieSupport.count, bias.count) {
            let n = Double(movieSupport[m])
            if Int(movieSupport[m]) < minSupport { bias[m] = -.infinity }
            if shrinkage > 0 {
                let weight = Float(n / (n + shrinkage))
                for f in 0..<rank { factors[m * rank + f] *= weight }
            }
        }
        return (bias, factors)
    }
}

extension FactorModel {
    /// The model as support-aware lists score it (see `SupportPolicy`): for
    /// ranking only — an unsupported movie's "prediction" is −∞.
    public func ranking(with policy: SupportPolicy, movieSupport: [Int32]) -> FactorModel {
        guard !policy.isNone else { return self }
        var model = self
        (model.movieBias, model.movieFactors) = movieBias.withUnsafeBufferPointer { b in
            movieFactors.withUnsafeBufferPointer { q in policy.apply(movieSupport: movieSupport, movieBias: b, movieFactors: q, rank: rank) }
        }
        return model
    }
}

extension RatingMatrix {
    /// Training ratings per movie.
    public var movieSupport: [Int32] { (0..<movieCount).map { Int32(movieStart[$0 + 1] - movieStart[$0]) } }
}
