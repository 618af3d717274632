import Features

/// What one ALS iteration or one SGD epoch did; `train` logs these and stores
/// the list in model_runs.iterations.
public struct TrainingStep: Sendable, Codable, Equatable {
    /// The iteration (epoch), from 1.
    public var iteration: Int
    /// RMSE of the clipped predictions on the training ratings after the step.
    public var trainRMSE: Double
    /// The same on the validation ratings, when the fit was given some.
    public var validationRMSE: Double?
    /// Seconds of the step's own work (the RMSEs are not counted).
    public var seconds: Double
    /// SGD: the step size γ used in this epoch.
    public var learningRate: Double?

    public init(iteration: Int, trainRMSE: Double, validationRMSE: Double?, seconds: Double, learningRate: Double? = nil) {
        self.iteration = iteration
        self.trainRMSE = trainRMSE
        self.validationRMSE = validationRMSE
        self.seconds = seconds
        self.learningRate = learningRate
    }

    // Spelled as JSON.decode reads train_rmse back (the encoder writes trainRMSE as train_rmse too).
    private enum CodingKeys: String, CodingKey {
        case iteration, seconds, learningRate
        case trainRMSE = "trainRmse", validationRMSE = "validationRmse"
    }
}

/// Whom an iterative trainer tells after each step: the snapshots asked for
/// (grid search scores several iteration counts from one run) and the step
/// log. Both ALS and SGD go through it, so that a step means the same in both.
struct StepObserver {
    var matrix: RatingMatrix
    var validation: HeldOutRatings?
    var snapshots: Set<Int>
    var snapshot: ((Int, FactorModel) -> Void)?
    var onStep: ((TrainingStep) -> Void)?
    var threads: Int

    /// Whether step `n` needs the model as it stands (ALS packs its factors and must unpack them first).
    func wantsModel(after n: Int) -> Bool { onStep != nil || (snapshot != nil && snapshots.contains(n)) }

    /// The RMSEs are computed only when someone listens: they cost a pass over the ratings.
    func stepped(_ n: Int, model: FactorModel, seconds: Double, learningRate: Double? = nil) {
        if let snapshot, snapshots.contains(n) { snapshot(n, model) }
        guard let onStep else { return }
        let train = Evaluation.trainRMSE(model, on: matrix, threads: threads)
        let validationRMSE = validation.flatMap { Evaluation.metrics(model, on: $0, trainedOn: matrix)?.rmse }
        onStep(TrainingStep(iteration: n, trainRMSE: train, validationRMSE: validationRMSE, seconds: seconds, learningRate: learningRate))
    }
}
