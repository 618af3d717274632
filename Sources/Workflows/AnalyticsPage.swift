import Foundation
import Logging
import Reports
import Warehouse

/// The analytics use case: the warehouse's business questions, from the
/// materialized views (refreshed first when asked, or never filled).
public enum AnalyticsQuestions {
    public static func run(_ options: Analytics.Options, refresh: Bool, database: Database, logger: Logger) throws -> AnalyticsReport {
        let connection = try database.connect()
        try Database.migrate(connection)
        let populated = try Analytics.isPopulated(connection)
        if refresh || !populated {
            logger.info("refreshing the analytics views\(refresh ? "" : " (never filled on this warehouse)")…")
            let seconds = try Analytics.refresh(connection)
            logger.info("refreshed in \(String(format: "%.1f", seconds)) s")
        }
        let report = try Analytics.report(connection, options: options)
        guard report.totals.ratings > 0 else {
            throw WarehouseError(.usage, "the warehouse holds no ratings", hint: "load some with `recsys load --data DIR`")
        }
        return report
    }
}

/// The analytics report page and its text summary.
public enum AnalyticsPage {
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func movieName(_ m: AnalyticsReport.Movie) -> String {
        m.releaseYear.map { "\(m.title) (\($0))" } ?? m.title
    }

    private static func movieTable(_ movies: [AnalyticsReport.Movie]) -> ReportTable {
        ReportTable(header: ["#", "movie", "title", "year", "ratings", "mean rating"],
                    rows: movies.enumerated().map { i, m in
                        [String(i + 1), String(m.movieId), m.title, m.releaseYear.map(String.init) ?? "", Markup.grouped(m.ratings),
                         String(format: "%.3f", m.meanRating)]
                    }, numericColumns: [0, 1, 3, 4, 5])
    }

    private static func ratingLabel(_ rating: Double) -> String {
        rating == rating.rounded() ? String(Int(rating)) : String(format: "%.1f", rating)
    }

    /// The report page: one section per question.
    public static func page(_ r: AnalyticsReport) -> Report {
        let t = r.totals
        var report = Report(title: "Ratings warehouse analytics",
                            subtitle: "\(r.format ?? "unknown") data, version \(r.dataVersion ?? "none") — \(Markup.grouped(t.ratings)) ratings from \(t.firstDate ?? "?") to \(t.lastDate ?? "?")")
        report.sections.append(.init(title: "Overview", blocks: [
            .facts([("ratings", Markup.grouped(t.ratings)), ("movies rated", Markup.grouped(t.movies)),
                    ("customers", Markup.grouped(t.customers)), ("mean rating", t.meanRating.map { String(format: "%.4f", $0) } ?? "–"),
                    ("first rating", t.firstDate ?? "–"), ("last rating", t.lastDate ?? "–")]),
            .paragraph("Every figure comes from the materialized views mv_movie_rating_counts, mv_daily_rating_counts (ratings per movie, and per day, and rating value) and mv_customer_activity, which the load refreshes after post-processing, plus the signed deltas that live ratings and appended files recorded since (the delta_* tables); analytics.json holds them all."),
        ]))
        report.sections.append(.init(title: "Most-rated movies", blocks: [
            .chart(HorizontalBarChart(id: "most-rated", title: "The \(r.mostRated.count) most-rated movies",
                                      summary: "Number of ratings of each of the \(r.mostRated.count) movies with the most ratings.",
                                      categoryLabel: "movie", valueLabel: "ratings",
                                      bars: r.mostRated.map { .init(label: movieName($0), value: Double($0.ratings),
                                                                    note: "\(movieName($0)): \(Markup.grouped($0.ratings)) ratings, mean \(String(format: "%.3f", $0.meanRating))") })),
            .table(movieTable(r.mostRated)),
        ]))
        report.sections.append(.init(title: "Best-rated movies", blocks: [
            .paragraph("Highest mean rating among movies with at least \(Markup.grouped(r.minRatings)) ratings (--min-ratings); ties go to the movie with more ratings."),
            .chart(HorizontalBarChart(id: "best-rated", title: "The \(r.bestRated.count) best-rated movies (≥ \(Markup.grouped(r.minRatings)) ratings)",
                                      summary: "Mean rating of the \(r.bestRated.count) best-rated movies with at least \(Markup.grouped(r.minRatings)) ratings; bars start at zero.",
                                      categoryLabel: "movie", valueLabel: "mean rating",
                                      bars: r.bestRated.map { .init(label: movieName($0), value: $0.meanRating,
                                                                    note: "\(movieName($0)): mean \(String(format: "%.3f", $0.meanRating)) over \(Markup.grouped($0.ratings)) ratings") },
                                      color: "#c08a2e")),
            .table(movieTable(r.bestRated)),
        ]))
        let monthLabels = r.byMonth.map { String(format: "%04d-%02d", $0.year, $0.month) }
        report.sections.append(.init(title: "Ratings by month", blocks: [
            .chart(BarChart(id: "volume-by-month", title: "Ratings per month",
                            summary: "Number of ratings given in each calendar month.", xLabel: "month", yLabel: "ratings",
                            bars: zip(monthLabels, r.byMonth).map { .init(label: $0, value: Double($1.ratings),
                                                                          note: "\(monthNames[$1.month - 1]) \($1.year): \(Markup.grouped($1.ratings)) ratings") })),
            .chart(LineChart(id: "mean-by-month", title: "Mean rating per month",
                             summary: "Mean of the ratings given in each calendar month; the axis does not start at zero.",
                             xLabel: "month", yLabel: "mean rating",
                             points: zip(monthLabels, r.byMonth).map { .init(label: $0, value: $1.meanRating,
                                                                             note: "\(monthNames[$1.month - 1]) \($1.year): mean \(String(format: "%.4f", $1.meanRating)) over \(Markup.grouped($1.ratings)) ratings") })),
        ]))
        let total = Double(max(1, t.ratings))
        report.sections.append(.init(title: "Rating distribution", blocks: [
            .chart(BarChart(id: "rating-distribution", title: "Ratings by value",
                            summary: "Number of ratings of each value on the scale.", xLabel: "rating", yLabel: "ratings",
                            bars: r.ratingDistribution.map { .init(label: ratingLabel($0.rating), value: Double($0.ratings),
                                                                   note: "\(ratingLabel($0.rating)) stars: \(Markup.grouped($0.ratings)) ratings (\(String(format: "%.1f", 100 * Double($0.ratings) / total)) %)") },
                            color: "#c08a2e")),
        ]))
        report.sections.append(.init(title: "Customer activity", blocks: [
            .chart(Histogram(id: "customer-frequency", title: "Customers by number of ratings",
                             summary: "How many customers gave 1, 2–3, 4–7, … ratings (bins double in width).",
                             xLabel: "ratings per customer", yLabel: "customers",
                             bins: r.customerFrequency.map { .init(lo: Double($0.lo), hi: Double($0.hi), count: Double($0.customers)) })),
        ]))
        report.sections.append(.init(title: "Release year and rating", blocks: [
            .chart(ScatterChart(id: "release-year", title: "Mean rating by release year",
                                summary: "Each dot is a release year: the mean of all ratings of its movies; its area follows the number of ratings.",
                                xLabel: "release year", yLabel: "mean rating",
                                points: r.releaseYears.map { .init(x: Double($0.releaseYear), y: $0.meanRating, weight: Double($0.ratings),
                                                                   label: String($0.releaseYear),
                                                                   note: "\($0.releaseYear): mean \(String(format: "%.3f", $0.meanRating)), \(Markup.grouped($0.movies)) movies, \(Markup.grouped($0.ratings)) ratings") })),
        ]))
        return report
    }

    /// The text summary printed without --out or --json.
    public static func summary(_ r: AnalyticsReport) -> String {
        let t = r.totals
        var lines = ["\(Markup.grouped(t.ratings)) ratings of \(Markup.grouped(t.movies)) movies by \(Markup.grouped(t.customers)) customers, \(t.firstDate ?? "?") … \(t.lastDate ?? "?"), mean rating \(t.meanRating.map { String(format: "%.4f", $0) } ?? "–")"]
        func movies(_ title: String, _ list: [AnalyticsReport.Movie]) {
            lines.append("")
            lines.append(title)
            var table = [["#", "movie", "title", "year", "ratings", "mean"]]
            for (i, m) in list.enumerated() {
                let shown = m.title.count > 40 ? String(m.title.prefix(39)) + "…" : m.title
                table.append([String(i + 1), String(m.movieId), shown, m.releaseYear.map(String.init) ?? "", Markup.grouped(m.ratings),
                              String(format: "%.3f", m.meanRating)])
            }
            lines.append(TextTable.render(table))
        }
        movies("most rated", r.mostRated)
        movies("best rated (at least \(Markup.grouped(r.minRatings)) ratings)", r.bestRated)
        lines.append("")
        lines.append("ratings by year")
        var years = [["year", "ratings", "mean"]]
        for year in Set(r.byMonth.map(\.year)).sorted() {
            let months = r.byMonth.filter { $0.year == year }
            let n = months.reduce(0) { $0 + $1.ratings }
            let mean = months.reduce(0.0) { $0 + $1.meanRating * Double($1.ratings) } / Double(max(1, n))
            years.append([String(year), Markup.grouped(n), String(format: "%.4f", mean)])
        }
        lines.append(TextTable.render(years))
        lines.append("")
        lines.append("rating distribution")
        var distribution = [["rating", "ratings", "share %"]]
        for d in r.ratingDistribution {
            distribution.append([ratingLabel(d.rating), Markup.grouped(d.ratings), String(format: "%.1f", 100 * Double(d.ratings) / Double(max(1, t.ratings)))])
        }
        lines.append(TextTable.render(distribution))
        lines.append("")
        lines.append("customers by number of ratings")
        var bins = [["ratings", "customers"]]
        for b in r.customerFrequency { bins.append([b.lo == b.hi ? String(b.lo) : "\(b.lo)-\(b.hi)", Markup.grouped(b.customers)]) }
        lines.append(TextTable.render(bins))
        lines.append("")
        lines.append("`recsys analytics --out DIR` writes the report with charts; --json prints every figure (monthly, by release year)")
        return lines.joined(separator: "\n")
    }
}
