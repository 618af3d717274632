/// The baseline predictor: global mean plus damped customer and movie biases.
///
///     b_i = Σ_{u ∈ R(i)} (r_ui − μ)        / (λ_movie    + |R(i)|)
///     b_u = Σ_{i ∈ R(u)} (r_ui − μ − b_i)  / (λ_customer + |R(u)|)
///     r̂_ui = μ + b_u + b_i
///
/// The damping terms λ shrink the bias of a rarely rated movie or a customer
/// with few ratings toward zero (Koren, "Factor in the Neighbors", TKDD 2010,
/// §2.1; LensKit's `BiasScorer` uses the same form). Movie biases are fitted
/// first, customer biases on what they leave.
public struct BiasModel: Sendable, Equatable {
    public var globalMean: Double
    /// By dense customer index.
    public var customerBias: [Double]
    /// By dense movie index.
    public var movieBias: [Double]

    public init(globalMean: Double, customerBias: [Double], movieBias: [Double]) {
        self.globalMean = globalMean
        self.customerBias = customerBias
        self.movieBias = movieBias
    }

    /// Fits on `matrix` (the training ratings).
    /// - Parameters:
    ///   - customerDamping: λ_customer ≥ 0 (default 5, LensKit's default damping).
    ///   - movieDamping: λ_movie ≥ 0 (default 5).
    public init(fitting matrix: RatingMatrix, customerDamping: Double = 5, movieDamping: Double = 5) {
        precondition(customerDamping >= 0 && movieDamping >= 0, "damping must be non-negative")
        let n = matrix.count
        var sum = 0.0
        for r in matrix.customerRating { sum += Double(r) }
        let mu = n > 0 ? sum / Double(n) : 0
        var movieBias = [Double](repeating: 0, count: matrix.movieCount)
        for m in 0..<matrix.movieCount {
            var s = 0.0
            for k in matrix.movieStart[m]..<matrix.movieStart[m + 1] { s += Double(matrix.movieRating[k]) - mu }
            movieBias[m] = s / (movieDamping + Double(matrix.movieStart[m + 1] - matrix.movieStart[m]))
        }
        var customerBias = [Double](repeating: 0, count: matrix.customerCount)
        for c in 0..<matrix.customerCount {
            var s = 0.0
            for k in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                s += Double(matrix.customerRating[k]) - mu - movieBias[Int(matrix.customerMovie[k])]
            }
            customerBias[c] = s / (customerDamping + Double(matrix.customerStart[c + 1] - matrix.customerStart[c]))
        }
        self.globalMean = mu
        self.customerBias = customerBias
        self.movieBias = movieBias
    }

    /// μ + b_u + b_i, unclipped.
    @inline(__always)
    public func baseline(customer: Int, movie: Int) -> Double {
        globalMean + customerBias[customer] + movieBias[movie]
    }
}
