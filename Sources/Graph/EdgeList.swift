import Foundation

/// A graph whose nodes carry names: an edge-list file's labels, or the
/// source's movie or customer ids.
public struct LabeledGraph: Sendable {
    public var graph: WeightedGraph
    /// The name of node v.
    public var labels: [String]

    public init(graph: WeightedGraph, labels: [String]) {
        precondition(labels.count == graph.nodeCount)
        self.graph = graph
        self.labels = labels
    }
}

/// Edge lists as CSV: one edge a line, `source,target[,weight]`.
///
/// - Nodes are named by any text without a comma (surrounding spaces and
///   double quotes are dropped); they get dense indexes in order of first appearance.
/// - A left-out weight is 1; a weight must be a finite positive number.
/// - An optional header line `source,target[,weight]`, empty lines and lines
///   starting with `#` are skipped.
/// - An edge listed more than once (in either orientation) counts once with
///   the sum of its weights; `a,a` is a self-loop.
public enum EdgeList {
    /// Reads an edge list from text.
    /// - Throws: `GraphError.badEdgeLine` naming the first line that is not an edge.
    public static func parse(_ text: String) throws -> LabeledGraph {
        var index: [Substring: Int32] = [:]
        var labels: [String] = []
        var edges: [Edge] = []
        var lineNumber = 0
        var firstContent = true
        func node(_ name: Substring) -> Int32 {
            if let i = index[name] { return i }
            let i = Int32(labels.count)
            index[name] = i
            labels.append(String(name))
            return i
        }
        func clean(_ field: Substring) -> Substring {
            var f = field.trimmingCharacters(in: .whitespaces)[...]
            if f.count >= 2, f.first == "\"", f.last == "\"" { f = f.dropFirst().dropLast() }
            return f
        }
        // "\r\n" is one Character in Swift: split on both.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            // Split on the comma scalar: split on Characters would miss a comma that a
            // following combining mark joins into one Character (a name starting with one).
            let fields = line.unicodeScalars.split(separator: ",", omittingEmptySubsequences: false)
                .map { clean(Substring(String(String.UnicodeScalarView($0)))) }
            if firstContent {
                firstContent = false
                let names = fields.map { $0.lowercased() }
                if names == ["source", "target"] || names == ["source", "target", "weight"] { continue }
            }
            guard fields.count == 2 || fields.count == 3 else {
                throw GraphError.badEdgeLine(line: lineNumber, problem: "expected source,target[,weight] but found \(fields.count) fields",
                                             text: String(line.prefix(120)))
            }
            guard !fields[0].isEmpty, !fields[1].isEmpty else {
                throw GraphError.badEdgeLine(line: lineNumber, problem: "a node name is empty", text: String(line.prefix(120)))
            }
            var weight = 1.0
            if fields.count == 3 {
                guard let w = Double(fields[2]), w.isFinite, w > 0 else {
                    throw GraphError.badEdgeLine(line: lineNumber, problem: "weight '\(fields[2])' is not a finite positive number",
                                                 text: String(line.prefix(120)))
                }
                weight = w
            }
            edges.append(Edge(node(fields[0]), node(fields[1]), weight: weight))
            guard labels.count < Int(Int32.max) else {
                throw GraphError.badEdgeLine(line: lineNumber, problem: "more than \(Int32.max) nodes", text: "")
            }
        }
        return LabeledGraph(graph: try WeightedGraph(nodeCount: labels.count, edges: edges), labels: labels)
    }

    /// Reads an edge-list file.
    public static func read(_ url: URL) throws -> LabeledGraph {
        let data = try Data(contentsOf: url)
        return try parse(String(decoding: data, as: UTF8.self))
    }

    /// Writes every edge once (`source,target,weight` with a header; nodes
    /// by label), so that another tool reads exactly this graph. Weights are
    /// written with 17 significant digits, which round-trip a Double exactly.
    /// Nodes without edges do not appear in an edge list.
    public static func write(_ labeled: LabeledGraph, to url: URL) throws {
        // Each label as `parse` reads it back: quoted when its spaces, a leading
        // '#' or its own surrounding quotes would otherwise be taken off.
        let names = try labeled.labels.map { label -> String in
            guard !label.contains(where: { $0 == "," || $0 == "\n" || $0 == "\r\n" }), !label.isEmpty else {
                throw GraphError.invalidEdge("the node name '\(label.prefix(60))' is empty or holds a comma or a line break; an edge list cannot hold it")
            }
            let bare = label == label.trimmingCharacters(in: .whitespaces) && !label.hasPrefix("#")
                && !(label.count >= 2 && label.first == "\"" && label.last == "\"")
            return bare ? label : "\"" + label + "\""
        }
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var buffer = "source,target,weight\n"
        func flush(_ force: Bool) throws {
            if force || buffer.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let g = labeled.graph
        for u in 0..<g.nodeCount {
            for slot in g.start[u]..<g.start[u + 1] where Int(g.neighbor[slot]) > u {
                buffer += "\(names[u]),\(names[Int(g.neighbor[slot])]),\(format(g.weight[slot]))\n"
                try flush(false)
            }
            if g.selfLoop[u] > 0 {
                buffer += "\(names[u]),\(names[u]),\(format(g.selfLoop[u]))\n"
            }
        }
        try flush(true)
    }

    static func format(_ w: Double) -> String {
        if w == w.rounded(), abs(w) < 1e15 { return String(Int64(w)) }
        return String(format: "%.17g", w)
    }
}
