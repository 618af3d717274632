@testable import Models

// Trainer configurations as the tests write them: one expression naming the
// fields a test sets, every other field at its default.

extension SGDConfiguration {
    init(rank: Int, epochs: Int, threads: Int? = nil, learningRate: Double? = nil, learningRateDecay: Double? = nil,
         regularization: Double? = nil, biasRegularization: Double? = nil, initialStandardDeviation: Double? = nil) {
        self.init()
        self.rank = rank
        self.epochs = epochs
        self.threads = threads ?? self.threads
        self.learningRate = learningRate ?? self.learningRate
        self.learningRateDecay = learningRateDecay ?? self.learningRateDecay
        self.regularization = regularization ?? self.regularization
        self.biasRegularization = biasRegularization ?? self.biasRegularization
        self.initialStandardDeviation = initialStandardDeviation ?? self.initialStandardDeviation
    }
}

extension SVDConfiguration {
    init(rank: Int, oversampling: Int? = nil, powerIterations: Int? = nil, threads: Int? = nil) {
        self.init()
        self.rank = rank
        self.oversampling = oversampling ?? self.oversampling
        self.powerIterations = powerIterations ?? self.powerIterations
        self.threads = threads ?? self.threads
    }
}
