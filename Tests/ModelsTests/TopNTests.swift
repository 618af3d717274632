import Features
import Runtime
import XCTest
@testable import Models

/// The top-N kernels against a sort of every score (`TopN.reference`).
///
/// Most models here use small dyadic values (multiples of 1/2 for factors,
/// 1/4 for biases): every product and partial sum is then exact in single
/// precision, so BLAS's summation order cannot change a bit and the kernels
/// must agree with the oracle exactly — ties included, and there are many.
final class TopNTests: XCTestCase {
    /// A random model with values drawn from `value`.
    private struct Model {
        var customers: Int, movies: Int, rank: Int
        var customerFactors: [Float], customerBias: [Float], movieFactors: [Float], movieBias: [Float]
        var globalMean: Double

        init(customers: Int, movies: Int, rank: Int, seed: UInt64, dyadic: Bool = true) {
            var generator = SeededGenerator(seed: seed)
            func draw(_ step: Float, _ range: ClosedRange<Int>) -> Float {
                dyadic ? Float(Int.random(in: range, using: &generator)) * step : Float(generator.nextGaussian()) * 0.7
            }
            self.customers = customers
            self.movies = movies
            self.rank = rank
            customerFactors = (0..<(customers * rank)).map { _ in draw(0.5, -4...4) }
            movieFactors = (0..<(movies * rank)).map { _ in draw(0.5, -4...4) }
            customerBias = (0..<customers).map { _ in draw(0.25, -4...4) }
            movieBias = (0..<movies).map { _ in draw(0.25, -4...4) }
            globalMean = dyadic ? 3.5 : 3.604_289
        }

        func single(_ u: Int, exclude: [Int32], count: Int) -> [TopN.Item] {
            customerFactors[(u * rank)..<((u + 1) * rank)].withUnsafeBufferPointer { p in
                movieBias.withUnsafeBufferPointer { b in
                    movieFactors.withUnsafeBufferPointer { q in
                        exclude.withUnsafeBufferPointer { e in
                            TopN.single(customerFactor: p, customerBias: customerBias[u], globalMean: globalMean, movieBias: b,
                                        movieFactors: q, rank: rank, exclude: e, count: count)
                        }
                    }
                }
            }
        }

        func reference(_ u: Int, exclude: [Int32], count: Int) -> [TopN.Item] {
            TopN.reference(customerFactor: Array(customerFactors[(u * rank)..<((u + 1) * rank)]), customerBias: customerBias[u],
                           globalMean: globalMean, movieBias: movieBias, movieFactors: movieFactors, rank: rank,
                           exclude: Set(exclude), count: count)
        }

        func all(seenStart: [Int], seenMovie: [Int32], count: Int, threads: Int, blockRows: Int = TopN.defaultBlockRows,
                 tileColumns: Int = TopN.defaultTileColumns, progress: ((Int) -> Void)? = nil) -> (movies: [Int32], scores: [Float]) {
            customerFactors.withUnsafeBufferPointer { p in
                customerBias.withUnsafeBufferPointer { bu in
                    movieBias.withUnsafeBufferPointer { bi in
                        movieFactors.withUnsafeBufferPointer { q in
                            seenStart.withUnsafeBufferPointer { start in
                                seenMovie.withUnsafeBufferPointer { seen in
                                    TopN.all(customerFactors: p, customerBias: bu, globalMean: globalMean, movieBias: bi,
                                             movieFactors: q, rank: rank, seenStart: start, seenMovie: seen, count: count,
                                             threads: threads, blockRows: blockRows, tileColumns: tileColumns, progress: progress)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Random ascending seen lists, CSR: customer u has 0…`most` movies.
    private func seenLists(customers: Int, movies: Int, most: Int, seed: UInt64) -> (start: [Int], movie: [Int32]) {
        var generator = SeededGenerator(seed: seed)
        var start = [0], movie: [Int32] = []
        for _ in 0..<customers {
            let n = Int.random(in: 0...most, using: &generator)
            var chosen = Set<Int32>()
            while chosen.count < min(n, movies) { chosen.insert(Int32.random(in: 0..<Int32(movies), using: &generator)) }
            movie += chosen.sorted()
            start.append(movie.count)
        }
        return (start, movie)
    }

    func testHandComputedExample() {
        // Rank 1, μ = 3, b_u = 0.5, p_u = [2]; the scores (2·q_i + b_i) + 3.5:
        //   movie 0: q 1,   b  0    → 5.5
        //   movie 1: q 0.5, b  0.5  → 5.0
        //   movie 2: q 1,   b  0    → 5.5  (ties movie 0: the lower index, 0, goes first)
        //   movie 3: q 2,   b −1    → 6.5  (excluded)
        //   movie 4: q −1,  b  0    → 1.5
        let q: [Float] = [1, 0.5, 1, 2, -1], b: [Float] = [0, 0.5, 0, -1, 0], p: [Float] = [2], exclude: [Int32] = [3]
        let top = p.withUnsafeBufferPointer { p in
            b.withUnsafeBufferPointer { b in
                q.withUnsafeBufferPointer { q in
                    exclude.withUnsafeBufferPointer { e in
                        TopN.single(customerFactor: p, customerBias: 0.5, globalMean: 3, movieBias: b, movieFactors: q, rank: 1,
                                    exclude: e, count: 3)
                    }
                }
            }
        }
        XCTAssertEqual(top, [TopN.Item(movie: 0, score: 5.5), TopN.Item(movie: 2, score: 5.5), TopN.Item(movie: 1, score: 5)])
    }

    func testSingleMatchesTheSortOfAllScores() {
        let model = Model(customers: 40, movies: 120, rank: 5, seed: 1)
        var generator = SeededGenerator(seed: 2)
        for u in 0..<model.customers {
            // Exclusions: none, a random few, or all but a handful; counts from 0 to past the candidates.
            let excludeCount = [0, 7, 115][u % 3]
            let exclude = Set((0..<excludeCount).map { _ in Int32.random(in: 0..<120, using: &generator) }).sorted()
            for count in [0, 1, 3, 10, 119, 200] {
                let got = model.single(u, exclude: exclude, count: count)
                XCTAssertEqual(got, model.reference(u, exclude: exclude, count: count), "customer \(u), count \(count)")
                XCTAssertEqual(got.count, min(count, 120 - exclude.count))
            }
        }
    }

    func testSingleIgnoresRepeatedAndOutOfRangeExclusions() {
        let model = Model(customers: 1, movies: 30, rank: 3, seed: 3)
        let got = model.single(0, exclude: [2, 2, 5, 29, 40, 1000], count: 30)
        XCTAssertEqual(got, model.reference(0, exclude: [2, 5, 29], count: 30))
        XCTAssertEqual(got.count, 27)
    }

    func testSingleOfRankZeroRanksByBiasAlone() {
        let model = Model(customers: 2, movies: 50, rank: 0, seed: 4)
        XCTAssertEqual(model.single(1, exclude: [], count: 8), model.reference(1, exclude: [], count: 8))
    }

    func testAllMatchesSingleForEveryCustomerOnAnyThreadCount() {
        let model = Model(customers: 300, movies: 500, rank: 7, seed: 5)
        let seen = seenLists(customers: 300, movies: 500, most: 60, seed: 6)
        let count = 10
        let one = model.all(seenStart: seen.start, seenMovie: seen.movie, count: count, threads: 1)
        let three = model.all(seenStart: seen.start, seenMovie: seen.movie, count: count, threads: 3)
        XCTAssertEqual(one.movies, three.movies)
        XCTAssertEqual(one.scores.map(\.bitPattern), three.scores.map(\.bitPattern))
        for u in 0..<model.customers {
            let expected = model.single(u, exclude: Array(seen.movie[seen.start[u]..<seen.start[u + 1]]), count: count)
            let row = (u * count)..<((u + 1) * count)
            XCTAssertEqual(zip(one.movies[row], one.scores[row]).map { TopN.Item(movie: $0, score: $1) }, expected, "customer \(u)")
        }
    }

    func testItemBasedTilesAgreeWithSingleOnAnyThreadCount() {
        // 150 movies: two full 64-movie tiles and a tail of 22; 300 customers make several blocks.
        // Gaussian weights, so any change in the order a score's rows are added would show.
        let customers = 300, movies = 150, count = 10
        var generator = SeededGenerator(seed: 11)
        let weights = (0..<(movies * movies)).map { _ in Float(generator.nextGaussian()) }
        let customerBias = (0..<customers).map { _ in Float(generator.nextGaussian()) * 0.3 }
        let movieBias = (0..<movies).map { _ in Float(generator.nextGaussian()) * 0.3 }
        let history = seenLists(customers: customers, movies: movies, most: 90, seed: 12)
        let seen = seenLists(customers: customers, movies: movies, most: 40, seed: 13)
        func batch(threads: Int) -> (movies: [Int32], scores: [Float]) {
            customerBias.withUnsafeBufferPointer { bu in movieBias.withUnsafeBufferPointer { bi in weights.withUnsafeBufferPointer { w in
                history.start.withUnsafeBufferPointer { hs in history.movie.withUnsafeBufferPointer { h in
                    seen.start.withUnsafeBufferPointer { ss in seen.movie.withUnsafeBufferPointer { sm in
                        TopN.itemBased(customerBias: bu, globalMean: 3.6, movieBias: bi, itemWeights: w, historyStart: hs, history: h,
                                       seenStart: ss, seenMovie: sm, count: count, threads: threads)
                    }}
                }}
            }}}
        }
        let one = batch(threads: 1), two = batch(threads: 2)
        XCTAssertEqual(one.movies, two.movies)
        XCTAssertEqual(one.scores.map(\.bitPattern), two.scores.map(\.bitPattern))
        var tailPicks = 0
        for u in 0..<customers {
            let exclude = Array(seen.movie[seen.start[u]..<seen.start[u + 1]])
            let rows = Array(history.movie[history.start[u]..<history.start[u + 1]])
            let expected = [Float](repeating: 0, count: 0).withUnsafeBufferPointer { factor in
                movieBias.withUnsafeBufferPointer { bi in weights.withUnsafeBufferPointer { w in exclude.withUnsafeBufferPointer { e in
                    TopN.single(customerFactor: factor, customerBias: customerBias[u], globalMean: 3.6, movieBias: bi,
                                movieFactors: factor, rank: 0, exclude: e, count: count, itemWeights: w, history: rows)
                }}}
            }
            let row = (u * count)..<((u + 1) * count)
            XCTAssertEqual(Array(one.movies[row]), expected.map(\.movie), "customer \(u)")
            XCTAssertEqual(one.scores[row].map(\.bitPattern), expected.map(\.score.bitPattern), "customer \(u)")
            tailPicks += one.movies[row].filter { $0 >= 128 }.count
        }
        XCTAssertGreaterThan(tailPicks, 0, "some lists should hold movies of the partial last tile")
    }

    func testAllAcrossBlockAndTileEdgesAndPadding() {
        // Blocks of 7 customers and tiles of 37 movies (neither divides 50 or 113); seen lists
        // up to the whole catalogue, so that some customers have fewer candidates than `count`.
        let model = Model(customers: 50, movies: 113, rank: 4, seed: 7)
        let seen = seenLists(customers: 50, movies: 113, most: 113, seed: 8)
        let count = 12
        let got = model.all(seenStart: seen.start, seenMovie: seen.movie, count: count, threads: 2, blockRows: 7, tileColumns: 37)
        var padded = 0
        for u in 0..<model.customers {
            let exclude = Array(seen.movie[seen.start[u]..<seen.start[u + 1]])
            let expected = model.reference(u, exclude: exclude, count: count)
            let row = (u * count)..<((u + 1) * count)
            XCTAssertEqual(Array(got.movies[row].prefix(expected.count)), expected.map(\.movie), "customer \(u)")
            XCTAssertEqual(Array(got.scores[row].prefix(expected.count)), expected.map(\.score), "customer \(u)")
            XCTAssertTrue(got.movies[row].dropFirst(expected.count).allSatisfy { $0 == -1 })
            XCTAssertTrue(got.scores[row].dropFirst(expected.count).allSatisfy { $0 == -.infinity })
            if expected.count < count { padded += 1 }
        }
        XCTAssertGreaterThan(padded, 0, "the seen lists should leave some customer short of candidates")
    }

    func testAllWithGaussianFactorsAgreesToRounding() {
        // Inexact values: BLAS may sum in another order than the oracle, so scores agree to
        // rounding, and each returned movie's exact score is within rounding of the one ranked there.
        let model = Model(customers: 100, movies: 300, rank: 20, seed: 9, dyadic: false)
        let seen = seenLists(customers: 100, movies: 300, most: 40, seed: 10)
        let count = 10
        let got = model.all(seenStart: seen.start, seenMovie: seen.movie, count: count, threads: 2)
        for u in 0..<model.customers {
            let exclude = Array(seen.movie[seen.start[u]..<seen.start[u + 1]])
            let expected = model.reference(u, exclude: exclude, count: count)
            let everything = model.reference(u, exclude: exclude, count: 300)
            for slot in 0..<count {
                let movie = got.movies[u * count + slot]
                XCTAssertFalse(exclude.contains(movie))
                XCTAssertEqual(got.scores[u * count + slot], expected[slot].score, accuracy: 1e-4)
                let exact = everything.first { $0.movie == movie }!.score
                XCTAssertEqual(exact, expected[slot].score, accuracy: 1e-4)
            }
        }
    }

    func testAllReportsProgressUpToEveryCustomer() {
        let model = Model(customers: 130, movies: 20, rank: 2, seed: 11)
        let seen = seenLists(customers: 130, movies: 20, most: 3, seed: 12)
        let lock = NSLock()
        var reports: [Int] = []
        _ = model.all(seenStart: seen.start, seenMovie: seen.movie, count: 5, threads: 2) { done in
            lock.lock(); reports.append(done); lock.unlock()
        }
        XCTAssertEqual(reports, reports.sorted())
        XCTAssertEqual(reports.last, 130)
        XCTAssertEqual(reports.count, 3, "130 customers in blocks of 64")
    }

    func testAllOfNothing() {
        let empty = Model(customers: 0, movies: 10, rank: 3, seed: 13)
        let none = empty.all(seenStart: [0], seenMovie: [], count: 5, threads: 2)
        XCTAssertTrue(none.movies.isEmpty && none.scores.isEmpty)
        let noMovies = Model(customers: 3, movies: 0, rank: 3, seed: 14)
        let padded = noMovies.all(seenStart: [0, 0, 0, 0], seenMovie: [], count: 2, threads: 2)
        XCTAssertEqual(padded.movies, [Int32](repeating: -1, count: 6))
        XCTAssertEqual(padded.scores, [Float](repeating: -.infinity, count: 6))
    }
}
