import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Graph
import Reports
import Runtime
@testable import Workflows
import XCTest

/// The drawing data of the graph report, from a hand-made graph (no database):
/// the community graph's sizes and summed weights, the members picture, and
/// that none of it reaches the --json document.
///
/// Graph: community 0 = nodes 0…4 (every pair, weight 2), community 1 = 5…7
/// (every pair, weight 3), community 2 = 8, 9 (weight 1), community 3 = node 10
/// alone. Between them: 0–5 (1.5), 1–6 (0.5), 4–8 (2), 7–9 (0.25), 10–0 (1),
/// so 0–1 sums to 2, 0–2 to 2, 1–2 to 0.25; the edge to node 10 is not drawn.
final class GraphPictureTests: XCTestCase {
    let membership: [Int32] = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3]

    func smallGraph() throws -> WeightedGraph {
        var edges: [Edge] = []
        for u in 0..<5 { for v in (u + 1)..<5 { edges.append(Edge(Int32(u), Int32(v), weight: 2)) } }
        for u in 5..<8 { for v in (u + 1)..<8 { edges.append(Edge(Int32(u), Int32(v), weight: 3)) } }
        edges.append(Edge(8, 9, weight: 1))
        edges += [Edge(0, 5, weight: 1.5), Edge(1, 6, weight: 0.5), Edge(4, 8, weight: 2), Edge(9, 7, weight: 0.25), Edge(10, 0, weight: 1)]
        return try WeightedGraph(nodeCount: 11, edges: edges)
    }

    func testCommunityNodesAreSizedByMembersAndEdgesSumTheWeightsBetweenThem() throws {
        let graph = try smallGraph()
        let centrality = (0..<11).map { graph.strength($0) }
        let pictures = GraphPictures.make(graph: graph, membership: membership, centrality: centrality, seed: 42,
                                          unit: "movies", measure: "weighted degree", name: { "n\($0)" })
        let nodes = pictures.communities.nodes
        // The lone node's community is not drawn; the others, largest first.
        XCTAssertEqual(nodes.map(\.id), [0, 1, 2])
        XCTAssertEqual(nodes.map(\.community), [0, 1, 2])
        XCTAssertEqual(nodes.map(\.label), ["0", "1", "2"])
        XCTAssertEqual(nodes.map(\.size), [5, 3, 2])
        XCTAssertEqual(nodes.map(\.size).reduce(0, +), 10)
        let edges = pictures.communities.edges
        XCTAssertEqual(edges, [.init(from: 0, to: 1, weight: 2), .init(from: 0, to: 2, weight: 2), .init(from: 1, to: 2, weight: 0.25)])
        // Tooltips: members, internal weight (10 pairs × 2 = 20), the three most central.
        // Strengths in community 0: node 0 = 8 + 1.5 + 1, node 4 = 8 + 2, node 1 = 8 + 0.5, nodes 2, 3 = 8.
        XCTAssertEqual(nodes[0].note, "community 0: 5 movies, internal edge weight 20; most central: n0; n4; n1")
        XCTAssertEqual(nodes[1].note, "community 1: 3 movies, internal edge weight 9; most central: n5; n6; n7")
        for node in nodes { XCTAssertTrue((0...1).contains(node.x) && (0...1).contains(node.y)) }

        // Only the two largest: their sizes sum to their nodes, one edge left.
        let two = GraphPictures.make(graph: graph, membership: membership, centrality: centrality, seed: 42, communityLimit: 2)
        XCTAssertEqual(two.communities.nodes.map(\.size), [5, 3])
        XCTAssertEqual(two.communities.nodes.map(\.size).reduce(0, +), Double(membership.filter { $0 <= 1 }.count))
        XCTAssertEqual(two.communities.edges, [.init(from: 0, to: 1, weight: 2)])
        XCTAssertEqual(two.communityLimit, 2)
    }

    func testMembersAreTheLargestCommunitysMostCentralWithTheirHeaviestTies() throws {
        let graph = try smallGraph()
        let centrality = (0..<11).map { graph.strength($0) }
        let all = GraphPictures.make(graph: graph, membership: membership, centrality: centrality, seed: 7, measure: "weighted degree", name: { "n\($0)" })
        XCTAssertEqual(all.largestCommunity, 0)
        XCTAssertEqual(all.largestCommunitySize, 5)
        // Most central first: 10.5, 10, 8.5, 8, 8 (ties: lower index).
        XCTAssertEqual(all.members.nodes.map(\.id), [0, 4, 1, 2, 3])
        XCTAssertEqual(all.members.nodes.map(\.size), [10.5, 10, 8.5, 8, 8])
        XCTAssertTrue(all.members.nodes.allSatisfy { $0.community == 0 })
        XCTAssertEqual(all.members.nodes[0].note, "n0: weighted degree 10.5, community 0")
        // Five members, 4 ties each allowed by the default of 5: every one of the 10 edges.
        XCTAssertEqual(all.edgesAmongMembers, 10)
        XCTAssertEqual(all.members.edges.count, 10)
        XCTAssertTrue(all.members.edges.allSatisfy { $0.weight == 2 && $0.from < $0.to })

        // Three members, one tie each: every edge weighs 2, so each keeps the lowest other index.
        let few = GraphPictures.make(graph: graph, membership: membership, centrality: centrality, seed: 7, memberLimit: 3, tiesPerMember: 1)
        XCTAssertEqual(few.members.nodes.map(\.id), [0, 4, 1])
        XCTAssertEqual(few.edgesAmongMembers, 3)
        // Picture indexes: 0 → node 0, 1 → node 4, 2 → node 1. Node 0 keeps index 1 (node 4),
        // node 4 keeps index 0, node 1 keeps index 0: the edge 4–1 is dropped.
        XCTAssertEqual(few.members.edges, [.init(from: 0, to: 1, weight: 2), .init(from: 0, to: 2, weight: 2)])
    }

    /// A bigger graph: the members picture holds at most 100 nodes (80 by
    /// default), all of the largest community, and only real edges among them.
    func testTheMembersPictureIsBoundedAndComesFromTheLargestCommunity() throws {
        var generator = SeededGenerator(seed: 5)
        var edges: [Edge] = []
        var labels: [Int32] = []
        // Community sizes 150, 60, 30 and 40 singletons; 1 in 10 pairs inside, 1 in 400 across.
        let blocks = [150, 60, 30] + [Int](repeating: 1, count: 40)
        for (c, size) in blocks.enumerated() { labels += [Int32](repeating: Int32(c), count: size) }
        let n = labels.count
        for u in 0..<n {
            for v in (u + 1)..<n {
                let same = labels[u] == labels[v]
                if generator.next() % (same ? 10 : 400) == 0 { edges.append(Edge(Int32(u), Int32(v), weight: Double(1 + generator.next() % 9))) }
            }
        }
        let graph = try WeightedGraph(nodeCount: n, edges: edges)
        let partition = Partition(graph: graph, labels: labels)
        let centrality = try Centrality.pageRank(graph).values
        let pictures = GraphPictures.make(graph: graph, membership: partition.membership, centrality: centrality, seed: 42)
        let largest = try XCTUnwrap(pictures.largestCommunity)
        XCTAssertEqual(partition.sizes[largest], 150)
        XCTAssertEqual(pictures.largestCommunitySize, 150)
        let members = pictures.members.nodes
        XCTAssertEqual(members.count, 80)
        XCTAssertLessThanOrEqual(members.count, 100)
        XCTAssertTrue(members.allSatisfy { partition.membership[$0.id] == Int32(largest) && $0.community == largest })
        XCTAssertEqual(Set(members.map(\.id)).count, members.count)
        // The most central of the community, in order.
        let expected = (0..<n).filter { partition.membership[$0] == Int32(largest) }
            .sorted { centrality[$0] != centrality[$1] ? centrality[$0] > centrality[$1] : $0 < $1 }.prefix(80)
        XCTAssertEqual(members.map(\.id), Array(expected))
        XCTAssertEqual(members.map(\.size), expected.map { centrality[$0] })
        // Drawn edges are graph edges among them, with their weights; none repeats.
        for e in pictures.members.edges {
            XCTAssertLessThan(e.from, e.to)
            XCTAssertEqual(e.weight, graph.weight(between: members[e.from].id, and: members[e.to].id))
            XCTAssertGreaterThan(e.weight, 0)
        }
        XCTAssertEqual(Set(pictures.members.edges.map { [$0.from, $0.to] }).count, pictures.members.edges.count)
        XCTAssertLessThanOrEqual(pictures.members.edges.count, pictures.edgesAmongMembers)
        // Every member with a tie among the others keeps at least one (up to 5).
        var degree = [Int](repeating: 0, count: members.count), available = degree
        for e in pictures.members.edges { degree[e.from] += 1; degree[e.to] += 1 }
        for (i, u) in members.enumerated() {
            available[i] = members.indices.filter { $0 != i && graph.weight(between: u.id, and: members[$0].id) > 0 }.count
            XCTAssertGreaterThanOrEqual(degree[i], min(5, available[i]), "member \(i)")
        }
        // The community picture: the 3 communities of more than one node; sizes sum to their nodes.
        XCTAssertEqual(pictures.communities.nodes.map(\.size), [150, 60, 30])
        XCTAssertEqual(pictures.communities.nodes.map(\.id), [0, 1, 2])
        // Summed weights between communities, by hand.
        for link in pictures.communities.edges {
            let a = pictures.communities.nodes[link.from].id, b = pictures.communities.nodes[link.to].id
            let sum = graph.edges.filter {
                let (ca, cb) = (Int(partition.membership[Int($0.source)]), Int(partition.membership[Int($0.target)]))
                return (ca == a && cb == b) || (ca == b && cb == a)
            }.reduce(0.0) { $0 + $1.weight }
            XCTAssertEqual(link.weight, sum, accuracy: 1e-9)
        }
        XCTAssertEqual(pictures.communities.edges.count, 3)
        // Same seed, same bits.
        let again = GraphPictures.make(graph: graph, membership: partition.membership, centrality: centrality, seed: 42)
        XCTAssertEqual(again, pictures)
        XCTAssertNotEqual(GraphPictures.make(graph: graph, membership: partition.membership, centrality: centrality, seed: 43).members.nodes.map(\.x),
                          pictures.members.nodes.map(\.x))
    }

    func testNoCommunityOfTwoNodesDrawsNothing() throws {
        let graph = try WeightedGraph(nodeCount: 3, edges: [])
        let pictures = GraphPictures.make(graph: graph, membership: [0, 1, 2], centrality: [0, 0, 0], seed: 1)
        XCTAssertTrue(pictures.communities.nodes.isEmpty && pictures.members.nodes.isEmpty)
        XCTAssertNil(pictures.largestCommunity)
        let empty = GraphPictures.make(graph: try WeightedGraph(nodeCount: 0, edges: []), membership: [], centrality: [], seed: 1)
        XCTAssertEqual(empty, GraphPictures.make(graph: try WeightedGraph(nodeCount: 0, edges: []), membership: [], centrality: [], seed: 2))
        XCTAssertTrue(empty.communities.nodes.isEmpty)
    }

    /// The report carries the pictures, the page draws them in the Communities
    /// section, and the --json document does not hold them.
    func testTheReportDrawsThePicturesButTheirDataStaysOutOfTheJSON() throws {
        let graph = try smallGraph()
        let subject = Subject(network: "edges:/tmp/small.csv", kind: "edges",
                              labeled: LabeledGraph(graph: graph, labels: (0..<11).map { "v<\($0)>" }))
        let partition = Partition(graph: graph, labels: membership)
        var values = CentralityValues()
        values.weightedDegree = (0..<11).map { graph.strength($0) }
        var request = GraphAnalysisRequest()
        request.seed = 9
        let report = GraphReport(request: request, subject: subject, partition: partition, values: values, runID: nil, seconds: ["total": 0.5])
        let pictures = try XCTUnwrap(report.pictures)
        XCTAssertEqual(pictures, GraphPictures.make(graph: graph, membership: partition.membership, centrality: values.weightedDegree, seed: 9,
                                                    unit: "nodes", measure: "weighted degree", name: { "v<\($0)>" }))
        XCTAssertEqual(pictures.members.nodes.first?.label, "v<0>")

        let json = String(decoding: try JSON.document(report), as: UTF8.self)
        XCTAssertFalse(json.contains("pictures") || json.contains("edges_among") || json.contains("\"x\""), json)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["network", "algorithm", "resolution", "seed", "modularity", "community_count",
                                          "community_sizes", "communities", "central_by", "centrality", "seconds"])

        let html = GraphReportPage.page(report).html()
        let document = try XMLDocument(data: Data(html.utf8), options: [])
        let section = try XCTUnwrap(try document.nodes(forXPath: "//section[@id='communities']").first)
        let network = try XCTUnwrap(try section.nodes(forXPath: ".//svg[@id='community-network']").first)
        let circles = try network.nodes(forXPath: ".//circle[@class='mark']").compactMap { $0 as? XMLElement }
        XCTAssertEqual(circles.count, 3)
        XCTAssertEqual(try network.nodes(forXPath: ".//line[@class='edge']").count, 3)
        // Colour = community id: the circle labelled i wears palette colour i.
        for circle in circles {
            let id = try XCTUnwrap(Int(circle.attribute(forName: "data-label")?.stringValue ?? ""))
            XCTAssertEqual(circle.attribute(forName: "fill")?.stringValue, seriesColors[id % seriesColors.count])
        }
        let central = try XCTUnwrap(try section.nodes(forXPath: ".//svg[@id='central-network']").first)
        XCTAssertEqual(try central.nodes(forXPath: ".//circle[@class='mark']").count, 5)
        XCTAssertTrue(html.contains("data-label=\"v&lt;0&gt;\""))
        XCTAssertTrue(html.contains("Colour = community id as in the table"))
    }
}
