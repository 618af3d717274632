import Features
import Runtime
import Foundation

/// Leiden community detection (Traag, Waltman & van Eck, "From Louvain to
/// Leiden: guaranteeing well-connected communities", Sci. Rep. 9, 5233, 2019),
/// optimising modularity with a resolution γ.
///
/// Each iteration has three phases:
/// 1. *Fast local moving*: nodes wait in a queue (seeded random order at
///    first); the popped node moves to the neighbouring or an empty community
///    with the best gain k_{v,C} − γ Σ_tot(C) k_v / 2m, and when it moves, its
///    neighbours outside its new community rejoin the queue.
/// 2. *Refinement*: inside each community S, start from singletons; each node
///    v still alone and well connected to S (k_{v,S−v} ≥ γ' k_v (K_S − k_v),
///    γ' = γ/2m) joins a sub-community C of S it has edges to — or stays —
///    chosen at random with probability ∝ exp(ΔH/θ) among the choices with
///    ΔH = k_{v,C} − γ' k_v K_C ≥ 0 and C well connected to S. Sub-communities
///    grow only along edges, so each is connected.
/// 3. *Aggregation* by the refined sub-communities, each starting in the
///    community of phase 1 (so an aggregate can still leave it later).
/// Iterations repeat until phase 1 leaves every community a single aggregate
/// node: each community is then one refined sub-community, hence connected.
///
/// Deviations, as in igraph's `community_leiden`: ΔH and θ are in edge-weight
/// units (not divided by 2m); when a refinement merges nothing, aggregation
/// uses the phase-1 communities (else the iteration could repeat forever).
/// As a safeguard the result is checked: a disconnected community would be
/// split into its pieces (which raises modularity) and counted in
/// `Partition.splitCommunities` — the tests require that count to be 0.
public struct Leiden: CommunityDetector {
    public let configuration: CommunityConfiguration

    public init(_ configuration: CommunityConfiguration = .init()) { self.configuration = configuration }

    /// Iterations from the previous partition until one stops improving.
    public func pass(_ graph: WeightedGraph, seed: UInt64, progress: ((String) -> Void)?) -> Partition {
        let n = graph.nodeCount
        let gamma = configuration.resolution
        var labels = (0..<Int32(n)).map { $0 }
        var rng = SeededGenerator(seed: seed)
        var quality = -Double.infinity
        var levels = 0
        let started = Date()
        for iteration in 1...configuration.iterations {
            let (next, nextLevels) = once(graph, initial: labels, rng: &rng)
            let q = Modularity.of(graph, membership: next, resolution: gamma)
            progress?(String(format: "leiden iteration %d: modularity %.6f (%.1f s)", iteration, q, Date().timeIntervalSince(started)))
            let gain = q - quality
            if gain > 0 {
                labels = next
                quality = q
                levels += nextLevels
            }
            if gain <= configuration.threshold { break }
        }
        // The guarantee, checked: pieces of a disconnected community become communities.
        let pieces = Components.split(graph, membership: labels)
        var pieceOfCommunity = [Int32: Int32]()
        var split = Set<Int32>()
        for v in 0..<n {
            if let p = pieceOfCommunity[labels[v]] {
                if p != pieces[v] { split.insert(labels[v]) }
            } else {
                pieceOfCommunity[labels[v]] = pieces[v]
            }
        }
        if !split.isEmpty {
            progress?("leiden: \(split.count) disconnected communities split into their pieces")
            labels = pieces
        }
        return Partition(graph: graph, labels: labels, resolution: gamma, levels: levels, splitCommunities: split.count)
    }

    /// One Leiden iteration from `initial` (labels < n): phases 1–3 until
    /// phase 1 leaves each community a single aggregate node. Returns the
    /// partition of the original nodes and the number of aggregations.
    func once(_ graph: WeightedGraph, initial: [Int32], rng: inout SeededGenerator) -> ([Int32], Int) {
        let n = graph.nodeCount
        let gamma = configuration.resolution
        let twoM = 2 * graph.totalWeight
        var level = LevelGraph(graph)
        var community = initial         // the partition P of the current level's nodes
        var nodeOf = (0..<Int32(n)).map { $0 }   // original node → node of the current level
        var levels = 0
        while true {
            Self.fastMoveNodes(level, &community, twoM: twoM, resolution: gamma, rng: &rng)
            let k = densify(&community)
            if k == level.nodeCount || levels >= configuration.maxLevels { break }
            var refined = Self.refine(level, community: community, communities: k, twoM: twoM, resolution: gamma,
                                      randomness: configuration.randomness, rng: &rng)
            var r = densify(&refined)
            if r == level.nodeCount {
                refined = community
                r = k
            }
            var aggregateCommunity = [Int32](repeating: 0, count: r)
            for v in 0..<level.nodeCount { aggregateCommunity[Int(refined[v])] = community[v] }
            for i in 0..<n { nodeOf[i] = refined[Int(nodeOf[i])] }
            level = level.aggregated(by: refined, groups: r)
            community = aggregateCommunity
            levels += 1
        }
        return (nodeOf.map { community[Int($0)] }, levels)
    }

    /// Phase 1: queue-based local moving; `community` holds labels < nodeCount.
    static func fastMoveNodes(_ g: LevelGraph, _ community: inout [Int32], twoM: Double, resolution: Double,
                              rng: inout SeededGenerator) {
        let n = g.nodeCount
        var total = [Double](repeating: 0, count: n)
        var size = [Int](repeating: 0, count: n)
        for v in 0..<n {
            total[Int(community[v])] += g.nodeWeight[v]
            size[Int(community[v])] += 1
        }
        var empty: [Int32] = []
        for c in stride(from: n - 1, through: 0, by: -1) where size[c] == 0 { empty.append(Int32(c)) }
        // A ring buffer of n slots: a node is in the queue at most once.
        var queue = rng.permutation(n)
        var inQueue = [Bool](repeating: true, count: n)
        var head = 0, queued = n
        var neighbours = NeighbourCommunities(count: n)
        while queued > 0 {
            let v = Int(queue[head])
            head = head + 1 == n ? 0 : head + 1
            queued -= 1
            inQueue[v] = false
            let c0 = community[v]
            let kv = g.nodeWeight[v]
            neighbours.collect(g, v, community: community)
            total[Int(c0)] -= kv
            size[Int(c0)] -= 1
            if size[Int(c0)] == 0 { total[Int(c0)] = 0 }   // no rounding residue in an empty community
            let found = neighbours.best(staying: c0, scale: resolution * kv / twoM, total: total)
            var best = found.community
            // An empty community gains 0; c0 is one already when v was alone.
            var tookEmpty = false
            if size[Int(c0)] > 0, found.gain < 0, let e = empty.last {
                best = e
                tookEmpty = true
            }
            neighbours.clear()
            total[Int(best)] += kv
            size[Int(best)] += 1
            guard best != c0 else { continue }
            if tookEmpty { empty.removeLast() }
            if size[Int(c0)] == 0 { empty.append(c0) }
            community[v] = best
            for slot in g.start[v]..<g.start[v + 1] {
                let u = Int(g.neighbor[slot])
                if !inQueue[u] && community[u] != best {
                    inQueue[u] = true
                    queue[(head + queued) % n] = Int32(u)
                    queued += 1
                }
            }
        }
    }

    /// Phase 2: the refined partition (labels are node indexes, not dense).
    static func refine(_ g: LevelGraph, community: [Int32], communities k: Int, twoM: Double, resolution: Double,
                       randomness theta: Double, rng: inout SeededGenerator) -> [Int32] {
        let n = g.nodeCount
        let gammaPrime = resolution / twoM
        var communityTotal = [Double](repeating: 0, count: k)
        for v in 0..<n { communityTotal[Int(community[v])] += g.nodeWeight[v] }
        var refined = (0..<Int32(n)).map { $0 }
        var refinedTotal = g.nodeWeight
        // external[C]: weight from sub-community C to the rest of its community.
        var external = [Double](repeating: 0, count: n)
        for v in 0..<n {
            for slot in g.start[v]..<g.start[v + 1] where community[Int(g.neighbor[slot])] == community[v] {
                external[v] += g.weight[slot]
            }
        }
        var grown = [Bool](repeating: false, count: n)   // a sub-community someone joined
        var toRefined = [Double](repeating: 0, count: n)
        var touched: [Int32] = []
        var candidates: [(Int32, Double)] = []
        for v32 in rng.permutation(n) {
            let v = Int(v32)
            // Only nodes still alone, and well connected to their community.
            guard refined[v] == v32, !grown[v] else { continue }
            let s = Int(community[v])
            let kv = g.nodeWeight[v]
            guard external[v] >= gammaPrime * kv * (communityTotal[s] - kv) else { continue }
            touched.removeAll(keepingCapacity: true)
            for slot in g.start[v]..<g.start[v + 1] {
                let u = Int(g.neighbor[slot])
                guard community[u] == community[v] else { continue }
                let c = refined[u]
                if toRefined[Int(c)] == 0 { touched.append(c) }
                toRefined[Int(c)] += g.weight[slot]
            }
            // Staying alone: ΔH = 0.
            candidates.removeAll(keepingCapacity: true)
            candidates.append((v32, 0))
            var maxGain = 0.0
            for c in touched {
                let total = refinedTotal[Int(c)]
                guard external[Int(c)] >= gammaPrime * total * (communityTotal[s] - total) else { continue }
                let gain = toRefined[Int(c)] - gammaPrime * kv * total
                if gain >= 0 {
                    candidates.append((c, gain))
                    maxGain = max(maxGain, gain)
                }
            }
            var chosen = v32
            if candidates.count > 1 {
                var cumulative = 0.0
                for i in candidates.indices {
                    cumulative += exp((candidates[i].1 - maxGain) / theta)
                    candidates[i].1 = cumulative
                }
                let draw = rng.unit() * cumulative
                chosen = candidates.first { draw < $0.1 }?.0 ?? candidates[candidates.count - 1].0
            }
            if chosen != v32 {
                let c = Int(chosen)
                external[c] = external[c] + external[v] - 2 * toRefined[c]
                refinedTotal[c] += kv
                refinedTotal[v] = 0
                refined[v] = chosen
                grown[c] = true
            }
            for c in touched { toRefined[Int(c)] = 0 }
        }
        return refined
    }
}
