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
    /// An item-based model's weights (EASE): movies × movies, row-major, row j
    /// the weight from a rated movie j to every candidate; empty otherwise.
    public var itemWeights: [Float]
    /// An item-based model's training history, CSR by customer (the movies each
    /// rated, ascending): what its scores sum over. Empty otherwise.
    public var historyStart: [Int]
    public var history: [Int32]

    public var isItemBased: Bool { !itemWeights.isEmpty }

    /// An item-based ranking model (EASE, item kNN): no factors, μ = 0 and zero
    /// biases; `weights` (movies × movies) and `matrix`'s rows as its history.
    public static func itemBased(kind: ModelKind, parameters: String, weights: [Float], trainedOn matrix: RatingMatrix,
                                 scale: RatingScale, dataVersion: String, splitID: Int) -> FactorModel {
        FactorModel(kind: kind.rawValue, parameters: parameters, dataVersion: dataVersion, splitID: splitID, scale: scale,
                    customerIDs: matrix.customerIDs, movieIDs: matrix.movieIDs, globalMean: 0,
                    customerBias: [Float](repeating: 0, count: matrix.customerCount),
                    movieBias: [Float](repeating: 0, count: matrix.movieCount), rank: 0, customerFactors: [], movieFactors: [],
                    customerTrainCount: matrix.customerSupport, itemWeights: weights,
                    historyStart: matrix.customerStart, history: matrix.customerMovie)
    }

    public init(kind: String, parameters: String, dataVersion: String, splitID: Int, scale: RatingScale,
                customerIDs: [Int64], movieIDs: [Int64], globalMean: Double, customerBias: [Float], movieBias: [Float],
                rank: Int, customerFactors: [Float], movieFactors: [Float], customerTrainCount: [Int32],
                itemWeights: [Float] = [], historyStart: [Int] = [], history: [Int32] = []) {
        precondition(customerBias.count == customerIDs.count && customerTrainCount.count == customerIDs.count
                     && movieBias.count == movieIDs.count, "one bias and one count per id")
        precondition(customerFactors.count == customerIDs.count * rank && movieFactors.count == movieIDs.count * rank,
                     "factor shapes must be ids × rank")
        precondition(itemWeights.isEmpty || (itemWeights.count == movieIDs.count * movieIDs.count
                                             && historyStart.count == customerIDs.count + 1 && historyStart.last == history.count),
                     "item weights are movies × movies with a history per customer")
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
        self.itemWeights = itemWeights
        self.historyStart = historyStart
        self.history = history
    }

    public var customerCount: Int { customerIDs.count }
    public var movieCount: Int { movieIDs.count }

    public func score(customer: Int, movie: Int) -> Double {
        var dot: Float = 0
        let p = customer * rank, q = movie * rank
        for f in 0..<rank { dot += customerFactors[p + f] * movieFactors[q + f] }
        if isItemBased {
            let n = movieIDs.count
            for s in historyStart[customer]..<historyStart[customer + 1] { dot += itemWeights[Int(history[s]) * n + movie] }
        }
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

    /// What recommend and evaluate --ranking apply to rating models unless
    /// told otherwise. Measured on real MovieLens (experiments/RESULTS.md):
    /// ALS rank 50's NDCG@10 goes from 0.017 (lists of movies with 3–6 ratings)
    /// to 0.061 with at least 20 training ratings and β = 25 — still below
    /// "most popular" (0.106), which is why recommend prefers ranking models.
    public static let ratingDefault = SupportPolicy(minSupport: 20, shrinkage: 25)

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
