// Fuzz target: the edge-list reader EdgeList.parse (Sources/Graph/EdgeList.swift)
// and the graph it builds (Sources/Graph/WeightedGraph.swift).
//
// Properties: no crash; only GraphError.badEdgeLine / invalidEdge is thrown; the
// graph is well formed (one label per node, rows ascending and symmetric, every
// weight finite and positive as the format promises, totals finite); and
// EdgeList.write then EdgeList.read gives the same graph (same labels, edges, weights).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEdgeList(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    let labeled: LabeledGraph
    do {
        labeled = try EdgeList.parse(text)
    } catch let error as GraphError {
        switch error {
        case .badEdgeLine, .invalidEdge: return 0
        default: Fuzz.check(false, "edge-error-kind", "unexpected \(error)"); return 0
        }
    } catch {
        Fuzz.check(false, "edge-error-type", "threw a non-GraphError: \(type(of: error)) \(error)")
        return 0
    }
    let g = labeled.graph
    Fuzz.check(labeled.labels.count == g.nodeCount, "edge-labels", "\(labeled.labels.count) labels, \(g.nodeCount) nodes")
    Fuzz.check(Set(labeled.labels).count == labeled.labels.count, "edge-labels", "a label twice: \(labeled.labels)")
    var finite = true
    for u in 0..<g.nodeCount {
        let (nodes, weights) = g.neighbors(of: u)
        Fuzz.check(zip(nodes, nodes.dropFirst()).allSatisfy { $0 < $1 }, "edge-rows", "row \(u) not strictly ascending")
        for (v, w) in zip(nodes, weights) {
            Fuzz.check(Int(v) != u, "edge-rows", "self entry in row \(u)")
            Fuzz.check(g.weight(between: Int(v), and: u) == w, "edge-symmetric", "w(\(u),\(v)) = \(w), w(\(v),\(u)) = \(g.weight(between: Int(v), and: u))")
            if !(w.isFinite && w > 0) { finite = false }
            Fuzz.check(w.isFinite && w > 0, "edge-weight-finite",
                       "edge \(labeled.labels[u].debugDescription)–\(labeled.labels[Int(v)].debugDescription) has weight \(w) after merging repeats")
        }
        if !(g.selfLoop[u] >= 0 && g.selfLoop[u].isFinite) { finite = false }
        Fuzz.check(g.selfLoop[u] >= 0 && g.selfLoop[u].isFinite, "edge-weight-finite",
                   "self-loop of \(labeled.labels[u].debugDescription) has weight \(g.selfLoop[u]) after merging repeats")
    }
    if !g.totalWeight.isFinite { finite = false }
    Fuzz.check(g.totalWeight.isFinite, "edge-weight-finite", "total weight \(g.totalWeight)")
    guard finite else { return 0 }

    // Known finding (findings/edge_list-write-unquoted-labels.bin): EdgeList.write writes
    // labels verbatim, so a label the reader would change (surrounding spaces, a leading
    // '#', surrounding quotes) does not survive. RECSYS_FUZZ_IGNORE=edge-write-unquoted-labels
    // skips the round trip for such labels only.
    if !Fuzz.enabled("edge-write-unquoted-labels") {
        let verbatim = labeled.labels.allSatisfy { l in
            l.trimmingCharacters(in: .whitespaces) == l && !l.hasPrefix("#") && !(l.count >= 2 && l.first == "\"" && l.last == "\"")
        }
        if !verbatim { return 0 }
    }

    // Known finding (findings/edge_list-combining-mark-after-comma.bin): a label that
    // starts with a combining mark fuses with the comma before it into one Character,
    // and parse's Character-wise split misses that comma. RECSYS_FUZZ_IGNORE=edge-label-leading-combining
    // skips the round trip for such labels only.
    if !Fuzz.enabled("edge-label-leading-combining"),
       labeled.labels.contains(where: { ("," + $0).count != 1 + $0.count || ($0 + ",").count != $0.count + 1 }) {
        return 0
    }

    // Write, read back, compare by label.
    let url = Fuzz.url("edges.csv")
    do {
        try EdgeList.write(labeled, to: url)
    } catch {
        Fuzz.check(false, "edge-write", "write failed: \(error)")
        return 0
    }
    let again: LabeledGraph
    do {
        again = try EdgeList.read(url)
    } catch {
        let written = (try? String(contentsOf: url, encoding: .utf8)) ?? "?"
        Fuzz.check(false, "edge-roundtrip-unreadable", "the written edge list does not read back (\(error)): \(written.prefix(300).debugDescription)")
        return 0
    }
    func edges(_ l: LabeledGraph) -> [String: Double] {
        var out: [String: Double] = [:]
        for e in l.graph.edges {
            let a = l.labels[Int(e.source)], b = l.labels[Int(e.target)]
            out[a < b ? "\(a)\u{1}\(b)" : "\(b)\u{1}\(a)"] = e.weight
        }
        return out
    }
    Fuzz.check(Set(again.labels) == Set(labeled.labels), "edge-roundtrip-labels",
               "labels \(labeled.labels.map(\.debugDescription)) read back as \(again.labels.map(\.debugDescription))")
    if Set(again.labels) == Set(labeled.labels) {
        Fuzz.check(edges(again) == edges(labeled), "edge-roundtrip-graph", "edges \(edges(labeled)) read back as \(edges(again))")
    }
    return 0
}
