import Foundation
import Reports
import Models
import Warehouse

/// Everything `recsys evaluate --out` knows about one model (or baseline).
public struct EvaluatedModel: Encodable, Sendable {
    public var row: EvaluationRow
    public var runId: Int?
    public var customerDeciles: [DecileError] = []
    public var movieDeciles: [DecileError] = []
    public var distribution: RatingDistribution?
    /// The run's per-iteration log from model_runs (empty for baselines and runs without one).
    public var iterations: [TrainingStep] = []

    init(row: EvaluationRow, runId: Int?) {
        self.row = row
        self.runId = runId
    }
}

/// metrics.json of `recsys evaluate --out`.
public struct EvaluationDocument: Encodable, Sendable {
    public struct GridSearch: Encodable, Sendable {
        public struct Candidate: Encodable, Sendable {
            public var parameters: [String: Double]
            public var rmse: Double
            public var mae: Double?
        }
        public var gridId: String
        public var model: String
        /// validation or cross_validation.
        public var scoredOn: String
        public var candidates: [Candidate]

        init(_ grid: ModelRegistry.Grid) {
            gridId = grid.gridID
            model = grid.model
            var scored = "validation"
            candidates = grid.candidates.compactMap { params, metrics in
                // A candidate's row holds its whole configuration; the grid shows its grid keys.
                guard let p = try? ModelConfiguration(kind: grid.model, json: params).gridValues,
                      let m = try? JSONSerialization.jsonObject(with: Data(metrics.utf8)) as? [String: [String: Any]],
                      let (key, values) = m.first(where: { $0.key == "validation" || $0.key == "cross_validation" }),
                      let rmse = values["rmse"] as? Double else { return nil }
                scored = key
                return Candidate(parameters: p, rmse: rmse, mae: values["mae"] as? Double)
            }
            scoredOn = scored
        }
    }

    public var splitId: Int
    public var split: String
    public var dataVersion: String
    public var testRatings: Int
    public var trainRatings: Int
    public var rankingK: Int
    public var relevantAtLeast: Double
    public var models: [EvaluatedModel]
    public var grid: GridSearch?
    /// Every `recsys refresh` so far, oldest first.
    public var prequential: [ModelRegistry.PrequentialRecord] = []
}

/// The page of `recsys evaluate --out`.
public enum EvaluationReport {
    public static func page(_ d: EvaluationDocument) -> Report {
        var report = Report(title: "Model evaluation",
                            subtitle: "Test part of split \(d.splitId) (\(d.split)): \(Markup.grouped(d.testRatings)) ratings held out from \(Markup.grouped(d.trainRatings)) training ratings — data version \(d.dataVersion)")
        let rows = d.models.map(\.row)
        // Ranking models have no rating metrics: the accuracy section leaves them out.
        let accurate = rows.compactMap { row in row.metrics.map { (name: row.name, m: $0) } }
        let best = accurate.min { $0.m.rmse < $1.m.rmse }
        let bias = accurate.first { $0.name == "bias" }

        // Metrics.
        var blocks: [Report.Block] = []
        if let best {
            var facts: [(String, String)] = [("best model", best.name), ("its RMSE", String(format: "%.4f", best.m.rmse))]
            if let bias, best.name != "bias" {
                facts.append(("RMSE below the bias baseline", String(format: "%.2f %%", 100 * (bias.m.rmse - best.m.rmse) / bias.m.rmse)))
            }
            facts.append(("test ratings", Markup.grouped(d.testRatings)))
            blocks.append(.facts(facts))
        }
        blocks.append(.paragraph("Predictions are clipped to the rating scale. A test pair whose customer or movie had no training rating is answered by the baseline μ + b_u + b_i and counted as a fallback. global_mean predicts μ for everything; bias adds the damped customer and movie biases of the features."))
        blocks.append(.table(ReportTable(header: ["model", "RMSE", "MAE", "MAPE %", "MSE", "ratings", "fallbacks"],
                                         rows: accurate.map { [$0.name, String(format: "%.4f", $0.m.rmse), String(format: "%.4f", $0.m.mae),
                                                               String(format: "%.2f", $0.m.mape), String(format: "%.4f", $0.m.mse),
                                                               Markup.grouped($0.m.n), Markup.grouped($0.m.fallbacks)] })))
        blocks.append(.chart(BarChart(id: "rmse-by-model", title: "Test RMSE by model",
                                      summary: "Root mean squared error of each model and baseline on the test part (lower is better); bars start at zero.",
                                      xLabel: "model", yLabel: "RMSE",
                                      bars: accurate.map { .init(label: $0.name, value: $0.m.rmse, note: "\($0.name): RMSE \(String(format: "%.4f", $0.m.rmse)), MAE \(String(format: "%.4f", $0.m.mae))") })))
        report.sections.append(.init(title: "Accuracy", blocks: blocks))

        // Ranking.
        let ranked = rows.filter { $0.ranking != nil }
        if !ranked.isEmpty {
            let k = d.rankingK
            report.sections.append(.init(title: "Ranking quality", blocks: [
                .paragraph("Each test customer with at least one relevant test rating (≥ \(Markup.number(d.relevantAtLeast, decimals: 1))) gets the \(k) best-scored movies they did not rate in training, as recommend serves them. Precision@\(k) = hits / \(k); recall@\(k) = hits / relevant movies; NDCG@\(k) discounts each hit by log₂(position + 1) against the best possible order; MAP@\(k) averages the precision at each hit over min(\(k), relevant movies); hit rate is the share of customers with at least one hit; catalog coverage is the share of all movies shown to anyone; popularity is the mean number of training ratings of the movies shown (lower: more novel lists). popularity lists the most-rated movies the customer has not rated — the bar every ranking model must clear; global_mean is left out: every movie ties."),
                .table(ReportTable(header: ["model", "customers", "precision@\(k)", "recall@\(k)", "NDCG@\(k)", "MAP@\(k)", "hit rate", "catalog coverage", "popularity"],
                                   rows: ranked.map { r in
                                       let m = r.ranking!
                                       return [r.name, Markup.grouped(m.customers), String(format: "%.4f", m.precision), String(format: "%.4f", m.recall),
                                               String(format: "%.4f", m.ndcg), String(format: "%.4f", m.map), String(format: "%.4f", m.hitRate),
                                               String(format: "%.1f %%", 100 * m.coverage), String(format: "%.0f", m.meanPopularity)]
                                   }, numericColumns: [1, 2, 3, 4, 5, 6, 7, 8])),
                .chart(GroupedBarChart(id: "ranking", title: "Ranking quality at \(k)",
                                       summary: "Precision, recall and NDCG at \(k) and catalog coverage of each model's top-\(k) lists on the test part (higher is better).",
                                       xLabel: "measure", yLabel: "value",
                                       categories: ["precision@\(k)", "recall@\(k)", "NDCG@\(k)", "MAP@\(k)", "hit rate", "coverage"],
                                       series: ranked.map { r in
                                           let m = r.ranking!
                                           return .init(name: r.name, values: [m.precision, m.recall, m.ndcg, m.map, m.hitRate, m.coverage])
                                       })),
            ]))
        }

        // Distributions: the actual ratings and each model's (not global_mean: one bar).
        let shown = d.models.filter { $0.row.name != "global_mean" && $0.distribution != nil }
        if let first = shown.first?.distribution {
            let labels = first.values.map { $0 == $0.rounded() ? String(Int($0)) : String(format: "%.1f", $0) }
            var series = [GroupedBarChart.Series(name: "actual", values: first.actual.map(Double.init))]
            series += shown.map { .init(name: $0.row.name, values: $0.distribution!.predicted.map(Double.init)) }
            report.sections.append(.init(title: "Actual and predicted ratings", blocks: [
                .paragraph("How many test ratings have each value, beside how many predictions (clipped, rounded to the nearest value of the scale) each model makes there. Models regress toward the mean: they predict the extremes less often than customers give them."),
                .chart(GroupedBarChart(id: "rating-distribution", title: "Test ratings: actual against predicted",
                                       summary: "Count of test ratings at each value, and of each model's rounded predictions.",
                                       xLabel: "rating", yLabel: "ratings", categories: labels, series: series, decimals: 0)),
            ]))
        }

        // Deciles.
        for (grouping, title, who, key) in [(\EvaluatedModel.customerDeciles, "RMSE by customer activity", "customers", "customer-activity"),
                                            (\EvaluatedModel.movieDeciles, "RMSE by movie popularity", "movies", "movie-popularity")] {
            let models = d.models.filter { $0.row.name != "global_mean" && !$0[keyPath: grouping].isEmpty }
            guard let reference = models.first?[keyPath: grouping] else { continue }
            let categories = reference.map { "\($0.decile)" }
            let ranges = reference.map { $0.lowTrainRatings == $0.highTrainRatings ? "\($0.lowTrainRatings)" : "\($0.lowTrainRatings)–\($0.highTrainRatings)" }
            report.sections.append(.init(title: title, blocks: [
                .paragraph("The test \(who) ordered by their number of training ratings and cut into ten equal groups (decile 1: the fewest); each bar is a model's RMSE on the test ratings of that group. Training ratings per decile: \(zip(categories, ranges).map { "\($0) → \($1)" }.joined(separator: ", "))."),
                .chart(GroupedBarChart(id: "rmse-by-\(key)-decile", title: "\(title) decile",
                                       summary: "RMSE of each model on the test ratings of each decile of \(who) by training ratings (decile 1: the fewest).",
                                       xLabel: "decile of \(who) by training ratings", yLabel: "RMSE", categories: categories,
                                       series: models.map { .init(name: $0.row.name, values: $0[keyPath: grouping].map(\.rmse)) })),
            ]))
        }

        // Learning curves.
        let curves = d.models.filter { !$0.iterations.isEmpty }
        if !curves.isEmpty {
            var series: [MultiLineChart.Series] = []
            var colors: [Int] = []
            for (i, m) in curves.enumerated() {
                series.append(.init(name: "\(m.row.name) train", points: m.iterations.map { (Double($0.iteration), $0.trainRMSE) }, dashed: true))
                colors.append(i)
                let validation = m.iterations.compactMap { it in it.validationRMSE.map { (Double(it.iteration), $0) } }
                if !validation.isEmpty {
                    series.append(.init(name: "\(m.row.name) validation", points: validation))
                    colors.append(i)
                }
            }
            report.sections.append(.init(title: "Learning curves", blocks: [
                .paragraph("RMSE after each iteration (ALS sweep, SGD epoch) as train recorded it: on the training ratings (dashed) and on the validation part (solid). The gap between them is overfitting; a validation curve that turns up means too many iterations."),
                .chart(MultiLineChart(id: "learning-curves", title: "RMSE per iteration",
                                      summary: "Training and validation RMSE after each iteration of each model that has an iteration log.",
                                      xLabel: "iteration", yLabel: "RMSE", series: series, colorIndex: colors)),
            ]))
        }

        // Prequential: the models following the data, delta by delta.
        if !d.prequential.isEmpty {
            let points = d.prequential.enumerated()
            let series: [MultiLineChart.Series] = [
                .init(name: "before the refresh, on all new ratings", points: points.compactMap { i, p in p.before.map { (Double(i + 1), $0) } }, dashed: true),
                .init(name: "before, on the held-out new ratings", points: points.compactMap { i, p in p.beforeHeldOut.map { (Double(i + 1), $0) } }, dashed: true),
                .init(name: "after, on the held-out new ratings", points: points.compactMap { i, p in p.after.map { (Double(i + 1), $0) } }),
            ]
            func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "–" }
            report.sections.append(.init(title: "Models following the data", blocks: [
                .paragraph("Each run of recsys refresh: how well the model of the day before predicted the ratings that arrived since (prequential), and how well the refreshed version predicts the new ratings the split held out of the refresh."),
                .table(ReportTable(header: ["#", "run", "model", "new ratings", "RMSE before (all new)", "held out", "RMSE before (held out)", "RMSE after (held out)"],
                                   rows: d.prequential.enumerated().map { i, p in
                                       ["\(i + 1)", "\(p.refreshedFrom.map(String.init) ?? "?") → \(p.runId)", p.model, Markup.grouped(p.newRatings),
                                        f(p.before), Markup.grouped(p.heldOut), f(p.beforeHeldOut), f(p.after)]
                                   })),
                .chart(MultiLineChart(id: "prequential", title: "RMSE on each delta, before and after its refresh",
                                      summary: "Prequential RMSE over the successive refreshes.", xLabel: "refresh", yLabel: "RMSE",
                                      series: series, colorIndex: [0, 1, 1])),
            ]))
        }

        // Grid search.
        if let grid = d.grid, !grid.candidates.isEmpty {
            var blocks: [Report.Block] = []
            let keys = Set(grid.candidates.flatMap(\.parameters.keys))
            // Each key's distinct values, ascending.
            var values: [String: [Double]] = [:]
            for key in keys { values[key] = Array(Set(grid.candidates.compactMap { $0.parameters[key] })).sorted() }
            // The budget (iterations, epochs) is scored from one run: the other keys make the better axes.
            let budgets: Set<String> = ["iterations", "epochs"]
            let varying = keys.filter { values[$0]!.count > 1 }.sorted { a, b in
                if budgets.contains(a) != budgets.contains(b) { return !budgets.contains(a) }
                return values[a]!.count != values[b]!.count ? values[a]!.count > values[b]!.count : a < b
            }
            if let rowKey = varying.first {
                let columnKey = varying.dropFirst().first
                let rowValues = values[rowKey]!
                let columnValues = columnKey.map { values[$0]! } ?? [0]
                var cells = [Double?](repeating: nil, count: rowValues.count * columnValues.count)
                for c in grid.candidates {
                    guard let r = c.parameters[rowKey].flatMap({ rowValues.firstIndex(of: $0) }) else { continue }
                    let col = columnKey.map { c.parameters[$0].flatMap { columnValues.firstIndex(of: $0) } ?? 0 } ?? 0
                    let i = r * columnValues.count + col
                    cells[i] = min(cells[i] ?? .infinity, c.rmse)
                }
                let others = varying.dropFirst(2)
                blocks.append(.paragraph("Grid \(grid.gridId) (\(grid.model), \(grid.candidates.count) candidates), scored on \(grid.scoredOn == "validation" ? "the validation part" : "cross-validation folds of the train part") — never on the test part. Each cell is the RMSE at that \(rowKey)\(columnKey.map { " and \($0)" } ?? "")\(others.isEmpty ? "" : ", the best over \(others.joined(separator: ", "))"); darker is better."))
                blocks.append(.chart(Heatmap(id: "grid-heatmap", title: "Grid search: \(grid.scoredOn.replacingOccurrences(of: "_", with: "-")) RMSE",
                                             summary: "RMSE of the grid's candidates by \(rowKey)\(columnKey.map { " and \($0)" } ?? ""); the lowest is darkest.",
                                             rowLabel: rowKey, columnLabel: columnKey ?? "", valueLabel: "RMSE",
                                             rows: rowValues.map { Markup.data($0) },
                                             columns: columnValues.map { columnKey == nil ? "" : Markup.data($0) },
                                             values: cells)))
            }
            let sorted = grid.candidates.sorted { $0.rmse < $1.rmse }
            let names = keys.sorted()
            blocks.append(.table(ReportTable(header: ["#"] + names + ["RMSE", "MAE"],
                                             rows: sorted.enumerated().map { i, c in
                                                 [String(i + 1)] + names.map { c.parameters[$0].map { Markup.data($0) } ?? "" }
                                                     + [String(format: "%.4f", c.rmse), c.mae.map { String(format: "%.4f", $0) } ?? ""]
                                             }, numericColumns: Set(0...(names.count + 2)))))
            report.sections.append(.init(title: "Grid search", blocks: blocks))
        }
        return report
    }
}
