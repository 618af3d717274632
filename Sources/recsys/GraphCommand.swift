import ArgumentParser
import Features
import Foundation
import Reports
import Runtime
import Graph
import Logging
import Warehouse
import Workflows

extension GraphAnalysisRequest.Network: ExpressibleByArgument {}
extension GraphAnalysisRequest.Algorithm: ExpressibleByArgument {}
extension CoRatingWeight: ExpressibleByArgument {}
extension PathLength: ExpressibleByArgument {}

/// `all`, `none`, or a comma-separated list of centralities.
struct CentralityList: ExpressibleByArgument {
    var kinds: Set<GraphAnalysisRequest.CentralityKind>
    init?(argument: String) {
        guard let kinds = GraphAnalysisRequest.CentralityKind.parse(argument) else { return nil }
        self.kinds = kinds
    }
    static var allValueStrings: [String] { GraphAnalysisRequest.CentralityKind.allCases.map(\.rawValue) + ["all", "none"] }
    var defaultValueDescription: String { "all" }
}

/// `recsys graph` (issue 5): co-rating networks, communities and centrality.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Community detection and centrality over co-rating networks (or any edge list).",
        discussion: """
        The movie network links two movies by the number of customers who rated both (counted exactly \
        over all ratings); the customer network links a seeded sample of customers by the number of movies \
        both rated. --min-common drops weak pairs, --weight normalises (jaccard: c/(n_i+n_j−c), cosine: \
        c/√(n_i·n_j)), --top-k keeps each node's heaviest edges (an edge stays if either end keeps it). \
        --edges FILE runs the same analyses on any CSV edge list (source,target[,weight]).

        Communities: Leiden (connected communities guaranteed) or Louvain, maximising modularity at \
        --resolution. Centrality: degree and weighted degree, PageRank, eigenvector, betweenness and \
        harmonic closeness — the last two exact up to --exact-limit nodes and from --pivots sampled sources \
        beyond it, along --distance (hops, or 1/weight).

        Results go to graph_run, graph_community and graph_centrality (node = movie_id, customer_id or \
        the edge list's label) unless --no-store; the printout lists, per community, its size, its most \
        central members, mean rating and release years, then each centrality's leaders. --out DIR writes \
        the same as a report (report.html with inline SVG, report.md, graph.json).
        """
    )

    @Option(help: ArgumentHelp("Which co-rating network to build.", discussion: "Left out: movie (unless --edges is given)."))
    var network: GraphAnalysisRequest.Network?
    @Option(help: ArgumentHelp("Analyse this CSV edge list (source,target[,weight]) instead of a co-rating network.", valueName: "file.csv"))
    var edges: String?
    @Option(help: ArgumentHelp("Customers sampled for the customer network (seeded by --seed).", discussion: "Left out: 10,000."))
    var sampleCustomers: Int?
    @Option(help: ArgumentHelp("Only pairs with at least N common ratings get an edge.", discussion: "Left out: 1 (every co-rated pair).", valueName: "n"))
    var minCommon: Int?
    @Option(help: ArgumentHelp("Edge weight of a co-rating network.", discussion: "Left out: count."))
    var weight: CoRatingWeight?
    @Option(help: ArgumentHelp("Keep each node's K heaviest edges.", discussion: "Left out: every edge stays.", valueName: "k"))
    var topK: Int?
    @Option(help: "Community detection algorithm.") var algorithm: GraphAnalysisRequest.Algorithm = .leiden
    @Option(help: "Modularity resolution γ (above 1: more, smaller communities; default \(Self.community.resolution)).") var resolution: Double?
    @Option(help: "Independent community detection runs; the best modularity is kept (default \(Self.community.restarts)).") var restarts: Int?
    @Option(help: "Seed of the customer sample, the node orders and the betweenness pivots (default \(Self.community.seed)).") var seed: UInt64?
    @Option(help: ArgumentHelp("Centralities to compute: a comma-separated list, all or none.", valueName: "list"))
    var centrality: CentralityList = CentralityList(argument: "all")!
    @Option(help: "PageRank damping (default \(Self.centralities.damping)).") var damping: Double?
    @Option(help: "PageRank and eigenvector stop when the L1 change per node falls below this (default \(Self.centralities.tolerance)).") var tolerance: Double?
    @Option(help: "PageRank and eigenvector give up after this many iterations (default \(Self.centralities.maxIterations)).") var maxIterations: Int?
    @Option(help: "Betweenness and harmonic closeness are exact up to this many nodes (default \(Self.centralities.exactLimit)).") var exactLimit: Int?
    @Option(help: "Sampled sources for betweenness and harmonic closeness beyond --exact-limit (default \(Self.centralities.pivots)).") var pivots: Int?
    @Option(help: "Edge length for betweenness and harmonic closeness (default \(Self.centralities.pathLength.rawValue)).") var distance: PathLength?
    @Option(help: ArgumentHelp("Worker threads for the co-rating count and the centralities (community detection runs on one).",
                               discussion: "Left out: one per core.")) var threads: Int?
    @Option(help: "Communities and leaders to print.") var show: Int = 10
    @Flag(help: "Print only: write nothing to the warehouse (with --edges, no database is needed).") var noStore = false
    @Option(help: ArgumentHelp("Write report.html, report.md, charts/ and graph.json into this folder.", valueName: "dir"))
    var out: String?
    @OptionGroup var db: WarehouseOptions

    func validate() throws {
        do { try request.validate() } catch { throw ValidationError(String(describing: error)) }
    }

    var request: GraphAnalysisRequest {
        var r = GraphAnalysisRequest()
        (r.network, r.edges, r.sampleCustomers, r.minCommon) = (network, edges.map { URL(fileURLWithPath: $0) }, sampleCustomers, minCommon)
        (r.weight, r.topK, r.algorithm, r.centrality, r.threads, r.show, r.noStore) = (weight, topK, algorithm, centrality.kinds, threads, show, noStore)
        // Left out, a value keeps the configuration's default: each is written once, there.
        var (community, c) = (r.community, r.centralities)
        (community.resolution, community.restarts) = (resolution ?? community.resolution, restarts ?? community.restarts)
        (c.damping, c.tolerance, c.maxIterations) = (damping ?? c.damping, tolerance ?? c.tolerance, maxIterations ?? c.maxIterations)
        (c.exactLimit, c.pivots, c.pathLength) = (exactLimit ?? c.exactLimit, pivots ?? c.pivots, distance ?? c.pathLength)
        (r.community, r.centralities) = (community, c)
        if let seed { r.seed = seed }
        return r
    }

    private static let community = CommunityConfiguration()
    private static let centralities = CentralityConfiguration()

    func run() throws {
        if let out { try Report.prepare(out) }
        let logger = Logger(label: "recsys.graph")
        let report = try GraphAnalysis.run(request, database: db.open(), logger: logger)
        if let out {
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            let files = try GraphReportPage.page(report).write(to: directory, json: try JSON.document(report), jsonName: "graph.json")
            logger.info("wrote \(files.count) files to \(directory.path): report.html, report.md, graph.json, charts/")
        }
        if db.json { return try printJSON(report) }
        try say(report.text)
    }
}
