/// The movies most like one movie, by the model: the cosine of the movie
/// factors, or an item-based model's own weights (EASE, item kNN) where it has
/// no factors. Built once per model: normalizing every row is the only pass
/// over the factors; each query is then one matrix-vector product.
public struct SimilarMovies: @unchecked Sendable {
    public let basis: String
    private let rank: Int
    private let normalized: [Float]
    private let zeros: [Float]
    private let weights: UnsafeBufferPointer<Float>?

    public init(_ file: ModelFile) {
        let movies = file.movieCount
        zeros = [Float](repeating: 0, count: movies)
        if file.isItemBased || file.rank == 0 {
            (rank, normalized, weights, basis) = (0, [], file.itemWeights, "item_weights")
            return
        }
        rank = file.rank
        var rows = [Float](repeating: 0, count: movies * rank)
        for m in 0..<movies {
            var norm: Float = 0
            for f in 0..<rank { norm += file.movieFactors[m * rank + f] * file.movieFactors[m * rank + f] }
            // A movie without a direction (all-zero factors) is like nothing: it stays zero.
            let scale = norm > 0 ? 1 / norm.squareRoot() : 0
            for f in 0..<rank { rows[m * rank + f] = file.movieFactors[m * rank + f] * scale }
        }
        (normalized, weights, basis) = (rows, nil, "cosine_of_factors")
    }

    /// The `count` movies (model indices) most like movie index `movie`, itself left out, best first.
    public func top(of movie: Int, count: Int) -> [TopN.Item] {
        zeros.withUnsafeBufferPointer { bias in
            [Int32(movie)].withUnsafeBufferPointer { exclude in
                if let weights {
                    return [Float]().withUnsafeBufferPointer { none in
                        TopN.single(customerFactor: none, customerBias: 0, globalMean: 0, movieBias: bias, movieFactors: none, rank: 0,
                                    exclude: exclude, count: count, itemWeights: weights, history: [Int32(movie)])
                    }
                }
                return normalized.withUnsafeBufferPointer { q in
                    TopN.single(customerFactor: UnsafeBufferPointer(rebasing: q[(movie * rank)..<((movie + 1) * rank)]), customerBias: 0,
                                globalMean: 0, movieBias: bias, movieFactors: q, rank: rank, exclude: exclude, count: count)
                }
            }
        }
    }
}
