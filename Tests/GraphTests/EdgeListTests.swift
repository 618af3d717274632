import Foundation
import XCTest
@testable import Graph

final class EdgeListTests: XCTestCase {
    func testParsesHeaderCommentsDefaultWeightsRepeatsAndSelfLoops() throws {
        let text = "source,target,weight\n# a comment\nalice,bob,2\n\"bob\" , carol\n\ncarol,alice,0.5\r\nbob,alice,1\ndave,dave,3\n"
        let labeled = try EdgeList.parse(text)
        XCTAssertEqual(labeled.labels, ["alice", "bob", "carol", "dave"])
        let g = labeled.graph
        XCTAssertEqual(g.edgeCount, 4)
        XCTAssertEqual(g.weight(between: 0, and: 1), 3, "alice–bob listed twice: weights summed")
        XCTAssertEqual(g.weight(between: 1, and: 2), 1, "no weight given: 1")
        XCTAssertEqual(g.weight(between: 2, and: 0), 0.5)
        XCTAssertEqual(g.selfLoop, [0, 0, 0, 3])
        XCTAssertEqual(g.totalWeight, 7.5)
    }

    func testBadLinesAreNamed() {
        let cases: [(String, Int, String)] = [
            ("a,b\na,b,c,d\n", 2, "expected source,target[,weight] but found 4 fields"),
            ("a,b,-1\n", 1, "weight '-1' is not a finite positive number"),
            ("a,b,x\n", 1, "weight 'x' is not a finite positive number"),
            ("source,target\n,b\n", 2, "a node name is empty"),
            ("a\n", 1, "expected source,target[,weight] but found 1 fields"),
        ]
        for (text, line, problem) in cases {
            XCTAssertThrowsError(try EdgeList.parse(text), text) { error in
                guard case let GraphError.badEdgeLine(l, p, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(l, line, text)
                XCTAssertEqual(p, problem, text)
            }
        }
    }

    func testWriteThenReadGivesTheSameGraph() throws {
        let labeled = LabeledGraph(graph: KarateClub.weightedGraph, labels: (0..<34).map { "n\($0)" })
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("edges-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try EdgeList.write(labeled, to: url)
        let back = try EdgeList.read(url)
        XCTAssertEqual(back.graph.edgeCount, 78)
        // Labels come back in order of first appearance, which is node order here (node 0's edges come first).
        for e in KarateClub.weightedGraph.edges {
            let u = back.labels.firstIndex(of: "n\(e.source)")!, v = back.labels.firstIndex(of: "n\(e.target)")!
            XCTAssertEqual(back.graph.weight(between: u, and: v), e.weight)
        }
        // Non-integer weights survive exactly (17 significant digits).
        let thirds = try WeightedGraph(nodeCount: 2, edges: [Edge(0, 1, weight: 1.0 / 3)])
        try EdgeList.write(LabeledGraph(graph: thirds, labels: ["a", "b"]), to: url)
        XCTAssertEqual(try EdgeList.read(url).graph.weight(between: 0, and: 1), 1.0 / 3)
    }

    func testGraphRejectsBadEdges() {
        XCTAssertThrowsError(try WeightedGraph(nodeCount: 2, edges: [Edge(0, 2)]))
        XCTAssertThrowsError(try WeightedGraph(nodeCount: 2, edges: [Edge(0, 1, weight: 0)]))
        XCTAssertThrowsError(try WeightedGraph(nodeCount: 2, edges: [Edge(0, 1, weight: .nan)]))
    }

    // Fuzzing findings (experiments/fuzz/findings).

    /// Labels that `parse` would trim, unquote or take for a comment come back unchanged.
    func testLabelsThatNeedQuotingSurviveARoundTrip() throws {
        let labels = [" a ", "#c", "\"q\"", " \t", "plain", "Amélie", "car\rriage", "\u{301}accent first"]
        let edges = (1..<labels.count).map { Edge(0, Int32($0), weight: Double($0)) }
        let labeled = LabeledGraph(graph: try WeightedGraph(nodeCount: labels.count, edges: edges), labels: labels)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("edges-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try EdgeList.write(labeled, to: url)
        let back = try EdgeList.read(url)
        XCTAssertEqual(back.labels, labels)
        for v in 1..<labels.count { XCTAssertEqual(back.graph.weight(between: 0, and: v), Double(v)) }
        // A comma cannot stand in a name of this format: an error, not a different graph.
        let comma = LabeledGraph(graph: try WeightedGraph(nodeCount: 2, edges: [Edge(0, 1)]), labels: ["a,b", "c"])
        XCTAssertThrowsError(try EdgeList.write(comma, to: url))
    }

    /// Repeated edges (and self-loops) whose weights sum past the largest Double are an error, not +inf.
    func testRepeatedWeightsThatOverflowAreRejected() {
        XCTAssertThrowsError(try WeightedGraph(nodeCount: 2, edges: [Edge(0, 1, weight: 1e308), Edge(1, 0, weight: 1e308)]))
        XCTAssertThrowsError(try WeightedGraph(nodeCount: 1, edges: [Edge(0, 0, weight: 1e308), Edge(0, 0, weight: 1e308)]))
        XCTAssertThrowsError(try EdgeList.parse("a,b,1e308\nb,a,1e308\n"))
        XCTAssertNoThrow(try WeightedGraph(nodeCount: 2, edges: [Edge(0, 1, weight: 1e307), Edge(1, 0, weight: 1e307)]))
    }
}
