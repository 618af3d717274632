// ALS benchmark: in one run, the machine's own dgemm GFLOP/s and the GFLOP/s
// an ALS iteration achieves on the warehouse's ratings, plus the export/cache
// timings and peak memory.
//
//   swift build -c release --product recsys-bench
//   RECSYS_HOME=experiments/out/home .build/release/recsys-bench [--rank 50] [--iterations 3] [--threads 2] [--reread]
//
//   # The randomized SVD: its phases next to the time the machine's dgemm
//   # (measured in the same run) needs for the flops the SVD performs.
//   RECSYS_HOME=experiments/out/home .build/release/recsys-bench --model svd [--rank 50] [--oversampling 10] [--power 2]
//
//   # SGD epochs per second (seconds per epoch, RMSE passes excluded).
//   RECSYS_HOME=experiments/out/home .build/release/recsys-bench --model sgd [--rank 100] [--iterations 3]
//
// Reads the complete load of the database recsys would use (the managed
// cluster under RECSYS_HOME unless --database / RECSYS_DATABASE_URL say otherwise).
import BenchSupport
import Features
import Foundation
import Models
import Warehouse


let rank = argument("--rank", 50)
let iterations = argument("--iterations", 3)
let threads = argument("--threads", ProcessInfo.processInfo.activeProcessorCount)

// 1. The machine's dgemm, all cores, n = 2000: 2n³ flops.
Linalg.setBLASThreads(threads)
let n = 2000
let a = (0..<(n * n)).map { Double($0 % 97) / 97 }
let b = (0..<(n * n)).map { Double($0 % 89) / 89 }
var c = [Double](repeating: 0, count: n * n)
Linalg.gemm(m: n, n: n, k: n, a: a, b: b, c: &c)   // warm-up
var best = Double.infinity
for _ in 0..<3 {
    let t = Date()
    Linalg.gemm(m: n, n: n, k: n, a: a, b: b, c: &c)
    best = min(best, Date().timeIntervalSince(t))
}
let dgemm = 2 * pow(Double(n), 3) / best / 1e9
print(String(format: "dgemm %d×%d, %d threads: %.1f GFLOP/s", n, n, threads, dgemm))

// 2. The ratings, from the cache when it holds this data version.
let (matrix, version, cached, home, connection) = try warehouseRatings()
var t = Date()
print(String(format: "  peak memory so far: %.2f GiB", peakMemoryGB()))
if !cached && CommandLine.arguments.contains("--reread") {
    // Holds two matrices at once: the peak after this is not the trainer's.
    t = Date()
    _ = try RatingExport.matrix(connection, home: home)
    print(String(format: "  reading the cache again: %.1f s", Date().timeIntervalSince(t)))
}

t = Date()
let biases = BiasModel(fitting: matrix)
print(String(format: "biases: %.1f s", Date().timeIntervalSince(t)))

switch option("--model") ?? "als" {
case "svd":
    // Flops of the decomposition, phase by phase: each operator application
    // touches every rating once per block column (a multiply and an add, plus
    // the residual r − μ − b_u − b_i, formed on the fly and not counted); a
    // Householder QR of a rows × l block (geqrf, then orgqr) costs about
    // 4·rows·l² − 4l³/3; the lift of the small SVD's vectors 2(m + n)·l·k.
    var svd = SVDConfiguration()
    svd.rank = rank
    svd.oversampling = argument("--oversampling", 10)
    svd.powerIterations = argument("--power", 2)
    svd.threads = threads
    let result = try RandomizedSVD(svd).decompose(matrix, biases: biases)
    let tm = result.timings
    let l = Double(tm.blockWidth), m = Double(matrix.customerCount), nn = Double(matrix.movieCount)
    let productFlops = Double(tm.products) * 2 * Double(matrix.count) * l
    func qr(_ rows: Double) -> Double { 4 * rows * l * l - 4 * l * l * l / 3 }
    let q = Double(svd.powerIterations)
    let qrFlops = (q + 1) * qr(m) + (q + 1) * qr(nn)
    let liftFlops = 2 * (m + nn) * l * Double(rank)
    let denseSeconds = (productFlops + qrFlops + liftFlops) / (dgemm * 1e9)
    print(String(format: "SVD rank %d (l = %d, %d power iterations): %.2f s in all; σ₁ %.1f … σ_k %.1f", rank, tm.blockWidth,
                 svd.powerIterations, tm.totalSeconds, result.singularValues.first ?? 0, result.singularValues.last ?? 0))
    print(String(format: "  %d sparse products: %.2f s (%.2f s of them by Aᵀ), %.1f GFLOP/s = %.0f%% of dgemm",
                 tm.products, tm.productSeconds, tm.transposedProductSeconds, productFlops / tm.productSeconds / 1e9,
                 100 * productFlops / tm.productSeconds / 1e9 / dgemm))
    print(String(format: "  QR (geqrf + orgqr): %.2f s, %.1f GFLOP/s; small SVD + lift: %.2f s",
                 tm.orthonormalizationSeconds, qrFlops / tm.orthonormalizationSeconds / 1e9, tm.smallSVDSeconds))
    print(String(format: "  the same flops at this machine's dgemm rate: %.2f s → SVD time ÷ dense-BLAS time = %.1f×",
                 denseSeconds, tm.totalSeconds / denseSeconds))
    print(String(format: "peak memory: %.2f GiB", peakMemoryGB()))
    exit(0)
case "sgd":
    var sgd = SGDConfiguration()
    sgd.rank = rank
    sgd.epochs = iterations
    sgd.threads = threads
    var seconds: [Double] = []
    _ = try SGDTrainer(sgd).fit(matrix, biases: biases) { epoch in
        seconds.append(epoch.seconds)
        // Two flops per factor for the dot product, four per factor for the two updates.
        let gflops = Double(matrix.count) * 6 * Double(rank) / epoch.seconds / 1e9
        print(String(format: "SGD rank %d epoch %d: %.1f s = %.3f epochs/s, %.1f M ratings/s, %.1f GFLOP/s = %.0f%% of dgemm, train RMSE %.4f",
                     rank, epoch.iteration, epoch.seconds, 1 / epoch.seconds, Double(matrix.count) / epoch.seconds / 1e6,
                     gflops, 100 * gflops / dgemm, epoch.trainRMSE))
    }
    print(String(format: "SGD: %.3f epochs/s over %d epochs; peak memory %.2f GiB", Double(seconds.count) / seconds.reduce(0, +),
                 seconds.count, peakMemoryGB()))
    exit(0)
default:
    break
}

// 3. ALS iterations (joint biases unless --fixed-biases: k + 1 unknowns per row).
//    Flops per half-sweep, per row with n ratings: syrk n·k(k+1), gemv 2nk, potrf k³/3, potrs 2k².
let biasMode: ALSConfiguration.BiasMode = CommandLine.arguments.contains("--fixed-biases") ? .fixed : .joint
func sweepFlops(_ start: [Int]) -> Double {
    let k = Double(biasMode == .joint ? rank + 1 : rank)
    var total = 0.0
    for r in 0..<(start.count - 1) where start[r + 1] > start[r] {
        let rows = Double(start[r + 1] - start[r])
        total += rows * k * (k + 1) + 2 * rows * k + k * k * k / 3 + 2 * k * k
    }
    return total
}
let flopsPerIteration = sweepFlops(matrix.customerStart) + sweepFlops(matrix.movieStart)
var config = ALSConfiguration()
config.rank = rank
config.iterations = iterations
config.threads = threads
config.regularization = 0.05
config.biases = biasMode
let model = try ALSTrainer(config).fit(matrix, biases: biases) { report in
    let gflops = flopsPerIteration / report.seconds / 1e9
    print("\(biasMode.rawValue) biases: " + String(format: "ALS rank %d iteration %d: %.1f s, train RMSE %.4f, %.1f GFLOP/s = %.0f%% of dgemm",
                 rank, report.iteration, report.seconds, report.trainRMSE, gflops, 100 * gflops / dgemm))
}
_ = model
print(String(format: "peak memory: %.2f GiB", peakMemoryGB()))
