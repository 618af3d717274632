import Features
import Foundation
import XCTest
@testable import Models

// MARK: - The suite

/// What one recommender supplies to the conformance suite: its fit (and,
/// when the model is not a `FactorModel` itself, the form a model file stores
/// and recommend serves). Adding a model to recsys means adding one subclass
/// here and listing it in `RecommenderConformanceTests.subjects`.
class ConformanceSubject {
    var name: String { String(describing: type(of: self)) }

    /// Fits the model on `train` with this seed and thread count.
    func fit(_ train: RatingMatrix, seed: UInt64, threads: Int) throws -> any RatingPredictor {
        throw XCTSkip("\(name) does not override fit")
    }

    /// Whether the fit draws on its seed (false: every seed must give the same bits).
    var isSeeded: Bool { true }

    /// The model as a model file stores it and recommend serves it (top-N scores it).
    func served(_ model: any RatingPredictor, train: RatingMatrix) throws -> FactorModel {
        try XCTUnwrap(model as? FactorModel, "\(name) fits a \(type(of: model)); override served")
    }

    /// Writes the model to a model file.
    func save(_ model: any RatingPredictor, train: RatingMatrix, to url: URL) throws {
        try ModelFile.write(served(model, train: train), to: url)
    }

    /// Reads a model file back as a predictor.
    func load(from url: URL) throws -> any RatingPredictor {
        try ModelFile(contentsOf: url).model()
    }
}

/// The conformance suite of every `RatingPredictor`, as LensKit runs one
/// suite over every scorer: each test runs its check once per subject, and a
/// failure names the subject.
///
/// The data: a planted biased rank-3 model (`PlantedRatings`) on 60 customers ×
/// 40 movies, rounded to whole stars 1…5 (customer 0 and movie 0 all 5s,
/// customer 1 and movie 1 all 1s), plus one customer and one movie that have
/// no training rating at all (the last index of each).
final class RecommenderConformanceTests: XCTestCase {
    static let subjects: [ConformanceSubject] = [BiasSubject(), ALSSubject(), SGDSubject(), SVDSubject(), ImplicitALSSubject(), EASESubject(), ItemKNNSubject()]

    func testPredictionsAreFiniteAndClipToTheScale() throws { try forEachSubject { try checkPredictionsAreFiniteAndClipToTheScale() } }
    func testUnseenCustomersAndMoviesFallBackToTheBaselineAndAreCounted() throws { try forEachSubject { try checkUnseenCustomersAndMoviesFallBackToTheBaselineAndAreCounted() } }
    func testSameSeedAndThreadCountGiveTheSameBits() throws { try forEachSubject { try checkSameSeedAndThreadCountGiveTheSameBits() } }
    func testADifferentSeedGivesDifferentFactors() throws { try forEachSubject { try checkADifferentSeedGivesDifferentFactors() } }
    func testModelFileRoundTripKeepsEveryPredictionBit() throws { try forEachSubject { try checkModelFileRoundTripKeepsEveryPredictionBit() } }
    func testTopNSkipsRatedMoviesUnlessAskedAndIsOrdered() throws { try forEachSubject { try checkTopNSkipsRatedMoviesUnlessAskedAndIsOrdered() } }

    /// The subject the running check is about.
    private var subject: ConformanceSubject = BiasSubject()

    private func forEachSubject(_ check: () throws -> Void) throws {
        for subject in Self.subjects {
            self.subject = subject
            do {
                try check()
            } catch let skip as XCTSkip {
                print("\(subject.name): skipped (\(skip))")
            } catch {
                XCTFail("\(error)")
            }
        }
    }

    /// Every failure names the subject it is about.
    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool) {
        super.recordFailure(withDescription: "[\(subject.name)] \(description)", inFile: filePath, atLine: lineNumber, expected: expected)
    }

    func fit(seed: UInt64, threads: Int) throws -> any RatingPredictor { try subject.fit(train, seed: seed, threads: threads) }
    var isSeeded: Bool { subject.isSeeded }
    func served(_ model: any RatingPredictor) throws -> FactorModel { try subject.served(model, train: train) }
    func save(_ model: any RatingPredictor, to url: URL) throws { try subject.save(model, train: train, to: url) }
    func load(from url: URL) throws -> any RatingPredictor { try subject.load(from: url) }

    // MARK: Data

    static let train: RatingMatrix = {
        let planted = PlantedRatings(customers: 60, movies: 40, rank: 3, density: 0.3, sigma: 0.3, seed: 17).train
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<planted.customerCount {
            let (movies, ratings) = planted.ratings(ofCustomer: c)
            for (m, r) in zip(movies, ratings) {
                // Customer 0 and movie 0 get only 5s, customer 1 and movie 1 only 1s: their
                // pairs' predictions go past the scale, so the clip is exercised.
                let rating: Float = c == 0 || m == 0 ? 5 : c == 1 || m == 1 ? 1 : Float(min(5, max(1, r.rounded())))
                entries.append(.init(customer: Int32(c), movie: m, rating: rating, day: 0))
            }
        }
        // One more customer and one more movie, neither with a rating.
        let ids = { (n: Int) in (0..<n).map { Int64($0 + 1) } }
        return RatingMatrix(customerIDs: ids(planted.customerCount + 1), movieIDs: ids(planted.movieCount + 1), entries: entries)
    }()

    var train: RatingMatrix { Self.train }
    var unseenCustomer: Int { train.customerCount - 1 }
    var unseenMovie: Int { train.movieCount - 1 }
    let seed: UInt64 = 42

    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("RecommenderConformance-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    // MARK: 1. Predictions

    /// Every (customer, movie) pair of the training matrix: the raw score is a
    /// finite number, the served prediction (clipped, as evaluate and recommend
    /// clip it) lies on the scale, and the served form scores what the model does.
    func checkPredictionsAreFiniteAndClipToTheScale() throws {
        let model = try fit(seed: seed, threads: 2)
        let form = try served(model)
        let scale = model.scale
        XCTAssertEqual(form.scale, scale)
        var outside = 0
        var bad = Problems()
        for c in 0..<train.customerCount {
            for m in 0..<train.movieCount {
                let raw = model.score(customer: c, movie: m)
                let clipped = scale.clip(raw)
                if !raw.isFinite { bad.add("score(\(c), \(m)) = \(raw)") }
                if !(clipped >= scale.minimum && clipped <= scale.maximum) { bad.add("clip(score(\(c), \(m))) = \(clipped)") }
                if raw < scale.minimum || raw > scale.maximum {
                    outside += 1
                    if clipped != scale.minimum && clipped != scale.maximum { bad.add("clip(\(raw)) = \(clipped)") }
                } else if clipped != raw {
                    bad.add("clip(\(raw)) = \(clipped) moved a prediction inside the scale")
                }
                // A factor model is its own served form (same bits); the bias baseline's
                // served form holds its biases in single precision.
                let servedScore = form.score(customer: c, movie: m)
                if model is FactorModel ? servedScore.bitPattern != raw.bitPattern : !(abs(servedScore - raw) <= 1e-6) {
                    bad.add("served score(\(c), \(m)) = \(servedScore), the model's \(raw)")
                }
            }
        }
        bad.assertNone("of \(train.customerCount * train.movieCount) pairs")
        // Customers 0 and 1 with movies 0 and 1 are planted to go past the scale.
        XCTAssertGreaterThan(outside, 0, "no prediction left the scale: the clip went untested")
    }

    // MARK: 2. Fallbacks

    /// The customer and the movie with no training rating: their predictions
    /// are the model's own baseline (μ + b_i for the customer, μ + b_u for the
    /// movie, μ for both — the personal part contributes nothing), evaluation
    /// counts every such pair as a fallback, and the model file says the
    /// customer had no training ratings (recommend's cue for the baseline) and
    /// knows no id outside the matrix.
    func checkUnseenCustomersAndMoviesFallBackToTheBaselineAndAreCounted() throws {
        XCTAssertEqual(train.ratings(ofCustomer: unseenCustomer).movies.count, 0)
        XCTAssertEqual(train.ratings(ofMovie: unseenMovie).customers.count, 0)
        let model = try fit(seed: seed, threads: 2)
        let form = try served(model)
        let mu = form.globalMean
        let cx = unseenCustomer, mx = unseenMovie
        var bad = Problems()
        var worst = 0.0
        func expect(_ c: Int, _ m: Int, _ expected: Double, _ what: String) {
            let got = model.score(customer: c, movie: m)
            worst = max(worst, abs(got - expected))
            if !(abs(got - expected) <= 1e-6) { bad.add("score(\(c), \(m)) = \(got), \(what) = \(expected)") }
        }
        expect(cx, mx, mu, "μ")
        for m in 0..<train.movieCount where m != mx { expect(cx, m, mu + Double(form.movieBias[m]), "μ + b_i") }
        for c in 0..<train.customerCount where c != cx { expect(c, mx, mu + Double(form.customerBias[c]), "μ + b_u") }
        let fallbackProblems = bad

        // Evaluation on every pair of the grid: each pair with the unseen customer
        // or the unseen movie is a fallback, the others are not.
        var heldOut = HeldOutRatings()
        var expectedFallbacks = 0
        for c in 0..<train.customerCount {
            for m in 0..<train.movieCount {
                heldOut.customer.append(Int32(c))
                heldOut.movie.append(Int32(m))
                heldOut.rating.append(Float(1 + (c + m) % 5))
                if train.customerStart[c + 1] == train.customerStart[c] || train.movieStart[m + 1] == train.movieStart[m] {
                    expectedFallbacks += 1
                }
            }
        }
        XCTAssertGreaterThanOrEqual(expectedFallbacks, train.customerCount + train.movieCount - 1)
        let metrics = try XCTUnwrap(Evaluation.metrics(model, on: heldOut, trainedOn: train))
        XCTAssertEqual(metrics.n, heldOut.count)
        XCTAssertEqual(metrics.fallbacks, expectedFallbacks)
        XCTAssertTrue(metrics.rmse.isFinite && metrics.mae.isFinite && metrics.mape.isFinite)

        // The model file: the unseen customer has no training ratings, the others
        // their counts; ids the model never saw are not found (recommend's baseline).
        let url = folder.appendingPathComponent("fallback.rsm")
        try save(model, to: url)
        let file = try ModelFile(contentsOf: url)
        XCTAssertEqual(Array(file.customerTrainCount), (0..<train.customerCount).map { Int32(train.ratings(ofCustomer: $0).movies.count) })
        XCTAssertEqual(file.customerTrainCount[cx], 0)
        XCTAssertEqual(file.customerIndex(of: train.customerIDs[cx]), cx)
        XCTAssertNil(file.customerIndex(of: train.customerIDs.max()! + 1))
        XCTAssertNil(file.movieIndex(of: train.movieIDs.max()! + 1))
        XCTAssertNil(file.customerIndex(of: 0))
        XCTAssertNil(file.movieIndex(of: 0))

        let context = "unseen pairs off their baseline (by up to \(worst))"
        fallbackProblems.assertNone(context)
    }

    // MARK: 3. Determinism

    /// Two fits with one seed and one thread count: every stored number and
    /// every prediction the same bits, on 1 and on 2 threads.
    func checkSameSeedAndThreadCountGiveTheSameBits() throws {
        for threads in [1, 2] {
            let a = try fit(seed: seed, threads: threads), b = try fit(seed: seed, threads: threads)
            assertSameParameters(try served(a), try served(b), "threads \(threads)")
            assertSameBits(predictionBits(a), predictionBits(b), "predictions, threads \(threads)")
        }
    }

    /// A seeded model fitted with another seed has other factors (and other
    /// predictions); a model without randomness has the same bits whatever the seed.
    func checkADifferentSeedGivesDifferentFactors() throws {
        let a = try served(try fit(seed: seed, threads: 2)), b = try served(try fit(seed: seed + 1, threads: 2))
        if isSeeded {
            XCTAssertGreaterThan(a.rank, 0)
            XCTAssertGreaterThan(differences(bits(a.customerFactors), bits(b.customerFactors)), 0, "customer factors")
            XCTAssertGreaterThan(differences(bits(a.movieFactors), bits(b.movieFactors)), 0, "movie factors")
            XCTAssertGreaterThan(differences(predictionBits(a), predictionBits(b)), 0, "predictions")
        } else {
            assertSameParameters(a, b, "seeds \(seed) and \(seed + 1)")
            let c = try served(try fit(seed: seed + 1, threads: 1))
            assertSameParameters(a, c, "2 threads and 1")
        }
    }

    // MARK: 4. Model file

    /// Save, then load through the model file: the same bits for every number
    /// stored and every prediction, and the top-N served straight from the
    /// file's map the same as from the model in memory.
    func checkModelFileRoundTripKeepsEveryPredictionBit() throws {
        let model = try fit(seed: seed, threads: 2)
        let form = try served(model)
        let url = folder.appendingPathComponent("nested/model.rsm")
        try save(model, to: url)
        let loaded = try load(from: url)
        XCTAssertEqual(loaded.kind, model.kind)
        XCTAssertEqual(loaded.scale, model.scale)
        assertSameBits(predictionBits(loaded), predictionBits(form), "predictions after save → load")
        if model is FactorModel {
            assertSameBits(predictionBits(loaded), predictionBits(model), "predictions of the fitted model")
        }
        assertSameParameters(try served(loaded), form, "after save → load")

        let file = try ModelFile(contentsOf: url)
        XCTAssertEqual(file.model(), form)
        var bad = Problems()
        for c in 0..<train.customerCount {
            let exclude = Array(train.ratings(ofCustomer: c).movies)
            let fromMemory = topN(form, customer: c, exclude: exclude, count: 7)
            let fromFile = topN(file, customer: c, exclude: exclude, count: 7)
            if fromFile.map(\.movie) != fromMemory.map(\.movie) || fromFile.map(\.score.bitPattern) != fromMemory.map(\.score.bitPattern) {
                bad.add("customer \(c): \(fromFile) from the file's map, \(fromMemory) from memory")
            }
        }
        bad.assertNone("in top-7 lists served from the file")
    }

    // MARK: 5. Top-N

    /// For every customer: at most N movies (exactly N while enough remain),
    /// none the customer rated in training unless rated movies are asked for,
    /// no duplicates, scores non-increasing (ties: lower movie index first),
    /// each score the model's own, and no left-out candidate scoring higher
    /// than the last one kept. The batch kernel's lists obey the same.
    func checkTopNSkipsRatedMoviesUnlessAskedAndIsOrdered() throws {
        let model = try fit(seed: seed, threads: 2)
        let form = try served(model)
        let n = 5, movies = train.movieCount
        var bad = Problems()
        var ratedShownWhenAsked = 0
        for c in 0..<train.customerCount {
            let rated = Array(train.ratings(ofCustomer: c).movies)
            let ratedSet = Set(rated)
            let list = topN(form, customer: c, exclude: rated, count: n)
            checkWellFormed(list, customer: c, count: n, candidates: movies - rated.count, model: form, into: &bad)
            for item in list where ratedSet.contains(item.movie) { bad.add("customer \(c) got movie \(item.movie), rated in training") }
            let kept = Set(list.map(\.movie))
            if let last = list.last {
                for m in 0..<movies where !ratedSet.contains(Int32(m)) && !kept.contains(Int32(m)) {
                    let score = form.score(customer: c, movie: m)
                    if !(score <= Double(last.score) + 1e-4) {
                        bad.add("customer \(c): movie \(m) (score \(score)) left out of the top \(n) (last \(last.score))")
                    }
                }
            }

            // Rated movies asked for: the whole catalog is a candidate, and the list
            // without them is this full ranking with the rated movies struck out.
            let everything = topN(form, customer: c, exclude: [], count: movies)
            checkWellFormed(everything, customer: c, count: movies, candidates: movies, model: form, into: &bad)
            if Set(everything.map(\.movie)) != Set((0..<movies).map { Int32($0) }) { bad.add("customer \(c): the full list misses movies") }
            let withRated = topN(form, customer: c, exclude: [], count: n)
            if withRated.map(\.movie) != everything.prefix(n).map(\.movie) { bad.add("customer \(c): top \(n) with rated movies is not the full list's head") }
            ratedShownWhenAsked += withRated.filter { ratedSet.contains($0.movie) }.count
            let struckOut = everything.filter { !ratedSet.contains($0.movie) }.prefix(n)
            if list.map(\.movie) != struckOut.map(\.movie) || list.map(\.score.bitPattern) != struckOut.map(\.score.bitPattern) {
                bad.add("customer \(c): the seen filter did more than strike out rated movies: \(list) against \(Array(struckOut))")
            }
        }
        XCTAssertGreaterThan(ratedShownWhenAsked, 0, "asked for, rated movies appear in some list")

        // The batch kernel, every customer at once on 2 threads, with the seen lists.
        let batch = form.isItemBased
            ? form.customerBias.withUnsafeBufferPointer { bu in
                form.movieBias.withUnsafeBufferPointer { bi in
                    form.itemWeights.withUnsafeBufferPointer { w in
                        form.historyStart.withUnsafeBufferPointer { hs in
                            form.history.withUnsafeBufferPointer { h in
                                train.customerStart.withUnsafeBufferPointer { start in
                                    train.customerMovie.withUnsafeBufferPointer { seen in
                                        TopN.itemBased(customerBias: bu, globalMean: form.globalMean, movieBias: bi, itemWeights: w,
                                                       historyStart: hs, history: h, seenStart: start, seenMovie: seen, count: n, threads: 2)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            : form.customerFactors.withUnsafeBufferPointer { p in
            form.customerBias.withUnsafeBufferPointer { bu in
                form.movieBias.withUnsafeBufferPointer { bi in
                    form.movieFactors.withUnsafeBufferPointer { q in
                        train.customerStart.withUnsafeBufferPointer { start in
                            train.customerMovie.withUnsafeBufferPointer { seen in
                                TopN.all(customerFactors: p, customerBias: bu, globalMean: form.globalMean, movieBias: bi,
                                         movieFactors: q, rank: form.rank, seenStart: start, seenMovie: seen, count: n, threads: 2)
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(batch.movies.count, train.customerCount * n)
        for c in 0..<train.customerCount {
            let rated = Array(train.ratings(ofCustomer: c).movies)
            let row = (0..<n).map { TopN.Item(movie: batch.movies[c * n + $0], score: batch.scores[c * n + $0]) }
            let real = Array(row.prefix { $0.movie >= 0 })
            if !row.dropFirst(real.count).allSatisfy({ $0.movie == -1 && $0.score == -.infinity }) { bad.add("batch customer \(c): padding \(row)") }
            checkWellFormed(real, customer: c, count: n, candidates: movies - rated.count, model: form, into: &bad)
            if !Set(real.map(\.movie)).isDisjoint(with: rated) { bad.add("batch customer \(c): a rated movie in \(real)") }
            // The k-th best score moves by no more than any one score does between the kernels.
            let single = topN(form, customer: c, exclude: rated, count: n)
            for (a, b) in zip(real, single) where !(abs(a.score - b.score) <= 1e-4) {
                bad.add("batch customer \(c): \(a) where the single kernel has \(b)")
            }
        }
        bad.assertNone("in the top-\(n) lists of \(train.customerCount) customers")
    }

    // MARK: Helpers

    /// Failures of one check gathered into one assertion: a broken model fails
    /// thousands of pairs, and the first few say enough.
    struct Problems {
        private(set) var count = 0
        private var first: [String] = []

        mutating func add(_ problem: String) {
            count += 1
            if first.count < 3 { first.append(problem) }
        }

        func assertNone(_ context: String, file: StaticString = #filePath, line: UInt = #line) {
            if count > 0 { XCTFail("\(count) problems \(context), e.g. \(first.joined(separator: "; "))", file: file, line: line) }
        }
    }

    /// At most N (N while candidates remain), in range, finite, the model's own
    /// scores, no duplicates, best first with ties by the lower movie index.
    private func checkWellFormed(_ list: [TopN.Item], customer c: Int, count n: Int, candidates: Int, model: FactorModel,
                                 into bad: inout Problems) {
        if list.count != min(n, candidates) { bad.add("customer \(c): \(list.count) movies, \(min(n, candidates)) wanted") }
        if Set(list.map(\.movie)).count != list.count { bad.add("customer \(c): a movie twice in \(list)") }
        for item in list {
            guard (0..<model.movieCount).contains(Int(item.movie)) else {
                bad.add("customer \(c): movie \(item.movie)")
                continue
            }
            let score = model.score(customer: c, movie: Int(item.movie))
            if !item.score.isFinite || !(abs(Double(item.score) - score) <= 1e-4) {
                bad.add("customer \(c), movie \(item.movie): listed score \(item.score), the model's \(score)")
            }
            let served = model.scale.clip(Double(item.score))
            if !(served >= model.scale.minimum && served <= model.scale.maximum) { bad.add("customer \(c): served rating \(served)") }
        }
        for (a, b) in zip(list, list.dropFirst()) where !(a.score > b.score || (a.score == b.score && a.movie < b.movie)) {
            bad.add("customer \(c): \(a) before \(b)")
        }
    }

    func topN(_ model: FactorModel, customer c: Int, exclude: [Int32], count: Int) -> [TopN.Item] {
        let k = model.rank
        return model.customerFactors[(c * k)..<((c + 1) * k)].withUnsafeBufferPointer { p in
            model.movieBias.withUnsafeBufferPointer { bi in
                model.movieFactors.withUnsafeBufferPointer { q in
                    exclude.withUnsafeBufferPointer { ex in
                        model.itemWeights.withUnsafeBufferPointer { w in
                            TopN.single(customerFactor: p, customerBias: model.customerBias[c], globalMean: model.globalMean,
                                        movieBias: bi, movieFactors: q, rank: k, exclude: ex, count: count,
                                        itemWeights: model.isItemBased ? w : nil,
                                        history: model.isItemBased ? Array(model.history[model.historyStart[c]..<model.historyStart[c + 1]]) : [])
                        }
                    }
                }
            }
        }
    }

    /// The same list as recommend makes it: straight from the file's map.
    func topN(_ file: ModelFile, customer c: Int, exclude: [Int32], count: Int) -> [TopN.Item] {
        let k = file.rank
        return exclude.withUnsafeBufferPointer { ex in
            TopN.single(customerFactor: UnsafeBufferPointer(rebasing: file.customerFactors[(c * k)..<((c + 1) * k)]),
                        customerBias: file.customerBias[c], globalMean: file.globalMean, movieBias: file.movieBias,
                        movieFactors: file.movieFactors, rank: k, exclude: ex, count: count,
                        itemWeights: file.isItemBased ? file.itemWeights : nil,
                        history: file.isItemBased ? Array(file.history[Int(file.historyStart[c])..<Int(file.historyStart[c + 1])]) : [])
        }
    }

    /// Every prediction of the grid, as bits.
    func predictionBits(_ model: any RatingPredictor) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(train.customerCount * train.movieCount)
        for c in 0..<train.customerCount { for m in 0..<train.movieCount { out.append(model.score(customer: c, movie: m).bitPattern) } }
        return out
    }

    func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    func differences<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        a.count != b.count ? max(a.count, b.count) : zip(a, b).filter { $0 != $1 }.count
    }

    func assertSameBits<T: Equatable>(_ a: [T], _ b: [T], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard a.count == b.count else { return XCTFail("\(what): \(a.count) values against \(b.count)", file: file, line: line) }
        let differing = zip(a, b).enumerated().filter { $0.element.0 != $0.element.1 }
        if let first = differing.first {
            XCTFail("\(what): \(differing.count) of \(a.count) values differ, the first at \(first.offset)", file: file, line: line)
        }
    }

    func assertSameParameters(_ a: FactorModel, _ b: FactorModel, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.kind, b.kind, what, file: file, line: line)
        XCTAssertEqual(a.parameters, b.parameters, what, file: file, line: line)
        XCTAssertEqual(a.rank, b.rank, what, file: file, line: line)
        XCTAssertEqual(a.customerIDs, b.customerIDs, what, file: file, line: line)
        XCTAssertEqual(a.movieIDs, b.movieIDs, what, file: file, line: line)
        XCTAssertEqual(a.customerTrainCount, b.customerTrainCount, what, file: file, line: line)
        XCTAssertEqual(a.globalMean.bitPattern, b.globalMean.bitPattern, "\(what): global mean", file: file, line: line)
        assertSameBits(bits(a.customerBias), bits(b.customerBias), "\(what): customer biases", file: file, line: line)
        assertSameBits(bits(a.movieBias), bits(b.movieBias), "\(what): movie biases", file: file, line: line)
        assertSameBits(bits(a.customerFactors), bits(b.customerFactors), "\(what): customer factors", file: file, line: line)
        assertSameBits(bits(a.movieFactors), bits(b.movieFactors), "\(what): movie factors", file: file, line: line)
    }
}

// MARK: - The recommenders

/// The damped bias baseline (evaluate's "bias"). It is not a factor model: its
/// served form is the rank-0 factor model the ranking kernel scores
/// (`Ranking.baselineModel`), biases in single precision.
final class BiasSubject: ConformanceSubject {
    override var isSeeded: Bool { false }

    override func fit(_ train: RatingMatrix, seed: UInt64, threads: Int) throws -> any RatingPredictor {
        BaselinePredictor.bias(BiasModel(fitting: train), scale: .netflix)
    }

    override func served(_ model: any RatingPredictor, train: RatingMatrix) throws -> FactorModel {
        if let factors = model as? FactorModel { return factors }
        let baseline = try XCTUnwrap(model as? BaselinePredictor)
        return Ranking.baselineModel(baseline.biases, train: train, scale: baseline.scale)
    }
}

/// ALS with jointly learned biases (the default), as `recsys train` fits it.
final class ALSSubject: ConformanceSubject {
    override func fit(_ train: RatingMatrix, seed: UInt64, threads: Int) throws -> any RatingPredictor {
        var c = ALSConfiguration()
        c.rank = 4
        c.iterations = 5
        c.seed = seed
        c.threads = threads
        return try ModelConfiguration.als(c).fit(train, biases: BiasModel(fitting: train))
    }
}

/// Stratified parallel SGD.
final class SGDSubject: ConformanceSubject {
    override func fit(_ train: RatingMatrix, seed: UInt64, threads: Int) throws -> any RatingPredictor {
        var c = SGDConfiguration()
        c.rank = 4
        c.epochs = 10
        c.learningRate = 0.01
        c.seed = seed
        c.threads = threads
        return try ModelConfiguration.sgd(c).fit(train, biases: BiasModel(fitting: train))
    }
}

/// The randomized truncated SVD of the bias residuals.
final class SVDSubject: ConformanceSubject {
    override func fit(_ train: RatingMatrix, seed: UInt64, threads: Int) throws -> any RatingPredictor {
        var c = SVDConfiguration()
        c.rank = 4
        c.oversampling = 4
        c.powerIterations = 2
        c.seed = seed
        c.threads = threads
        return try ModelConfiguration.svd(c).fit(train, biases: BiasModel(fitting: train))
    }
}

/// Implicit-feedback ALS: a ranking model (μ = 0, no biases; its served
/// "rating" is the clipped preference score).
final class ImplicitALSSubject: ConformanceSubject {
    override func fit(_ train: RatingMatrix, seed: UInt64, threads: Int) throws -> any RatingPredictor {
        var c = ImplicitALSConfiguration()
        c.rank = 4
        c.iterations = 5
        c.seed = seed
        c.threads = threads
        return try ModelConfiguration.ials(c).fit(train, biases: BiasModel(fitting: train))
    }
}

/// EASE: an item-based ranking model, closed form — it draws nothing, so
/// every seed gives the same bits.
final class EASESubject: ConformanceSubject {
    override var isSeeded: Bool { false }

    override func fit(_ train: RatingMatrix, seed: UInt64, threads: Int) throws -> any RatingPredictor {
        var c = EASEConfiguration()
        c.lambda = 20
        c.seed = seed
        c.threads = threads
        return try ModelConfiguration.ease(c).fit(train, biases: BiasModel(fitting: train))
    }
}

/// Item-item cosine kNN: item-based, nothing drawn.
final class ItemKNNSubject: ConformanceSubject {
    override var isSeeded: Bool { false }

    override func fit(_ train: RatingMatrix, seed: UInt64, threads: Int) throws -> any RatingPredictor {
        var c = ItemKNNConfiguration()
        c.neighbours = 10
        c.seed = seed
        c.threads = threads
        return try ModelConfiguration.itemknn(c).fit(train, biases: BiasModel(fitting: train))
    }
}
