import Features
import Foundation
import Runtime

/// How long an edge is for shortest paths.
public enum PathLength: String, Sendable, CaseIterable, Codable {
    /// Every edge is 1 (breadth-first search): NetworkX's default for
    /// betweenness and harmonic centrality.
    case hops
    /// An edge of weight w is 1/w long (Dijkstra): heavy edges are short,
    /// so paths run through strong co-rating ties.
    case inverseWeight = "inverse-weight"
}

/// Parameters of the centralities, declared once.
public struct CentralityConfiguration: Sendable, Equatable {
    /// PageRank's damping α: the chance of following an edge rather than
    /// jumping to a random node. In (0, 1); NetworkX's default 0.85.
    public var damping: Double = 0.85
    /// Power iterations (PageRank, eigenvector) stop when Σ_v |x_v − x_v'| < n · tolerance
    /// (NetworkX's rule; its default 1e-6). Greater than 0.
    public var tolerance: Double = 1e-6
    /// Power iterations give up (and throw) after this many. At least 1.
    public var maxIterations: Int = 1000
    /// Betweenness and harmonic closeness run from every node (exact) up to
    /// this many nodes, and from `pivots` sampled nodes beyond it.
    public var exactLimit: Int = 5000
    /// Source nodes sampled beyond `exactLimit` (NetworkX's `k`). At least 1.
    public var pivots: Int = 256
    /// Edge length for betweenness and harmonic closeness.
    public var pathLength: PathLength = .hops
    /// Seeds the pivot sample.
    public var seed: UInt64 = 42
    /// Worker threads (1 or more).
    public var threads: Int = Parallel.defaultThreads

    public init() {}

    public func validate() throws {
        guard damping > 0, damping < 1 else { throw GraphError.invalidParameter("damping must be between 0 and 1") }
        guard tolerance > 0, tolerance.isFinite else { throw GraphError.invalidParameter("tolerance must be a positive number") }
        guard maxIterations >= 1 else { throw GraphError.invalidParameter("the iteration limit must be at least 1") }
        guard exactLimit >= 0 else { throw GraphError.invalidParameter("the exact limit must be 0 or more") }
        guard pivots >= 1 else { throw GraphError.invalidParameter("pivots must be at least 1") }
        guard threads >= 1 else { throw GraphError.invalidParameter("threads must be at least 1") }
    }
}

/// A power iteration's result.
public struct PowerIterationResult: Sendable {
    public var values: [Double]
    public var iterations: Int
}

/// Degree, weighted degree, PageRank and eigenvector centrality.
/// (Betweenness and harmonic closeness: `ShortestPathCentrality`.)
public enum Centrality {
    /// Neighbours per node, a self-loop counting 2 (NetworkX's `G.degree`).
    public static func degree(_ g: WeightedGraph) -> [Int] { (0..<g.nodeCount).map { g.degree($0) } }

    /// Strength per node: the sum of its edge weights, a self-loop twice
    /// (NetworkX's `G.degree(weight="weight")`).
    public static func weightedDegree(_ g: WeightedGraph) -> [Double] { (0..<g.nodeCount).map { g.strength($0) } }

    /// PageRank by power iteration, as NetworkX's `pagerank` computes it:
    ///
    ///     x' = α (x P + (Σ_{dangling u} x_u) / n) + (1 − α) / n
    ///
    /// with P the row-normalised weighted adjacency (a self-loop is A_vv = w)
    /// and dangling nodes (no edges) spreading their rank uniformly, from
    /// x = 1/n until Σ|x' − x| < n · tolerance (Page, Brin, Motwani &
    /// Winograd 1999). The values sum to 1.
    /// - Throws: `GraphError.notConverged` after `maxIterations`.
    public static func pageRank(_ g: WeightedGraph, configuration: CentralityConfiguration = .init()) throws -> PowerIterationResult {
        try configuration.validate()
        let n = g.nodeCount
        guard n > 0 else { return PowerIterationResult(values: [], iterations: 0) }
        let alpha = configuration.damping
        let outWeight = (0..<n).map { v -> Double in
            var s = g.selfLoop[v]
            for slot in g.start[v]..<g.start[v + 1] { s += g.weight[slot] }
            return s
        }
        var x = [Double](repeating: 1 / Double(n), count: n)
        var next = x
        var share = x                    // x_u / W_u: what u sends along each unit of weight
        for iteration in 1...configuration.maxIterations {
            let dangling = Parallel.sum(count: n, threads: configuration.threads) { outWeight[$0] == 0 ? x[$0] : 0 }
            for u in 0..<n { share[u] = outWeight[u] > 0 ? x[u] / outWeight[u] : 0 }
            let base = alpha * dangling / Double(n) + (1 - alpha) / Double(n)
            g.propagate(share, into: &next, threads: configuration.threads, diagonal: { v, share in g.selfLoop[v] * share[v] },
                        finish: { alpha * $0 + base })
            let change = Parallel.sum(count: n, threads: configuration.threads) { abs(next[$0] - x[$0]) }
            swap(&x, &next)
            if change < Double(n) * configuration.tolerance { return PowerIterationResult(values: x, iterations: iteration) }
        }
        throw GraphError.notConverged("PageRank", iterations: configuration.maxIterations)
    }

    /// Eigenvector centrality (Bonacich 1987): the principal eigenvector of
    /// the weighted adjacency A, by power iteration on A + I (the shift keeps
    /// bipartite graphs from oscillating and leaves the eigenvector alone),
    /// from x = 1/n, normalised to unit Euclidean length after each step,
    /// until Σ|x' − x| < n · tolerance — NetworkX's `eigenvector_centrality`
    /// with `weight="weight"` (NetworkX's own default ignores weights).
    /// - Throws: `GraphError.notConverged` after `maxIterations`.
    public static func eigenvector(_ g: WeightedGraph, configuration: CentralityConfiguration = .init()) throws -> PowerIterationResult {
        try configuration.validate()
        let n = g.nodeCount
        guard n > 0 else { return PowerIterationResult(values: [], iterations: 0) }
        var x = [Double](repeating: 1 / Double(n), count: n)
        var next = x
        for iteration in 1...configuration.maxIterations {
            // A + I: the shift is folded into the diagonal term.
            g.propagate(x, into: &next, threads: configuration.threads, diagonal: { v, x in x[v] * (1 + g.selfLoop[v]) }, finish: { $0 })
            let norm = Parallel.sum(count: n, threads: configuration.threads) { next[$0] * next[$0] }.squareRoot()
            let scale = norm > 0 ? 1 / norm : 1
            for v in 0..<n { next[v] *= scale }
            let change = Parallel.sum(count: n, threads: configuration.threads) { abs(next[$0] - x[$0]) }
            swap(&x, &next)
            if change < Double(n) * configuration.tolerance { return PowerIterationResult(values: x, iterations: iteration) }
        }
        throw GraphError.notConverged("eigenvector centrality", iterations: configuration.maxIterations)
    }
}

extension WeightedGraph {
    /// One step of a power iteration: out[v] = finish(diagonal(v, x) + Σ_u w_uv · x[u]),
    /// the sum taken in neighbour order (the same bits for any thread count),
    /// rows in parallel.
    @inline(__always)
    func propagate(_ x: [Double], into out: inout [Double], threads: Int,
                   diagonal: (Int, UnsafeBufferPointer<Double>) -> Double, finish: (Double) -> Double) {
        out.withUnsafeMutableBufferPointer { out in
            let out = out
            x.withUnsafeBufferPointer { x in
            start.withUnsafeBufferPointer { start in
            neighbor.withUnsafeBufferPointer { neighbor in
            weight.withUnsafeBufferPointer { weight in
                Parallel.forEachChunk(count: nodeCount, chunkSize: 1024, threads: threads) { range in
                    for v in range {
                        var s = diagonal(v, x)
                        for slot in start[v]..<start[v + 1] { s += weight[slot] * x[Int(neighbor[slot])] }
                        out[v] = finish(s)
                    }
                }
            }}}}
        }
    }
}
