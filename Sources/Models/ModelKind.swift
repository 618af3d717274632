import Features

/// The trainers recsys offers. Each kind's configuration type holds its
/// defaults and its valid ranges; this names the kind and its grid keys.
public enum ModelKind: String, Sendable, Codable, CaseIterable {
    case als, svd, sgd, ials, ease, itemknn

    /// The configuration with every default.
    public var defaults: ModelConfiguration {
        switch self {
        case .als: return .als(ALSConfiguration())
        case .svd: return .svd(SVDConfiguration())
        case .sgd: return .sgd(SGDConfiguration())
        case .ials: return .ials(ImplicitALSConfiguration())
        case .ease: return .ease(EASEConfiguration())
        case .itemknn: return .itemknn(ItemKNNConfiguration())
        }
    }

    /// The keys a grid (and `ModelConfiguration.set`) accepts, sorted.
    public var gridKeys: [String] {
        switch self {
        case .als: return ["iterations", "rank", "reg"]
        case .svd: return ["oversampling", "power", "rank"]
        case .sgd: return ["epochs", "lr", "rank", "reg"]
        case .ials: return ["alpha", "iterations", "rank", "reg"]
        case .ease: return ["lambda"]
        case .itemknn: return ["neighbours", "shrinkage"]
        }
    }

    /// The key whose values are scored from one run (iterations, epochs), if any.
    public var budgetKey: String? {
        switch self {
        case .als: return "iterations"
        case .svd: return nil
        case .sgd: return "epochs"
        case .ials, .ease, .itemknn: return nil
        }
    }

    /// Whether the model predicts ratings (its RMSE means something). A
    /// ranking model is trained on who rated what: its scores only order movies.
    public var predictsRatings: Bool { ![.ials, .ease, .itemknn].contains(self) }

    /// Can continue from a previous model's factors (`train --warm-start`).
    public var warmStarts: Bool { self == .als || self == .sgd }
}
