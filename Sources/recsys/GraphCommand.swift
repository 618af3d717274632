import ArgumentParser
import Features
import Foundation
import Reports
import Runtime
import Graph
import Logging
import Warehouse
import Workflows

enum NetworkChoice: String, ExpressibleByArgument, CaseIterable { case movie, customer }
enum AlgorithmChoice: String, ExpressibleByArgument, CaseIterable { case louvain, leiden, none }
enum WeightChoice: String, ExpressibleByArgument, CaseIterable {
    case count, jaccard, cosine
    var weight: CoRatingWeight { CoRatingWeight(rawValue: rawValue)! }
}
enum DistanceChoice: String, ExpressibleByArgument, CaseIterable {
    case hops, inverseWeight = "inverse-weight"
    var length: PathLength { PathLength(rawValue: rawValue)! }
}

/// The centralities to compute: a comma-separated list, `all` or `none`.
struct CentralityList: ExpressibleByArgument {
    enum Kind: String, CaseIterable { case degree, pagerank, eigenvector, betweenness, harmonic }
    var kinds: Set<Kind>

    init?(argument: String) {
        switch argument {
        case "all": kinds = Set(Kind.allCases)
        case "none": kinds = []
        default:
            var kinds = Set<Kind>()
            for name in argument.split(separator: ",") {
                guard let kind = Kind(rawValue: name.trimmingCharacters(in: .whitespaces)) else { return nil }
                kinds.insert(kind)
            }
            guard !kinds.isEmpty else { return nil }
            self.kinds = kinds
        }
    }

    static var allValueStrings: [String] { Kind.allCases.map(\.rawValue) + ["all", "none"] }
    var defaultValueDescription: String { "all" }
    func contains(_ kind: Kind) -> Bool { kinds.contains(kind) }
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
    var network: NetworkChoice?
    @Option(help: ArgumentHelp("Analyse this CSV edge list (source,target[,weight]) instead of a co-rating network.", valueName: "file.csv"))
    var edges: String?
    @Option(help: ArgumentHelp("Customers sampled for the customer network (seeded by --seed).", discussion: "Left out: 10,000."))
    var sampleCustomers: Int?
    @Option(help: ArgumentHelp("Only pairs with at least N common ratings get an edge.", discussion: "Left out: 1 (every co-rated pair).", valueName: "n"))
    var minCommon: Int?
    @Option(help: ArgumentHelp("Edge weight of a co-rating network.", discussion: "Left out: count."))
    var weight: WeightChoice?
    @Option(help: ArgumentHelp("Keep each node's K heaviest edges.", discussion: "Left out: every edge stays.", valueName: "k"))
    var topK: Int?
    @Option(help: "Community detection algorithm.") var algorithm: AlgorithmChoice = .leiden
    @Option(help: "Modularity resolution γ (above 1: more, smaller communities).") var resolution: Double = 1
    @Option(help: "Independent community detection runs; the best modularity is kept.") var restarts: Int = 1
    @Option(help: "Seed of the customer sample, the node orders and the betweenness pivots.") var seed: UInt64 = 42
    @Option(help: ArgumentHelp("Centralities to compute: a comma-separated list, all or none.", valueName: "list"))
    var centrality: CentralityList = CentralityList(argument: "all")!
    @Option(help: "PageRank damping.") var damping: Double = 0.85
    @Option(help: "PageRank and eigenvector stop when the L1 change per node falls below this.") var tolerance: Double = 1e-6
    @Option(help: "PageRank and eigenvector give up after this many iterations.") var maxIterations: Int = 1000
    @Option(help: "Betweenness and harmonic closeness are exact up to this many nodes.") var exactLimit: Int = 5000
    @Option(help: "Sampled sources for betweenness and harmonic closeness beyond --exact-limit.") var pivots: Int = 256
    @Option(help: "Edge length for betweenness and harmonic closeness.") var distance: DistanceChoice = .hops
    @Option(help: ArgumentHelp("Worker threads for the co-rating count and the centralities (community detection runs on one).",
                               discussion: "Left out: one per core.")) var threads: Int?
    @Option(help: "Communities and leaders to print.") var show: Int = 10
    @Flag(help: "Print only: write nothing to the warehouse (with --edges, no database is needed).") var noStore = false
    @Flag(help: "Print one JSON document on stdout.") var json = false
    @Option(help: ArgumentHelp("Write report.html, report.md, charts/ and graph.json into this folder.", valueName: "dir"))
    var out: String?
    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        if edges != nil {
            if network != nil { throw ValidationError("--edges analyses a file; it cannot be combined with --network") }
            if minCommon != nil || weight != nil || topK != nil || sampleCustomers != nil {
                throw ValidationError("--min-common, --weight, --top-k and --sample-customers shape co-rating networks; they do not apply to --edges")
            }
        }
        if sampleCustomers != nil && (network ?? .movie) != .customer {
            throw ValidationError("--sample-customers applies to --network customer")
        }
        if let sampleCustomers, sampleCustomers < 1 { throw ValidationError("--sample-customers must be at least 1") }
        if let minCommon, minCommon < 1 { throw ValidationError("--min-common must be at least 1") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
        guard resolution > 0, resolution.isFinite else { throw ValidationError("--resolution must be a positive number") }
        guard restarts >= 1 else { throw ValidationError("--restarts must be at least 1") }
        guard damping > 0, damping < 1 else { throw ValidationError("--damping must be between 0 and 1") }
        guard tolerance > 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a positive number") }
        guard maxIterations >= 1 else { throw ValidationError("--max-iterations must be at least 1") }
        guard exactLimit >= 0 else { throw ValidationError("--exact-limit must be 0 or more") }
        guard pivots >= 1 else { throw ValidationError("--pivots must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard show >= 1 else { throw ValidationError("--show must be at least 1") }
    }

    func run() throws {
        if let out { try Report.prepare(out) }
        let logger = Logger(label: "recsys.graph")
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
        let database = db.open()
        var connection: Connection?

        // 1. The network.
        let subject: Subject = try timed("build") {
            if let edges {
                let url = URL(fileURLWithPath: edges).standardizedFileURL
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
            let configuration = CoRatingConfiguration(minCommon: minCommon ?? 1, weight: (weight ?? .count).weight, topK: topK, threads: threads)
            let kind = network ?? .movie
            let built: CoRatingNetwork
            do {
                built = kind == .movie
                    ? try CoRatingNetwork.movies(matrix, configuration: configuration, progress: log)
                    : try CoRatingNetwork.customers(matrix, sample: sampleCustomers ?? 10_000, seed: seed, configuration: configuration, progress: log)
            } catch let error as GraphError {
                throw UsageError(description: error.description)
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
            var configuration = CommunityConfiguration(resolution: resolution, seed: seed)
            configuration.restarts = restarts
            partition = try timed("communities") {
                algorithm == .louvain ? try Louvain(configuration).run(graph, progress: log)
                                      : try Leiden(configuration).run(graph, progress: log)
            }
            if let partition {
                log(String(format: "%@: modularity %.6f, %d communities", algorithm.rawValue, partition.modularity, partition.count))
            }
        }

        // 3. Centrality. Weighted degree is always computed: it ranks community members when PageRank is not asked for.
        var centralityConfiguration = CentralityConfiguration()
        centralityConfiguration.damping = damping
        centralityConfiguration.tolerance = tolerance
        centralityConfiguration.maxIterations = maxIterations
        centralityConfiguration.exactLimit = exactLimit
        centralityConfiguration.pivots = pivots
        centralityConfiguration.pathLength = distance.length
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
            var record = GraphRunRecord(network: subject.network, parametersJSON: try parametersJSON(subject), nodes: graph.nodeCount,
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

        let report = GraphReport(command: self, subject: subject, partition: partition, values: values, runID: runID, seconds: seconds)
        if let out {
            let directory = URL(fileURLWithPath: out, isDirectory: true)
            let files = try GraphReportPage.page(report).write(to: directory, json: try jsonDocument(report), jsonName: "graph.json")
            logger.info("wrote \(files.count) files to \(directory.path): report.html, report.md, graph.json, charts/")
        }
        if json { return try printJSON(report) }
        try say(report.text)
    }

    /// The run's parameters as stored in graph_run.params.
    func parametersJSON(_ subject: Subject) throws -> String {
        var parameters: [String: Any] = ["algorithm": algorithm.rawValue, "resolution": resolution, "restarts": restarts,
                                         "seed": seed, "centrality": centrality.kinds.map(\.rawValue).sorted(),
                                         "damping": damping, "tolerance": tolerance, "max_iterations": maxIterations, "exact_limit": exactLimit, "pivots": pivots, "distance": distance.rawValue]
        if let network = subject.coRating {
            parameters["min_common"] = network.configuration.minCommon
            parameters["weight"] = network.configuration.weight.rawValue
            if let k = network.configuration.topK { parameters["top_k"] = k }
            if network.kind == .customer { parameters["sample_customers"] = sampleCustomers ?? 10_000 }
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
struct GraphReport: Encodable {
    struct Network: Encodable {
        var kind: String
        var source: String?
        var nodes: Int
        var edges: Int
        var minCommon: Int?
        var weight: String?
        var topK: Int?
        var sampleCustomers: Int?
        var ratings: Int?
        var dataVersion: String?
    }
    struct Node: Encodable {
        var node: String
        var title: String?
        var year: Int?
        var value: Double
    }
    struct Years: Encodable {
        var q1: Int
        var median: Int
        var q3: Int
    }
    struct Community: Encodable {
        var id: Int
        var size: Int
        var central: [Node]
        var meanRating: Double?
        var years: Years?
    }
    struct CentralitySummary: Encodable {
        var leaders: [Node]
        var exact: Bool?
        var pivots: Int?
        var iterations: Int?
    }

    var network: Network
    var runId: Int?
    var algorithm: String?
    var resolution: Double?
    var seed: UInt64
    var modularity: Double?
    var communityCount: Int?
    var communitySizes: [Int]?
    /// The largest communities (up to --show), those of one node left out.
    var communities: [Community]
    /// How community members are ranked: pagerank, or weighted_degree when PageRank was not computed.
    var centralBy: String
    var centrality: [String: CentralitySummary]
    var seconds: [String: Double]

    init(command: GraphCommand, subject: Subject, partition: Partition?, values: CentralityValues, runID: Int?, seconds: [String: Double]) {
        let graph = subject.labeled.graph
        let co = subject.coRating
        network = Network(kind: subject.kind, source: subject.kind == "edges" ? String(subject.network.dropFirst("edges:".count)) : nil,
                          nodes: graph.nodeCount, edges: graph.edgeCount,
                          minCommon: co?.configuration.minCommon, weight: co?.configuration.weight.rawValue,
                          topK: co?.configuration.topK, sampleCustomers: co?.kind == .customer ? graph.nodeCount : nil,
                          ratings: subject.matrix?.count, dataVersion: subject.dataVersion)
        runId = runID
        algorithm = partition == nil ? nil : command.algorithm.rawValue
        resolution = partition == nil ? nil : command.resolution
        seed = command.seed
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
            let sums = co.flatMap { c in subject.matrix.map { c.ratingSums($0) } }
            // Communities of one node (isolated nodes, mostly) are counted, not listed.
            for (id, members) in partition.members.enumerated().prefix(while: { $0.element.count > 1 }).prefix(command.show) {
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
            centrality[name] = CentralitySummary(leaders: top(Array(0..<graph.nodeCount), by: column, command.show).map { node($0, column[$0]) },
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

    var text: String {
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

    static func name(_ node: Node) -> String {
        guard let title = node.title else { return node.node }
        let short = title.count > 40 ? String(title.prefix(39)) + "…" : title
        return node.year.map { "\(short) (\($0))" } ?? short
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e12 { return ProgressReporter.count(Int(value)) }
        return abs(value) >= 100 ? String(format: "%.1f", value) : String(format: "%.4g", value)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
