import Features
import Foundation
import Runtime

/// The baselines every model is measured against: the global mean, and the
/// damped bias model of the features.
public struct BaselinePredictor: RatingPredictor {
    public let kind: String
    public let scale: RatingScale
    public let biases: BiasModel
    private let useBiases: Bool

    /// r̂ = μ.
    public static func globalMean(_ biases: BiasModel, scale: RatingScale) -> BaselinePredictor {
        BaselinePredictor(kind: "global_mean", scale: scale, biases: biases, useBiases: false)
    }

    /// r̂ = μ + b_u + b_i.
    public static func bias(_ biases: BiasModel, scale: RatingScale) -> BaselinePredictor {
        BaselinePredictor(kind: "bias", scale: scale, biases: biases, useBiases: true)
    }

    public func score(customer: Int, movie: Int) -> Double {
        useBiases ? biases.baseline(customer: customer, movie: movie) : biases.globalMean
    }
}

/// Accuracy of predictors on held-out ratings.
public enum Evaluation {
    /// RMSE, MAE, MAPE and MSE of `predictor` on `heldOut`, predictions
    /// clipped to its scale. A pair whose customer or movie has no rating in
    /// `train` is answered by the model's baseline — a factor model has zero
    /// factors there, leaving μ + b_u + b_i — and counted in `fallbacks`.
    /// Nil when `heldOut` is empty: a metric over zero ratings is absent.
    public static func metrics(_ predictor: some RatingPredictor, on heldOut: HeldOutRatings, trainedOn train: RatingMatrix) -> Metrics? {
        var accumulator = Metrics.Accumulator(scale: predictor.scale)
        for i in 0..<heldOut.count {
            let c = Int(heldOut.customer[i]), m = Int(heldOut.movie[i])
            let unseen = train.customerStart[c + 1] == train.customerStart[c] || train.movieStart[m + 1] == train.movieStart[m]
            accumulator.add(actual: Double(heldOut.rating[i]), predicted: predictor.score(customer: c, movie: m), fallback: unseen)
        }
        return accumulator.metrics
    }

    /// RMSE of the clipped predictions on the training ratings themselves, in parallel over customers.
    public static func trainRMSE(_ model: FactorModel, on matrix: RatingMatrix, threads: Int) -> Double {
        let k = model.rank
        // Parallel.sum adds fixed chunks in order: the same bits on any thread count.
        let total = model.customerFactors.withUnsafeBufferPointer { p in
            model.movieFactors.withUnsafeBufferPointer { q in
                Parallel.sum(count: matrix.customerCount, threads: threads) { c in
                    let base = model.globalMean + Double(model.customerBias[c])
                    var squared = 0.0
                    for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                        let m = Int(matrix.customerMovie[s])
                        var dot: Float = 0
                        for f in 0..<k { dot += p[c * k + f] * q[m * k + f] }
                        let error = Double(matrix.customerRating[s]) - model.scale.clip(base + Double(model.movieBias[m]) + Double(dot))
                        squared += error * error
                    }
                    return squared
                }
            }
        }
        return (total / Double(max(1, matrix.count))).squareRoot()
    }
}
