import Features
import Foundation
import Graph
import Logging
import Reports
import Runtime
import Warehouse

/// What `recsys graph` analyses and how: a co-rating network (or an edge
/// list), community detection, centralities, and whether to store the run.
public struct GraphAnalysisRequest: Sendable {
    public enum Network: String, CaseIterable, Sendable { case movie, customer }
    public enum Algorithm: String, CaseIterable, Sendable { case louvain, leiden, none }
    public enum CentralityKind: String, CaseIterable, Sendable {
        case degree, pagerank, eigenvector, betweenness, harmonic

        /// `all`, `none`, or a comma-separated list of names; nil for anything else.
        public static func parse(_ list: String) -> Set<CentralityKind>? {
            switch list {
            case "all": return Set(allCases)
            case "none": return []
            default:
                var kinds = Set<CentralityKind>()
                for name in list.split(separator: ",") {
                    guard let kind = CentralityKind(rawValue: name.trimmingCharacters(in: .whitespaces)) else { return nil }
                    kinds.insert(kind)
                }
                return kinds.isEmpty ? nil : kinds
            }
        }
    }

    /// Left out: movie (unless `edges` is given).
    public var network: Network?
    /// A CSV edge list (source,target[,weight]) instead of a co-rating network.
    public var edges: URL?
    /// Left out: 10,000.
    public var sampleCustomers: Int?
    /// Left out: 1 (every co-rated pair).
    public var minCommon: Int?
    /// Left out: count.
    public var weight: CoRatingWeight?
    public var topK: Int?
    public var algorithm: Algorithm = .leiden
    /// Resolution and restarts of the community detection (its defaults and ranges live there).
    public var community = CommunityConfiguration()
    /// Damping, tolerance, iteration limit, exact limit, pivots and path length of the centralities.
    public var centralities = CentralityConfiguration()
    public var centrality: Set<CentralityKind> = Set(CentralityKind.allCases)
    /// Seeds the customer sample, the node orders and the betweenness pivots.
    public var seed: UInt64 {
        get { community.seed }
        set { community.seed = newValue; centralities.seed = newValue }
    }
    /// Left out: one per core.
    public var threads: Int?
    /// Communities and leaders to report.
    public var show: Int = 10
    /// Write nothing to the warehouse (with `edges`, no database is needed).
    public var noStore = false

    public init() {}
}

/// The graph use case: build the network, detect communities, compute
/// centralities, store the run, and describe it (community statistics with
/// titles, mean ratings and release years; centrality leaders).
public enum GraphAnalysis {
    public static func run(_ request: GraphAnalysisRequest, database: Database, logger: Logger) throws -> GraphReport {
        let edges = request.edges, network = request.network, minCommon = request.minCommon, weight = request.weight
        let topK = request.topK, threads = request.threads, sampleCustomers = request.sampleCustomers, seed = request.seed
        let algorithm = request.algorithm
        let centrality = request.centrality, noStore = request.noStore
        let log: (String) -> Void = { logger.info("\($0)") }
        let started = Date()
        var seconds: [String: Double] = [:]
        func timed<T>(_ step: String, _ body: () throws -> T) throws -> T {
            let t = Date()
            defer { seconds[step] = Date().timeIntervalSince(t) }
            let value = try body()
            // Long steps stop taking work on a stop request; what they return then is partial.
            try Interruption.check()
            return value
        }
        var connection: Connection?

        // 1. The network.
        let subject: Subject = try timed("build") {
            if let edges {
                let url = edges.standardizedFileURL
                if !noStore { connection = try database.connect() }
                let labeled: LabeledGraph
                do {
                    labeled = try EdgeList.read(url)
                } catch GraphError.badEdgeLine(let line, let problem, let text) {
                    throw InputError(file: url.path, line: line, problem: problem, text: text,
                                     hint: "each line is source,target[,weight] with a positive weight")
                } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
                    throw InputError(file: url.path, line: 0, problem: "no such file")
                }
                guard labeled.graph.edgeCount > 0 else {
                    throw InputError(file: url.path, line: 0, problem: "holds no edges",
                                     hint: "each line is source,target[,weight] with a positive weight")
                }
                log("edge list \(url.path): \(ProgressReporter.count(labeled.graph.nodeCount)) nodes, \(ProgressReporter.count(labeled.graph.edgeCount)) edges")
                return Subject(network: "edges:\(url.path)", kind: "edges", labeled: labeled)
            }
            let connected = try database.connect()
            connection = connected
            let (matrix, version, cached) = try RatingExport.matrix(connected, home: database.home)
            log("ratings: \(ProgressReporter.count(matrix.count)) (\(ProgressReporter.count(matrix.customerCount)) customers, \(ProgressReporter.count(matrix.movieCount)) movies), \(cached ? "from the cache" : "exported")")
            let configuration = CoRatingConfiguration(minCommon: minCommon ?? 1, weight: weight ?? .count, topK: topK, threads: threads)
            let kind = network ?? .movie
            let built: CoRatingNetwork
            do {
                built = kind == .movie
                    ? try CoRatingNetwork.movies(matrix, configuration: configuration, progress: log)
                    : try CoRatingNetwork.customers(matrix, sample: sampleCustomers ?? 10_000, seed: seed, configuration: configuration, progress: log)
            } catch let error as GraphError {
                throw WorkflowError(.badRequest, error.description)
            }
            let ids = kind == .movie ? matrix.movieIDs : matrix.customerIDs
            let labels = built.members.map { String(ids[Int($0)]) }
            log("\(kind.rawValue) network: \(ProgressReporter.count(built.graph.nodeCount)) nodes, \(ProgressReporter.count(built.graph.edgeCount)) edges")
            var subject = Subject(network: kind.rawValue, kind: kind.rawValue, labeled: LabeledGraph(graph: built.graph, labels: labels))
            subject.coRating = built
            subject.matrix = matrix
            subject.dataVersion = version
            subject.movies = try GraphStore.movies(connected)
            return subject
        }
        let graph = subject.labeled.graph

        // 2. Communities.
        var partition: Partition?
        if algorithm != .none {
            let configuration = request.community
            partition = try timed("communities") {
                let detector: any CommunityDetector = algorithm == .louvain ? Louvain(configuration) : Leiden(configuration)
                return try detector.run(graph, progress: log)
            }
            if let partition {
                log(String(format: "%@: modularity %.6f, %d communities", algorithm.rawValue, partition.modularity, partition.count))
            }
        }

        // 3. Centrality. Weighted degree is always computed: it ranks community members when PageRank is not asked for.
        var centralityConfiguration = request.centralities
        centralityConfiguration.seed = seed
        if let threads { centralityConfiguration.threads = threads }
        var values = CentralityValues()
        values.weightedDegree = Centrality.weightedDegree(graph)
        if centrality.contains(.degree) { values.degree = Centrality.degree(graph) }
        if centrality.contains(.pagerank) {
            let result = try timed("pagerank") { try Centrality.pageRank(graph, configuration: centralityConfiguration) }
            values.pageRank = result.values
            values.iterations["pagerank"] = result.iterations
        }
        if centrality.contains(.eigenvector) {
            let result = try timed("eigenvector") { try Centrality.eigenvector(graph, configuration: centralityConfiguration) }
            values.eigenvector = result.values
            values.iterations["eigenvector"] = result.iterations
        }
        if centrality.contains(.betweenness) || centrality.contains(.harmonic) {
            let paths = try timed("shortest paths") { try ShortestPathCentrality.compute(graph, configuration: centralityConfiguration, progress: log) }
            if centrality.contains(.betweenness) { values.betweenness = paths.betweenness }
            if centrality.contains(.harmonic) { values.harmonic = paths.harmonic }
            values.pivots = paths.pivots?.count
        }

        // 4. The warehouse.
        var runID: Int?
        if !noStore, let connection {
            var record = GraphRunRecord(network: subject.network, parametersJSON: try parametersJSON(request, subject), nodes: graph.nodeCount,
                                        edges: graph.edgeCount, seconds: Date().timeIntervalSince(started), labels: subject.labeled.labels)
            record.algorithm = partition == nil ? nil : algorithm.rawValue
            record.modularity = partition?.modularity
            record.dataVersion = subject.dataVersion
            record.community = partition?.membership
            record.degree = values.degree
            record.weightedDegree = centrality.contains(.degree) ? values.weightedDegree : nil
            record.pageRank = values.pageRank
            record.eigenvector = values.eigenvector
            record.betweenness = values.betweenness
            record.harmonic = values.harmonic
            runID = try timed("store") { try GraphStore.save(record, connection: connection) }
        }
        seconds["total"] = Date().timeIntervalSince(started)

        let report = GraphReport(request: request, subject: subject, partition: partition, values: values, runID: runID, seconds: seconds)
        return report
    }

    /// The run's parameters as stored in graph_run.params.
    static func parametersJSON(_ request: GraphAnalysisRequest, _ subject: Subject) throws -> String {
        let (community, c) = (request.community, request.centralities)
        var parameters: [String: Any] = ["algorithm": request.algorithm.rawValue, "resolution": community.resolution, "restarts": community.restarts,
                                         "seed": request.seed, "centrality": request.centrality.map(\.rawValue).sorted(),
                                         "damping": c.damping, "tolerance": c.tolerance, "max_iterations": c.maxIterations,
                                         "exact_limit": c.exactLimit, "pivots": c.pivots, "distance": c.pathLength.rawValue]
        if let network = subject.coRating {
            parameters["min_common"] = network.configuration.minCommon
            parameters["weight"] = network.configuration.weight.rawValue
            if let k = network.configuration.topK { parameters["top_k"] = k }
            if network.kind == .customer { parameters["sample_customers"] = request.sampleCustomers ?? 10_000 }
        }
        let data = try JSONSerialization.data(withJSONObject: parameters, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// What the analyses run on: the graph with its node names and, for a
/// co-rating network, where it came from.
struct Subject {
    var network: String
    var kind: String
    var labeled: LabeledGraph
    var coRating: CoRatingNetwork?
    var matrix: RatingMatrix?
    var dataVersion: String?
    var movies: [GraphStore.Movie] = []
}

struct CentralityValues {
    var degree: [Int]?
    var weightedDegree: [Double] = []
    var pageRank: [Double]?
    var eigenvector: [Double]?
    var betweenness: [Double]?
    var harmonic: [Double]?
    var iterations: [String: Int] = [:]
    /// Sampled sources of betweenness and harmonic; nil when exact.
    var pivots: Int?
}

/// What `recsys graph` prints: text, or one JSON document.
public struct GraphReport: Encodable, Sendable {
    public struct Network: Encodable, Sendable {
        public var kind: String
        public var source: String?
        public var nodes: Int
        public var edges: Int
        public var minCommon: Int?
        public var weight: String?
        public var topK: Int?
        public var sampleCustomers: Int?
        public var ratings: Int?
        public var dataVersion: String?
    }
    public struct Node: Encodable, Sendable {
        public var node: String
        public var title: String?
        public var year: Int?
        public var value: Double
    }
    public struct Years: Encodable, Sendable {
        public var q1, median, q3: Int
    }
    public struct Community: Encodable, Sendable {
        public var id: Int
        public var size: Int
        public var central: [Node]
        public var meanRating: Double?
        public var years: Years?
    }
    public struct CentralitySummary: Encodable, Sendable {
        public var leaders: [Node]
        public var exact: Bool?
        public var pivots: Int?
        public var iterations: Int?
    }

    public var network: Network
    public var runId: Int?
    public var algorithm: String?
    public var resolution: Double?
    public var seed: UInt64
    public var modularity: Double?
    public var communityCount: Int?
    public var communitySizes: [Int]?
    /// The largest communities (up to --show), those of one node left out.
    public var communities: [Community]
    /// How community members are ranked: pagerank, or weighted_degree when PageRank was not computed.
    public var centralBy: String
    public var centrality: [String: CentralitySummary]
    public var seconds: [String: Double]
    /// What the report draws (`GraphReportPage`); nil without communities.
    /// Not encoded: the --json document stays as it was (see `CodingKeys`).
    public var pictures: GraphPictures?

    /// Every property but `pictures`.
    enum CodingKeys: String, CodingKey {
        case network, runId, algorithm, resolution, seed, modularity, communityCount, communitySizes, communities, centralBy, centrality, seconds
    }

    init(request: GraphAnalysisRequest, subject: Subject, partition: Partition?, values: CentralityValues, runID: Int?, seconds: [String: Double]) {
        let graph = subject.labeled.graph
        let co = subject.coRating
        network = Network(kind: subject.kind, source: subject.kind == "edges" ? String(subject.network.dropFirst("edges:".count)) : nil,
                          nodes: graph.nodeCount, edges: graph.edgeCount,
                          minCommon: co?.configuration.minCommon, weight: co?.configuration.weight.rawValue,
                          topK: co?.configuration.topK, sampleCustomers: co?.kind == .customer ? graph.nodeCount : nil,
                          ratings: subject.matrix?.count, dataVersion: subject.dataVersion)
        runId = runID
        algorithm = partition == nil ? nil : request.algorithm.rawValue
        resolution = partition == nil ? nil : request.community.resolution
        seed = request.seed
        modularity = partition?.modularity
        communityCount = partition?.count
        communitySizes = partition?.sizes
        self.seconds = seconds
        let rankBy = values.pageRank ?? values.weightedDegree
        centralBy = values.pageRank == nil ? "weighted_degree" : "pagerank"

        func node(_ v: Int, _ value: Double) -> Node {
            var out = Node(node: subject.labeled.labels[v], value: value)
            if let co, co.kind == .movie, let movie = subject.movies[safe: Int(co.members[v])] {
                out.title = movie.title
                out.year = movie.year
            }
            return out
        }
        func top(_ nodes: [Int], by score: [Double], _ k: Int) -> [Int] {
            Array(nodes.sorted { score[$0] != score[$1] ? score[$0] > score[$1] : $0 < $1 }.prefix(k))
        }

        communities = []
        if let partition {
            let unit = subject.kind == "movie" ? "movies" : subject.kind == "customer" ? "customers" : "nodes"
            pictures = GraphPictures.make(graph: graph, membership: partition.membership, centrality: rankBy, seed: request.seed,
                                          unit: unit, measure: centralBy.replacingOccurrences(of: "_", with: " "),
                                          name: { Self.name(node($0, rankBy[$0])) })
            let sums = co.flatMap { c in subject.matrix.map { c.ratingSums($0) } }
            // Communities of one node (isolated nodes, mostly) are counted, not listed.
            for (id, members) in partition.members.enumerated().prefix(while: { $0.element.count > 1 }).prefix(request.show) {
                let nodes = members.map(Int.init)
                var community = Community(id: id, size: members.count, central: top(nodes, by: rankBy, 5).map { node($0, rankBy[$0]) })
                if let co, let sums {
                    let count = nodes.reduce(0) { $0 + co.ratingCounts[$1] }
                    let sum = nodes.reduce(0.0) { $0 + sums[$1] }
                    community.meanRating = count > 0 ? sum / Double(count) : nil
                    community.years = Self.years(of: nodes, co, subject)
                }
                communities.append(community)
            }
        }

        var centrality: [String: CentralitySummary] = [:]
        func leaders(_ name: String, _ column: [Double]?, exact: Bool? = nil, pivots: Int? = nil) {
            guard let column else { return }
            centrality[name] = CentralitySummary(leaders: top(Array(0..<graph.nodeCount), by: column, request.show).map { node($0, column[$0]) },
                                                 exact: exact, pivots: pivots, iterations: values.iterations[name])
        }
        leaders("degree", values.degree.map { $0.map(Double.init) })
        if values.degree != nil { leaders("weighted_degree", values.weightedDegree) }
        leaders("pagerank", values.pageRank)
        leaders("eigenvector", values.eigenvector)
        leaders("betweenness", values.betweenness, exact: values.pivots == nil, pivots: values.pivots)
        leaders("harmonic", values.harmonic, exact: values.pivots == nil, pivots: values.pivots)
        self.centrality = centrality
    }

    /// A node for people: its title (shortened) and year, or its label.
    public static func name(_ node: Node) -> String {
        guard let title = node.title else { return node.node }
        let short = title.count > 40 ? String(title.prefix(39)) + "…" : title
        return node.year.map { "\(short) (\($0))" } ?? short
    }

    /// A centrality value for people: whole numbers grouped, others to four digits.
    public static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e12 { return ProgressReporter.count(Int(value)) }
        return abs(value) >= 100 ? String(format: "%.1f", value) : String(format: "%.4g", value)
    }

    /// Quartiles of the release years: of the member movies (movie network),
    /// or of every movie the member customers rated (customer network).
    static func years(of nodes: [Int], _ co: CoRatingNetwork, _ subject: Subject) -> Years? {
        var years: [Int] = []
        if co.kind == .movie {
            years = nodes.compactMap { subject.movies[safe: Int(co.members[$0])]?.year }
        } else if let matrix = subject.matrix {
            var histogram: [Int: Int] = [:]
            for v in nodes {
                for movie in matrix.ratings(ofCustomer: Int(co.members[v])).movies {
                    if let year = subject.movies[safe: Int(movie)]?.year { histogram[year, default: 0] += 1 }
                }
            }
            // Expanded from the histogram: at most a few thousand entries per year.
            years = histogram.keys.sorted().flatMap { [Int](repeating: $0, count: histogram[$0]!) }
        }
        guard !years.isEmpty else { return nil }
        years.sort()
        func quantile(_ q: Double) -> Int { years[min(years.count - 1, Int(q * Double(years.count - 1) + 0.5))] }
        return Years(q1: quantile(0.25), median: quantile(0.5), q3: quantile(0.75))
    }

}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

extension GraphReport {
    /// What `recsys graph` prints without --json.
    public var text: String {
        var lines: [String] = []
        let count = ProgressReporter.count
        var description = "\(network.kind) network: \(count(network.nodes)) nodes, \(count(network.edges)) edges"
        if let source = network.source { description = "edge list \(source): \(count(network.nodes)) nodes, \(count(network.edges)) edges" }
        var shape: [String] = []
        if let minCommon = network.minCommon { shape.append("min common \(minCommon)") }
        if let weight = network.weight { shape.append("weight \(weight)") }
        if let topK = network.topK { shape.append("top-\(topK)") }
        if let ratings = network.ratings { shape.append("from \(count(ratings)) ratings") }
        if !shape.isEmpty { description += " (" + shape.joined(separator: ", ") + ")" }
        description += String(format: ", built in %.1f s", seconds["build"] ?? 0)
        lines.append(description)
        if let algorithm, let modularity, let communityCount {
            lines.append(String(format: "%@ (resolution %g, seed %llu): modularity %.4f, %@ communities, %.1f s",
                                algorithm, resolution ?? 1, seed, modularity, count(communityCount), seconds["communities"] ?? 0))
        }
        if let runId { lines.append("stored as graph run \(runId) (graph_run, graph_community, graph_centrality)") }

        let unit = network.kind == "movie" ? "movies" : network.kind == "customer" ? "customers" : "nodes"
        if let sizes = communitySizes {
            lines.append("")
            // Ratings and years exist for co-rating networks only.
            let profiled = network.kind != "edges"
            var table = [["community", unit] + (profiled ? ["mean rating", "release years"] : [])
                         + ["most central (\(centralBy.replacingOccurrences(of: "_", with: " ")))"]]
            for c in communities {
                let years = c.years.map { "\($0.q1)–\($0.q3) (median \($0.median))" } ?? ""
                table.append([String(c.id), count(c.size)]
                             + (profiled ? [c.meanRating.map { String(format: "%.2f", $0) } ?? "", years] : [])
                             + [c.central.prefix(3).map(Self.name).joined(separator: "; ")])
            }
            if !communities.isEmpty { lines.append(TextTable.render(table)) }
            do {
                let rest = sizes[communities.count...].filter { $0 > 1 }
                let single = sizes.filter { $0 == 1 }.count
                var notes: [String] = []
                if !rest.isEmpty { notes.append("\(count(rest.count)) more communities of \(count(rest.last!))–\(count(rest.first!)) \(unit)") }
                if single > 0 { notes.append("\(count(single)) \(unit) alone in their community") }
                if !notes.isEmpty { lines.append("(" + notes.joined(separator: "; ") + ")") }
            }
        }
        let order = ["degree", "weighted_degree", "pagerank", "eigenvector", "betweenness", "harmonic"]
        let present = order.filter { centrality[$0] != nil }
        if !present.isEmpty {
            lines.append("")
            lines.append("centrality leaders")
            var table = [["measure", "leaders"]]
            for name in present {
                let summary = centrality[name]!
                var label = name.replacingOccurrences(of: "_", with: " ")
                if let pivots = summary.pivots { label += " (\(pivots) pivots)" }
                let values = summary.leaders.prefix(3).map { "\(Self.name($0)) \(Self.format($0.value))" }
                table.append([label, values.joined(separator: "; ")])
            }
            lines.append(TextTable.render(table))
        }
        let steps = ["build", "communities", "pagerank", "eigenvector", "shortest paths", "store", "total"].filter { seconds[$0] != nil }
        lines.append("")
        lines.append("seconds: " + steps.map { String(format: "%@ %.1f", $0, seconds[$0]!) }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

}

extension GraphAnalysisRequest {
    /// Checks the request as a whole; the messages name the CLI options.
    public func validate() throws {
        func fail(_ text: String) -> WorkflowError { WorkflowError(.badRequest, text) }
        if edges != nil {
            if network != nil { throw fail("--edges analyses a file; it cannot be combined with --network") }
            if minCommon != nil || weight != nil || topK != nil || sampleCustomers != nil {
                throw fail("--min-common, --weight, --top-k and --sample-customers shape co-rating networks; they do not apply to --edges")
            }
        }
        if sampleCustomers != nil && (network ?? .movie) != .customer {
            throw fail("--sample-customers applies to --network customer")
        }
        if let sampleCustomers, sampleCustomers < 1 { throw fail("--sample-customers must be at least 1") }
        if let minCommon, minCommon < 1 { throw fail("--min-common must be at least 1") }
        if let topK, topK < 1 { throw fail("--top-k must be at least 1") }
        do {
            try community.validate()
            try centralities.validate()
        } catch GraphError.invalidParameter(let problem) {
            throw fail(problem)
        }
        if let threads, threads < 1 { throw fail("--threads must be at least 1") }
        guard show >= 1 else { throw fail("--show must be at least 1") }
    }
}

/// What the report draws of a run — not part of `--json`: the community graph
/// (communities as nodes sized by their members, edges summing the weights of
/// the edges between their members) and the largest community's most central
/// members with the heaviest edges among them, each laid out by `ForceLayout`.
public struct GraphPictures: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        /// The community id (community picture) or the node index in the network (members picture).
        public var id: Int
        public var label: String
        /// Members (community picture) or the centrality value (members picture).
        public var size: Double
        /// The node's community id: its colour, as in the report's tables.
        public var community: Int
        public var note: String
        /// Position in [0, 1]², from `ForceLayout`.
        public var x, y: Double
    }

    public struct Link: Sendable, Equatable {
        /// Indexes into the picture's `nodes`, `from` < `to`.
        public var from, to: Int
        public var weight: Double
    }

    public struct Picture: Sendable, Equatable {
        public var nodes: [Node] = []
        /// Ordered by (from, to).
        public var edges: [Link] = []
    }

    /// The largest communities of more than one node, largest first (ties: lower id).
    public var communities = Picture()
    /// The largest community's most central members, most central first (ties: lower index).
    public var members = Picture()
    /// The id of the community `members` come from; nil when no community has two nodes.
    public var largestCommunity: Int?
    /// Its number of nodes (`members` holds at most `memberLimit` of them).
    public var largestCommunitySize = 0
    /// How many edges join the drawn members before each keeps only its heaviest ties.
    public var edgesAmongMembers = 0
    /// The limits the pictures were made with.
    public var communityLimit = 0
    public var memberLimit = 0
    public var tiesPerMember = 0

    public init() {}

    /// Builds both pictures. `membership[v]` is v's community (a negative value:
    /// none); `centrality[v]` ranks the members (missing values count as 0);
    /// `name(v)` names node v in labels and tooltips; `unit` names the nodes
    /// ("movies") and `measure` the centrality ("pagerank") in tooltips.
    ///
    /// - Communities: the `communityLimit` largest of more than one node; an
    ///   edge between two of them weighs the sum of the weights of the graph's
    ///   edges between their members (edges to communities not drawn are left out).
    /// - Members: the `memberLimit` most central nodes of the largest community,
    ///   sized by centrality; of the edges among them each keeps its
    ///   `tiesPerMember` heaviest (equal weights: the more central other end),
    ///   and an edge is drawn when either end keeps it.
    ///
    /// Both layouts are seeded by `seed`: the same input gives the same bits.
    public static func make(graph: WeightedGraph, membership: [Int32], centrality: [Double], seed: UInt64,
                            communityLimit: Int = 24, memberLimit: Int = 80, tiesPerMember: Int = 5,
                            unit: String = "nodes", measure: String = "centrality",
                            name: (Int) -> String = { String($0) }) -> GraphPictures {
        var out = GraphPictures()
        out.communityLimit = max(0, communityLimit)
        out.memberLimit = max(0, memberLimit)
        out.tiesPerMember = max(0, tiesPerMember)
        let n = min(graph.nodeCount, membership.count)
        func community(_ v: Int) -> Int { v < n ? Int(membership[v]) : -1 }
        func score(_ v: Int) -> Double { v < centrality.count && centrality[v].isFinite ? centrality[v] : 0 }
        func moreCentral(_ a: Int, _ b: Int) -> Bool { score(a) != score(b) ? score(a) > score(b) : a < b }
        let layout = ForceLayout(.init(seed: seed))

        // Community sizes and members, by id.
        let k = (membership.prefix(n).max()).map { Int($0) + 1 } ?? 0
        var membersOf = [[Int]](repeating: [], count: max(0, k))
        for v in 0..<n where community(v) >= 0 { membersOf[community(v)].append(v) }
        let ranked = membersOf.indices.filter { membersOf[$0].count > 1 }
            .sorted { membersOf[$0].count != membersOf[$1].count ? membersOf[$0].count > membersOf[$1].count : $0 < $1 }
        let drawn = Array(ranked.prefix(out.communityLimit))
        var slot = [Int](repeating: -1, count: max(0, k))
        for (i, c) in drawn.enumerated() { slot[c] = i }

        // Summed weights between (and inside) the drawn communities, each graph edge once.
        var between: [Int: Double] = [:]
        var inside = [Double](repeating: 0, count: drawn.count)
        for u in 0..<n {
            let cu = community(u)
            guard cu >= 0, slot[cu] >= 0 else { continue }
            let (neighbors, weights) = graph.neighbors(of: u)
            for (v32, w) in zip(neighbors, weights) where Int(v32) > u {
                let v = Int(v32), cv = community(v)
                guard cv >= 0, slot[cv] >= 0 else { continue }
                let a = slot[cu], b = slot[cv]
                if a == b { inside[a] += w } else { between[min(a, b) * drawn.count + max(a, b), default: 0] += w }
            }
            inside[slot[cu]] += graph.selfLoop[u]
        }
        let links = between.keys.sorted().map { Link(from: $0 / drawn.count, to: $0 % drawn.count, weight: between[$0]!) }
        let sizes = drawn.map { Double(membersOf[$0].count) }
        let positions = layout.positions(nodeCount: drawn.count, edges: links.map { ($0.from, $0.to, $0.weight) }, sizes: sizes)
        out.communities.edges = links
        out.communities.nodes = drawn.enumerated().map { i, c in
            let leaders = membersOf[c].sorted(by: moreCentral).prefix(3).map(name)
            let note = "community \(c): \(Markup.grouped(membersOf[c].count)) \(unit), internal edge weight \(GraphReport.format(inside[i]))"
                + (leaders.isEmpty ? "" : "; most central: " + leaders.joined(separator: "; "))
            return Node(id: c, label: String(c), size: sizes[i], community: c, note: note, x: positions[i].x, y: positions[i].y)
        }

        // The largest community's most central members and the edges among them.
        guard let largest = drawn.first ?? ranked.first else { return out }
        out.largestCommunity = largest
        out.largestCommunitySize = membersOf[largest].count
        let chosen = Array(membersOf[largest].sorted(by: moreCentral).prefix(out.memberLimit))
        var index: [Int: Int] = [:]
        for (i, v) in chosen.enumerated() { index[v] = i }
        var among: [Link] = []
        var tiesOf = [[Int]](repeating: [], count: chosen.count)   // into `among`
        for (i, u) in chosen.enumerated() {
            let (neighbors, weights) = graph.neighbors(of: u)
            for (v32, w) in zip(neighbors, weights) {
                guard let j = index[Int(v32)], i < j else { continue }
                tiesOf[i].append(among.count)
                tiesOf[j].append(among.count)
                among.append(Link(from: i, to: j, weight: w))
            }
        }
        out.edgesAmongMembers = among.count
        var kept = [Bool](repeating: false, count: among.count)
        for (i, ties) in tiesOf.enumerated() {
            func other(_ e: Int) -> Int { among[e].from == i ? among[e].to : among[e].from }
            let heaviest = ties.sorted { among[$0].weight != among[$1].weight ? among[$0].weight > among[$1].weight : other($0) < other($1) }
            for e in heaviest.prefix(out.tiesPerMember) { kept[e] = true }
        }
        let memberLinks = among.indices.filter { kept[$0] }.map { among[$0] }
            .sorted { ($0.from, $0.to) < ($1.from, $1.to) }
        let memberPositions = layout.positions(nodeCount: chosen.count, edges: memberLinks.map { ($0.from, $0.to, $0.weight) },
                                               sizes: chosen.map(score))
        out.members.edges = memberLinks
        out.members.nodes = chosen.enumerated().map { i, v in
            let label = name(v)
            return Node(id: v, label: label, size: score(v), community: largest,
                        note: "\(label): \(measure) \(GraphReport.format(score(v))), community \(largest)",
                        x: memberPositions[i].x, y: memberPositions[i].y)
        }
        return out
    }
}
