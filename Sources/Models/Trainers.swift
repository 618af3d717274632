import Features

/// The trainers recsys offers, behind one entry point: what train, grid
/// search and their tests call, so that every model is configured, fitted and
/// scored the same way.
public enum ModelKind: String, Sendable, CaseIterable {
    case als, svd, sgd

    /// Grid keys and their valid ranges.
    public var gridKeys: [String: ClosedRange<Double>] {
        switch self {
        case .als: return ["rank": 1...1000, "reg": 1e-9...1e6, "iterations": 1...10_000]
        case .svd: return ["rank": 1...1000, "oversampling": 0...1000, "power": 0...100]
        case .sgd: return ["rank": 1...1000, "reg": 0...1e6, "lr": 1e-9...1, "epochs": 1...10_000]
        }
    }

    /// The key whose values are scored from one run (iterations, epochs), if any.
    public var budgetKey: String? {
        switch self {
        case .als: return "iterations"
        case .svd: return nil
        case .sgd: return "epochs"
        }
    }

    /// Everything a fit needs besides the matrix.
    public struct Settings: Sendable {
        /// Grid-style parameters (see `gridKeys`); missing keys take the trainer's defaults.
        public var parameters: [String: Double]
        public var seed: UInt64 = 42
        public var threads: Int
        public var alsBiases: ALSConfiguration.BiasMode = .joint
        public var scale: RatingScale = .netflix
        public var dataVersion = ""
        public var splitID = 0

        public init(parameters: [String: Double], threads: Int) {
            self.parameters = parameters
            self.threads = threads
        }
    }

    /// One step of training, for logs: (step, train RMSE, validation RMSE, seconds).
    public typealias Step = (step: Int, trainRMSE: Double, validationRMSE: Double?, seconds: Double)

    /// Fits the model. `snapshots`/`snapshot`: the model after those iterations or epochs.
    public func fit(_ train: RatingMatrix, biases: BiasModel, settings: Settings, validation: HeldOutRatings? = nil,
                    snapshots: Set<Int> = [], snapshot: ((Int, FactorModel) -> Void)? = nil,
                    onStep: ((Step) -> Void)? = nil) throws -> FactorModel {
        let p = settings.parameters
        func int(_ key: String, _ fallback: Int) -> Int { p[key].map { Int($0) } ?? fallback }
        switch self {
        case .als:
            var c = ALSConfiguration()
            c.rank = int("rank", c.rank)
            c.regularization = p["reg"] ?? c.regularization
            c.iterations = max(int("iterations", c.iterations), snapshots.max() ?? 0)
            c.seed = settings.seed
            c.threads = settings.threads
            c.biases = settings.alsBiases
            return try ALSTrainer(c).fit(train, biases: biases, scale: settings.scale, dataVersion: settings.dataVersion,
                                         splitID: settings.splitID, validation: validation, snapshots: snapshots,
                                         snapshot: snapshot, onIteration: onStep.map { report in
                { report(($0.iteration, $0.trainRMSE, $0.validationRMSE, $0.seconds)) } })
        case .svd:
            var c = SVDConfiguration()
            c.rank = int("rank", c.rank)
            c.oversampling = int("oversampling", c.oversampling)
            c.powerIterations = int("power", c.powerIterations)
            c.seed = settings.seed
            c.threads = settings.threads
            return try RandomizedSVD(c).fit(train, biases: biases, scale: settings.scale, dataVersion: settings.dataVersion,
                                            splitID: settings.splitID)
        case .sgd:
            var c = SGDConfiguration()
            c.rank = int("rank", c.rank)
            c.regularization = p["reg"] ?? c.regularization
            c.learningRate = p["lr"] ?? c.learningRate
            c.epochs = max(int("epochs", c.epochs), snapshots.max() ?? 0)
            c.seed = settings.seed
            c.threads = settings.threads
            return try SGDTrainer(c).fit(train, biases: biases, scale: settings.scale, dataVersion: settings.dataVersion,
                                         splitID: settings.splitID, validation: validation, snapshots: snapshots,
                                         snapshot: snapshot, onEpoch: onStep.map { report in
                { report(($0.epoch, $0.trainRMSE, $0.validationRMSE, $0.seconds)) } })
        }
    }
}
