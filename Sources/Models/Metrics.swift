import Features

/// Accuracy of rating predictions: RMSE, MAE, MAPE and MSE over the same pairs.
///
///     MSE  = Σ (r − r̂)² / n          RMSE = √MSE
///     MAE  = Σ |r − r̂| / n           MAPE = 100 · Σ (|r − r̂| / r) / n   (percent)
///
/// Predictions are clipped to the rating scale first. Every pair counts: a
/// prediction that had to fall back (an unseen customer or movie answered by
/// the baseline) is counted in `fallbacks`, never dropped, and a NaN
/// prediction is a programming error that stops the computation.
public struct Metrics: Sendable, Equatable, Codable {
    public var rmse: Double
    public var mae: Double
    public var mape: Double
    public var mse: Double
    /// Pairs scored.
    public var n: Int
    /// Pairs whose prediction came from a fallback.
    public var fallbacks: Int

    /// Accumulates pairs one at a time.
    public struct Accumulator: Sendable {
        public let scale: RatingScale
        private var squared = 0.0
        private var absolute = 0.0
        private var relative = 0.0
        private var count = 0
        private var fallbackCount = 0

        public init(scale: RatingScale) { self.scale = scale }

        public mutating func add(actual: Double, predicted: Double, fallback: Bool = false) {
            precondition(!predicted.isNaN, "a NaN prediction reached the metrics")
            let error = actual - scale.clip(predicted)
            squared += error * error
            absolute += abs(error)
            relative += abs(error) / actual   // ratings are ≥ 0.5, never zero
            count += 1
            if fallback { fallbackCount += 1 }
        }

        /// The metrics, or nil when no pair was added: a metric over zero ratings is absent, never 0.
        public var metrics: Metrics? {
            guard count > 0 else { return nil }
            let n = Double(count)
            return Metrics(rmse: (squared / n).squareRoot(), mae: absolute / n, mape: 100 * relative / n,
                           mse: squared / n, n: count, fallbacks: fallbackCount)
        }
    }
}
