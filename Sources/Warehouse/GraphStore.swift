import Foundation

/// One `recsys graph` run as the warehouse keeps it: a graph_run row, one
/// graph_community row per node (when communities were detected) and one
/// graph_centrality row per node (when any centrality was computed; columns
/// not computed are NULL). Plain arrays, indexed by node: the warehouse does
/// not know the graph types.
public struct GraphRunRecord: Sendable {
    /// `movie`, `customer` or `edges:<file>`.
    public var network: String
    /// The run's parameters as a JSON object (stored as jsonb).
    public var parametersJSON: String
    public var nodes, edges: Int
    public var algorithm: String?
    public var modularity: Double?
    /// The load the network was built from; nil for an edge-list file.
    public var dataVersion: String?
    public var seconds: Double
    /// Node names as stored in the `node` columns: movie_id, customer_id, or the edge list's label.
    public var labels: [String]
    public var community: [Int32]?
    public var degree: [Int]?
    public var weightedDegree: [Double]?
    public var pageRank: [Double]?
    public var eigenvector: [Double]?
    public var betweenness: [Double]?
    public var harmonic: [Double]?

    public init(network: String, parametersJSON: String, nodes: Int, edges: Int, seconds: Double, labels: [String]) {
        (self.network, self.parametersJSON, self.nodes, self.edges) = (network, parametersJSON, nodes, edges)
        (self.seconds, self.labels) = (seconds, labels)
    }
}

/// Writes graph runs (graph_run, graph_community, graph_centrality) and reads
/// what their printout needs from the dimensions.
public enum GraphStore {
    /// Stores one run in a single transaction (a failure leaves nothing) and
    /// returns its run_id. Non-finite values are stored as NULL.
    public static func save(_ record: GraphRunRecord, connection: Connection) throws -> Int {
        let n = record.labels.count
        let columns: [[Double]?] = [record.weightedDegree, record.pageRank, record.eigenvector, record.betweenness, record.harmonic]
        guard record.community.map({ $0.count == n }) ?? true, record.degree.map({ $0.count == n }) ?? true,
              columns.allSatisfy({ $0.map { $0.count == n } ?? true }) else {
            throw WarehouseError(.usage, "a graph run's per-node arrays must all hold \(n) values")
        }
        try Database.migrate(connection)
        return try connection.transaction {
            let row = try connection.execute("""
                INSERT INTO graph_run (network, params, nodes, edges, algorithm, modularity, data_version, seconds)
                VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8) RETURNING run_id
                """, [record.network, record.parametersJSON, String(record.nodes), String(record.edges), record.algorithm,
                      record.modularity.flatMap(number), record.dataVersion, String(record.seconds)])
            guard let runID = row.int(0, 0) else { throw WarehouseError(.database, "graph_run returned no run_id") }
            let network = CopyText.escape(record.network)
            if let community = record.community {
                try connection.copyIn("COPY graph_community (run_id, network, node, community) FROM STDIN") { out in
                    for v in 0..<n { try out.write("\(runID)\t\(network)\t\(CopyText.escape(record.labels[v]))\t\(community[v])\n") }
                }
            }
            if record.degree != nil || columns.contains(where: { $0 != nil }) {
                try connection.copyIn("""
                    COPY graph_centrality (run_id, network, node, degree, weighted_degree, pagerank, eigenvector, betweenness, harmonic) FROM STDIN
                    """) { out in
                    for v in 0..<n {
                        var line = "\(runID)\t\(network)\t\(CopyText.escape(record.labels[v]))\t"
                        line += record.degree.map { String($0[v]) } ?? "\\N"
                        for column in columns { line += "\t" + (column.flatMap { number($0[v]) } ?? "\\N") }
                        try out.write(line + "\n")
                    }
                }
            }
            return runID
        }
    }

    /// A movie as the printout names it.
    public struct Movie: Sendable, Equatable {
        public var title: String
        public var year: Int?
    }

    /// Every movie of the warehouse, indexed by movie_key − 1 (the index of
    /// the exported `RatingMatrix`).
    public static func movies(_ connection: Connection) throws -> [Movie] {
        let result = try connection.execute("SELECT movie_key, title, release_year FROM dim_movie ORDER BY movie_key")
        return try result.rows.enumerated().map { i, row in
            guard Int(row[0] ?? "") == i + 1 else {
                throw WarehouseError(.database, "movie keys are not dense 1…n",
                                     hint: "the warehouse was changed outside recsys load; `recsys load --fresh` rebuilds it")
            }
            return Movie(title: row[1] ?? "", year: row[2].flatMap { Int($0) })
        }
    }

    /// A double as PostgreSQL reads it back exactly; nil (NULL) when not finite.
    static func number(_ value: Double) -> String? {
        value.isFinite ? String(value) : nil
    }
}
