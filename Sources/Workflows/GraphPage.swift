import Foundation
import Reports

/// The page of `recsys graph --out`: the network, its communities and the
/// centrality leaders, in the report style of analytics and evaluate.
public enum GraphReportPage {
    public static func page(_ r: GraphReport) -> Report {
        let n = r.network
        let what = n.kind == "edges" ? "Edge list \(n.source ?? "")" : "\(n.kind.capitalized) co-rating network"
        var report = Report(title: "Network analysis", subtitle: "\(what): \(Markup.grouped(n.nodes)) nodes, \(Markup.grouped(n.edges)) edges")

        var facts: [(String, String)] = [("nodes", Markup.grouped(n.nodes)), ("edges", Markup.grouped(n.edges))]
        if let ratings = n.ratings { facts.append(("from ratings", Markup.grouped(ratings))) }
        if let modularity = r.modularity { facts.append(("modularity", String(format: "%.4f", modularity))) }
        if let count = r.communityCount { facts.append(("communities", Markup.grouped(count))) }
        if let total = r.seconds["total"] { facts.append(("seconds", String(format: "%.1f", total))) }
        var shape: [String] = []
        if let minCommon = n.minCommon { shape.append("an edge links two \(n.kind == "movie" ? "movies rated by at least \(minCommon) common customers" : "customers who rated at least \(minCommon) common movies")") }
        if let weight = n.weight { shape.append("weighted by \(weight == "count" ? "the number in common" : weight)") }
        if let topK = n.topK { shape.append("each node keeps its \(topK) heaviest edges") }
        var blocks: [Report.Block] = [.facts(facts)]
        if !shape.isEmpty {
            let sentence = shape.joined(separator: "; ")
            blocks.append(.paragraph("\(sentence.prefix(1).uppercased())\(sentence.dropFirst())."))
        }
        if let runId = r.runId { blocks.append(.paragraph("Stored as graph run \(runId) in graph_run, graph_community and graph_centrality.")) }
        report.sections.append(.init(title: "Network", blocks: blocks))

        if let sizes = r.communitySizes, let algorithm = r.algorithm {
            // Nodes alone in their community (isolated ones, mostly) are counted, not drawn.
            let shown = Array(sizes.filter { $0 > 1 }.prefix(20))
            let alone = sizes.filter { $0 == 1 }.count
            var blocks: [Report.Block] = [
                .paragraph("\(algorithm.capitalized) at resolution \(Markup.number(r.resolution ?? 1, decimals: 2)), seed \(r.seed): \(Markup.grouped(sizes.count)) communities, modularity \(String(format: "%.4f", r.modularity ?? 0)). The chart shows the sizes of the \(shown.count) largest\(alone > 0 ? "; \(Markup.grouped(alone)) nodes are alone in a community of their own" : "")."),
                .chart(BarChart(id: "community-sizes", title: "Community sizes",
                                summary: "Number of nodes in each of the \(shown.count) largest communities, largest first.",
                                xLabel: "community", yLabel: "nodes",
                                bars: shown.enumerated().map { .init(label: String($0), value: Double($1), note: "community \($0): \(Markup.grouped($1)) nodes") })),
            ]
            let profiled = n.kind != "edges"
            if !r.communities.isEmpty {
                let by = r.centralBy.replacingOccurrences(of: "_", with: " ")
                blocks.append(.table(ReportTable(
                    header: ["community", "size"] + (profiled ? ["mean rating", "release years"] : []) + ["most central (\(by))"],
                    rows: r.communities.map { c in
                        [String(c.id), Markup.grouped(c.size)]
                            + (profiled ? [c.meanRating.map { String(format: "%.2f", $0) } ?? "", c.years.map { "\($0.q1)–\($0.q3) (median \($0.median))" } ?? ""] : [])
                            + [c.central.prefix(5).map(GraphReport.name).joined(separator: "; ")]
                    }, numericColumns: profiled ? [0, 1, 2] : [0, 1])))
            }
            if let pictures = r.pictures { blocks += Self.pictures(pictures, unit: n.kind == "movie" ? "movies" : n.kind == "customer" ? "customers" : "nodes", by: r.centralBy) }
            report.sections.append(.init(title: "Communities", blocks: blocks))
        }

        let order = ["degree", "weighted_degree", "pagerank", "eigenvector", "betweenness", "harmonic"]
        var leaderBlocks: [Report.Block] = []
        for name in order {
            guard let summary = r.centrality[name], !summary.leaders.isEmpty else { continue }
            var label = name.replacingOccurrences(of: "_", with: " ")
            if let pivots = summary.pivots { label += " (sampled from \(pivots) sources)" } else if summary.exact == true { label += " (exact)" }
            leaderBlocks.append(.chart(HorizontalBarChart(id: "leaders-\(name.replacingOccurrences(of: "_", with: "-"))", title: "Leaders by \(label)",
                                                    summary: "The \(summary.leaders.count) nodes with the highest \(label).",
                                                    categoryLabel: "node", valueLabel: label,
                                                    bars: summary.leaders.map { .init(label: GraphReport.name($0), value: $0.value,
                                                                                      note: "\(GraphReport.name($0)): \(GraphReport.format($0.value))") },
                                                    color: "#5b8c5a")))
        }
        if !leaderBlocks.isEmpty {
            leaderBlocks.insert(.paragraph("Degree counts a node's edges and weighted degree sums their weights; PageRank and eigenvector centrality reward links from central nodes; betweenness counts the shortest paths through a node; harmonic closeness sums 1/distance to every other node."), at: 0)
            report.sections.append(.init(title: "Centrality leaders", blocks: leaderBlocks))
        }
        return report
    }

    /// The two network pictures of the Communities section: the community
    /// graph and the largest community's most central members. Colour and
    /// label of a community are its id in the table (palette colour id mod 8).
    static func pictures(_ p: GraphPictures, unit: String, by centralBy: String) -> [Report.Block] {
        var blocks: [Report.Block] = []
        let palette = seriesColors.count
        let communities = p.communities
        if communities.nodes.count >= 2 {
            let ids = communities.nodes.map(\.community)
            // One swatch per palette colour used, naming the communities that wear it.
            let legend = (0..<min(palette, ids.count)).map { colour in
                NetworkChart.LegendEntry(group: colour, label: ids.filter { (($0 % palette) + palette) % palette == colour }.map(String.init).joined(separator: ","))
            }
            blocks.append(.paragraph("Colour = community id as in the table: community i wears palette colour i mod \(palette), and each circle is labelled with its id. The picture draws the \(communities.nodes.count) largest communities as circles whose area follows their number of \(unit); a line joins two communities whose members share edges, its width and darkness growing with the summed weight of those edges (\(Markup.grouped(communities.edges.count)) such pairs). Positions come from a force layout seeded by the run's seed: close circles are strongly tied."))
            blocks.append(.chart(NetworkChart(
                id: "community-network", title: "Communities and the ties between them",
                summary: "The \(communities.nodes.count) largest communities (area ∝ \(unit)) and the summed edge weight between each pair; colour and label = community id as in the table.",
                nodes: communities.chartNodes, edges: communities.chartEdges,
                minRadius: 4, maxRadius: 24, labelCount: communities.nodes.count, legend: legend, legendTitle: "community",
                nodeLabel: "community", groupLabel: "colour (community id)", sizeLabel: unit)))
        }
        let members = p.members
        if let largest = p.largestCommunity, members.nodes.count >= 2 {
            let by = centralBy.replacingOccurrences(of: "_", with: " ")
            let thinned = members.edges.count < p.edgesAmongMembers
                ? "each keeps its \(p.tiesPerMember) heaviest ties among them (\(Markup.grouped(members.edges.count)) of the \(Markup.grouped(p.edgesAmongMembers)) edges between them are drawn)"
                : "all \(Markup.grouped(members.edges.count)) edges between them are drawn"
            let which = members.nodes.count < p.largestCommunitySize
                ? "its \(members.nodes.count) most central \(unit) (of \(Markup.grouped(p.largestCommunitySize))) by \(by)"
                : "all its \(members.nodes.count) \(unit)"
            blocks.append(.paragraph("Inside community \(largest), the largest: \(which), circle area following the \(by); \(thinned). The \(min(12, members.nodes.count)) most central are named; hover a circle for its name and value."))
            blocks.append(.chart(NetworkChart(
                id: "central-network", title: "Most central \(unit) of community \(largest)",
                summary: "The \(members.nodes.count) \(unit) of community \(largest) with the highest \(by) (area ∝ \(by)) and the heaviest edges among them.",
                nodes: members.chartNodes, edges: members.chartEdges,
                maxRadius: 10, labelCount: 12, legend: [.init(group: largest, label: String(largest))], legendTitle: "community",
                nodeLabel: String(unit.dropLast()), groupLabel: "community", sizeLabel: by)))
        }
        return blocks
    }
}

extension GraphPictures.Picture {
    /// The picture's nodes as the chart draws them: colour by community.
    var chartNodes: [NetworkChart.Node] {
        nodes.map { .init(label: $0.label, size: $0.size, group: $0.community, note: $0.note, x: $0.x, y: $0.y) }
    }

    var chartEdges: [NetworkChart.Edge] { edges.map { .init(from: $0.from, to: $0.to, weight: $0.weight) } }
}
