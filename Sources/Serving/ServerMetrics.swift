import Foundation
import Hummingbird
import Prometheus

/// The server's Prometheus metrics, one registry per server (tests run several).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    /// Request latencies from 0.1 ms to 1 s: the targets are single-digit milliseconds.
    static let buckets: [Duration] = [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                                      .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                      .milliseconds(250), .seconds(1)]

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "recsys", metricName: metric, unitName: unit, helpText: help)
    }

    func request(route: String, method: String, status: Int, duration: Duration) {
        let labels = [("route", route), ("method", method), ("status", String(status))]
        registry.makeCounter(descriptor: Self.name("http_requests", "total", "HTTP requests by route, method and status"), labels: labels)
            .increment()
        registry.makeDurationHistogram(descriptor: Self.name("http_request_duration", "seconds", "HTTP request latency by route, method and status"),
                                       labels: labels, buckets: Self.buckets).record(duration)
    }

    func foldedIn() {
        registry.makeCounter(descriptor: Self.name("fold_ins", "total", "customers folded in at request time (ratings newer than the model)")).increment()
    }

    func ingested(_ ratings: Int) {
        registry.makeCounter(descriptor: Self.name("ratings_ingested", "total", "ratings written by POST /v1/ratings (replays not counted)"))
            .increment(by: Int64(ratings))
    }

    func modelLoaded(runID: Int?) {
        registry.makeGauge(descriptor: Self.name("model_run", "id", "model_runs.run_id of the model being served (0: unregistered)"))
            .set(Double(runID ?? 0))
        registry.makeCounter(descriptor: Self.name("model_swaps", "total", "models loaded, the first included")).increment()
    }

    func text() -> String { registry.emitToString() }
}

/// Counts and times every request by its route pattern (never the raw path:
/// one series per customer id would grow without bound).
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code,
                        duration: ContinuousClock.now - started)
        return response
    }
}
