import Features
import Runtime
import XCTest
@testable import Graph

/// Every expected value comes from NetworkX 3.6.1 (see KarateClub.swift for
/// the exact calls and the independent numpy cross-checks).
final class CentralityTests: XCTestCase {
    /// Tight tolerances so that the power iterations sit on their fixed point
    /// (NetworkX's references were made with tol = 1e-15).
    var tight: CentralityConfiguration {
        var c = CentralityConfiguration()
        c.tolerance = 1e-15
        c.maxIterations = 100_000
        return c
    }

    func assertEqual(_ actual: [Double], _ expected: [Double], accuracy: Double = 1e-9, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, accuracy, "\(what): largest difference \(worst)", file: file, line: line)
    }

    func testKarateExactBetweennessAndHarmonicEqualNetworkX() throws {
        let result = try ShortestPathCentrality.compute(KarateClub.graph)
        XCTAssertTrue(result.isExact)
        assertEqual(result.betweenness, KarateClub.betweenness, "betweenness")
        assertEqual(result.harmonic, KarateClub.harmonic, "harmonic")
    }

    func testKaratePageRankAndEigenvectorEqualNetworkX() throws {
        let pageRank = try Centrality.pageRank(KarateClub.graph, configuration: tight)
        assertEqual(pageRank.values, KarateClub.pageRank, "pagerank")
        XCTAssertEqual(pageRank.values.reduce(0, +), 1, accuracy: 1e-12)
        let eigenvector = try Centrality.eigenvector(KarateClub.graph, configuration: tight)
        assertEqual(eigenvector.values, KarateClub.eigenvector, "eigenvector")
        // NetworkX's default tolerance stops at Σ|Δx| < 34 · 1e-6: close, not exact.
        assertEqual(try Centrality.pageRank(KarateClub.graph).values, KarateClub.pageRank, accuracy: 1e-5, "pagerank, tol 1e-6")
    }

    /// Weighted: PageRank and eigenvector on the interaction counts; shortest
    /// paths with edge length 1/weight (NetworkX: weight="length", length = 1/weight).
    func testWeightedKarateEqualsNetworkX() throws {
        let g = KarateClub.weightedGraph
        assertEqual(try Centrality.pageRank(g, configuration: tight).values, KarateClub.weightedPageRank, "weighted pagerank")
        assertEqual(try Centrality.eigenvector(g, configuration: tight).values, KarateClub.weightedEigenvector, "weighted eigenvector")
        var configuration = CentralityConfiguration()
        configuration.pathLength = .inverseWeight
        let paths = try ShortestPathCentrality.compute(g, configuration: configuration)
        assertEqual(paths.betweenness, KarateClub.weightedBetweenness, "inverse-weight betweenness")
        assertEqual(paths.harmonic, KarateClub.weightedHarmonic, "inverse-weight harmonic")
    }

    func testDegreesCountNeighboursAndWeights() {
        let g = KarateClub.weightedGraph
        XCTAssertEqual(Centrality.degree(g)[0], 16)
        XCTAssertEqual(Centrality.degree(g)[33], 17)
        XCTAssertEqual(Centrality.weightedDegree(g)[0], 42)   // Σ of node 0's interaction counts
        XCTAssertEqual(Centrality.weightedDegree(g).reduce(0, +), 2 * g.totalWeight)
    }

    /// A dangling (isolated) node and a self-loop: 0–1 (1), 1–2 (3), 2–2 (2), 3–0 (0.5), 4 alone.
    /// NetworkX: pagerank(H, tol=1e-15, max_iter=10000).
    func testPageRankHandlesDanglingNodesAndSelfLoopsAsNetworkX() throws {
        let g = try WeightedGraph(nodeCount: 5, edges: [Edge(0, 1, weight: 1), Edge(1, 2, weight: 3), Edge(2, 2, weight: 2), Edge(3, 0, weight: 0.5)])
        assertEqual(try Centrality.pageRank(g, configuration: tight).values,
                    [0.1795623543309245, 0.3268248664315681, 0.37044762221724026, 0.0870205787070146, 0.03614457831325302], "pagerank")
    }

    /// Pivots: the estimate is unbiased — averaged over many seeds it nears
    /// the exact values — and k ≥ n is the exact computation.
    func testPivotSampledBetweennessEstimatesTheExactValues() throws {
        let g = KarateClub.graph
        var configuration = CentralityConfiguration()
        configuration.exactLimit = 0
        configuration.pivots = 34
        XCTAssertTrue(try ShortestPathCentrality.compute(g, configuration: configuration).isExact)
        configuration.pivots = 12
        var meanB = [Double](repeating: 0, count: 34), meanH = [Double](repeating: 0, count: 34)
        let runs = 400
        for seed in 0..<runs {
            configuration.seed = UInt64(seed)
            let r = try ShortestPathCentrality.compute(g, configuration: configuration)
            XCTAssertEqual(r.pivots?.count, 12)
            for v in 0..<34 { meanB[v] += r.betweenness[v] / Double(runs); meanH[v] += r.harmonic[v] / Double(runs) }
        }
        // Standard errors at 400 runs are about 0.006 (node 0's betweenness) and 0.1 (harmonic).
        assertEqual(meanB, KarateClub.betweenness, accuracy: 0.03, "mean sampled betweenness")
        assertEqual(meanH, KarateClub.harmonic, accuracy: 0.5, "mean sampled harmonic")
    }

    /// Same bits whatever the thread count: sources are summed in fixed blocks.
    func testResultsDoNotDependOnTheThreadCount() throws {
        var rng = SeededGenerator(seed: 3)
        var edges: [Edge] = []
        for u in 0..<300 { for v in (u + 1)..<300 where rng.unit() < 0.03 { edges.append(Edge(Int32(u), Int32(v), weight: 1 + rng.unit())) } }
        let g = try WeightedGraph(nodeCount: 300, edges: edges)
        var one = CentralityConfiguration(), three = CentralityConfiguration()
        one.threads = 1
        three.threads = 3
        for length in PathLength.allCases {
            one.pathLength = length
            three.pathLength = length
            let a = try ShortestPathCentrality.compute(g, configuration: one)
            let b = try ShortestPathCentrality.compute(g, configuration: three)
            XCTAssertEqual(a.betweenness, b.betweenness)
            XCTAssertEqual(a.harmonic, b.harmonic)
        }
        XCTAssertEqual(try Centrality.pageRank(g, configuration: one).values, try Centrality.pageRank(g, configuration: three).values)
        XCTAssertEqual(try Centrality.eigenvector(g, configuration: one).values, try Centrality.eigenvector(g, configuration: three).values)
    }

    func testNonConvergenceThrows() {
        var configuration = CentralityConfiguration()
        configuration.maxIterations = 2
        configuration.tolerance = 1e-15
        XCTAssertThrowsError(try Centrality.pageRank(KarateClub.graph, configuration: configuration)) { error in
            XCTAssertEqual(error as? GraphError, .notConverged("PageRank", iterations: 2))
        }
    }
}
