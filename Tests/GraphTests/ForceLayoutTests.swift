import XCTest
@testable import Graph

/// The seeded Fruchterman–Reingold layout: reproducible bits, the unit square,
/// structure (cliques stay together), and robustness to bad input.
final class ForceLayoutTests: XCTestCase {
    typealias Edges = [(from: Int, to: Int, weight: Double)]

    /// Two cliques of `size` nodes (0..<size and size..<2·size) with edges of
    /// weight 10, joined by one edge of weight 1 between node 0 and node `size`.
    func twoCliques(_ size: Int) -> Edges {
        var edges: Edges = []
        for base in [0, size] {
            for u in 0..<size { for v in (u + 1)..<size { edges.append((base + u, base + v, 10)) } }
        }
        edges.append((0, size, 1))
        return edges
    }

    func bits(_ positions: [(x: Double, y: Double)]) -> [UInt64] {
        positions.flatMap { [$0.x.bitPattern, $0.y.bitPattern] }
    }

    func distance(_ a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Double {
        ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
    }

    func testTheSameSeedGivesTheSameBits() {
        let edges = twoCliques(5)
        let sizes = (0..<10).map { Double($0 + 1) }
        let layout = ForceLayout(.init(iterations: 200, seed: 7))
        let first = layout.positions(nodeCount: 10, edges: edges, sizes: sizes)
        let second = ForceLayout(.init(iterations: 200, seed: 7)).positions(nodeCount: 10, edges: edges, sizes: sizes)
        XCTAssertEqual(first.count, 10)
        XCTAssertEqual(bits(first), bits(second))
        // Without sizes too, and the default configuration is seed 42, 300 iterations.
        XCTAssertEqual(ForceLayout().configuration, ForceLayoutConfiguration(iterations: 300, seed: 42))
        XCTAssertEqual(bits(ForceLayout().positions(nodeCount: 10, edges: edges)),
                       bits(ForceLayout(.init(iterations: 300, seed: 42)).positions(nodeCount: 10, edges: edges)))
    }

    func testADifferentSeedGivesDifferentPositions() {
        let edges = twoCliques(5)
        let a = ForceLayout(.init(seed: 1)).positions(nodeCount: 10, edges: edges)
        let b = ForceLayout(.init(seed: 2)).positions(nodeCount: 10, edges: edges)
        XCTAssertEqual(a.count, b.count)
        // Not a few bits apart: most nodes sit visibly elsewhere.
        let moved = zip(a, b).filter { distance($0, $1) > 0.01 }.count
        XCTAssertGreaterThanOrEqual(moved, 5, "\(a) vs \(b)")
        // Zero iterations: the seeded starting positions themselves differ too.
        let startA = ForceLayout(.init(iterations: 0, seed: 1)).positions(nodeCount: 10, edges: edges)
        let startB = ForceLayout(.init(iterations: 0, seed: 2)).positions(nodeCount: 10, edges: edges)
        XCTAssertNotEqual(bits(startA), bits(startB))
    }

    func testPositionsFillTheUnitSquareKeepingTheAspectRatio() {
        for (n, edges) in [(12, twoCliques(6)), (30, Edges((0..<29).map { ($0, $0 + 1, 1.0) })), (7, Edges())] {
            let positions = ForceLayout(.init(seed: 3)).positions(nodeCount: n, edges: edges)
            XCTAssertEqual(positions.count, n)
            for p in positions {
                XCTAssertTrue(p.x.isFinite && p.y.isFinite)
                XCTAssertTrue((0...1).contains(p.x) && (0...1).contains(p.y), "\(n) nodes: \(p)")
            }
            // Scaled by the longer side: that side spans exactly 0…1, the other is centred on 0.5.
            let xs = positions.map(\.x), ys = positions.map(\.y)
            let spanX = xs.max()! - xs.min()!, spanY = ys.max()! - ys.min()!
            XCTAssertEqual(max(spanX, spanY), 1, accuracy: 1e-12, "\(n) nodes")
            XCTAssertEqual((xs.max()! + xs.min()!) / 2, 0.5, accuracy: 1e-12)
            XCTAssertEqual((ys.max()! + ys.min()!) / 2, 0.5, accuracy: 1e-12)
        }
    }

    /// Two dense cliques joined by one weak edge are drawn as two clusters.
    func testTwoCliquesJoinedByAWeakEdgeAreDrawnApart() {
        let size = 8
        for seed: UInt64 in [1, 42, 2024] {
            let positions = ForceLayout(.init(seed: seed)).positions(nodeCount: 2 * size, edges: twoCliques(size))
            var intra: [Double] = [], inter: [Double] = []
            for u in 0..<(2 * size) {
                for v in (u + 1)..<(2 * size) {
                    let d = distance(positions[u], positions[v])
                    if (u < size) == (v < size) { intra.append(d) } else { inter.append(d) }
                }
            }
            let meanIntra = intra.reduce(0, +) / Double(intra.count)
            let meanInter = inter.reduce(0, +) / Double(inter.count)
            XCTAssertLessThan(meanIntra * 2, meanInter, "seed \(seed): intra \(meanIntra), inter \(meanInter)")
            // Every node is nearer its own clique's centre than the other's.
            func centre(_ range: Range<Int>) -> (x: Double, y: Double) {
                (range.map { positions[$0].x }.reduce(0, +) / Double(range.count), range.map { positions[$0].y }.reduce(0, +) / Double(range.count))
            }
            let a = centre(0..<size), b = centre(size..<(2 * size))
            for v in 0..<(2 * size) {
                let own = v < size ? a : b, other = v < size ? b : a
                XCTAssertLessThan(distance(positions[v], own), distance(positions[v], other), "seed \(seed), node \(v)")
            }
        }
    }

    /// Edges naming a node outside the graph, self-loops and weights that are
    /// negative or not finite change nothing: the layout is that of the valid edges.
    func testInvalidEdgesAreIgnored() {
        let valid = twoCliques(4)
        let invalid: Edges = [(-1, 2, 1), (0, 8, 1), (99, 1, 5), (3, 3, 100), (1, 5, .nan), (2, 6, -4),
                              (0, 7, .infinity), (4, 1, -.infinity)]
        let layout = ForceLayout(.init(seed: 11))
        let clean = layout.positions(nodeCount: 8, edges: valid)
        let mixed = layout.positions(nodeCount: 8, edges: invalid + valid + invalid)
        XCTAssertEqual(bits(clean), bits(mixed))
        // Nothing but invalid edges: the same as no edges at all.
        XCTAssertEqual(bits(layout.positions(nodeCount: 8, edges: invalid)), bits(layout.positions(nodeCount: 8, edges: [])))
        // Sizes that do not match the node count are ignored; bad sizes count as 0.
        XCTAssertEqual(bits(layout.positions(nodeCount: 8, edges: valid, sizes: [1, 2, 3])), bits(clean))
        let odd = layout.positions(nodeCount: 8, edges: valid, sizes: [.nan, -1, .infinity, 4, 0, 1, 2, 3])
        XCTAssertEqual(odd.count, 8)
        XCTAssertTrue(odd.allSatisfy { (0...1).contains($0.x) && (0...1).contains($0.y) })
    }

    func testTinyGraphs() {
        let layout = ForceLayout(.init(seed: 5))
        XCTAssertTrue(layout.positions(nodeCount: 0, edges: [(0, 1, 1)]).isEmpty)
        XCTAssertTrue(layout.positions(nodeCount: -3, edges: []).isEmpty)
        let one = layout.positions(nodeCount: 1, edges: [(0, 0, 1), (0, 1, 1)])
        XCTAssertEqual(one.count, 1)
        XCTAssertEqual(one[0].x, 0.5)
        XCTAssertEqual(one[0].y, 0.5)
        // Two nodes, linked or not: they end up on a line through the centre,
        // at opposite ends of the longer side.
        for edges in [Edges([(0, 1, 1)]), Edges()] {
            let two = layout.positions(nodeCount: 2, edges: edges)
            XCTAssertEqual(two.count, 2)
            XCTAssertGreaterThanOrEqual(distance(two[0], two[1]), 1 - 1e-12, "\(two)")
            XCTAssertEqual((two[0].x + two[1].x) / 2, 0.5, accuracy: 1e-12)
            XCTAssertEqual((two[0].y + two[1].y) / 2, 0.5, accuracy: 1e-12)
        }
    }
}
