/// The range and step of a rating scale; predictions are clipped to it.
public struct RatingScale: Sendable, Equatable {
    public var minimum: Double
    public var maximum: Double
    /// The smallest difference between two ratings (1 for Netflix, 0.5 for MovieLens).
    public var step: Double

    public init(minimum: Double, maximum: Double, step: Double) {
        precondition(minimum < maximum && step > 0, "a rating scale needs minimum < maximum and a positive step")
        self.minimum = minimum
        self.maximum = maximum
        self.step = step
    }

    /// Netflix Prize: whole stars 1…5.
    public static let netflix = RatingScale(minimum: 1, maximum: 5, step: 1)
    /// MovieLens: half stars 0.5…5.
    public static let movieLens = RatingScale(minimum: 0.5, maximum: 5, step: 0.5)

    /// The prediction pulled into [minimum, maximum]; NaN stays NaN so that callers notice it.
    public func clip(_ value: Double) -> Double {
        value.isNaN ? value : Swift.min(maximum, Swift.max(minimum, value))
    }

    /// Whether `value` is a rating this scale can hold.
    public func contains(_ value: Double) -> Bool {
        guard value >= minimum && value <= maximum else { return false }
        let steps = (value - minimum) / step
        return steps == steps.rounded()
    }
}
