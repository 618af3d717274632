import Features
import Foundation
import Runtime

/// The weight of a co-rating edge, from c = the number of customers who
/// rated both movies (or movies both customers rated) and n_i, n_j = how many
/// ratings each end has.
public enum CoRatingWeight: String, Sendable, CaseIterable, Codable {
    /// c itself.
    case count
    /// c / (n_i + n_j − c): the share of the union both rated.
    case jaccard
    /// c / √(n_i · n_j): the cosine of the two binary rating vectors.
    case cosine

    func value(common c: Double, _ ni: Double, _ nj: Double) -> Double {
        switch self {
        case .count: return c
        case .jaccard: return c / (ni + nj - c)
        case .cosine: return c / (ni * nj).squareRoot()
        }
    }
}

/// How a co-rating network is built. Defaults keep every co-rated pair.
public struct CoRatingConfiguration: Sendable, Equatable {
    /// A pair gets an edge only when at least this many customers rated both
    /// (movies both rated, for the customer network). At least 1.
    public var minCommon: Int = 1
    /// The edge weight.
    public var weight: CoRatingWeight = .count
    /// Per-node pruning: every node keeps its `topK` heaviest edges (ties go
    /// to the lower node index) and an edge stays when either end keeps it,
    /// so a node may end with more than `topK` edges. `nil` keeps all.
    public var topK: Int?
    /// Worker threads for the count (1 or more).
    public var threads: Int = Parallel.defaultThreads

    public init(minCommon: Int = 1, weight: CoRatingWeight = .count, topK: Int? = nil, threads: Int? = nil) {
        self.minCommon = minCommon
        self.weight = weight
        self.topK = topK
        self.threads = threads ?? Parallel.defaultThreads
    }

    public func validate() throws {
        guard minCommon >= 1, minCommon <= Int(UInt32.max) else { throw GraphError.invalidParameter("min-common must be at least 1") }
        if let topK, topK < 1 { throw GraphError.invalidParameter("top-k must be at least 1") }
        guard threads >= 1 else { throw GraphError.invalidParameter("threads must be at least 1") }
    }
}

/// A co-rating network built from a `RatingMatrix`: movies linked by the
/// customers who rated both, or a sample of customers linked by the movies
/// both rated.
public struct CoRatingNetwork: Sendable {
    public enum Kind: String, Sendable, Codable { case movie, customer }

    public let kind: Kind
    public let graph: WeightedGraph
    /// The matrix index (movie or customer) of each node; ascending.
    public let members: [Int32]
    /// How many ratings each node has in the matrix (n_i of the weights).
    public let ratingCounts: [Int]
    public let configuration: CoRatingConfiguration
    /// Pairs with at least one common rating, before `minCommon` and `topK`.
    public let coRatedPairs: Int
    /// Σ over the shared side of (its ratings choose 2): the pair updates counted.
    public let pairUpdates: Int

    /// The movie network: one node per movie of the matrix (movies without
    /// edges stay, as isolated nodes), an edge for every pair rated by at
    /// least `minCommon` common customers, counted exactly over all customers.
    ///
    /// The count is C = Aᵀ A for the customers × movies 0/1 matrix A, one row of C
    /// at a time (Gustavson's row-by-row sparse product): for movie i, every
    /// customer c who rated it adds 1 to acc[j] for each movie j > i that c
    /// rated; acc is one dense UInt32 per movie (71 KB at Netflix scale, so it
    /// stays in the core's L2 cache). Only j > i is counted (C is symmetric),
    /// which leaves Σ_c n_c(n_c − 1)/2 = 3.06·10¹⁰ updates on the Netflix data;
    /// rows go to the workers in small chunks because the first movies carry
    /// the longest tails. Measured at Netflix scale on 2 cores: 47–73 s for
    /// the whole network (140M edges), 6.1 GiB peak with the ratings
    /// (experiments/RESULTS.md). The naive alternative — each customer's pairs
    /// added into a dense 17,770² UInt32 matrix (1.26 GB) — measured 0.13 G
    /// updates/s per core, ≈ 114 s for the count alone on 2 cores.
    public static func movies(_ matrix: RatingMatrix, configuration: CoRatingConfiguration = .init(),
                              progress: ((String) -> Void)? = nil) throws -> CoRatingNetwork {
        try configuration.validate()
        let counts = (0..<matrix.movieCount).map { matrix.movieStart[$0 + 1] - matrix.movieStart[$0] }
        let upper = CoOccurrence.upperTriangle(
            rowCount: matrix.movieCount, rowStart: matrix.movieStart, rowItem: matrix.movieCustomer,
            itemStart: matrix.customerStart, itemRow: matrix.customerMovie,
            minCommon: UInt32(configuration.minCommon), threads: configuration.threads, progress: progress)
        let graph = CoOccurrence.assemble(upper.rows, counts: counts, configuration: configuration, progress: progress)
        return CoRatingNetwork(kind: .movie, graph: graph, members: (0..<Int32(matrix.movieCount)).map { $0 },
                               ratingCounts: counts, configuration: configuration,
                               coRatedPairs: upper.nonZero, pairUpdates: upper.updates)
    }

    /// The customer network on a seeded uniform sample of `sample` customers
    /// (all of them when `sample` ≥ the customer count): an edge for every
    /// pair of sampled customers with at least `minCommon` movies both rated.
    /// n_i of the weights is the customer's number of ratings over all movies.
    /// Every row of the count scans its partners densely, so the cost grows
    /// as sample² (10,000 customers of the Netflix data: about 7 s).
    public static func customers(_ matrix: RatingMatrix, sample: Int, seed: UInt64,
                                 configuration: CoRatingConfiguration = .init(),
                                 progress: ((String) -> Void)? = nil) throws -> CoRatingNetwork {
        try configuration.validate()
        guard sample >= 1 else { throw GraphError.invalidParameter("the customer sample must hold at least 1 customer") }
        let chosen = sampleIndexes(sample, of: matrix.customerCount, seed: seed)
        // Rows: the sampled customers' movie lists, copied contiguously.
        var rowStart = [Int](repeating: 0, count: chosen.count + 1)
        for (r, c) in chosen.enumerated() {
            rowStart[r + 1] = rowStart[r] + matrix.customerStart[Int(c) + 1] - matrix.customerStart[Int(c)]
        }
        var rowItem = [Int32](); rowItem.reserveCapacity(rowStart[chosen.count])
        for c in chosen { rowItem.append(contentsOf: matrix.customerMovie[matrix.customerStart[Int(c)]..<matrix.customerStart[Int(c) + 1]]) }
        // Items: each movie's sampled customers, ascending (a counting transpose).
        var itemStart = [Int](repeating: 0, count: matrix.movieCount + 1)
        for m in rowItem { itemStart[Int(m) + 1] += 1 }
        for m in 0..<matrix.movieCount { itemStart[m + 1] += itemStart[m] }
        var itemRow = [Int32](repeating: 0, count: rowItem.count)
        var next = itemStart
        for r in 0..<chosen.count {
            for slot in rowStart[r]..<rowStart[r + 1] {
                let m = Int(rowItem[slot])
                itemRow[next[m]] = Int32(r)
                next[m] += 1
            }
        }
        let counts = (0..<chosen.count).map { rowStart[$0 + 1] - rowStart[$0] }
        let upper = CoOccurrence.upperTriangle(
            rowCount: chosen.count, rowStart: rowStart, rowItem: rowItem, itemStart: itemStart, itemRow: itemRow,
            minCommon: UInt32(configuration.minCommon), threads: configuration.threads, progress: progress)
        let graph = CoOccurrence.assemble(upper.rows, counts: counts, configuration: configuration, progress: progress)
        return CoRatingNetwork(kind: .customer, graph: graph, members: chosen, ratingCounts: counts,
                               configuration: configuration, coRatedPairs: upper.nonZero, pairUpdates: upper.updates)
    }

    /// The sum of each node's ratings in `matrix` (the one the network was
    /// built from): with `ratingCounts`, the mean rating of any group of nodes.
    public func ratingSums(_ matrix: RatingMatrix) -> [Double] {
        members.map { member in
            let m = Int(member)
            let range = kind == .movie ? matrix.movieStart[m]..<matrix.movieStart[m + 1]
                                       : matrix.customerStart[m]..<matrix.customerStart[m + 1]
            var sum = 0.0
            for slot in range { sum += Double(kind == .movie ? matrix.movieRating[slot] : matrix.customerRating[slot]) }
            return sum
        }
    }

    /// `k` distinct indexes of 0..<n, uniformly (a partial Fisher–Yates
    /// shuffle driven by `SeededGenerator`), ascending.
    public static func sampleIndexes(_ k: Int, of n: Int, seed: UInt64) -> [Int32] {
        if k >= n { return (0..<Int32(n)).map { $0 } }
        var rng = SeededGenerator(seed: seed)
        var pool = (0..<Int32(n)).map { $0 }
        for i in 0..<k {
            let j = i + Int(rng.next() % UInt64(n - i))
            pool.swapAt(i, j)
        }
        return pool[0..<k].sorted()
    }
}

/// The co-occurrence count behind both networks and the assembly of its
/// rows into a graph.
enum CoOccurrence {
    /// One row of the upper triangle: the partners s > r with their counts, ascending.
    struct Row: Sendable {
        var partner: [Int32] = []
        var common: [UInt32] = []
    }

    /// Counts, for every pair of rows r < s, the items both hold.
    /// - Parameters:
    ///   - rowStart, rowItem: each row's items, ascending.
    ///   - itemStart, itemRow: each item's rows, ascending (the transpose).
    /// - Returns: per row r, the partners s > r with count ≥ `minCommon`;
    ///   `nonZero` counts the pairs with any common item, `updates` the
    ///   accumulator increments made.
    static func upperTriangle(rowCount: Int, rowStart: [Int], rowItem: [Int32], itemStart: [Int], itemRow: [Int32],
                              minCommon: UInt32, threads: Int, progress: ((String) -> Void)?) -> (rows: [Row], nonZero: Int, updates: Int) {
        // offset[p]: where row r sits in the row list of item rowItem[p], so that
        // the partners after r are itemRow[itemStart[x] + offset[p] + 1 ..< itemStart[x + 1]].
        // Rows are visited in ascending order, as each item's list is, so a
        // cursor per item finds them without search.
        var offset = [UInt32](repeating: 0, count: rowItem.count)
        do {
            var cursor = [UInt32](repeating: 0, count: itemStart.count - 1)
            for r in 0..<rowCount {
                for p in rowStart[r]..<rowStart[r + 1] {
                    let x = Int(rowItem[p])
                    offset[p] = cursor[x]
                    cursor[x] += 1
                }
            }
        }
        var rows = [Row](repeating: Row(), count: rowCount)
        // One accumulator per worker, zero between rows.
        let accumulators = (0..<max(1, threads)).map { _ in Accumulator(rowCount) }
        defer { accumulators.forEach { $0.deallocate() } }
        let nonZeroTotal = ChunkSum(), updateTotal = ChunkSum()
        let ticker = ProgressTally("co-rating count", total: rowCount, lines: progress)
        rows.withUnsafeMutableBufferPointer { out in
            let out = out
            rowStart.withUnsafeBufferPointer { rowStart in
            rowItem.withUnsafeBufferPointer { rowItem in
            itemStart.withUnsafeBufferPointer { itemStart in
            itemRow.withUnsafeBufferPointer { itemRow in
            offset.withUnsafeBufferPointer { offset in
                // Small chunks: the early rows have the longest tails.
                Parallel.forEachChunk(count: rowCount, chunkSize: 8, threads: threads,
                                      makeScratch: { accumulators[$0] }) { acc, range in
                    var nonZero = 0, updates = 0
                    for r in range {
                        for p in rowStart[r]..<rowStart[r + 1] {
                            let x = Int(rowItem[p])
                            var q = itemStart[x] + Int(offset[p]) + 1
                            let end = itemStart[x + 1]
                            updates += end - q
                            let counts = acc.counts
                            while q < end {
                                counts[Int(itemRow[q])] &+= 1
                                q += 1
                            }
                        }
                        // Collect the row (ascending) and clear the accumulator for the next;
                        // the row is gathered in scratch first so that its arrays are allocated once, at size.
                        var kept = 0
                        for s in (r + 1)..<max(r + 1, rowCount) {
                            let c = acc[s]
                            if c != 0 {
                                nonZero += 1
                                if c >= minCommon {
                                    acc.partner[kept] = Int32(s)
                                    acc.common[kept] = c
                                    kept += 1
                                }
                                acc[s] = 0
                            }
                        }
                        out[r] = Row(partner: Array(acc.partner[0..<kept]), common: Array(acc.common[0..<kept]))
                    }
                    nonZeroTotal.add(nonZero)
                    updateTotal.add(updates)
                    ticker.advance(range.count)
                }
            }}}}}
        }
        return (rows, nonZeroTotal.value, updateTotal.value)
    }

    /// The symmetric graph of the counted rows: weights from the counts, then
    /// the per-node top-k pruning.
    static func assemble(_ rows: [Row], counts: [Int], configuration: CoRatingConfiguration,
                         progress: ((String) -> Void)?) -> WeightedGraph {
        let n = rows.count
        let scheme = configuration.weight
        func weight(_ r: Int, _ s: Int, _ c: UInt32) -> Double {
            scheme.value(common: Double(c), Double(counts[r]), Double(counts[s]))
        }
        guard let k = configuration.topK else {
            // Every edge. Row s = its lower part (partners r < s, which sit in
            // the counted rows r) then its upper part (its own counted row):
            // ascending throughout. Workers fill disjoint ranges of rows; for
            // its lower parts a worker scans the earlier counted rows,
            // binary-searching each for the partners in its range.
            let lowerCount: [Int] = {
                var lower = [Int](repeating: 0, count: n)
                for r in 0..<n { for s in rows[r].partner { lower[Int(s)] += 1 } }
                return lower
            }()
            var start = [Int](repeating: 0, count: n + 1)
            for r in 0..<n { start[r + 1] = start[r] + lowerCount[r] + rows[r].partner.count }
            // Left uninitialised: every slot is written below, and zeroing 12 bytes
            // per slot first would cost a second pass over gigabytes.
            var neighbor = [Int32](unsafeUninitializedCapacity: start[n]) { _, count in count = start[n] }
            var weights = [Double](unsafeUninitializedCapacity: start[n]) { _, count in count = start[n] }
            let ticker = ProgressTally("co-rating graph", total: n, lines: progress)
            neighbor.withUnsafeMutableBufferPointer { nb in
            weights.withUnsafeMutableBufferPointer { wt in
            rows.withUnsafeBufferPointer { rows in
            counts.withUnsafeBufferPointer { counts in
            start.withUnsafeBufferPointer { start in
                let nb = nb, wt = wt
                Parallel.forEachChunk(count: n, chunkSize: 256, threads: configuration.threads) { range in
                    var cursor = Array(start[range])
                    let lowest = Int32(range.lowerBound), beyond = Int32(range.upperBound)
                    for r in 0..<max(0, range.upperBound - 1) {
                        rows[r].partner.withUnsafeBufferPointer { partner in
                            // The first partner ≥ lowest.
                            var lo = 0, hi = partner.count
                            while lo < hi {
                                let mid = (lo + hi) / 2
                                if partner[mid] < lowest { lo = mid + 1 } else { hi = mid }
                            }
                            let nr = Double(counts[r])
                            var i = lo
                            while i < partner.count && partner[i] < beyond {
                                let s = Int(partner[i])
                                let slot = cursor[s - range.lowerBound]
                                nb[slot] = Int32(r)
                                wt[slot] = scheme.value(common: Double(rows[r].common[i]), nr, Double(counts[s]))
                                cursor[s - range.lowerBound] = slot + 1
                                i += 1
                            }
                        }
                    }
                    for r in range {
                        var slot = start[r] + lowerCount[r]
                        let nr = Double(counts[r])
                        let row = rows[r]
                        for i in 0..<row.partner.count {
                            let s = Int(row.partner[i])
                            nb[slot] = row.partner[i]
                            wt[slot] = scheme.value(common: Double(row.common[i]), nr, Double(counts[s]))
                            slot += 1
                        }
                    }
                    ticker.advance(range.count)
                }
            }}}}}
            return WeightedGraph(nodeCount: n, start: start, neighbor: neighbor, weight: weights)
        }
        // Top-k: one bounded min-heap per node, offered every edge from both ends.
        var heaps = [TopK](repeating: TopK(capacity: k), count: n)
        for r in 0..<n {
            let row = rows[r]
            for (i, s32) in row.partner.enumerated() {
                let s = Int(s32)
                let w = weight(r, s, row.common[i])
                heaps[r].offer(w, s32)
                heaps[s].offer(w, Int32(r))
            }
        }
        progress?("top-\(k) pruning: \(heaps.reduce(0) { $0 + $1.count }) kept ends")
        var edges: [Edge] = []
        for r in 0..<n {
            for (w, s) in heaps[r].items where Int(s) != r {
                // An edge kept by both ends appears twice: keep one copy (from the lower end, or when only one end kept it).
                if Int(s) < r, heaps[Int(s)].contains(Int32(r)) { continue }
                edges.append(Edge(Int32(r), s, weight: w))
            }
        }
        // Weights are positive and finite by construction, nodes in range.
        return try! WeightedGraph(nodeCount: n, edges: edges)
    }
}

/// One worker's dense counts (one per row: zero between rows) and the
/// scratch a counted row is gathered in.
struct Accumulator {
    let counts: UnsafeMutableBufferPointer<UInt32>
    let partner: UnsafeMutableBufferPointer<Int32>
    let common: UnsafeMutableBufferPointer<UInt32>

    init(_ rows: Int) {
        counts = .allocate(capacity: max(1, rows))
        counts.initialize(repeating: 0)
        partner = .allocate(capacity: max(1, rows))
        common = .allocate(capacity: max(1, rows))
    }

    @inline(__always) subscript(_ i: Int) -> UInt32 {
        get { counts[i] }
        nonmutating set { counts[i] = newValue }
    }

    func deallocate() {
        counts.deallocate()
        partner.deallocate()
        common.deallocate()
    }
}

/// The k heaviest (weight, node) pairs offered, ties to the lower node.
struct TopK: Sendable {
    let capacity: Int
    /// A min-heap by (weight, then higher node first out).
    private(set) var items: [(Double, Int32)] = []

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { items.count }

    /// True when (w, a) ranks below (v, b): lighter, or as heavy with a higher node.
    @inline(__always) static func below(_ a: (Double, Int32), _ b: (Double, Int32)) -> Bool {
        a.0 < b.0 || (a.0 == b.0 && a.1 > b.1)
    }

    mutating func offer(_ w: Double, _ node: Int32) {
        let item = (w, node)
        if items.count < capacity {
            items.append(item)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                if Self.below(items[i], items[parent]) { items.swapAt(i, parent); i = parent } else { break }
            }
        } else if Self.below(items[0], item) {
            items[0] = item
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, Self.below(items[l], items[m]) { m = l }
                if r < items.count, Self.below(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
    }

    func contains(_ node: Int32) -> Bool { items.contains { $0.1 == node } }
}

/// A total summed from several workers.
final class ChunkSum: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value = 0

    func add(_ amount: Int) {
        lock.lock()
        value += amount
        lock.unlock()
    }
}
