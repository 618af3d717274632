import Features
import Runtime
import XCTest
@testable import Graph

final class CoRatingTests: XCTestCase {
    /// Random ratings: `customers` × `movies`, each pair rated with probability `density`.
    func randomMatrix(seed: UInt64, customers: Int, movies: Int, density: Double) -> RatingMatrix {
        var rng = SeededGenerator(seed: seed)
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<customers {
            // Uneven activity and popularity, as in real data.
            let activity = rng.unit()
            for m in 0..<movies where rng.unit() < density * 2 * activity * Double(movies - m) / Double(movies) {
                entries.append(.init(customer: Int32(c), movie: Int32(m), rating: Float(1 + rng.next() % 5), day: 0))
            }
        }
        return RatingMatrix(customerIDs: (0..<customers).map { Int64($0 * 7 + 1) }, movieIDs: (0..<movies).map { Int64($0 + 100) },
                            entries: entries)
    }

    /// The oracle: for every pair of rows, the size of the intersection of their item sets.
    func bruteForceCounts(_ items: [Set<Int32>]) -> [[Int]] {
        items.map { a in items.map { b in a.intersection(b).count } }
    }

    /// The oracle's graph: min-common, weight, then top-k by (weight desc, node asc), union of both ends.
    func bruteForceGraph(_ items: [Set<Int32>], configuration: CoRatingConfiguration) -> [Int: [Int: Double]] {
        let counts = bruteForceCounts(items)
        let n = items.count
        var weights = [Int: [Int: Double]]()
        for i in 0..<n { for j in 0..<n where i != j && counts[i][j] >= configuration.minCommon {
            let c = Double(counts[i][j]), ni = Double(items[i].count), nj = Double(items[j].count)
            let w: Double
            switch configuration.weight {
            case .count: w = c
            case .jaccard: w = c / (ni + nj - c)
            case .cosine: w = c / (ni * nj).squareRoot()
            }
            weights[i, default: [:]][j] = w
        } }
        guard let k = configuration.topK else { return weights }
        var kept = [Int: [Int: Double]]()
        for i in 0..<n {
            let top = (weights[i] ?? [:]).sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(k)
            for (j, w) in top { kept[i, default: [:]][j] = w; kept[j, default: [:]][i] = w }
        }
        return kept
    }

    func adjacency(_ g: WeightedGraph) -> [Int: [Int: Double]] {
        var out = [Int: [Int: Double]]()
        for v in 0..<g.nodeCount {
            let (nodes, weights) = g.neighbors(of: v)
            XCTAssertEqual(Array(nodes), nodes.sorted(), "rows ascend")
            for (u, w) in zip(nodes, weights) { out[v, default: [:]][Int(u)] = w }
        }
        return out
    }

    func assertSameGraph(_ g: WeightedGraph, _ expected: [Int: [Int: Double]], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let actual = adjacency(g)
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), what, file: file, line: line)
        for (v, row) in expected {
            XCTAssertEqual(Set(actual[v]?.keys ?? [:].keys), Set(row.keys), "\(what): neighbours of \(v)", file: file, line: line)
            for (u, w) in row { XCTAssertEqual(actual[v]?[u] ?? -1, w, accuracy: 1e-12, "\(what): \(v)–\(u)", file: file, line: line) }
        }
        XCTAssertTrue(g.selfLoop.allSatisfy { $0 == 0 })
    }

    /// The property: on random data, every edge weight equals the brute-force
    /// count (and its normalisations), under every pruning, on any thread count.
    func testMovieNetworkEqualsABruteForceCount() throws {
        for seed in UInt64(0)..<6 {
            let matrix = randomMatrix(seed: seed, customers: 40 + Int(seed) * 13, movies: 15 + Int(seed) * 4, density: 0.3)
            let items = (0..<matrix.movieCount).map { Set(matrix.ratings(ofMovie: $0).customers) }
            let configurations: [CoRatingConfiguration] = [
                .init(), .init(minCommon: 3), .init(weight: .jaccard, threads: 1), .init(minCommon: 2, weight: .cosine, threads: 3),
                .init(topK: 2), .init(minCommon: 2, weight: .jaccard, topK: 3, threads: 2), .init(weight: .cosine, topK: 1),
            ]
            for configuration in configurations {
                let network = try CoRatingNetwork.movies(matrix, configuration: configuration)
                XCTAssertEqual(network.graph.nodeCount, matrix.movieCount)
                XCTAssertEqual(network.members, (0..<Int32(matrix.movieCount)).map { $0 })
                assertSameGraph(network.graph, bruteForceGraph(items, configuration: configuration), "seed \(seed) \(configuration)")
            }
            // The raw statistics: pairs with any overlap, and Σ_c C(n_c, 2) pair updates.
            let counts = bruteForceCounts(items)
            let overlapping = (0..<items.count).flatMap { i in ((i + 1)..<items.count).filter { counts[i][$0] > 0 } }.count
            let network = try CoRatingNetwork.movies(matrix)
            XCTAssertEqual(network.coRatedPairs, overlapping)
            XCTAssertEqual(network.pairUpdates, (0..<matrix.customerCount).reduce(0) {
                let n = matrix.customerStart[$1 + 1] - matrix.customerStart[$1]
                return $0 + n * (n - 1) / 2
            })
        }
    }

    func testCustomerNetworkEqualsABruteForceCountOnItsSample() throws {
        let matrix = randomMatrix(seed: 11, customers: 90, movies: 30, density: 0.25)
        for (sample, configuration) in [(90, CoRatingConfiguration()), (500, .init(minCommon: 2, weight: .jaccard)),
                                        (37, .init(weight: .cosine, topK: 4, threads: 2))] {
            let network = try CoRatingNetwork.customers(matrix, sample: sample, seed: 5, configuration: configuration)
            let chosen = network.members.map(Int.init)
            XCTAssertEqual(chosen.count, min(sample, 90))
            XCTAssertEqual(chosen, chosen.sorted())
            XCTAssertEqual(Set(chosen).count, chosen.count)
            // n_i is the customer's rating count over all movies.
            let items = chosen.map { Set(matrix.ratings(ofCustomer: $0).movies) }
            XCTAssertEqual(network.ratingCounts, items.map(\.count))
            assertSameGraph(network.graph, bruteForceGraph(items, configuration: configuration), "sample \(sample)")
        }
        // The same seed draws the same sample; another seed another.
        XCTAssertEqual(CoRatingNetwork.sampleIndexes(10, of: 90, seed: 5), CoRatingNetwork.sampleIndexes(10, of: 90, seed: 5))
        XCTAssertNotEqual(CoRatingNetwork.sampleIndexes(10, of: 90, seed: 5), CoRatingNetwork.sampleIndexes(10, of: 90, seed: 6))
    }

    /// Hand-checked: customers 0 {m0, m1, m2}, 1 {m0, m1}, 2 {m1, m2}, 3 {m3}.
    /// Movie pairs: m0–m1 by 0 and 1 (2), m0–m2 by 0 (1), m1–m2 by 0 and 2 (2); m3 shares nothing.
    /// Jaccard m0–m1 = 2 / (2 + 3 − 2) = 2/3; cosine m1–m2 = 2 / √(3 · 2).
    func testSmallNetworkByHand() throws {
        let pairs: [(Int32, Int32)] = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 1), (2, 2), (3, 3)]
        let matrix = RatingMatrix(customerIDs: [10, 11, 12, 13], movieIDs: [1, 2, 3, 4],
                                  entries: pairs.map { .init(customer: $0.0, movie: $0.1, rating: 3, day: 0) })
        let counts = try CoRatingNetwork.movies(matrix).graph
        XCTAssertEqual(counts.edges, [Edge(0, 1, weight: 2), Edge(0, 2, weight: 1), Edge(1, 2, weight: 2)])
        XCTAssertEqual(counts.degree(3), 0)
        XCTAssertEqual(try CoRatingNetwork.movies(matrix, configuration: .init(minCommon: 2)).graph.edges,
                       [Edge(0, 1, weight: 2), Edge(1, 2, weight: 2)])
        XCTAssertEqual(try CoRatingNetwork.movies(matrix, configuration: .init(weight: .jaccard)).graph.weight(between: 0, and: 1), 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(try CoRatingNetwork.movies(matrix, configuration: .init(weight: .cosine)).graph.weight(between: 1, and: 2), 2 / 6.0.squareRoot(), accuracy: 1e-15)
        // Top-1: m0 keeps m1 (2, before m2's 1), m1 keeps m0 (tie 2–2 goes to the lower node), m2 keeps m1.
        XCTAssertEqual(try CoRatingNetwork.movies(matrix, configuration: .init(topK: 1)).graph.edges,
                       [Edge(0, 1, weight: 2), Edge(1, 2, weight: 2)])
        XCTAssertThrowsError(try CoRatingNetwork.movies(matrix, configuration: .init(minCommon: 0)))
    }
}
