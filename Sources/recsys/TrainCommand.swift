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
extension ALSConfiguration.Solver: ExpressibleByArgument {}

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
        Keys: als rank, reg, iterations; svd rank, oversampling, power; sgd rank, reg, lr, epochs; \
        ials rank, reg, alpha, iterations; ease lambda; itemknn neighbours, shrinkage. --select ndcg@10 selects by the validation lists. \
        --model ials (implicit-feedback ALS), ease (Steck's closed-form item model) and itemknn (cosine \
        neighbours) rank: they are \
        trained on who rated what and predict no ratings. \
        Iteration (epoch) counts of one configuration are scored from one run.
        """
    )

    @Option(help: "The model to train.") var model: ModelKind = .als
    @Option(help: "Latent factors (default: als 10, svd 10, sgd 100).") var rank: Int?
    @Option(help: "Regularization λ (ALS-WR, default 0.05: weighted by each row's rating count; SGD, default 0.02: L2 on the factors).") var reg: Double?
    @Option(help: "ALS: full sweeps (default 10). SGD: epochs (default 20).") var iterations: Int?
    @Option(help: "SGD learning rate (default 0.005).") var lr: Double?
    @Option(help: "SVD: extra random directions beyond the rank (default 10).") var oversampling: Int?
    @Option(help: "SVD: power iterations of the range finder (default 2).") var powerIterations: Int?
    @Option(help: "Implicit ALS: confidence scale α, c = 1 + α·rating (default \(ImplicitALSConfiguration().alpha)).") var alpha: Double?
    @Option(help: "EASE: λ on the diagonal of XᵀX (default \(EASEConfiguration().lambda)).") var lambda: Double?
    @Option(help: "Item kNN: neighbours kept per movie (default \(ItemKNNConfiguration().neighbours)).") var neighbours: Int?
    @Option(help: "Worker threads; OpenBLAS runs single-threaded inside them. Default: all cores.") var threads: Int?
    @Option(help: "Seed of the initial factors (and of the folds).") var seed: UInt64?
    @Option(help: "ALS biases: joint (re-solved with the factors; the default) or fixed (the features' damped biases).")
    var biases: ALSConfiguration.BiasMode?
    @Option(help: "ALS: solve each row by cholesky (exact) or cg (a few conjugate-gradient steps from the previous sweep; default \(ALSConfiguration().solver.rawValue)).")
    var solver: ALSConfiguration.Solver?
    @Option(help: "ALS with --solver cg: steps per row and half-sweep (default \(ALSConfiguration().cgSteps)).") var cgSteps: Int?
    @Option(help: ArgumentHelp("Grid search: key=v1,v2;key=… (see above).", valueName: "spec")) var grid: String?
    @Option(help: "With --grid: K-fold cross-validation inside the train part instead of the validation part.") var folds: Int = 0
    @Option(help: ArgumentHelp("With --grid: select by rmse or ndcg@K of the validation top-K lists (default: rmse; ndcg@10 for the ranking models).",
                               valueName: "metric"))
    var select: String?
    @Option(help: "Model file to write.") var out: String?
    @Option(help: ArgumentHelp("Continue from this model file's factors (als, sgd; same rank): new customers and movies are added, a few iterations replace a full fit.", valueName: "path"))
    var warmStart: String?
    @OptionGroup var db: WarehouseOptions

    func validate() throws {
        if warmStart != nil && grid != nil { throw ValidationError("--warm-start continues one model; it does not go with --grid") }
        if folds == 1 || folds < 0 || folds > 20 { throw ValidationError("--folds must be 2…20 (or left out)") }
        if folds > 0 && grid == nil { throw ValidationError("--folds goes with --grid") }
        if let select {
            guard GridObjective(select) != nil else { throw ValidationError("--select takes rmse or ndcg@K (K 1…1000), not `\(select)`") }
            guard grid != nil else { throw ValidationError("--select goes with --grid") }
        }
        do {
            let configuration = try options.configuration(for: model)
            if let grid { _ = try ParameterGrid(grid, varying: configuration) }
        } catch { throw ValidationError(String(describing: error)) }
    }

    var options: TrainingOptions {
        var o = TrainingOptions()
        (o.rank, o.regularization, o.iterations, o.learningRate) = (rank, reg, iterations, lr)
        (o.oversampling, o.powerIterations, o.biases, o.seed, o.threads) = (oversampling, powerIterations, biases, seed, threads)
        (o.alpha, o.lambda, o.neighbours, o.solver, o.cgSteps) = (alpha, lambda, neighbours, solver, cgSteps)
        return o
    }

    func run() throws {
        let request = TrainingRequest(configuration: try options.configuration(for: model), grid: grid, folds: folds,
                                      select: select.flatMap(GridObjective.init),
                                      out: out.map { URL(fileURLWithPath: $0) }, warmStart: warmStart.map { URL(fileURLWithPath: $0) })
        switch try Training.run(request, database: db.open(), logger: Logger(label: "recsys.train")) {
        case .single(let report):
            if db.json { return try printJSON(report) }
            try say(report.text)
        case .grid(let report):
            if db.json { return try printJSON(report) }
            try say(report.text)
        }
    }
}
