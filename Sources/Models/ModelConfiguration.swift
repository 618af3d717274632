import Features
import Runtime

/// What every trainer's configuration is: its fields' defaults written once,
/// its ranges checked once (`validate`), and one JSON form (model files,
/// model_runs) that reads back as itself.
public protocol TrainerConfiguration: Codable, Sendable, Equatable {
    /// Seeds the fit; with the thread count, fixes every bit of the result.
    var seed: UInt64 { get set }
    var threads: Int { get set }
    func validate() throws
}

extension TrainerConfiguration {
    /// The configuration as the one compact JSON text. Encoding cannot fail:
    /// every field is a number, a string or a case name, and non-finite
    /// numbers have a spelling.
    public var json: String { try! JSON.text(self) }
}

/// A trainer's configuration, whichever trainer: what crosses from the
/// front ends through the workflows to the fit.
public enum ModelConfiguration: Sendable, Equatable {
    case als(ALSConfiguration)
    case svd(SVDConfiguration)
    case sgd(SGDConfiguration)
    case ials(ImplicitALSConfiguration)
    case ease(EASEConfiguration)
    case itemknn(ItemKNNConfiguration)

    public var kind: ModelKind {
        switch self {
        case .als: return .als
        case .svd: return .svd
        case .sgd: return .sgd
        case .ials: return .ials
        case .ease: return .ease
        case .itemknn: return .itemknn
        }
    }

    /// The configuration inside, whichever trainer.
    public var trainer: any TrainerConfiguration {
        switch self {
        case .als(let c): return c
        case .svd(let c): return c
        case .sgd(let c): return c
        case .ials(let c): return c
        case .ease(let c): return c
        case .itemknn(let c): return c
        }
    }

    public init(_ trainer: any TrainerConfiguration) {
        switch trainer {
        case let c as ALSConfiguration: self = .als(c)
        case let c as SVDConfiguration: self = .svd(c)
        case let c as SGDConfiguration: self = .sgd(c)
        case let c as ImplicitALSConfiguration: self = .ials(c)
        case let c as EASEConfiguration: self = .ease(c)
        case let c as ItemKNNConfiguration: self = .itemknn(c)
        default: preconditionFailure("\(type(of: trainer)) is not a recsys trainer's configuration")
        }
    }

    /// Reads the parameters a model file or model_runs row stored for `kind`.
    public init(kind: String, json: String) throws {
        guard let kind = ModelKind(rawValue: kind) else {
            throw ConfigurationError("no trainer is called `\(kind)`; the trainers are \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // Decoded as the type of the kind's defaults (the existential is opened).
        func decode<T: TrainerConfiguration>(like _: T) throws -> any TrainerConfiguration { try JSON.decode(T.self, from: json) }
        self.init(try decode(like: kind.defaults.trainer))
    }

    public var json: String { trainer.json }

    public func validate() throws { try trainer.validate() }

    public var seed: UInt64 {
        get { trainer.seed }
        set { var c = trainer; c.seed = newValue; self = ModelConfiguration(c) }
    }

    public var threads: Int {
        get { trainer.threads }
        set { var c = trainer; c.threads = newValue; self = ModelConfiguration(c) }
    }

    /// λ on the factors, for trainers that have one (fold-in reuses it).
    public var regularization: Double? {
        switch self {
        case .als(let c): return c.regularization
        case .svd: return nil
        case .sgd(let c): return c.regularization
        case .ials(let c): return c.regularization
        case .ease, .itemknn: return nil
        }
    }

    /// The value of a grid key (see `ModelKind.gridKeys`).
    public func value(_ key: String) -> Double? {
        switch (self, key) {
        case (.als(let c), "rank"): return Double(c.rank)
        case (.als(let c), "reg"): return c.regularization
        case (.als(let c), "iterations"): return Double(c.iterations)
        case (.svd(let c), "rank"): return Double(c.rank)
        case (.svd(let c), "oversampling"): return Double(c.oversampling)
        case (.svd(let c), "power"): return Double(c.powerIterations)
        case (.sgd(let c), "rank"): return Double(c.rank)
        case (.sgd(let c), "reg"): return c.regularization
        case (.sgd(let c), "lr"): return c.learningRate
        case (.sgd(let c), "epochs"): return Double(c.epochs)
        case (.ials(let c), "rank"): return Double(c.rank)
        case (.ials(let c), "reg"): return c.regularization
        case (.ials(let c), "alpha"): return c.alpha
        case (.ials(let c), "iterations"): return Double(c.iterations)
        case (.ease(let c), "lambda"): return c.lambda
        case (.itemknn(let c), "neighbours"): return Double(c.neighbours)
        case (.itemknn(let c), "shrinkage"): return c.shrinkage
        default: return nil
        }
    }

    /// Every grid key and its value: what reports show as "parameters".
    public var gridValues: [String: Double] {
        Dictionary(uniqueKeysWithValues: kind.gridKeys.map { ($0, value($0)!) })
    }

    /// Sets a grid key, then checks the whole configuration (its ranges live in `validate`).
    /// - Throws: `ConfigurationError` for a key the trainer does not have or a
    ///   count that is not a whole number; the trainer's own error for a value out of range.
    public mutating func set(_ key: String, _ value: Double) throws {
        guard kind.gridKeys.contains(key) else {
            throw ConfigurationError("unknown key `\(key)`; \(kind.rawValue)'s keys are \(kind.gridKeys.joined(separator: ", "))")
        }
        func count() throws -> Int {
            guard value == value.rounded(), abs(value) < 1e9 else { throw ConfigurationError("\(key) must be a whole number, got \(value)") }
            return Int(value)
        }
        switch self {
        case .als(var c):
            switch key {
            case "rank": c.rank = try count()
            case "reg": c.regularization = value
            default: c.iterations = try count()
            }
            self = .als(c)
        case .svd(var c):
            switch key {
            case "rank": c.rank = try count()
            case "oversampling": c.oversampling = try count()
            default: c.powerIterations = try count()
            }
            self = .svd(c)
        case .sgd(var c):
            switch key {
            case "rank": c.rank = try count()
            case "reg": c.regularization = value
            case "lr": c.learningRate = value
            default: c.epochs = try count()
            }
            self = .sgd(c)
        case .ials(var c):
            switch key {
            case "rank": c.rank = try count()
            case "reg": c.regularization = value
            case "alpha": c.alpha = value
            default: c.iterations = try count()
            }
            self = .ials(c)
        case .ease(var c):
            c.lambda = value
            self = .ease(c)
        case .itemknn(var c):
            if key == "neighbours" { c.neighbours = try count() } else { c.shrinkage = value }
            self = .itemknn(c)
        }
        try validate()
    }

    /// The same configuration with several grid keys set.
    public func setting(_ values: [String: Double]) throws -> ModelConfiguration {
        var c = self
        for key in values.keys.sorted() { try c.set(key, values[key]!) }
        return c
    }

    /// Fits the model. `snapshots`/`snapshot`: the model after those iterations or
    /// epochs (the run goes on to the largest of them); `onStep`: every step's log.
    public func fit(_ train: RatingMatrix, biases: BiasModel, provenance: Provenance = Provenance(),
                    validation: HeldOutRatings? = nil, start: FactorModel? = nil, snapshots: Set<Int> = [],
                    snapshot: ((Int, FactorModel) -> Void)? = nil, onStep: ((TrainingStep) -> Void)? = nil) throws -> FactorModel {
        let p = provenance
        if start != nil, !kind.warmStarts {
            throw ALSError.invalidConfiguration("a warm start continues als or sgd, not \(kind.rawValue)")
        }
        switch self {
        case .als(var c):
            c.iterations = max(c.iterations, snapshots.max() ?? 0)
            return try ALSTrainer(c).fit(train, biases: biases, scale: p.scale, dataVersion: p.dataVersion, splitID: p.splitID,
                                         validation: validation, start: start, snapshots: snapshots, snapshot: snapshot, onStep: onStep)
        case .svd(let c):
            return try RandomizedSVD(c).fit(train, biases: biases, scale: p.scale, dataVersion: p.dataVersion, splitID: p.splitID)
        case .sgd(var c):
            c.epochs = max(c.epochs, snapshots.max() ?? 0)
            return try SGDTrainer(c).fit(train, biases: biases, scale: p.scale, dataVersion: p.dataVersion, splitID: p.splitID,
                                         validation: validation, start: start, snapshots: snapshots, snapshot: snapshot, onStep: onStep)
        case .ials(let c):
            // Ranking only: no rating RMSE per step; every grid point is its own run.
            return try ImplicitALSTrainer(c).fit(train, scale: p.scale, dataVersion: p.dataVersion, splitID: p.splitID)
        case .ease(let c):
            return try EASETrainer(c).fit(train, scale: p.scale, dataVersion: p.dataVersion, splitID: p.splitID)
        case .itemknn(let c):
            return try ItemKNNTrainer(c).fit(train, scale: p.scale, dataVersion: p.dataVersion, splitID: p.splitID)
        }
    }
}

/// Where a model's training data came from, recorded in the model.
public struct Provenance: Sendable, Equatable {
    public var scale: RatingScale
    /// The warehouse data version the model is trained on.
    public var dataVersion: String
    /// The feature split whose train part it sees; 0 when none.
    public var splitID: Int

    public init(scale: RatingScale = .netflix, dataVersion: String = "", splitID: Int = 0) {
        self.scale = scale
        self.dataVersion = dataVersion
        self.splitID = splitID
    }
}

/// A configuration key or value the trainer cannot take.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
