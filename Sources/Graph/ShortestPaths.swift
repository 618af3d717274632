import Features
import Foundation
import Runtime

/// Betweenness and harmonic closeness, from one shortest-path search per
/// source node.
///
/// Betweenness (Brandes, "A faster algorithm for betweenness centrality",
/// J. Math. Sociol. 2001): from each source s, a breadth-first search (hops)
/// or Dijkstra (inverse weights) counts shortest paths σ, then the
/// dependencies δ_s(v) = Σ_{w: v precedes w} σ_v/σ_w (1 + δ_s(w)) are summed
/// back in order of decreasing distance. Values are normalised as NetworkX's
/// `betweenness_centrality(normalized=True, endpoints=False)`: the sum over
/// ordered pairs divided by (n−1)(n−2).
///
/// Harmonic closeness (Marchiori & Latora 2000; NetworkX's
/// `harmonic_centrality`): H(v) = Σ_{u ≠ v} 1/d(u, v), unnormalised; the
/// same searches give it, as d is symmetric.
///
/// Beyond `exactLimit` nodes only `pivots` sources, sampled uniformly with
/// the seed, are searched (Brandes & Pich 2007), and the sums are scaled as
/// NetworkX scales `k`-sampled betweenness: by 1/(k·(n−2)) for nodes that are
/// not sources and by 1/((k−1)(n−2)) for those that are (a node's own search
/// cannot pass through it) — each sampled sum times (n−1)/k (or /(k−1)) is an
/// unbiased estimate of the sum over all n−1 other sources. Harmonic sums are
/// scaled by (n−1)/k and (n−1)/(k−1) the same way.
///
/// Sources are searched in parallel; each fixed block of sources sums into
/// its own arrays and the blocks are added in order, so the result has the
/// same bits for any thread count.
public struct ShortestPathCentrality: Sendable {
    public let betweenness: [Double]
    public let harmonic: [Double]
    /// The sampled sources, ascending; nil when every node was a source.
    public let pivots: [Int32]?

    public var isExact: Bool { pivots == nil }

    public static func compute(_ g: WeightedGraph, configuration: CentralityConfiguration = .init(),
                               progress: ((String) -> Void)? = nil) throws -> ShortestPathCentrality {
        try configuration.validate()
        let n = g.nodeCount
        let sampled = n > configuration.exactLimit && configuration.pivots < n
        let sources: [Int32] = sampled
            ? CoRatingNetwork.sampleIndexes(configuration.pivots, of: n, seed: configuration.seed)
            : (0..<Int32(n)).map { $0 }
        let blocks = min(64, sources.count)
        var blockBetweenness = [[Double]](repeating: [], count: blocks)
        var blockHarmonic = [[Double]](repeating: [], count: blocks)
        let ticker = ProgressTally(sampled ? "shortest paths (\(sources.count) pivots)" : "shortest paths (all \(n) sources)",
                                    total: sources.count, lines: progress)
        let weighted = configuration.pathLength == .inverseWeight
        blockBetweenness.withUnsafeMutableBufferPointer { bOut in
        blockHarmonic.withUnsafeMutableBufferPointer { hOut in
            let bOut = bOut, hOut = hOut
            Parallel.forEachChunk(count: blocks, chunkSize: 1, threads: configuration.threads,
                                  makeScratch: { _ in SearchScratch(n) }) { scratch, range in
                for block in range {
                    var b = [Double](repeating: 0, count: n)
                    var h = [Double](repeating: 0, count: n)
                    let lower = block * sources.count / blocks, upper = (block + 1) * sources.count / blocks
                    for i in lower..<upper {
                        if weighted {
                            scratch.dijkstra(g, from: Int(sources[i]), betweenness: &b, harmonic: &h)
                        } else {
                            scratch.breadthFirst(g, from: Int(sources[i]), betweenness: &b, harmonic: &h)
                        }
                    }
                    bOut[block] = b
                    hOut[block] = h
                    ticker.advance(upper - lower)
                }
            }
        }}
        var betweenness = [Double](repeating: 0, count: n)
        var harmonic = [Double](repeating: 0, count: n)
        for block in 0..<blocks {
            for v in 0..<n {
                betweenness[v] += blockBetweenness[block][v]
                harmonic[v] += blockHarmonic[block][v]
            }
        }
        // Scaling (see the type's comment): N = n − 1 ordered targets per source.
        let k = Double(sources.count)
        if n > 2 {
            let pairs = Double(n - 1) * Double(n - 2)
            if sampled {
                var isSource = [Bool](repeating: false, count: n)
                for s in sources { isSource[Int(s)] = true }
                for v in 0..<n {
                    let effective = isSource[v] ? k - 1 : k
                    // k = 1 leaves a source with no search that could cross it: NetworkX gives NaN; 0 here.
                    betweenness[v] = effective > 0 ? betweenness[v] / (effective * Double(n - 2)) : 0
                    harmonic[v] = effective > 0 ? harmonic[v] * Double(n - 1) / effective : 0
                }
            } else {
                for v in 0..<n { betweenness[v] /= pairs }
            }
        } else {
            for v in 0..<n { betweenness[v] = 0 }
        }
        return ShortestPathCentrality(betweenness: betweenness, harmonic: harmonic, pivots: sampled ? sources : nil)
    }
}

/// One worker's arrays for single-source searches, allocated once.
struct SearchScratch {
    var distance: [Double]
    var sigma: [Double]
    var delta: [Double]
    var order: [Int32]        // nodes in the order they were settled
    var heap: [(Double, Int32)] = []
    var settled: [Bool]

    init(_ n: Int) {
        distance = [Double](repeating: -1, count: n)
        sigma = [Double](repeating: 0, count: n)
        delta = [Double](repeating: 0, count: n)
        order = []
        order.reserveCapacity(n)
        settled = [Bool](repeating: false, count: n)
    }

    /// Brandes' accumulation for one breadth-first search from `s`.
    mutating func breadthFirst(_ g: WeightedGraph, from s: Int, betweenness: inout [Double], harmonic: inout [Double]) {
        order.removeAll(keepingCapacity: true)
        distance.withUnsafeMutableBufferPointer { dist in
        sigma.withUnsafeMutableBufferPointer { sigma in
        delta.withUnsafeMutableBufferPointer { delta in
        g.start.withUnsafeBufferPointer { start in
        g.neighbor.withUnsafeBufferPointer { neighbor in
            dist[s] = 0
            sigma[s] = 1
            order.append(Int32(s))
            var head = 0
            // `order` doubles as the queue: a BFS settles nodes in the order it discovers them.
            while head < order.count {
                let v = Int(order[head]); head += 1
                let dv = dist[v]
                for slot in start[v]..<start[v + 1] {
                    let w = Int(neighbor[slot])
                    if dist[w] < 0 {
                        dist[w] = dv + 1
                        order.append(Int32(w))
                    }
                    if dist[w] == dv + 1 { sigma[w] += sigma[v] }
                }
            }
            for i in stride(from: order.count - 1, through: 1, by: -1) {
                let w = Int(order[i])
                let dw = dist[w]
                let coefficient = (1 + delta[w]) / sigma[w]
                for slot in start[w]..<start[w + 1] {
                    let v = Int(neighbor[slot])
                    if dist[v] == dw - 1 { delta[v] += sigma[v] * coefficient }
                }
                betweenness[w] += delta[w]
                harmonic[w] += 1 / dw
            }
            for v in order {
                dist[Int(v)] = -1; sigma[Int(v)] = 0; delta[Int(v)] = 0
            }
        }}}}}
    }

    /// Brandes' accumulation for one Dijkstra search from `s`, an edge of weight w being 1/w long.
    /// A node w's predecessors are the settled v with dist(v) + 1/w_vw == dist(w), evaluated
    /// with the same floating-point sum the relaxation used (as NetworkX does).
    mutating func dijkstra(_ g: WeightedGraph, from s: Int, betweenness: inout [Double], harmonic: inout [Double]) {
        order.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        distance[s] = 0
        push(0, Int32(s))
        while let (d, v32) = pop() {
            let v = Int(v32)
            if settled[v] || d > distance[v] { continue }
            settled[v] = true
            order.append(v32)
            // σ_v from the settled predecessors.
            if v != s {
                var paths = 0.0
                for slot in g.start[v]..<g.start[v + 1] {
                    let u = Int(g.neighbor[slot])
                    if settled[u] && u != v && distance[u] + 1 / g.weight[slot] == d { paths += sigma[u] }
                }
                sigma[v] = paths
            } else {
                sigma[v] = 1
            }
            for slot in g.start[v]..<g.start[v + 1] {
                let w = Int(g.neighbor[slot])
                if settled[w] { continue }
                let candidate = d + 1 / g.weight[slot]
                if distance[w] < 0 || candidate < distance[w] {
                    distance[w] = candidate
                    push(candidate, Int32(w))
                }
            }
        }
        for i in stride(from: order.count - 1, through: 1, by: -1) {
            let w = Int(order[i])
            let dw = distance[w]
            let coefficient = (1 + delta[w]) / sigma[w]
            for slot in g.start[w]..<g.start[w + 1] {
                let v = Int(g.neighbor[slot])
                if settled[v] && distance[v] + 1 / g.weight[slot] == dw { delta[v] += sigma[v] * coefficient }
            }
            betweenness[w] += delta[w]
            harmonic[w] += 1 / dw
        }
        for v in order {
            distance[Int(v)] = -1; sigma[Int(v)] = 0; delta[Int(v)] = 0; settled[Int(v)] = false
        }
        // Nodes reached but never settled cannot exist: every pushed node is popped.
    }

    private mutating func push(_ d: Double, _ v: Int32) {
        heap.append((d, v))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[i] < heap[parent] { heap.swapAt(i, parent); i = parent } else { break }
        }
    }

    private mutating func pop() -> (Double, Int32)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, heap[l] < heap[m] { m = l }
                if r < heap.count, heap[r] < heap[m] { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
