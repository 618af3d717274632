import Features
import Foundation
import Runtime

/// Parameters of the item-item neighbourhood ranking model.
public struct ItemKNNConfiguration: TrainerConfiguration {
    /// Neighbours kept per movie, 1…10,000.
    public var neighbours = 50
    /// β of the shrunk cosine n_ab / (√(n_a·n_b) + β), ≥ 0 (0: plain cosine).
    public var shrinkage = 0.0
    /// Unused (nothing is drawn); kept so every trainer's configuration has one.
    public var seed: UInt64 = 42
    /// Worker threads for the co-rating counts and the neighbour lists.
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    // The result does not depend on the seed or the thread count: only these are stored.
    private enum CodingKeys: String, CodingKey { case neighbours, shrinkage }

    public func validate() throws {
        func fail(_ text: String) -> ConfigurationError { ConfigurationError("invalid item kNN configuration: \(text)") }
        guard (1...10_000).contains(neighbours) else { throw fail("neighbours must be 1…10000, got \(neighbours)") }
        guard shrinkage >= 0, shrinkage.isFinite else { throw fail("shrinkage must be 0 or more, got \(shrinkage)") }
        guard threads >= 1 else { throw fail("threads must be at least 1, got \(threads)") }
    }
}

/// Item-item kNN for ranking (Sarwar et al. 2001; Deshpande & Karypis 2004):
/// the similarity of two movies is the cosine of who rated them,
/// n_ab / (√(n_a·n_b) + β), each movie keeps its `neighbours` most similar
/// others, and a customer's score for movie i is the sum of the similarities
/// from the movies they rated to i. The co-rating counts are the Gram matrix
/// EASE builds; the customer side is never a dense matrix.
///
/// The result is an item-based `FactorModel` (see `EASETrainer`): row j of
/// `itemWeights` holds j's neighbours' similarities, zero elsewhere.
public struct ItemKNNTrainer: Sendable {
    public let configuration: ItemKNNConfiguration

    public init(_ configuration: ItemKNNConfiguration) {
        self.configuration = configuration
    }

    public func fit(_ matrix: RatingMatrix, scale: RatingScale, dataVersion: String = "", splitID: Int = 0) throws -> FactorModel {
        try configuration.validate()
        let n = matrix.movieCount, keep = min(configuration.neighbours, max(0, n - 1)), beta = configuration.shrinkage
        let gram = EASETrainer.gram(matrix, threads: configuration.threads)
        try Interruption.check()
        var weights = [Float](repeating: 0, count: n * n)
        weights.withUnsafeMutableBufferPointer { w in
            let w = w
            Parallel.forEachChunk(count: n, chunkSize: 64, threads: configuration.threads, makeScratch: { _ in [(Double, Int)]() }) { candidates, range in
                for j in range where gram[j * n + j] > 0 {
                    candidates.removeAll(keepingCapacity: true)
                    for i in 0..<n where i != j && gram[j * n + i] > 0 {
                        candidates.append((gram[j * n + i] / ((gram[j * n + j] * gram[i * n + i]).squareRoot() + beta), i))
                    }
                    // The most similar first; of equals, the lower movie index.
                    candidates.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
                    for (similarity, i) in candidates.prefix(keep) { w[j * n + i] = Float(similarity) }
                }
            }
        }
        return .itemBased(kind: .itemknn, parameters: configuration.json, weights: weights, trainedOn: matrix,
                          scale: scale, dataVersion: dataVersion, splitID: splitID)
    }
}
