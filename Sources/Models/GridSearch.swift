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
public struct GridCandidate: Sendable, Encodable {
    /// Every parameter of the candidate, the budget (iterations, epochs) included.
    public var parameters: [String: Double]
    /// On the validation part, or pooled over the cross-validation folds.
    public var metrics: Metrics
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

    /// Scores every candidate of `grid`; returns them best first (lowest RMSE).
    /// - Parameters:
    ///   - folds: 0 or 1 for the validation part; K ≥ 2 for K-fold cross-validation on `train`
    ///     (folds by a seeded hash of the pair; metrics pooled over the folds).
    ///   - progress: (candidates done, candidates in all, the latest candidate).
    public static func run(_ grid: ParameterGrid, budgetKey: String?, train: RatingMatrix, validation: HeldOutRatings,
                           folds: Int, seed: UInt64, fit: Fit,
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
            struct Pool { var squared = 0.0, absolute = 0.0, relative = 0.0, n = 0, fallbacks = 0, seconds = 0.0 }
            var pools: [Int: Pool] = [:]
            for (foldTrain, heldOut) in sets {
                let started = Date()
                var evaluating = 0.0
                try fit(run.parameters, run.budgets, foldTrain) { budget, model in
                    let t = Date()
                    guard let m = Evaluation.metrics(model, on: heldOut, trainedOn: foldTrain) else { return }
                    var pool = pools[budget ?? -1] ?? Pool()
                    pool.squared += m.mse * Double(m.n)
                    pool.absolute += m.mae * Double(m.n)
                    pool.relative += m.mape * Double(m.n)
                    pool.n += m.n
                    pool.fallbacks += m.fallbacks
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
                let candidate = GridCandidate(
                    parameters: parameters,
                    metrics: Metrics(rmse: (pool.squared / n).squareRoot(), mae: pool.absolute / n, mape: pool.relative / n,
                                     mse: pool.squared / n, n: pool.n, fallbacks: pool.fallbacks),
                    fitSeconds: pool.seconds)
                candidates.append(candidate)
                done += 1
                progress(done, grid.size, candidate)
            }
        }
        return candidates.sorted { $0.metrics.rmse < $1.metrics.rmse }
    }
}
