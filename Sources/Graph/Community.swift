import Features
import Runtime
import Foundation

/// The two community detection algorithms.
public enum CommunityAlgorithm: String, Sendable, CaseIterable, Codable {
    case louvain, leiden
}

/// Parameters of Louvain and Leiden, declared once.
public struct CommunityConfiguration: Sendable, Equatable {
    /// γ in the modularity: above 1 favours more, smaller communities; below 1
    /// fewer, larger ones. Greater than 0.
    public var resolution: Double = 1
    /// Seeds the node orders (and Leiden's refinement choices): the same seed
    /// gives the same partition.
    public var seed: UInt64 = 42
    /// Louvain stops when a level raises modularity by no more than this
    /// (NetworkX's `threshold`, 1e-7). At least 0.
    public var threshold: Double = 1e-7
    /// Leiden's refinement picks a sub-community with probability ∝ exp(ΔH/θ)
    /// among the moves with ΔH ≥ 0, ΔH in edge-weight units (igraph's `beta`;
    /// Traag et al. use θ = 0.01). Smaller is greedier. Greater than 0.
    public var randomness: Double = 0.01
    /// At most this many aggregation levels. At least 1.
    public var maxLevels: Int = 1000
    /// Leiden: at most this many iterations, each starting from the partition
    /// the previous one found (Traag et al. iterate until nothing changes);
    /// stops early when an iteration raises modularity by no more than
    /// `threshold`. At least 1.
    public var iterations: Int = 10
    /// Independent runs, the first with `seed` and the others with seeds
    /// derived from it; the partition with the highest modularity is kept
    /// (the earliest on a tie). At least 1.
    public var restarts: Int = 1

    public init(resolution: Double = 1, seed: UInt64 = 42) {
        self.resolution = resolution
        self.seed = seed
    }

    public func validate() throws {
        guard resolution > 0, resolution.isFinite else { throw GraphError.invalidParameter("resolution must be a positive number") }
        guard threshold >= 0 else { throw GraphError.invalidParameter("threshold must be 0 or more") }
        guard randomness > 0, randomness.isFinite else { throw GraphError.invalidParameter("randomness must be a positive number") }
        guard maxLevels >= 1 else { throw GraphError.invalidParameter("max levels must be at least 1") }
        guard iterations >= 1 else { throw GraphError.invalidParameter("iterations must be at least 1") }
        guard restarts >= 1 else { throw GraphError.invalidParameter("restarts must be at least 1") }
    }

    /// The seed of run `r` of `restarts`: run 0 uses `seed` itself.
    func seed(ofRun r: Int) -> UInt64 {
        guard r > 0 else { return seed }
        var derived = SeededGenerator(seed: seed, stream: UInt64(r))
        return derived.next()
    }

    /// Runs `body` once per restart and keeps the best partition.
    func bestOfRestarts(_ body: (UInt64) throws -> Partition) rethrows -> Partition {
        var best = try body(seed(ofRun: 0))
        for r in 1..<max(1, restarts) {
            let candidate = try body(seed(ofRun: r))
            if candidate.modularity > best.modularity { best = candidate }
        }
        return best
    }
}

/// A partition of a graph's nodes into communities.
public struct Partition: Sendable, Equatable {
    /// The community of each node: 0 is the largest, ties broken by the
    /// lowest node index in the community.
    public let membership: [Int32]
    /// Sizes of the communities, descending.
    public let sizes: [Int]
    /// Its modularity at the resolution it was found with.
    public let modularity: Double
    /// Aggregation levels the algorithm went through.
    public let levels: Int
    /// Communities that came out disconnected and were split into their
    /// connected components (Leiden only; 0 is its guarantee).
    public let splitCommunities: Int

    public var count: Int { sizes.count }

    /// Builds a partition from any community labels, renumbered by size.
    public init(graph: WeightedGraph, labels: [Int32], resolution: Double = 1, levels: Int = 0, splitCommunities: Int = 0) {
        let (membership, sizes) = Self.canonical(labels)
        self.membership = membership
        self.sizes = sizes
        self.modularity = Modularity.of(graph, membership: membership, resolution: resolution)
        self.levels = levels
        self.splitCommunities = splitCommunities
    }

    /// The nodes of each community, ascending.
    public var members: [[Int32]] {
        var out = [[Int32]](repeating: [], count: sizes.count)
        for (v, c) in membership.enumerated() { out[Int(c)].append(Int32(v)) }
        return out
    }

    /// Renumbers labels 0..<k by descending size, ties by lowest node.
    static func canonical(_ labels: [Int32]) -> ([Int32], [Int]) {
        var dense: [Int32: Int] = [:]
        var size: [Int] = [], first: [Int] = []
        var compact = [Int](repeating: 0, count: labels.count)
        for (v, l) in labels.enumerated() {
            if let i = dense[l] {
                size[i] += 1
                compact[v] = i
            } else {
                dense[l] = size.count
                compact[v] = size.count
                size.append(1)
                first.append(v)
            }
        }
        let order = (0..<size.count).sorted { size[$0] != size[$1] ? size[$0] > size[$1] : first[$0] < first[$1] }
        var rank = [Int32](repeating: 0, count: size.count)
        for (r, i) in order.enumerated() { rank[i] = Int32(r) }
        return (compact.map { rank[$0] }, order.map { size[$0] })
    }
}

/// Newman–Girvan modularity with a resolution γ:
///
///     Q = Σ_c [ L_c / m − γ (K_c / 2m)² ]
///
/// with m the total edge weight, L_c the weight of the edges inside community
/// c (self-loops included, each edge once) and K_c the sum of its nodes'
/// strengths (self-loops twice) — NetworkX's `community.modularity`.
public enum Modularity {
    public static func of(_ graph: WeightedGraph, membership: [Int32], resolution: Double = 1) -> Double {
        let m = graph.totalWeight
        guard m > 0 else { return 0 }
        let k = (membership.max().map { Int($0) } ?? -1) + 1
        var inside = [Double](repeating: 0, count: k)
        var strength = [Double](repeating: 0, count: k)
        for v in 0..<graph.nodeCount {
            let c = Int(membership[v])
            var internalHalf = 0.0, total = 0.0
            for slot in graph.start[v]..<graph.start[v + 1] {
                let w = graph.weight[slot]
                total += w
                if membership[Int(graph.neighbor[slot])] == membership[v] { internalHalf += w }
            }
            inside[c] += internalHalf / 2 + graph.selfLoop[v]
            strength[c] += total + 2 * graph.selfLoop[v]
        }
        var q = 0.0
        for c in 0..<k {
            let share = strength[c] / (2 * m)
            q += inside[c] / m - resolution * share * share
        }
        return q
    }
}

/// Connectedness of communities.
public enum Components {
    /// For each community, how many connected pieces its nodes form in the
    /// graph (edges leaving the community do not count).
    public static func piecesPerCommunity(_ graph: WeightedGraph, membership: [Int32]) -> [Int] {
        let labels = split(graph, membership: membership)
        let k = (membership.max().map { Int($0) } ?? -1) + 1
        var seen = Set<Int32>()
        var pieces = [Int](repeating: 0, count: k)
        for v in 0..<graph.nodeCount where seen.insert(labels[v]).inserted { pieces[Int(membership[v])] += 1 }
        return pieces
    }

    /// Labels every node with the connected piece of its community it lies in
    /// (breadth-first search inside each community). The labels are node
    /// indexes (the lowest-visited start of each piece), not dense.
    public static func split(_ graph: WeightedGraph, membership: [Int32]) -> [Int32] {
        let n = graph.nodeCount
        var piece = [Int32](repeating: -1, count: n)
        var queue = [Int32](); queue.reserveCapacity(n)
        for s in 0..<n where piece[s] < 0 {
            piece[s] = Int32(s)
            queue.removeAll(keepingCapacity: true)
            queue.append(Int32(s))
            var head = 0
            while head < queue.count {
                let v = Int(queue[head]); head += 1
                for slot in graph.start[v]..<graph.start[v + 1] {
                    let u = Int(graph.neighbor[slot])
                    if piece[u] < 0 && membership[u] == membership[v] {
                        piece[u] = Int32(s)
                        queue.append(Int32(u))
                    }
                }
            }
        }
        return piece
    }
}

/// The graph an optimisation level works on: CSR without self-entries, and
/// each node's weight (its strength in the original graph: what moving it
/// costs). Edges inside an aggregated node are dropped — they weigh the same
/// whichever community the node joins — and modularity is always evaluated on
/// the original graph.
struct LevelGraph {
    var nodeCount: Int
    /// CSR, as in `WeightedGraph`: the edges of node v at `start[v] ..< start[v + 1]`.
    var start: [Int], neighbor: [Int32], weight: [Double]
    var nodeWeight: [Double]
}

extension LevelGraph {
    init(_ g: WeightedGraph) {
        self.init(nodeCount: g.nodeCount, start: g.start, neighbor: g.neighbor, weight: g.weight,
                  nodeWeight: (0..<g.nodeCount).map { g.strength($0) })
    }

    /// The graph whose nodes are the groups of `group` (dense 0..<groups):
    /// edge weights between groups summed, node weights summed.
    func aggregated(by group: [Int32], groups: Int) -> LevelGraph {
        // Members of each group, by counting sort.
        var memberStart = [Int](repeating: 0, count: groups + 1)
        for g in group { memberStart[Int(g) + 1] += 1 }
        for g in 0..<groups { memberStart[g + 1] += memberStart[g] }
        var members = [Int32](repeating: 0, count: nodeCount)
        var next = memberStart
        for v in 0..<nodeCount {
            let g = Int(group[v])
            members[next[g]] = Int32(v)
            next[g] += 1
        }
        var start = [Int](repeating: 0, count: groups + 1)
        var neighbor: [Int32] = [], weight: [Double] = []
        var nodeWeight = [Double](repeating: 0, count: groups)
        var acc = [Double](repeating: 0, count: groups)
        var touched: [Int32] = []
        for g in 0..<groups {
            touched.removeAll(keepingCapacity: true)
            for i in memberStart[g]..<memberStart[g + 1] {
                let v = Int(members[i])
                nodeWeight[g] += self.nodeWeight[v]
                for slot in self.start[v]..<self.start[v + 1] {
                    let h = group[Int(self.neighbor[slot])]
                    if Int(h) == g { continue }
                    if acc[Int(h)] == 0 { touched.append(h) }
                    acc[Int(h)] += self.weight[slot]
                }
            }
            touched.sort()
            for h in touched {
                neighbor.append(h)
                weight.append(acc[Int(h)])
                acc[Int(h)] = 0
            }
            start[g + 1] = neighbor.count
        }
        return LevelGraph(nodeCount: groups, start: start, neighbor: neighbor, weight: weight, nodeWeight: nodeWeight)
    }
}

/// Relabels `labels` to 0..<k in order of first appearance; returns k.
@discardableResult
func densify(_ labels: inout [Int32]) -> Int {
    var map = [Int32](repeating: -1, count: labels.count)
    var k: Int32 = 0
    for i in 0..<labels.count {
        let l = Int(labels[i])
        if map[l] < 0 { map[l] = k; k += 1 }
        labels[i] = map[l]
    }
    return Int(k)
}

extension SeededGenerator {
    /// 0..<n in a uniformly random order (Fisher–Yates).
    mutating func permutation(_ n: Int) -> [Int32] {
        var order = (0..<Int32(n)).map { $0 }
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return order
    }
}

/// A community detection algorithm: one seeded pass (`pass`), repeated over
/// the configured restarts, keeping the partition of highest modularity.
public protocol CommunityDetector: Sendable {
    var configuration: CommunityConfiguration { get }
    /// One seeded pass over a graph of positive total weight (`run` answers
    /// a graph without edge weight itself: every node its own community).
    func pass(_ graph: WeightedGraph, seed: UInt64, progress: ((String) -> Void)?) -> Partition
}

extension CommunityDetector {
    public func run(_ graph: WeightedGraph, progress: ((String) -> Void)? = nil) throws -> Partition {
        try configuration.validate()
        guard graph.totalWeight > 0 else {
            return Partition(graph: graph, labels: (0..<Int32(graph.nodeCount)).map { $0 }, resolution: configuration.resolution)
        }
        return configuration.bestOfRestarts { seed in pass(graph, seed: seed, progress: progress) }
    }
}

/// Scratch of local moving: the edge weight from one node to each community
/// among its neighbours' (`toCommunity`, indexed by community, zero elsewhere)
/// and those communities in neighbour order (`touched`).
struct NeighbourCommunities {
    private(set) var toCommunity: [Double]
    private(set) var touched: [Int32] = []

    init(count: Int) { toCommunity = [Double](repeating: 0, count: count) }

    /// Collects the weights from node `v` of `g` to its neighbours' communities.
    mutating func collect(_ g: LevelGraph, _ v: Int, community: [Int32]) {
        touched.removeAll(keepingCapacity: true)
        for slot in g.start[v]..<g.start[v + 1] {
            let c = community[Int(g.neighbor[slot])]
            if toCommunity[Int(c)] == 0 { touched.append(c) }
            toCommunity[Int(c)] += g.weight[slot]
        }
    }

    /// The community of highest gain k_{v,C} − `scale` · `total`(C), starting
    /// from staying in `c0`; the first strictly better one wins, in neighbour order.
    func best(staying c0: Int32, scale: Double, total: [Double]) -> (community: Int32, gain: Double) {
        var best = c0
        var bestGain = toCommunity[Int(c0)] - scale * total[Int(c0)]
        for c in touched {
            let gain = toCommunity[Int(c)] - scale * total[Int(c)]
            if gain > bestGain { best = c; bestGain = gain }
        }
        return (best, bestGain)
    }

    /// Zeroes the weights `collect` left, ready for the next node.
    mutating func clear() {
        for c in touched { toCommunity[Int(c)] = 0 }
    }
}
