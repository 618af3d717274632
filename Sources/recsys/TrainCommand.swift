import ArgumentParser
import Features
import Foundation
import Reports
import Logging
import Models
import Warehouse
import Workflows

extension ModelKind: ExpressibleByArgument {}
extension ALSConfiguration.BiasMode: ExpressibleByArgument {}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on the features' train part (or grid-search one); report validation and test metrics; save it.",
        discussion: """
        Models: als (alternating least squares, ALS-WR, BLAS/LAPACK, parallel), svd (truncated SVD of the \
        bias residuals by a randomized range finder; unobserved entries count as zero residual), sgd \
        (biased matrix factorization by stochastic gradient descent, Funk / Koren, the "SVD" of Surprise).

        Uses the newest split of `recsys features` (built with its defaults — random, 10 % test, seed \
        42 — when there is none). Each iteration logs train RMSE, validation RMSE and seconds. The \
        model is written to --out (default .recsys/models/<model>-<run>-<time>.rsm: several warehouses \
        may share one .recsys) and registered in the model_runs table with its parameters, metrics, \
        timings and data version.

        --grid "rank=10,50;reg=0.01,0.1;iterations=10,20" scores every combination on the validation \
        part (or with --folds K cross-validation inside the train part) — never on the test part — \
        records every candidate in model_runs, then refits the best on the train part and saves it. \
        Keys: als rank, reg, iterations; svd rank, oversampling, power; sgd rank, reg, lr, epochs. \
        Iteration (epoch) counts of one configuration are scored from one run.
        """
    )

    @Option(help: "The model to train.") var model: ModelKind = .als
    @Option(help: "Latent factors.") var rank: Int = 10
    @Option(help: "Regularization λ (ALS-WR: weighted by each row's rating count; SGD: L2 on the factors).") var reg: Double?
    @Option(help: "ALS: full sweeps (default 10). SGD: epochs (default 20).") var iterations: Int?
    @Option(help: "SGD learning rate.") var lr: Double = 0.005
    @Option(help: "SVD: extra random directions beyond the rank.") var oversampling: Int = 10
    @Option(help: "SVD: power iterations of the range finder.") var powerIterations: Int = 2
    @Option(help: "Worker threads; OpenBLAS runs single-threaded inside them. Default: all cores.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Seed of the initial factors (and of the folds).") var seed: UInt64 = 42
    @Option(help: "ALS biases: joint (re-solved with the factors) or fixed (the features' damped biases).")
    var biases: ALSConfiguration.BiasMode = .joint
    @Option(help: ArgumentHelp("Grid search: key=v1,v2;key=… (see above).", valueName: "spec")) var grid: String?
    @Option(help: "With --grid: K-fold cross-validation inside the train part instead of the validation part.") var folds: Int = 0
    @Option(help: "Model file to write.") var out: String?
    @Flag(help: "Print one JSON document on stdout.") var json = false
    @OptionGroup var db: DatabaseOptions

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if folds == 1 || folds < 0 || folds > 20 { throw ValidationError("--folds must be 2…20 (or left out)") }
        if folds > 0 && grid == nil { throw ValidationError("--folds goes with --grid") }
        if let grid { do { _ = try ParameterGrid(grid, keys: model.gridKeys) } catch { throw ValidationError(String(describing: error)) } }
        if rank < 1 || rank > 1000 { throw ValidationError("--rank must be 1…1000") }
        if let reg, !(reg >= 0) { throw ValidationError("--reg must be ≥ 0") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    /// The single-model parameters, as grid keys.
    var parameters: [String: Double] {
        var p: [String: Double] = ["rank": Double(rank)]
        switch model {
        case .als:
            p["reg"] = reg ?? 0.05
            p["iterations"] = Double(iterations ?? 10)
        case .svd:
            p["oversampling"] = Double(oversampling)
            p["power"] = Double(powerIterations)
        case .sgd:
            p["reg"] = reg ?? 0.02
            p["lr"] = lr
            p["epochs"] = Double(iterations ?? 20)
        }
        return p
    }

    func run() throws {
        let request = TrainingRequest(model: model, parameters: parameters, threads: threads, seed: seed, biases: biases,
                                      grid: grid, folds: folds, out: out.map { URL(fileURLWithPath: $0) })
        switch try Training.run(request, database: db.open(), logger: Logger(label: "recsys.train")) {
        case .single(let report):
            if json { return try printJSON(report) }
            try say(report.text)
        case .grid(let report):
            if json { return try printJSON(report) }
            try say(report.text)
        }
    }
}
