import CKernels
import Foundation
import Runtime

/// Top-N recommendation kernels for factor models: score every movie,
/// keep the N best that the customer has not seen.
///
/// The score is the model's unclipped prediction, computed in single precision
/// in this order (the same in every kernel, so the kernels agree bit for bit
/// whenever their dot products do):
///
///     s_ui = (p_u·q_i + b_i) + c_u,   c_u = Float(μ + b_u)
///
/// Clipping is left out on purpose: it would turn every prediction above the
/// scale's maximum into a tie at the maximum and throw the ranking away.
/// The order is by score, descending; equal scores put the lower movie index
/// first. NaN and −∞ scores are never recommended (a finite model has none).
///
/// The bias b_i is added in the selection loop rather than folded into the
/// product as an extra column [p_u, 1]·[q_i, b_i]: the loop reads the score
/// anyway, and the add is free there, while folding would need a widened copy
/// of both factor matrices — for `single`, a 3.7 MB copy per request of the
/// movie factors that otherwise come straight from the model file's map.
public enum TopN {
    public struct Item: Equatable, Sendable {
        public var movie: Int32
        public var score: Float

        public init(movie: Int32, score: Float) {
            self.movie = movie
            self.score = score
        }
    }

    /// The `count` best movies for one customer, best first, skipping the movies in
    /// `exclude`; fewer when fewer movies remain.
    ///
    /// Scores all movies with one sgemv (`Linalg.gemv`), then selects with a
    /// bounded heap (O(movies + count·log count·log movies) expected).
    /// - Parameters:
    ///   - customerFactor: p_u, `rank` floats.
    ///   - movieFactors: movies × rank, row-major; `movieBias` has one entry per movie.
    ///   - exclude: dense movie indexes to skip, ascending (indexes past the last movie are ignored).
    /// With `itemWeights` (an item-based model's movies × movies rows), the
    /// rows of the movies in `history` are added to every score, in history order.
    public static func single(customerFactor: UnsafeBufferPointer<Float>, customerBias: Float, globalMean: Double,
                              movieBias: UnsafeBufferPointer<Float>, movieFactors: UnsafeBufferPointer<Float>, rank: Int,
                              exclude: UnsafeBufferPointer<Int32>, count: Int,
                              itemWeights: UnsafeBufferPointer<Float>? = nil, history: [Int32] = []) -> [Item] {
        let movies = movieBias.count
        precondition(rank >= 0 && count >= 0, "rank and count must not be negative")
        precondition(customerFactor.count == rank && movieFactors.count == movies * rank, "factor shapes must be rank and movies × rank")
        guard count > 0, movies > 0 else { return [] }
        let dots = UnsafeMutablePointer<Float>.allocate(capacity: movies)
        defer { dots.deallocate() }
        if rank > 0 {
            // y = Q·p_u with Q movies × rank, row-major.
            Linalg.gemv(n: movies, k: rank, g: movieFactors.baseAddress!, x: customerFactor.baseAddress!, y: dots)
        } else {
            dots.initialize(repeating: 0, count: movies)
        }
        if let itemWeights, !itemWeights.isEmpty { addRows(of: history, weights: itemWeights.baseAddress!, movies: movies, into: dots) }
        var heap = Heap(capacity: count)
        defer { heap.deallocate() }
        var cursor = 0
        select(dots: dots, movieBias: movieBias.baseAddress!, offset: customerOffset(globalMean, customerBias),
               columns: 0..<movies, exclude: exclude, cursor: &cursor, heap: &heap)
        var movieOut = [Int32](repeating: -1, count: count), scoreOut = [Float](repeating: -.infinity, count: count)
        let found = heap.size
        movieOut.withUnsafeMutableBufferPointer { m in
            scoreOut.withUnsafeMutableBufferPointer { s in heap.drain(movies: m.baseAddress!, scores: s.baseAddress!, count: count) }
        }
        return (0..<found).map { Item(movie: movieOut[$0], score: scoreOut[$0]) }
    }

    /// The `count` best movies for every customer, best first, as customers × count
    /// row-major arrays; a customer with fewer than `count` unseen movies gets
    /// movie −1 / score −∞ after the real ones.
    ///
    /// Customers go in blocks of `blockRows`, movies in tiles of `tileColumns`;
    /// each block × tile of scores is one sgemm (`Linalg.gemmTransposedB`) into
    /// per-worker scratch small enough to stay in the core's L2 (128 KB), and is
    /// consumed there by the selection before the next tile overwrites it. Each
    /// customer of the block keeps its bounded heap and its place in its seen list
    /// across the tiles. The selection — over 8.5 billion scores at Netflix
    /// scale, the real cost — compares each score with the heap's current
    /// minimum and only then touches the heap, and skips seen movies by cutting
    /// the scan at them instead of testing every movie.
    ///
    /// Blocks are handed out dynamically to `threads` workers with OpenBLAS set
    /// single-threaded. The block and tile sizes are fixed, so every score is
    /// the same sgemm call whatever the thread count: the same bits on 1 or N threads.
    /// - Parameters:
    ///   - customerFactors: customers × rank, row-major; `customerBias` has one entry per customer.
    ///   - movieFactors: movies × rank, row-major; `movieBias` has one entry per movie.
    ///   - seenStart, seenMovie: CSR, customers + 1 bounds; the movies to skip for customer u are
    ///     `seenMovie[seenStart[u] ..< seenStart[u + 1]]`, ascending (as in `RatingMatrix.customerMovie`).
    ///   - progress: called with the number of customers done so far, after each block, from the
    ///     workers but one call at a time.
    public static func all(customerFactors: UnsafeBufferPointer<Float>, customerBias: UnsafeBufferPointer<Float>, globalMean: Double,
                           movieBias: UnsafeBufferPointer<Float>, movieFactors: UnsafeBufferPointer<Float>, rank: Int,
                           seenStart: UnsafeBufferPointer<Int>, seenMovie: UnsafeBufferPointer<Int32>,
                           count: Int, threads: Int, progress: ((Int) -> Void)? = nil) -> (movies: [Int32], scores: [Float]) {
        all(customerFactors: customerFactors, customerBias: customerBias, globalMean: globalMean, movieBias: movieBias,
            movieFactors: movieFactors, rank: rank, seenStart: seenStart, seenMovie: seenMovie, count: count, threads: threads,
            blockRows: defaultBlockRows, tileColumns: defaultTileColumns, progress: progress)
    }

    /// Customers per block: enough rows that the sgemm runs near its peak.
    static let defaultBlockRows = 64
    /// Movies per tile: 64 × 512 floats = 128 KB of scores, well inside a 512 KB L2.
    static let defaultTileColumns = 512

    static func all(customerFactors: UnsafeBufferPointer<Float>, customerBias: UnsafeBufferPointer<Float>, globalMean: Double,
                    movieBias: UnsafeBufferPointer<Float>, movieFactors: UnsafeBufferPointer<Float>, rank: Int,
                    seenStart: UnsafeBufferPointer<Int>, seenMovie: UnsafeBufferPointer<Int32>,
                    count: Int, threads: Int, blockRows: Int, tileColumns: Int,
                    progress: ((Int) -> Void)?) -> (movies: [Int32], scores: [Float]) {
        let customers = customerBias.count, movies = movieBias.count
        precondition(rank >= 0 && count >= 0 && threads >= 1 && blockRows >= 1 && tileColumns >= 1, "sizes must be positive")
        precondition(customerFactors.count == customers * rank && movieFactors.count == movies * rank,
                     "factor shapes must be customers × rank and movies × rank")
        precondition(seenStart.count == customers + 1 && seenStart.first == 0 && seenStart.last == seenMovie.count,
                     "seenStart must hold customers + 1 bounds into seenMovie")
        var movieOut = [Int32](repeating: -1, count: customers * count)
        var scoreOut = [Float](repeating: -.infinity, count: customers * count)
        guard count > 0, customers > 0, movies > 0 else { return (movieOut, scoreOut) }

        let blocks = (customers + blockRows - 1) / blockRows
        let tile = min(tileColumns, movies)
        let reporter = ProgressTally(report: progress)
        Linalg.setBLASThreads(1)
        movieOut.withUnsafeMutableBufferPointer { movieOut in
            scoreOut.withUnsafeMutableBufferPointer { scoreOut in
                let movieOut = movieOut.baseAddress!, scoreOut = scoreOut.baseAddress!
                Parallel.forEachChunk(count: blocks, chunkSize: 1, threads: threads, makeScratch: { _ in
                    BlockScratch(rows: blockRows, tile: tile, count: count, zeroScores: rank == 0)
                }) { scratch, range in
                    let scores = scratch.scores
                    for block in range {
                        let first = block * blockRows, rows = min(blockRows, customers - first)
                        for r in 0..<rows {
                            scratch.heaps[r].removeAll()
                            scratch.cursors[r] = seenStart[first + r]
                            scratch.offsets[r] = customerOffset(globalMean, customerBias[first + r])
                        }
                        for low in stride(from: 0, to: movies, by: tile) {
                            let width = min(tile, movies - low)
                            if rank > 0 {
                                // scores (rows × width, row stride width) = P_block · Q_tileᵀ;
                                // P rows × rank and Q_tile width × rank, both row-major.
                                Linalg.gemmTransposedB(m: rows, n: width, k: rank,
                                                       a: customerFactors.baseAddress! + first * rank,
                                                       b: movieFactors.baseAddress! + low * rank, c: scores)
                            }
                            for r in 0..<rows {
                                let u = first + r
                                // `select` indexes the scores by movie, hence the shifted base; it moves
                                // the customer's seen-list cursor past this tile.
                                var local = scratch.cursors[r] - seenStart[u]
                                select(dots: scores + r * width - low, movieBias: movieBias.baseAddress!, offset: scratch.offsets[r],
                                       columns: low..<(low + width),
                                       exclude: UnsafeBufferPointer(rebasing: seenMovie[seenStart[u]..<seenStart[u + 1]]),
                                       cursor: &local, heap: &scratch.heaps[r])
                                scratch.cursors[r] = seenStart[u] + local
                            }
                        }
                        for r in 0..<rows {
                            scratch.heaps[r].drain(movies: movieOut + (first + r) * count, scores: scoreOut + (first + r) * count, count: count)
                        }
                        reporter.advance(rows)
                    }
                }
            }
        }
        return (movieOut, scoreOut)
    }

    /// dots[i] += Σ_{j ∈ rows} W[j, i], row after row (the order `FactorModel.score` sums in).
    @inline(__always)
    static func addRows(of rows: some Collection<Int32>, weights: UnsafePointer<Float>, movies: Int, into dots: UnsafeMutablePointer<Float>) {
        for j in rows {
            let row = weights + Int(j) * movies
            for i in 0..<movies { dots[i] += row[i] }
        }
    }

    /// Every customer's top-`count` from an item-based model (EASE):
    /// score_ui = μ + b_u + b_i + Σ_{j ∈ history(u)} W[j, i], movies in
    /// `seenStart`/`seenMovie` left out (as `all`).
    ///
    /// This is the sparse × dense product H·W (H: who rated what) followed by
    /// the selection, and W is far larger than any cache (1.26 GB at Netflix
    /// scale), so it runs tiled: W is first copied tile by tile — 64 movies'
    /// columns of every row, contiguous (4.5 MB at Netflix scale) — and then
    /// customers go in blocks of up to 4,096. For one block and one tile, each
    /// customer's 64 scores are summed in registers from the 256-byte pieces of
    /// its history's rows, then offered to the customer's heap, which lives
    /// across the tiles like its seen-list cursor. A tile stays in the
    /// last-level cache while the whole block reads it, so W comes from memory
    /// once per block instead of once per rating; being contiguous, a tile
    /// spans a thousand pages rather than one page per row (row-major W put
    /// each 256-byte piece on a page of its own: a TLB miss per read).
    ///
    /// Every score adds its rows in history order, as `FactorModel.score` does,
    /// and customers never share a sum: the same bits for any block size and
    /// thread count.
    public static func itemBased(customerBias: UnsafeBufferPointer<Float>, globalMean: Double, movieBias: UnsafeBufferPointer<Float>,
                                 itemWeights: UnsafeBufferPointer<Float>, historyStart: UnsafeBufferPointer<Int>,
                                 history: UnsafeBufferPointer<Int32>, seenStart: UnsafeBufferPointer<Int>,
                                 seenMovie: UnsafeBufferPointer<Int32>, count: Int, threads: Int) -> (movies: [Int32], scores: [Float]) {
        let customers = customerBias.count, movies = movieBias.count
        precondition(itemWeights.count == movies * movies && historyStart.count == customers + 1 && seenStart.count == customers + 1,
                     "item weights must be movies × movies, with a history and a seen list per customer")
        var movieOut = [Int32](repeating: -1, count: customers * count)
        var scoreOut = [Float](repeating: -.infinity, count: customers * count)
        guard count > 0, customers > 0, movies > 0 else { return (movieOut, scoreOut) }
        let tile = itemTileColumns
        // Tile t holds rows 0..<movies of columns t·64 ..< t·64 + width, each row `width` floats, at t·64·movies.
        let tiled = UnsafeMutableRawPointer.allocate(byteCount: movies * movies * 4, alignment: 1 << 21)
            .bindMemory(to: Float.self, capacity: movies * movies)
        defer { tiled.deallocate() }
        #if os(Linux)
        madvise(UnsafeMutableRawPointer(tiled), movies * movies * 4, MADV_HUGEPAGE)
        #endif
        let tiles = (movies + tile - 1) / tile
        Parallel.forEachChunk(count: tiles, chunkSize: 1, threads: threads) { range in
            for t in range {
                let low = t * tile, width = min(tile, movies - low), base = tiled + low * movies
                for j in 0..<movies { (base + j * width).update(from: itemWeights.baseAddress! + j * movies + low, count: width) }
            }
        }
        // Large blocks read W from memory fewer times; enough of them to keep every worker busy.
        let blockRows = max(1, min(4096, (customers + threads * 8 - 1) / (threads * 8)))
        final class Scratch {
            var heaps: [Heap]
            var cursors: [Int]
            var offsets: [Float]
            let sums: UnsafeMutablePointer<Float>
            init(rows: Int, count: Int, tile: Int) {
                heaps = (0..<rows).map { _ in Heap(capacity: count) }
                cursors = [Int](repeating: 0, count: rows)
                offsets = [Float](repeating: 0, count: rows)
                sums = .allocate(capacity: tile)
            }
            deinit {
                for heap in heaps { heap.deallocate() }
                sums.deallocate()
            }
        }
        movieOut.withUnsafeMutableBufferPointer { movieOut in
            scoreOut.withUnsafeMutableBufferPointer { scoreOut in
                let movieOut = movieOut.baseAddress!, scoreOut = scoreOut.baseAddress!
                Parallel.forEachChunk(count: customers, chunkSize: blockRows, threads: threads,
                                      makeScratch: { _ in Scratch(rows: blockRows, count: count, tile: tile) }) { scratch, range in
                    let first = range.lowerBound
                    for u in range {
                        scratch.heaps[u - first].removeAll()
                        scratch.cursors[u - first] = 0
                        scratch.offsets[u - first] = customerOffset(globalMean, customerBias[u])
                    }
                    let sums = scratch.sums
                    for low in stride(from: 0, to: movies, by: tile) {
                        let width = min(tile, movies - low), piece = UnsafePointer(tiled + low * movies)
                        for u in range {
                            let rows = UnsafeBufferPointer(rebasing: history[historyStart[u]..<historyStart[u + 1]])
                            if width == tile {
                                sumTile(rows: rows, weights: piece, stride: tile, into: sums)
                            } else {
                                sums.initialize(repeating: 0, count: width)
                                for j in rows {
                                    let row = piece + Int(j) * width
                                    for i in 0..<width { sums[i] += row[i] }
                                }
                            }
                            select(dots: sums - low, movieBias: movieBias.baseAddress!, offset: scratch.offsets[u - first],
                                   columns: low..<(low + width),
                                   exclude: UnsafeBufferPointer(rebasing: seenMovie[seenStart[u]..<seenStart[u + 1]]),
                                   cursor: &scratch.cursors[u - first], heap: &scratch.heaps[u - first])
                        }
                    }
                    for u in range {
                        scratch.heaps[u - first].drain(movies: movieOut + u * count, scores: scoreOut + u * count, count: count)
                    }
                }
            }
        }
        return (movieOut, scoreOut)
    }

    /// Movies per tile of the item-based kernel: one 64-float piece of a row (four cache lines).
    static let itemTileColumns = 64

    /// sums[0..<64] = Σ_{j ∈ rows} weights[j·stride ..< j·stride + 64], rows in order, in registers (C, AVX2 where there is).
    @inline(__always)
    static func sumTile(rows: UnsafeBufferPointer<Int32>, weights: UnsafePointer<Float>, stride: Int, into sums: UnsafeMutablePointer<Float>) {
        guard let first = rows.baseAddress else {
            sums.initialize(repeating: 0, count: itemTileColumns)
            return
        }
        recsys_sum_rows64(first, rows.count, weights, stride, sums)
    }

    /// One worker's scratch, allocated once: a score tile, and a heap, a
    /// seen-list cursor and a score offset per row of a block.
    private final class BlockScratch {
        let scores: UnsafeMutablePointer<Float>
        var heaps: [Heap]
        var cursors: [Int]
        var offsets: [Float]

        init(rows: Int, tile: Int, count: Int, zeroScores: Bool) {
            scores = .allocate(capacity: rows * tile)
            if zeroScores { scores.initialize(repeating: 0, count: rows * tile) }
            heaps = (0..<rows).map { _ in Heap(capacity: count) }
            cursors = [Int](repeating: 0, count: rows)
            offsets = [Float](repeating: 0, count: rows)
        }

        deinit {
            scores.deallocate()
            for heap in heaps { heap.deallocate() }
        }
    }

    /// The same ranking by computing every score one by one and sorting them:
    /// the slow, obviously correct oracle for the tests. Its dot products
    /// accumulate in index order, so they equal BLAS's only when every partial
    /// sum is exact (the tests' small dyadic factors); otherwise to rounding.
    static func reference(customerFactor: [Float], customerBias: Float, globalMean: Double, movieBias: [Float],
                          movieFactors: [Float], rank: Int, exclude: Set<Int32>, count: Int) -> [Item] {
        let offset = customerOffset(globalMean, customerBias)
        var candidates: [Item] = []
        for movie in 0..<movieBias.count where !exclude.contains(Int32(movie)) {
            var dot: Float = 0
            for f in 0..<rank { dot += customerFactor[f] * movieFactors[movie * rank + f] }
            let score = (dot + movieBias[movie]) + offset
            if !score.isNaN && score > -.infinity { candidates.append(Item(movie: Int32(movie), score: score)) }
        }
        return Array(candidates.sorted { $0.score > $1.score || ($0.score == $1.score && $0.movie < $1.movie) }.prefix(count))
    }

    /// c_u = μ + b_u, rounded once to single precision.
    @inline(__always)
    static func customerOffset(_ globalMean: Double, _ customerBias: Float) -> Float {
        Float(globalMean + Double(customerBias))
    }

    /// Offers the scores of movies `columns` to `heap`, skipping the excluded movies.
    ///
    /// `dots[j]` is p_u·q_j for j in `columns` (the pointer is offset so that
    /// it is indexed by movie). `cursor` is the first entry of `exclude` not yet
    /// passed and is left at the first entry past `columns`. The scan runs in
    /// stretches between excluded movies, so the inner loop is one add, one
    /// add, one compare; the heap is touched only by a score that beats its
    /// current minimum (strictly: a later movie loses a tie), which for
    /// random order happens O(count · log(movies)) times per customer.
    @inline(__always)
    static func select(dots: UnsafePointer<Float>, movieBias: UnsafePointer<Float>, offset: Float, columns: Range<Int>,
                       exclude: UnsafeBufferPointer<Int32>, cursor: inout Int, heap: inout Heap) {
        var threshold = heap.threshold
        @inline(__always) func scan(_ low: Int, _ high: Int) {
            var j = low
            while j < high {
                let score = (dots[j] + movieBias[j]) + offset
                if score > threshold {
                    heap.offer(score: score, movie: Int32(truncatingIfNeeded: j))
                    threshold = heap.threshold
                }
                j += 1
            }
        }
        var low = columns.lowerBound
        while cursor < exclude.count {
            let excluded = Int(exclude[cursor])
            guard excluded < columns.upperBound else { break }
            if excluded >= low {
                scan(low, excluded)
                low = excluded + 1
            }
            cursor += 1
        }
        scan(low, columns.upperBound)
    }

    /// A bounded binary min-heap of (score, movie) by "worse": the root is the
    /// worst of the kept items, the one a better candidate replaces.
    struct Heap {
        let scores: UnsafeMutablePointer<Float>
        let movies: UnsafeMutablePointer<Int32>
        let capacity: Int
        private(set) var size = 0

        init(capacity: Int) {
            self.capacity = capacity
            scores = .allocate(capacity: max(1, capacity))
            movies = .allocate(capacity: max(1, capacity))
        }

        func deallocate() {
            scores.deallocate()
            movies.deallocate()
        }

        mutating func removeAll() { size = 0 }

        /// The score a candidate must beat: the worst kept score once full, −∞ before.
        var threshold: Float { size == capacity ? scores[0] : -.infinity }

        /// Lower score is worse; of equal scores the higher movie index is worse.
        @inline(__always)
        private func worse(_ i: Int, _ j: Int) -> Bool {
            scores[i] < scores[j] || (scores[i] == scores[j] && movies[i] > movies[j])
        }

        @inline(__always)
        private func swapAt(_ i: Int, _ j: Int) {
            swap(&scores[i], &scores[j])
            swap(&movies[i], &movies[j])
        }

        /// Adds a candidate that beats `threshold`: pushed while there is room, else it replaces the root.
        mutating func offer(score: Float, movie: Int32) {
            if size < capacity {
                var i = size
                scores[i] = score
                movies[i] = movie
                size += 1
                while i > 0 {
                    let parent = (i - 1) / 2
                    guard worse(i, parent) else { break }
                    swapAt(i, parent)
                    i = parent
                }
            } else {
                scores[0] = score
                movies[0] = movie
                siftDown(from: 0)
            }
        }

        private func siftDown(from start: Int) {
            var i = start
            while true {
                let left = 2 * i + 1, right = left + 1
                var worst = i
                if left < size, worse(left, worst) { worst = left }
                if right < size, worse(right, worst) { worst = right }
                guard worst != i else { return }
                swapAt(i, worst)
                i = worst
            }
        }

        /// Writes the kept items best first to `movies`/`scores` (`count` slots),
        /// padding with −1 / −∞, and empties the heap.
        mutating func drain(movies out: UnsafeMutablePointer<Int32>, scores outScores: UnsafeMutablePointer<Float>, count: Int) {
            for slot in size..<count {
                out[slot] = -1
                outScores[slot] = -.infinity
            }
            // Popping the worst each time fills the slots from the back.
            while size > 0 {
                size -= 1
                out[size] = movies[0]
                outScores[size] = scores[0]
                scores[0] = scores[size]
                movies[0] = movies[size]
                siftDown(from: 0)
            }
        }
    }
}
