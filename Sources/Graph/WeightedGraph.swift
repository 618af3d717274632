import Foundation

/// A problem with a graph's input or with a parameter of an algorithm run on it.
public enum GraphError: Error, CustomStringConvertible, Equatable, Sendable {
    /// An edge that cannot be part of a graph (a node out of range, a weight that is not a finite positive number).
    case invalidEdge(String)
    /// One line of an edge-list file cannot be read. `line` is 1-based.
    case badEdgeLine(line: Int, problem: String, text: String)
    /// A configuration value outside its valid range.
    case invalidParameter(String)
    /// A power iteration did not reach its tolerance within its iteration limit.
    case notConverged(String, iterations: Int)

    public var description: String {
        switch self {
        case .invalidEdge(let message): return message
        case .badEdgeLine(let line, let problem, _): return "line \(line): \(problem)"
        case .invalidParameter(let message): return message
        case .notConverged(let what, let iterations):
            return "\(what) did not converge in \(iterations) iterations; raise the iteration limit or loosen the tolerance"
        }
    }
}

/// One undirected edge given as dense node indexes.
public struct Edge: Equatable, Sendable {
    public var source: Int32
    public var target: Int32
    public var weight: Double

    public init(_ source: Int32, _ target: Int32, weight: Double = 1) {
        self.source = source
        self.target = target
        self.weight = weight
    }
}

/// A weighted undirected graph in compressed sparse rows: the neighbours of
/// node `v` are `neighbor[start[v] ..< start[v + 1]]`, ascending, with their
/// edge weights beside them. Every edge {u, v} with u ≠ v is stored twice (in
/// u's row and in v's row) with the same weight; a self-loop is kept apart in
/// `selfLoop[v]` so that traversals never meet it.
///
/// Conventions (NetworkX's, so that figures compare):
/// - `totalWeight` m is the sum of the edge weights, each edge once, self-loops once;
/// - the strength (weighted degree) of v counts its self-loop twice, so Σ strength = 2m;
/// - the degree of v is its number of neighbours, plus 2 for a self-loop.
public struct WeightedGraph: Sendable, Equatable {
    public let nodeCount: Int
    public let start: [Int]
    public let neighbor: [Int32]
    public let weight: [Double]
    /// The weight of v's self-loop; 0 when v has none.
    public let selfLoop: [Double]
    /// Undirected edges, self-loops included.
    public let edgeCount: Int
    /// m: the sum of all edge weights, each edge counted once.
    public let totalWeight: Double

    /// Builds the graph from edges in any order and orientation. Edges that
    /// repeat (in either orientation) are merged into one whose weight is the
    /// sum of theirs.
    /// - Throws: `GraphError.invalidEdge` for a node outside 0..<nodeCount or a
    ///   weight that is not finite and positive (modularity and shortest paths
    ///   are undefined for those).
    public init(nodeCount: Int, edges: [Edge]) throws {
        guard nodeCount >= 0, nodeCount <= Int(Int32.max) else {
            throw GraphError.invalidEdge("a graph holds at most \(Int32.max) nodes, not \(nodeCount)")
        }
        var loops = [Double](repeating: 0, count: nodeCount)
        var rowCount = [Int](repeating: 0, count: nodeCount + 1)
        for e in edges {
            guard e.source >= 0, Int(e.source) < nodeCount, e.target >= 0, Int(e.target) < nodeCount else {
                throw GraphError.invalidEdge("edge \(e.source)–\(e.target) names a node outside 0..<\(nodeCount)")
            }
            guard e.weight.isFinite, e.weight > 0 else {
                throw GraphError.invalidEdge("edge \(e.source)–\(e.target) has weight \(e.weight); weights must be finite and positive")
            }
            if e.source == e.target {
                loops[Int(e.source)] += e.weight
                guard loops[Int(e.source)].isFinite else {
                    throw GraphError.invalidEdge("the self-loops of node \(e.source) have weights that sum past the largest finite number")
                }
            } else {
                rowCount[Int(e.source) + 1] += 1
                rowCount[Int(e.target) + 1] += 1
            }
        }
        for v in 0..<nodeCount { rowCount[v + 1] += rowCount[v] }
        // Counting sort into rows, then sort each row and merge repeats.
        var next = rowCount
        var rawNeighbor = [Int32](repeating: 0, count: rowCount[nodeCount])
        var rawWeight = [Double](repeating: 0, count: rowCount[nodeCount])
        for e in edges where e.source != e.target {
            let s = Int(e.source), t = Int(e.target)
            rawNeighbor[next[s]] = e.target
            rawWeight[next[s]] = e.weight
            next[s] += 1
            rawNeighbor[next[t]] = e.source
            rawWeight[next[t]] = e.weight
            next[t] += 1
        }
        var start = [Int](repeating: 0, count: nodeCount + 1)
        var neighbor: [Int32] = []
        var weight: [Double] = []
        neighbor.reserveCapacity(rawNeighbor.count)
        weight.reserveCapacity(rawNeighbor.count)
        for v in 0..<nodeCount {
            let row = (rowCount[v]..<rowCount[v + 1]).sorted { rawNeighbor[$0] < rawNeighbor[$1] }
            for slot in row {
                if neighbor.count > start[v], neighbor[neighbor.count - 1] == rawNeighbor[slot] {
                    weight[weight.count - 1] += rawWeight[slot]
                    guard weight[weight.count - 1].isFinite else {
                        throw GraphError.invalidEdge("the repeated edge \(v)–\(rawNeighbor[slot]) has weights that sum past the largest finite number")
                    }
                } else {
                    neighbor.append(rawNeighbor[slot])
                    weight.append(rawWeight[slot])
                }
            }
            start[v + 1] = neighbor.count
        }
        self.init(nodeCount: nodeCount, start: start, neighbor: neighbor, weight: weight, selfLoop: loops)
    }

    /// Stores rows that are already symmetric, ascending and free of repeats
    /// and self-entries (the co-rating builder and the aggregations make them so).
    init(nodeCount: Int, start: [Int], neighbor: [Int32], weight: [Double], selfLoop: [Double]? = nil) {
        precondition(start.count == nodeCount + 1 && start.last == neighbor.count && weight.count == neighbor.count)
        self.nodeCount = nodeCount
        self.start = start
        self.neighbor = neighbor
        self.weight = weight
        let loops = selfLoop ?? [Double](repeating: 0, count: nodeCount)
        self.selfLoop = loops
        // Summed per row, then over rows: the same order for every caller.
        var half = 0.0, loopTotal = 0.0, loopCount = 0
        weight.withUnsafeBufferPointer { w in
            for v in 0..<nodeCount {
                var row = 0.0
                for slot in start[v]..<start[v + 1] { row += w[slot] }
                half += row
            }
        }
        for l in loops where l > 0 { loopTotal += l; loopCount += 1 }
        edgeCount = neighbor.count / 2 + loopCount
        totalWeight = half / 2 + loopTotal
    }

    /// The neighbours of `v` (ascending) and the weights of the edges to them.
    public func neighbors(of v: Int) -> (nodes: ArraySlice<Int32>, weights: ArraySlice<Double>) {
        (neighbor[start[v]..<start[v + 1]], weight[start[v]..<start[v + 1]])
    }

    /// Neighbours of `v`, plus 2 for a self-loop (NetworkX's `G.degree`).
    public func degree(_ v: Int) -> Int {
        start[v + 1] - start[v] + (selfLoop[v] > 0 ? 2 : 0)
    }

    /// The weighted degree of `v`: its edge weights, a self-loop counted twice.
    public func strength(_ v: Int) -> Double {
        var sum = 0.0
        for slot in start[v]..<start[v + 1] { sum += weight[slot] }
        return sum + 2 * selfLoop[v]
    }

    /// The weight of edge {u, v}, 0 when there is none.
    public func weight(between u: Int, and v: Int) -> Double {
        if u == v { return selfLoop[u] }
        var lo = start[u], hi = start[u + 1]
        let target = Int32(v)
        while lo < hi {
            let mid = (lo + hi) / 2
            if neighbor[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        return lo < start[u + 1] && neighbor[lo] == target ? weight[lo] : 0
    }

    /// Every edge once (u < v, then the self-loops), in row order.
    public var edges: [Edge] {
        var out: [Edge] = []
        out.reserveCapacity(edgeCount)
        for u in 0..<nodeCount {
            for slot in start[u]..<start[u + 1] where Int(neighbor[slot]) > u {
                out.append(Edge(Int32(u), neighbor[slot], weight: weight[slot]))
            }
        }
        for v in 0..<nodeCount where selfLoop[v] > 0 { out.append(Edge(Int32(v), Int32(v), weight: selfLoop[v])) }
        return out
    }
}
