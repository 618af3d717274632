import Features
import Runtime
import XCTest
@testable import Models

final class ALSTests: XCTestCase {
    /// The BLAS/Cholesky row solve against a naive reference: form
    /// A = GᵀG + λ n E and b = Gᵀ r with loops in double precision, solve by
    /// Gaussian elimination.
    func testRowSolveMatchesNaiveNormalEquations() throws {
        let k = 4, n = 13, lambda = 0.07
        var rng = SeededGenerator(seed: 5)
        let fixed = (0..<(20 * k)).map { _ in Float(rng.nextGaussian()) }
        let partners: [Int32] = (0..<n).map { Int32(($0 * 7) % 20) }
        let residual = (0..<n).map { _ in Float(rng.nextGaussian()) }
        let rhs = try solveOneRow(fixed: fixed, partners: partners, residual: residual, rank: k, lambda: lambda)

        var a = [[Double]](repeating: [Double](repeating: 0, count: k + 1), count: k)
        for i in 0..<k {
            for j in 0..<k {
                for t in 0..<n { a[i][j] += Double(fixed[Int(partners[t]) * k + i]) * Double(fixed[Int(partners[t]) * k + j]) }
            }
            a[i][i] += lambda * Double(n)
            for t in 0..<n { a[i][k] += Double(fixed[Int(partners[t]) * k + i]) * Double(residual[t]) }
        }
        let x = Self.solveByElimination(a)
        // The kernel works in single precision (factors are float32): agreement to
        // float's ~7 digits, relative to the solution's size.
        for f in 0..<k { XCTAssertEqual(Double(rhs[f]), x[f], accuracy: 1e-5 * max(1, abs(x[f])), "n = \(n), factor \(f)") }
    }

    /// The same row solve against a direct dense least-squares solve of the
    /// ridge problem min ‖G p − r‖² + λ n ‖p‖², i.e. ordinary least squares on
    /// the stacked system [G; √(λn) E] p ≈ [r; 0], by Householder QR in double
    /// precision — no normal equations formed. 1,300 ratings take the blocked
    /// path (`HalfSweep.block` rows at a time, the last block partial).
    func testRowSolveMatchesADirectLeastSquaresSolve() throws {
        XCTAssertLessThan(HalfSweep.block, 1300)
        for n in [17, 1300] { try rowSolveMatchesADirectLeastSquaresSolve(n: n) }
    }

    func rowSolveMatchesADirectLeastSquaresSolve(n: Int) throws {
        let k = 5, lambda = 0.03
        var rng = SeededGenerator(seed: 12)
        let fixed = (0..<(30 * k)).map { _ in Float(rng.nextGaussian()) }
        let partners: [Int32] = (0..<n).map { Int32(($0 * 11) % 30) }
        let residual = (0..<n).map { _ in Float(rng.nextGaussian()) }
        let rhs = try solveOneRow(fixed: fixed, partners: partners, residual: residual, rank: k, lambda: lambda)

        // A (n+k)×k and b (n+k), then Householder reflections column by column.
        let rows = n + k
        var a = [[Double]](repeating: [Double](repeating: 0, count: k), count: rows)
        var b = [Double](repeating: 0, count: rows)
        for t in 0..<n {
            for f in 0..<k { a[t][f] = Double(fixed[Int(partners[t]) * k + f]) }
            b[t] = Double(residual[t])
        }
        for f in 0..<k { a[n + f][f] = (lambda * Double(n)).squareRoot() }
        for col in 0..<k {
            var norm = 0.0
            for r in col..<rows { norm += a[r][col] * a[r][col] }
            norm = norm.squareRoot()
            let alpha = a[col][col] > 0 ? -norm : norm
            var v = [Double](repeating: 0, count: rows)
            for r in col..<rows { v[r] = a[r][col] }
            v[col] -= alpha
            let vv = v[col...].reduce(0) { $0 + $1 * $1 }
            guard vv > 0 else { continue }
            for j in col..<k {
                var dot = 0.0
                for r in col..<rows { dot += v[r] * a[r][j] }
                for r in col..<rows { a[r][j] -= 2 * dot / vv * v[r] }
            }
            var dot = 0.0
            for r in col..<rows { dot += v[r] * b[r] }
            for r in col..<rows { b[r] -= 2 * dot / vv * v[r] }
        }
        let x = Self.backSubstitute(a, b, unknowns: k)
        for f in 0..<k { XCTAssertEqual(Double(rhs[f]), x[f], accuracy: 1e-5 * max(1, abs(x[f]))) }
    }

    /// Joint mode: the fixed rows are [q, 1, b_i]; the row solve must give
    /// [p, b_u] minimizing Σ (r − μ − b_i − b_u − p·q)² + λ n (‖p‖² + b_u²),
    /// checked against the naive normal equations of that augmented problem;
    /// fold-in (one customer against fixed movies) must give the same answer.
    func testJointRowSolveMatchesAugmentedNormalEquationsAndFoldIn() throws {
        let k = 3, n = 9, lambda = 0.05, mu = 3.5
        var rng = SeededGenerator(seed: 11)
        let movies = 12, w = k + 2
        var rows = [Float](repeating: 0, count: movies * w)
        var q = [Float](repeating: 0, count: movies * k), b = [Float](repeating: 0, count: movies)
        for m in 0..<movies {
            for f in 0..<k { q[m * k + f] = Float(rng.nextGaussian()); rows[m * w + f] = q[m * k + f] }
            b[m] = Float(rng.nextGaussian() * 0.3)
            rows[m * w + k] = 1
            rows[m * w + k + 1] = b[m]
        }
        let partners: [Int32] = (0..<n).map { Int32(($0 * 5) % movies) }
        let ratings = (0..<n).map { _ in Float(1 + rng.next() % 5) }
        let residual = ratings.map { $0 - Float(mu) }
        let rhs = try solveOneRow(fixed: rows, partners: partners, residual: residual, rank: k, lambda: lambda, jointBias: true)

        let d = k + 1
        var a = [[Double]](repeating: [Double](repeating: 0, count: d + 1), count: d)
        func feature(_ t: Int, _ i: Int) -> Double { i < k ? Double(q[Int(partners[t]) * k + i]) : 1 }
        for i in 0..<d {
            for j in 0..<d { for t in 0..<n { a[i][j] += feature(t, i) * feature(t, j) } }
            a[i][i] += lambda * Double(n)
            for t in 0..<n { a[i][d] += feature(t, i) * (Double(ratings[t]) - mu - Double(b[Int(partners[t])])) }
        }
        let x = Self.solveByElimination(a)
        for f in 0..<d { XCTAssertEqual(Double(rhs[f]), x[f], accuracy: 1e-5 * max(1, abs(x[f]))) }

        let folded = try q.withUnsafeBufferPointer { qp in
            try b.withUnsafeBufferPointer { bp in
                try FoldIn.customer(ratings: (0..<n).map { (partners[$0], ratings[$0]) }, movieFactors: qp, movieBias: bp,
                                    globalMean: mu, rank: k, regularization: lambda)
            }
        }
        for f in 0..<k { XCTAssertEqual(Double(folded.factors[f]), x[f], accuracy: 1e-5 * max(1, abs(x[f]))) }
        XCTAssertEqual(Double(folded.bias), x[k], accuracy: 1e-5)
    }

    /// Planted μ + b_u + b_i + p·q + N(0, 0.1²): learning the biases jointly
    /// recovers the model, so the held-out RMSE comes close to the noise; with
    /// the damped biases fixed, their errors stay in the residual.
    func testJointBiasesRecoverAPlantedBiasedModel() throws {
        let (train, test, sigma) = planted(customers: 300, movies: 200, rank: 3, density: 0.4, sigma: 0.1, seed: 21, biased: true)
        var config = ALSConfiguration()
        config.rank = 3
        config.regularization = 0.005
        config.iterations = 15
        let biases = BiasModel(fitting: train)
        let rmse = { (model: FactorModel) in Self.rmse(model, on: test) }
        config.biases = .joint
        let joint = rmse(try ALSTrainer(config).fit(train, biases: biases))
        config.biases = .fixed
        let fixed = rmse(try ALSTrainer(config).fit(train, biases: biases))
        XCTAssertLessThan(joint, sigma * 1.15, "joint \(joint), fixed \(fixed), noise \(sigma)")
        XCTAssertLessThan(joint, fixed)
    }

    /// Yesterday's matrix: today's first `customers` customers, each with the first
    /// `kept(n)` of their n ratings.
    static func earlier(_ all: RatingMatrix, customers: Int, kept: (Int) -> Int) -> RatingMatrix {
        var old: [RatingMatrix.Entry] = []
        for c in 0..<customers {
            let first = all.customerStart[c], n = all.customerStart[c + 1] - first
            for s in first..<(first + kept(n)) {
                old.append(.init(customer: Int32(c), movie: all.customerMovie[s], rating: all.customerRating[s], day: 0))
            }
        }
        return RatingMatrix(customerIDs: Array(all.customerIDs.prefix(customers)), movieIDs: all.movieIDs, entries: old)
    }

    /// The warm-start tests' common start: rank 3, joint biases, 15 iterations; yesterday's
    /// model, today's biases and a full fit's test RMSE on today's matrix.
    static func yesterdayAndFullFit(_ yesterday: RatingMatrix, today all: RatingMatrix, test: [RatingMatrix.Entry]) throws
        -> (ALSConfiguration, FactorModel, BiasModel, Double) {
        var config = ALSConfiguration()
        (config.rank, config.regularization, config.iterations, config.biases) = (3, 0.005, 15, .joint)
        let previous = try ALSTrainer(config).fit(yesterday, biases: BiasModel(fitting: yesterday))
        let biases = BiasModel(fitting: all)
        return (config, previous, biases, rmse(try ALSTrainer(config).fit(all, biases: biases), on: test))
    }

    /// A day of new ratings by customers the older model knows (plus 2 % new ones): the
    /// warm start's customers continue from their old factors by CG from the first sweep,
    /// and two iterations land within 0.5 % of a full 15-iteration fit.
    func testAWarmStartOfKnownCustomersContinuesThemByConjugateGradient() throws {
        let (all, test, _) = planted(customers: 400, movies: 200, rank: 3, density: 0.4, sigma: 0.1, seed: 37, biased: true)
        // Yesterday: customers 1…392, and each customer's last fifth of ratings had not arrived.
        let yesterday = Self.earlier(all, customers: 392) { $0 * 4 / 5 }
        var config: ALSConfiguration
        let previous: FactorModel, biases: BiasModel, full: Double
        (config, previous, biases, full) = try Self.yesterdayAndFullFit(yesterday, today: all, test: test)
        config.iterations = 2
        let warm = Self.rmse(try ALSTrainer(config).fit(all, biases: biases, start: previous), on: test)
        config.solver = .cholesky
        let exact = Self.rmse(try ALSTrainer(config).fit(all, biases: biases, start: previous), on: test)
        XCTAssertLessThan(warm, full * 1.005, "warm \(warm), full \(full), exact warm \(exact)")
        XCTAssertEqual(warm, exact, accuracy: exact * 0.005)
    }

    /// The warehouse grew (a third more customers): two warm-started ALS
    /// iterations from yesterday's model reach what a full 15-iteration fit
    /// reaches and beat two cold ones; SGD from its own older model gets within
    /// 5 % of a full fit in a third of the epochs.
    func testAWarmStartFromAnOlderModelReplacesAFullFit() throws {
        let (all, test, _) = planted(customers: 400, movies: 200, rank: 3, density: 0.4, sigma: 0.1, seed: 31, biased: true)
        // Yesterday: the first 300 customers only (ids 1…300; today's matrix holds ids 1…400).
        let yesterday = Self.earlier(all, customers: 300) { $0 }
        var config: ALSConfiguration
        let previous: FactorModel, biases: BiasModel, full: Double
        (config, previous, biases, full) = try Self.yesterdayAndFullFit(yesterday, today: all, test: test)
        config.iterations = 2
        let warm = Self.rmse(try ALSTrainer(config).fit(all, biases: biases, start: previous), on: test)
        let cold = Self.rmse(try ALSTrainer(config).fit(all, biases: biases), on: test)
        XCTAssertLessThan(warm, full * 1.01, "warm \(warm), full \(full), cold \(cold)")
        XCTAssertLessThan(warm, cold * 0.9)
        config.rank = 4
        XCTAssertThrowsError(try ALSTrainer(config).fit(all, biases: biases, start: previous))

        var sgd = SGDConfiguration()
        (sgd.rank, sgd.epochs) = (3, 30)
        let sgdPrevious = try SGDTrainer(sgd).fit(yesterday, biases: BiasModel(fitting: yesterday))
        let sgdFull = Self.rmse(try SGDTrainer(sgd).fit(all, biases: biases), on: test)
        sgd.epochs = 10   // a third of the full fit: the new customers start from scratch
        let sgdWarm = Self.rmse(try SGDTrainer(sgd).fit(all, biases: biases, start: sgdPrevious), on: test)
        let sgdCold = Self.rmse(try SGDTrainer(sgd).fit(all, biases: biases), on: test)
        XCTAssertLessThan(sgdWarm, sgdCold, "warm \(sgdWarm), full \(sgdFull), cold \(sgdCold)")
        XCTAssertLessThan(sgdWarm, sgdFull * 1.05, "warm \(sgdWarm), full \(sgdFull), cold \(sgdCold)")
    }

    /// Planted rank-3 structure plus N(0, 0.1²) noise on 40 % of a 300 × 200
    /// matrix; ALS at rank 3 must predict held-out entries to within 15 % of the
    /// noise level (the best any model can do is the noise itself; the
    /// estimation error of k = 3 factors from ~50 ratings per row adds about
    /// 5 %). The baseline is the known μ = 3 with zero biases, so the test
    /// measures the factorization alone: biases fitted to a rank-3 matrix
    /// would leave a rank-5 residual.
    func testRecoversPlantedLowRankStructure() throws {
        let (train, test, sigma) = planted(customers: 300, movies: 200, rank: 3, density: 0.4, sigma: 0.1, seed: 3)
        var config = ALSConfiguration()
        config.rank = 3
        config.regularization = 0.01
        config.iterations = 15
        config.biases = .fixed
        let biases = BiasModel(globalMean: 3, customerBias: .init(repeating: 0, count: train.customerCount),
                               movieBias: .init(repeating: 0, count: train.movieCount))
        var rmse: [Double] = []
        let model = try ALSTrainer(config).fit(train, biases: biases) { rmse.append($0.trainRMSE) }
        XCTAssertEqual(rmse.count, 15)
        XCTAssertLessThan(rmse.last!, rmse.first!)
        let testRMSE = Self.rmse(model, on: test)
        XCTAssertLessThan(testRMSE, sigma * 1.15, "test RMSE \(testRMSE) vs noise \(sigma)")
    }

    func testSameSeedSameBitsOnAnyThreadCount() throws {
        let (train, _, _) = planted(customers: 120, movies: 80, rank: 4, density: 0.3, sigma: 0.2, seed: 8)
        let biases = BiasModel(fitting: train)
        var config = ALSConfiguration()
        config.rank = 4
        config.iterations = 3
        config.threads = 1
        let one = try ALSTrainer(config).fit(train, biases: biases)
        config.threads = 2
        let two = try ALSTrainer(config).fit(train, biases: biases)
        XCTAssertEqual(one.customerFactors, two.customerFactors)
        XCTAssertEqual(one.movieFactors, two.movieFactors)
        config.seed = 43
        let other = try ALSTrainer(config).fit(train, biases: biases)
        XCTAssertNotEqual(one.movieFactors, other.movieFactors)
    }

    /// The conjugate-gradient solver against the exact Cholesky path on the
    /// same planted biased data, rank 8 (a 9-unknown row): after the same 10
    /// iterations the test RMSE is within 0.3 % of Cholesky's, both near the
    /// noise; its bits do not depend on the thread count; and with as many
    /// steps as unknowns one CG sweep from the exact solution stays on it.
    func testConjugateGradientFitsAsTheCholeskyPathDoes() throws {
        let (train, test, sigma) = planted(customers: 400, movies: 250, rank: 8, density: 0.3, sigma: 0.2, seed: 41, biased: true)
        let biases = BiasModel(fitting: train)
        var config = ALSConfiguration()
        (config.rank, config.regularization, config.iterations, config.biases) = (8, 0.02, 10, .joint)
        config.solver = .cholesky
        let exact = try ALSTrainer(config).fit(train, biases: biases)
        config.solver = .cg
        let cg = try ALSTrainer(config).fit(train, biases: biases)
        let exactRMSE = Self.rmse(exact, on: test), cgRMSE = Self.rmse(cg, on: test)
        XCTAssertLessThan(abs(cgRMSE - exactRMSE) / exactRMSE, 0.003, "cg \(cgRMSE), cholesky \(exactRMSE)")
        XCTAssertLessThan(cgRMSE, sigma * 1.3, "cg \(cgRMSE) against the noise \(sigma)")
        XCTAssertNotEqual(cg.movieFactors, exact.movieFactors, "the cg path really ran")
        config.threads = 1
        let one = try ALSTrainer(config).fit(train, biases: biases)
        XCTAssertEqual(one.customerFactors, cg.customerFactors)
        XCTAssertEqual(one.movieFactors, cg.movieFactors)

        // One customer half-sweep by CG (9 steps for 9 unknowns) from the exact solution moves it by rounding only.
        let k = 8, width = k + 2
        var movieRows = [Float](repeating: 0, count: train.movieCount * width)
        for m in 0..<train.movieCount {
            for f in 0..<k { movieRows[m * width + f] = exact.movieFactors[m * k + f] }
            movieRows[m * width + k] = 1
            movieRows[m * width + k + 1] = exact.movieBias[m]
        }
        var residual = [Float](repeating: 0, count: train.count)
        for c in 0..<train.customerCount {
            for s in train.customerStart[c]..<train.customerStart[c + 1] { residual[s] = Float(Double(train.customerRating[s]) - biases.globalMean) }
        }
        var sweep = HalfSweep(rows: train.customerCount, start: train.customerStart, partner: train.customerMovie, residual: residual,
                              rank: k, regularization: config.regularization, threads: 2, jointBias: true)
        var solved = [Float](repeating: 0, count: train.customerCount * width)
        try sweep.solve(fixed: movieRows, into: &solved)
        var again = solved
        sweep.solver = .conjugateGradient(steps: 9)
        try sweep.solve(fixed: movieRows, into: &again)
        for i in solved.indices { XCTAssertEqual(again[i], solved[i], accuracy: 1e-4 * max(1, abs(solved[i])), "entry \(i)") }
        // And from zero, nine steps reach the exact solution too (to float rounding).
        var fromZero = [Float](repeating: 0, count: solved.count)
        try sweep.solve(fixed: movieRows, into: &fromZero)
        for i in solved.indices { XCTAssertEqual(fromZero[i], solved[i], accuracy: 2e-3 * max(1, abs(solved[i])), "entry \(i)") }
    }

    /// The shared CG kernel on one system wider than 64 unknowns (its sums in
    /// memory, not registers), with weights, a dense term and a ridge: run to
    /// as many steps as unknowns it reaches the Cholesky solution in double.
    func testTheConjugateGradientKernelSolvesAWideWeightedSystem() throws {
        let k = 70, n = 300, width = ConjugateGradient.width(unknowns: k), ridge: Float = 0.7
        XCTAssertEqual(width, 72)
        var generator = SeededGenerator(seed: 19)
        let scratch = ConjugateGradient.Scratch(width: width)
        scratch.reserve(n)
        var a = [Double](repeating: 0, count: k * k), b = [Double](repeating: 0, count: k)
        var dense = [Float](repeating: 0, count: width * width)
        for i in 0..<k { dense[i * width + i] = 2 }
        for j in 0..<n {
            let weight = Float(0.5 + Double(j % 7) / 7), target = Float(generator.nextGaussian())
            scratch.weights[j] = weight
            scratch.targets[j] = target
            for f in 0..<width { scratch.block[j * width + f] = f < k ? Float(generator.nextGaussian()) * 0.3 : 0 }
            for f in 0..<k {
                b[f] += Double(target) * Double(scratch.block[j * width + f])
                for g in 0..<k { a[f * k + g] += Double(weight) * Double(scratch.block[j * width + f]) * Double(scratch.block[j * width + g]) }
            }
        }
        for f in 0..<k { a[f * k + f] += 2 + Double(ridge) }
        for f in 0..<width { scratch.x[f] = 0 }
        ConjugateGradient.solve(block: scratch.block, n: n, width: width, targets: scratch.targets, weights: scratch.weights,
                                ridge: ridge, dense: dense, steps: 2 * k, scratch: scratch)
        try Linalg.choleskySolve(n: k, a: &a, b: &b)
        let scale = b.map(abs).max()!
        for f in 0..<k { XCTAssertEqual(Double(scratch.x[f]), b[f], accuracy: 1e-3 * scale, "unknown \(f)") }
        for f in k..<width { XCTAssertEqual(scratch.x[f], 0, "padding stays zero") }
    }

    func testOldParametersWithoutASolverReadAsCholesky() throws {
        let old = #"{"biases":"joint","iterations":10,"rank":10,"regularization":0.05,"seed":42,"threads":2}"#
        let config = try JSON.decode(ALSConfiguration.self, from: old)
        XCTAssertEqual(config.solver, .cholesky)
        XCTAssertEqual(config.cgSteps, 3)
        var cg = config
        cg.solver = .cg
        XCTAssertEqual(try JSON.decode(ALSConfiguration.self, from: cg.json), cg)
        cg.cgSteps = 0
        XCTAssertThrowsError(try cg.validate())
    }

    func testInvalidConfigurationIsRefused() {
        var config = ALSConfiguration()
        config.rank = 0
        XCTAssertThrowsError(try config.validate())
        config.rank = 5
        config.regularization = 0
        XCTAssertThrowsError(try config.validate())
    }

    // MARK: Helpers

    /// One row's solve by a one-row `HalfSweep` over `partners`: the row's
    /// unknowns (k factors, then the bias in joint mode).
    private func solveOneRow(fixed: [Float], partners: [Int32], residual: [Float], rank k: Int, lambda: Double,
                             jointBias: Bool = false) throws -> [Float] {
        let n = partners.count, d = jointBias ? k + 1 : k
        let sweep = HalfSweep(rows: 1, start: [0, n], partner: partners, residual: residual, rank: k,
                              regularization: lambda, threads: 1, jointBias: jointBias)
        var gathered = [Float](repeating: 0, count: n * d), targets = [Float](repeating: 0, count: n)
        var normal = [Float](repeating: 0, count: d * d), rhs = [Float](repeating: 0, count: d)
        try sweep.solveRow(0, fixed: fixed, gathered: &gathered, targets: &targets, normal: &normal, rhs: &rhs)
        return rhs
    }

    /// The solution of the d × (d + 1) augmented system [A | b], in double
    /// precision, by Gaussian elimination without pivoting (A is SPD).
    static func solveByElimination(_ augmented: [[Double]]) -> [Double] {
        var a = augmented
        let d = a.count
        for col in 0..<d {
            for row in (col + 1)..<d {
                let factor = a[row][col] / a[col][col]
                for j in col...d { a[row][j] -= factor * a[col][j] }
            }
        }
        return backSubstitute(a, a.map { $0[d] }, unknowns: d)
    }

    /// x with R x = b, R the upper triangle of the first `unknowns` rows and columns of `a`.
    static func backSubstitute(_ a: [[Double]], _ b: [Double], unknowns d: Int) -> [Double] {
        var x = [Double](repeating: 0, count: d)
        for i in stride(from: d - 1, through: 0, by: -1) {
            var s = b[i]
            for j in (i + 1)..<d { s -= a[i][j] * x[j] }
            x[i] = s / a[i][i]
        }
        return x
    }

    /// The unclipped RMSE of `model` on `test`.
    static func rmse(_ model: FactorModel, on test: [RatingMatrix.Entry]) -> Double {
        var squared = 0.0
        for e in test {
            let error = model.score(customer: Int(e.customer), movie: Int(e.movie)) - Double(e.rating)
            squared += error * error
        }
        return (squared / Double(test.count)).squareRoot()
    }

    /// Ratings 3 + p·q + noise, split 80/20 at random.
    private func planted(customers: Int, movies: Int, rank: Int, density: Double, sigma: Double, seed: UInt64,
                         biased: Bool = false) -> (RatingMatrix, [RatingMatrix.Entry], Double) {
        var rng = SeededGenerator(seed: seed)
        let p = (0..<(customers * rank)).map { _ in rng.nextGaussian() * 0.7 }
        let q = (0..<(movies * rank)).map { _ in rng.nextGaussian() * 0.7 }
        let bu = (0..<customers).map { _ in biased ? rng.nextGaussian() * 0.4 : 0 }
        let bi = (0..<movies).map { _ in biased ? rng.nextGaussian() * 0.5 : 0 }
        var train: [RatingMatrix.Entry] = [], test: [RatingMatrix.Entry] = []
        for c in 0..<customers {
            for m in 0..<movies where Double(rng.next() >> 11) / Double(1 << 53) < density {
                var value = 3.0 + bu[c] + bi[m]
                for f in 0..<rank { value += p[c * rank + f] * q[m * rank + f] }
                value += rng.nextGaussian() * sigma
                let entry = RatingMatrix.Entry(customer: Int32(c), movie: Int32(m), rating: Float(value), day: 0)
                if rng.next() % 5 == 0 { test.append(entry) } else { train.append(entry) }
            }
        }
        let ids = { (n: Int) in (0..<n).map { Int64($0 + 1) } }
        return (RatingMatrix(customerIDs: ids(customers), movieIDs: ids(movies), entries: train), test, sigma)
    }
}
