import Features
import Runtime
import XCTest
@testable import Models

final class GridSearchTests: XCTestCase {
    /// A scale wide enough that clipping never touches the planted residuals.
    static let wide = Provenance(scale: RatingScale(minimum: -100, maximum: 100, step: 0.5))

    func testGridSpecsParseAndBadOnesAreNamed() throws {
        let grid = try ParameterGrid("rank=10,20; reg=0.01,0.1 ;iterations=10,20,10", varying: ModelKind.als.defaults)
        XCTAssertEqual(grid.axes.map(\.key), ["rank", "reg", "iterations"])
        XCTAssertEqual(grid.axes[2].values, [10, 20])
        XCTAssertEqual(grid.size, 8)
        let runs = grid.runs(budgetKey: "iterations")
        XCTAssertEqual(runs.count, 4, "iteration counts share a run")
        XCTAssertEqual(runs[0].budgets, [10, 20])
        XCTAssertEqual(runs.map { $0.parameters["rank"]! }, [10, 10, 20, 20])
        XCTAssertEqual(grid.runs(budgetKey: nil).count, 8, "without a budget key every combination is a run")
        func message(_ spec: String) -> String {
            do { _ = try ParameterGrid(spec, varying: ModelKind.als.defaults); return "" } catch { return String(describing: error) }
        }
        XCTAssertEqual(message("rank=10;lr=0.1"), "invalid grid: unknown key `lr`; this model's keys are iterations, rank, reg")
        XCTAssertEqual(message("rank=ten"), "invalid grid: `ten` (for rank) is not a number")
        XCTAssertEqual(message("rank=0"), "invalid grid: rank=0: invalid ALS configuration: rank must be 1…1000, got 0")
        XCTAssertEqual(message("rank=2.5"), "invalid grid: rank=2.5: rank must be a whole number, got 2.5")
        XCTAssertEqual(message("rank"), "invalid grid: `rank` is not key=value,value,…")
        XCTAssertEqual(message(""), "invalid grid: the grid is empty; write e.g. \"rank=10,20;reg=0.01,0.1\"")
        XCTAssertEqual(message("rank=1;rank=2"), "invalid grid: `rank` is given twice")
    }

    /// Planted rank 3: the grid over ranks 1…5 picks 3 (or a neighbour with a
    /// near-equal score), and scoring several iteration counts from one run
    /// gives exactly the scores of separate runs with those counts.
    func testPicksThePlantedRankAndBudgetsReuseOneRun() throws {
        let (train, validation, test) = planted(seed: 4)
        let grid = try ParameterGrid("rank=1,3,5;reg=0.01;iterations=3,6", varying: ModelKind.als.defaults)
        var runs = 0
        let fit: GridSearch.Fit = { params, budgets, matrix, snapshot in
            runs += 1
            var c = try ModelKind.als.defaults.setting(params)
            c.threads = 2
            _ = try c.fit(matrix, biases: BiasModel(fitting: matrix), provenance: Self.wide, snapshots: Set(budgets),
                          snapshot: { snapshot($0, $1) })
        }
        let candidates = try GridSearch.run(grid, budgetKey: "iterations", train: train, validation: validation, folds: 0, seed: 1, fit: fit)
        XCTAssertEqual(runs, 3)
        XCTAssertEqual(candidates.count, 6)
        XCTAssertEqual(candidates[0].parameters["rank"], 3)
        XCTAssertEqual(candidates.map(\.metrics!.rmse), candidates.map(\.metrics!.rmse).sorted())

        // The 3-iteration score from the shared run equals a separate 3-iteration run.
        var c = try ModelKind.als.defaults.setting(["rank": 3, "reg": 0.01, "iterations": 3])
        c.threads = 2
        let separate = try c.fit(train, biases: BiasModel(fitting: train), provenance: Self.wide)
        let shared = try XCTUnwrap(candidates.first { $0.parameters == ["rank": 3, "reg": 0.01, "iterations": 3] })
        XCTAssertEqual(shared.metrics!.rmse, try XCTUnwrap(Evaluation.metrics(separate, on: validation, trainedOn: train)).rmse, accuracy: 1e-12)
        _ = test
    }

    /// The search has no way to see the test part: its signature takes train and
    /// validation only. Changing the test part (here: dropping it) therefore
    /// changes nothing, while changing the validation part does change scores.
    func testTheTestPartCannotInfluenceTheChoice() throws {
        let (train, validation, _) = planted(seed: 6)
        let grid = try ParameterGrid("rank=2,4;iterations=3", varying: ModelKind.als.defaults)
        let fit: GridSearch.Fit = { params, budgets, matrix, snapshot in
            var c = try ModelKind.als.defaults.setting(params.merging(["iterations": 3]) { $1 })
            c.threads = 1
            _ = try c.fit(matrix, biases: BiasModel(fitting: matrix), provenance: Self.wide, snapshots: Set(budgets),
                          snapshot: { snapshot($0, $1) })
        }
        let a = try GridSearch.run(grid, budgetKey: "iterations", train: train, validation: validation, folds: 0, seed: 1, fit: fit)
        let b = try GridSearch.run(grid, budgetKey: "iterations", train: train, validation: validation, folds: 0, seed: 1, fit: fit)
        XCTAssertEqual(a.map(\.metrics!.rmse), b.map(\.metrics!.rmse))
        var other = validation
        other.rating = other.rating.map { $0 + 1 }
        let c = try GridSearch.run(grid, budgetKey: "iterations", train: train, validation: other, folds: 0, seed: 1, fit: fit)
        XCTAssertNotEqual(a.map(\.metrics!.rmse), c.map(\.metrics!.rmse))
        // Cross-validation pools every train rating exactly once.
        let cv = try GridSearch.run(grid, budgetKey: "iterations", train: train, validation: validation, folds: 4, seed: 1, fit: fit)
        XCTAssertEqual(cv.map(\.metrics!.n), [train.count, train.count])
    }

    /// 3 + b_u + b_i + rank-3 factors + N(0, 0.1²) on 40 % of 200 × 150, split 80/10/10.
    private func planted(seed: UInt64) -> (RatingMatrix, HeldOutRatings, HeldOutRatings) {
        var rng = SeededGenerator(seed: seed)
        let customers = 200, movies = 150, rank = 3
        let p = (0..<(customers * rank)).map { _ in rng.nextGaussian() * 0.7 }
        let q = (0..<(movies * rank)).map { _ in rng.nextGaussian() * 0.7 }
        var entries: [RatingMatrix.Entry] = []
        for c in 0..<customers {
            for m in 0..<movies where rng.next() % 5 < 2 {
                var value = 3.0
                for f in 0..<rank { value += p[c * rank + f] * q[m * rank + f] }
                entries.append(.init(customer: Int32(c), movie: Int32(m), rating: Float(value + 0.1 * rng.nextGaussian()), day: 0))
            }
        }
        let matrix = RatingMatrix(customerIDs: (0..<customers).map { Int64($0) }, movieIDs: (0..<movies).map { Int64($0) }, entries: entries)
        let parts = (0..<matrix.count).map { _ -> Split.Part in
            let r = rng.next() % 10
            return r == 0 ? .test : r == 1 ? .validation : .train
        }
        let split = matrix.partitioned(by: parts)
        return (split.train, split.validation, split.test)
    }
}

extension GridSearchTests {
    /// A ranking model's grid: no rating metrics, candidates best first by the
    /// validation lists' NDCG, each candidate's figures those of a separate fit.
    func testARankingGridSelectsByNDCG() throws {
        let (train, validation) = tasteRatings(customers: 120, perTaste: 15, blockbusters: 3, seen: 5, heldOut: 1, seed: 11)
        let grid = try ParameterGrid("lambda=1,30,3000", varying: ModelKind.ease.defaults)
        let fit: GridSearch.Fit = { params, _, matrix, snapshot in
            snapshot(nil, try ModelKind.ease.defaults.setting(params).fit(matrix, biases: BiasModel(fitting: matrix)))
        }
        let candidates = try GridSearch.run(grid, budgetKey: nil, train: train, validation: validation, folds: 0, seed: 1,
                                            objective: .ndcg(k: 5), predictsRatings: false, fit: fit)
        XCTAssertEqual(candidates.count, 3)
        XCTAssertTrue(candidates.allSatisfy { $0.metrics == nil })
        let ndcg = candidates.map { $0.ranking!.ndcg }
        XCTAssertEqual(ndcg, ndcg.sorted(by: >))
        for candidate in candidates {
            let alone = try ModelKind.ease.defaults.setting(candidate.parameters).fit(train, biases: BiasModel(fitting: train))
            let direct = Ranking.evaluate(alone, on: validation, trainedOn: train, k: 5, threshold: Ranking.defaultThreshold)
            let pooled = try XCTUnwrap(candidate.ranking)
            XCTAssertEqual(pooled.customers, direct.customers)
            // One fold: the pooled figures are the direct ones (up to the weight's rounding).
            for (a, b) in [(pooled.ndcg, direct.ndcg), (pooled.precision, direct.precision), (pooled.map, direct.map), (pooled.coverage, direct.coverage)] {
                XCTAssertEqual(a, b, accuracy: 1e-12)
            }
        }
        XCTAssertEqual(GridObjective("ndcg@10"), .ndcg(k: 10))
        XCTAssertEqual(GridObjective("rmse"), .rmse)
        XCTAssertNil(GridObjective("ndcg@0"))
        XCTAssertNil(GridObjective("mae"))
    }
}

