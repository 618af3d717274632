import Features
import Runtime
import Foundation

/// Louvain community detection: multi-level modularity optimisation
/// (Blondel, Guillaume, Lambiotte & Lefebvre, "Fast unfolding of communities
/// in large networks", J. Stat. Mech. 2008), with a resolution γ.
///
/// Each level has two phases:
/// 1. *Local moving*: every node, in a seeded random order, moves to the
///    neighbouring community with the largest modularity gain
///        ΔQ ∝ k_{v,C} − γ · Σ_tot(C) · k_v / 2m
///    (k_{v,C}: weight from v to C; Σ_tot(C): strengths in C without v), if
///    that beats staying; sweeps repeat until a sweep moves nothing.
/// 2. *Aggregation*: each community becomes one node, edge weights summed.
/// Levels repeat until one moves nothing or raises modularity by no more than
/// `threshold` — as NetworkX's `louvain_communities`, whose level loop and
/// tie rule (the first strictly better community, in neighbour order) this
/// follows. Louvain can leave a community internally disconnected (Traag et
/// al. 2019, Fig. 2); `Leiden` cannot.
public struct Louvain: CommunityDetector {
    public let configuration: CommunityConfiguration

    public init(_ configuration: CommunityConfiguration = .init()) { self.configuration = configuration }

    public func pass(_ graph: WeightedGraph, seed: UInt64, progress: ((String) -> Void)?) -> Partition {
        let gamma = configuration.resolution
        let twoM = 2 * graph.totalWeight
        var level = LevelGraph(graph)
        var membership = (0..<Int32(graph.nodeCount)).map { $0 }
        var nodeOf = membership          // original node → node of the current level
        var rng = SeededGenerator(seed: seed)
        var modularity = Modularity.of(graph, membership: membership, resolution: gamma)
        var levels = 0
        let started = Date()
        while levels < configuration.maxLevels {
            var community = (0..<Int32(level.nodeCount)).map { $0 }
            let moves = Self.moveNodes(level, &community, twoM: twoM, resolution: gamma, order: rng.permutation(level.nodeCount))
            if moves == 0 { break }
            let k = densify(&community)
            levels += 1
            membership = nodeOf.map { community[Int($0)] }
            let q = Modularity.of(graph, membership: membership, resolution: gamma)
            progress?(String(format: "louvain level %d: %d nodes → %d communities, modularity %.6f (%.1f s)",
                             levels, level.nodeCount, k, q, Date().timeIntervalSince(started)))
            let gain = q - modularity
            modularity = q
            if gain <= configuration.threshold { break }
            level = level.aggregated(by: community, groups: k)
            nodeOf = membership
        }
        return Partition(graph: graph, labels: membership, resolution: gamma, levels: levels)
    }

    /// Phase 1: sweeps of local moves until one moves nothing. Returns the moves made.
    static func moveNodes(_ g: LevelGraph, _ community: inout [Int32], twoM: Double, resolution: Double, order: [Int32]) -> Int {
        var total = [Double](repeating: 0, count: g.nodeCount)
        for v in 0..<g.nodeCount { total[Int(community[v])] += g.nodeWeight[v] }
        var neighbours = NeighbourCommunities(count: g.nodeCount)
        var moves = 0
        var sweeps = 0
        while sweeps < 10_000 {
            sweeps += 1
            var movedThisSweep = 0
            for v32 in order {
                let v = Int(v32)
                let c0 = community[v]
                let kv = g.nodeWeight[v]
                neighbours.collect(g, v, community: community)
                total[Int(c0)] -= kv
                let best = neighbours.best(staying: c0, scale: resolution * kv / twoM, total: total).community
                neighbours.clear()
                total[Int(best)] += kv
                if best != c0 {
                    community[v] = best
                    movedThisSweep += 1
                }
            }
            moves += movedThisSweep
            if movedThisSweep == 0 { break }
        }
        return moves
    }
}
