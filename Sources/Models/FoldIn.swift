import Features

/// Folding a customer into a trained model without retraining: the movie
/// side stays fixed and one ALS row solve gives the customer's factors and
/// bias from their ratings,
///
///     (Q̃_Iᵀ Q̃_I + λ n E) [p; b] = Q̃_Iᵀ (r_I − μ − b_I),   Q̃_I = [Q_I, 1]
///
/// the same normal equations a joint-bias ALS sweep solves for that row, so for
/// an ALS model fitted on the same ratings it reproduces the trained row (up to
/// the last sweep's movie update). For other factor models it is the ridge
/// least-squares fit of the customer against their fixed movie vectors.
public enum FoldIn {
    /// The customer's factors (rank values) and bias.
    /// - Parameters:
    ///   - ratings: (dense movie index, rating) pairs; movies unknown to the model are left out by the caller.
    ///   - regularization: λ (the model's own, when it has one).
    public static func customer(ratings: [(movie: Int32, rating: Float)], movieFactors: UnsafeBufferPointer<Float>,
                                movieBias: UnsafeBufferPointer<Float>, globalMean: Double, rank: Int,
                                regularization: Double) throws -> (factors: [Float], bias: Float) {
        let n = ratings.count
        guard n > 0 else { return ([Float](repeating: 0, count: rank), 0) }
        let d = rank + 1
        // Each rated movie's factors copied whole (a refresh gathers ~100M rows at Netflix scale).
        var targets = [Float](repeating: 0, count: n)
        let gathered = [Float](unsafeUninitializedCapacity: n * d) { out, initialized in
            let source = movieFactors.baseAddress!
            for (j, pair) in ratings.enumerated() {
                let m = Int(pair.movie)
                (out.baseAddress! + j * d).update(from: source + m * rank, count: rank)
                out[j * d + rank] = 1
                targets[j] = Float(Double(pair.rating) - globalMean - Double(movieBias[m]))
            }
            initialized = n * d
        }
        var normal = [Float](repeating: 0, count: d * d)
        var rhs = [Float](repeating: 0, count: d)
        Linalg.syrkTransposed(n: n, k: d, g: gathered, c: &normal)
        let ridge = Float(regularization * Double(n))
        for f in 0..<d { normal[f * d + f] += ridge }
        Linalg.gemvTransposed(n: n, k: d, g: gathered, x: targets, y: &rhs)
        try Linalg.choleskySolve(n: d, a: &normal, b: &rhs)
        return (Array(rhs[0..<rank]), rhs[rank])
    }
}
