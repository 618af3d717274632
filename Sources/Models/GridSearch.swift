import Features
import Foundation

/// A grid of parameter values, written `"rank=10,20;reg=0.01,0.1;iterations=10,20"`:
/// axes separated by `;`, values by `,`, every key one the model knows.
public struct ParameterGrid: Sendable, Equatable {
    public struct Axis: Sendable, Equatable {
        public var key: String
        public var values: [Double]
    }

    public var axes: [Axis]

    /// - Parameter base: the configuration the grid varies; every value is
    ///   checked by setting it there (the trainer's ranges are its own).
    public init(_ spec: String, varying base: ModelConfiguration) throws {
        var axes: [Axis] = []
        for part in spec.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, !pieces[0].isEmpty else { throw GridError("`\(part)` is not key=value,value,…") }
            let key = pieces[0]
            guard base.kind.gridKeys.contains(key) else {
                throw GridError("unknown key `\(key)`; this model's keys are \(base.kind.gridKeys.joined(separator: ", "))")
            }
            guard !axes.contains(where: { $0.key == key }) else { throw GridError("`\(key)` is given twice") }
            var values: [Double] = []
            for text in pieces[1].split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let value = Double(text), value.isFinite else { throw GridError("`\(text)` (for \(key)) is not a number") }
                var probe = base
                do { try probe.set(key, value) } catch { throw GridError("\(key)=\(text): \(error)") }
                if !values.contains(value) { values.append(value) }
            }
            guard !values.isEmpty else { throw GridError("`\(key)` has no values") }
            axes.append(Axis(key: key, values: values))
        }
        guard !axes.isEmpty else { throw GridError("the grid is empty; write e.g. \"rank=10,20;reg=0.01,0.1\"") }
        self.axes = axes
    }

    /// Number of candidates.
    public var size: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// The training runs the grid needs: every combination of the axes other
    /// than `budgetKey` (in the order given), each with the sorted budgets to
    /// score it at — iteration counts share one run.
    public func runs(budgetKey: String?) -> [(parameters: [String: Double], budgets: [Int])] {
        let budgets = axes.first { $0.key == budgetKey }.map { $0.values.map { Int($0) }.sorted() } ?? []
        var combinations: [[String: Double]] = [[:]]
        for axis in axes where axis.key != budgetKey {
            combinations = combinations.flatMap { partial in axis.values.map { partial.merging([axis.key: $0]) { $1 } } }
        }
        return combinations.map { ($0, budgets) }
    }
}

public struct GridError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ text: String) { description = "invalid grid: \(text)" }
}

/// One scored candidate of a grid search.
/// What a grid search selects by.
public enum GridObjective: Sendable, Equatable {
    /// The lowest validation RMSE (rating models).
    case rmse
    /// The highest NDCG@k of the validation top-k lists (any model; the only choice for a ranking model).
    case ndcg(k: Int)

    /// `rmse` or `ndcg@K`.
    public init?(_ text: String) {
        if text == "rmse" { self = .rmse; return }
        guard text.hasPrefix("ndcg@"), let k = Int(text.dropFirst(5)), (1...1000).contains(k) else { return nil }
        self = .ndcg(k: k)
    }

    public var name: String {
        switch self {
        case .rmse: return "rmse"
        case .ndcg(let k): return "ndcg@\(k)"
        }
    }
}

public struct GridCandidate: Sendable, Encodable {
    /// Every parameter of the candidate, the budget (iterations, epochs) included.
    public var parameters: [String: Double]
    /// On the validation part, or pooled over the cross-validation folds; nil for a ranking model.
    public var metrics: Metrics?
    /// Selecting by NDCG: the validation lists' metrics (customer-weighted over the folds).
    public var ranking: RankingMetrics?
    /// Training time to reach this candidate (per fold, summed), evaluation excluded.
    public var fitSeconds: Double
}

/// Grid search scored on the validation part, or by K-fold cross-validation
/// inside the train part. The test part is not an argument: it cannot
/// influence the choice.
public enum GridSearch {
    /// Trains one run: `parameters` without the budget key, scored at each of
    /// `budgets` (or once, at the end, when there are none) through `snapshot`.
    public typealias Fit = (_ parameters: [String: Double], _ budgets: [Int], _ train: RatingMatrix,
                            _ snapshot: @escaping (_ budget: Int?, _ model: FactorModel) -> Void) throws -> Void

    /// Scores every candidate of `grid`; returns them best first by `objective`
    /// (lowest RMSE, or highest NDCG@k of the validation lists). A ranking
    /// model (`predictsRatings` false) has no rating metrics.
    /// - Parameters:
    ///   - folds: 0 or 1 for the validation part; K ≥ 2 for K-fold cross-validation on `train`
    ///     (folds by a seeded hash of the pair; metrics pooled over the folds).
    ///   - progress: (candidates done, candidates in all, the latest candidate).
    public static func run(_ grid: ParameterGrid, budgetKey: String?, train: RatingMatrix, validation: HeldOutRatings,
                           folds: Int, seed: UInt64, objective: GridObjective = .rmse, predictsRatings: Bool = true, fit: Fit,
                           progress: (Int, Int, GridCandidate) -> Void = { _, _, _ in }) throws -> [GridCandidate] {
        let runs = grid.runs(budgetKey: budgetKey)
        // (train, held-out) per fold.
        var sets: [(RatingMatrix, HeldOutRatings)] = []
        if folds >= 2 {
            let assignment = Splitter.folds(train, count: folds, seed: seed)
            for f in 0..<folds {
                let parts = assignment.map { $0 == UInt8(f) ? Split.Part.test : Split.Part.train }
                let split = train.partitioned(by: parts)
                sets.append((split.train, split.test))
            }
        } else {
            guard validation.count > 0 else {
                throw GridError("the validation part holds no ratings, so no candidate can be scored; make a split with one (`recsys features --validation-fraction 0.05`) or score by --folds K")
            }
            sets = [(train, validation)]
        }
        var done = 0
        var candidates: [GridCandidate] = []
        for run in runs {
            // Per budget: pooled sums over the folds.
            struct Pool {
                var squared = 0.0, absolute = 0.0, relative = 0.0, n = 0, fallbacks = 0, seconds = 0.0
                // Ranking sums, each weighted by its fold's customers.
                var precision = 0.0, recall = 0.0, ndcg = 0.0, map = 0.0, hitRate = 0.0, coverage = 0.0, popularity = 0.0, customers = 0
            }
            var pools: [Int: Pool] = [:]
            for (foldTrain, heldOut) in sets {
                let started = Date()
                var evaluating = 0.0
                try fit(run.parameters, run.budgets, foldTrain) { budget, model in
                    let t = Date()
                    var pool = pools[budget ?? -1] ?? Pool()
                    if predictsRatings {
                        guard let m = Evaluation.metrics(model, on: heldOut, trainedOn: foldTrain) else { return }
                        pool.squared += m.mse * Double(m.n)
                        pool.absolute += m.mae * Double(m.n)
                        pool.relative += m.mape * Double(m.n)
                        pool.n += m.n
                        pool.fallbacks += m.fallbacks
                    }
                    if case .ndcg(let k) = objective {
                        let r = Ranking.evaluate(model, on: heldOut, trainedOn: foldTrain, k: k, threshold: Ranking.defaultThreshold)
                        let w = Double(r.customers)
                        pool.precision += r.precision * w; pool.recall += r.recall * w; pool.ndcg += r.ndcg * w
                        pool.map += r.map * w; pool.hitRate += r.hitRate * w; pool.coverage += r.coverage * w
                        pool.popularity += r.meanPopularity * w; pool.customers += r.customers
                    }
                    pool.seconds += t.timeIntervalSince(started) - evaluating
                    pools[budget ?? -1] = pool
                    evaluating += Date().timeIntervalSince(t)
                }
            }
            for budget in (run.budgets.isEmpty ? [-1] : run.budgets) {
                guard let pool = pools[budget] else { throw GridError("the trainer scored no model at \(budgetKey ?? "the end") = \(budget)") }
                let n = Double(max(pool.n, 1))
                var parameters = run.parameters
                if budget >= 0, let key = budgetKey { parameters[key] = Double(budget) }
                let c = Double(max(pool.customers, 1))
                var ranking: RankingMetrics?
                if case .ndcg(let k) = objective {
                    ranking = RankingMetrics(k: k, threshold: Ranking.defaultThreshold, precision: pool.precision / c, recall: pool.recall / c,
                                             ndcg: pool.ndcg / c, map: pool.map / c, hitRate: pool.hitRate / c, coverage: pool.coverage / c,
                                             meanPopularity: pool.popularity / c, customers: pool.customers)
                }
                let candidate = GridCandidate(
                    parameters: parameters,
                    metrics: predictsRatings ? Metrics(rmse: (pool.squared / n).squareRoot(), mae: pool.absolute / n, mape: pool.relative / n,
                                                       mse: pool.squared / n, n: pool.n, fallbacks: pool.fallbacks) : nil,
                    ranking: ranking, fitSeconds: pool.seconds)
                candidates.append(candidate)
                done += 1
                progress(done, grid.size, candidate)
            }
        }
        switch objective {
        case .rmse: return candidates.sorted { ($0.metrics?.rmse ?? .infinity) < ($1.metrics?.rmse ?? .infinity) }
        // Stable: of equal NDCG, the earlier candidate stays first.
        case .ndcg: return candidates.enumerated().sorted { ($0.element.ranking!.ndcg, -$0.offset) > ($1.element.ranking!.ndcg, -$1.offset) }.map(\.element)
        }
    }
}
