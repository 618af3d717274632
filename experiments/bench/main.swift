// ALS benchmark: in one run, the machine's own limits (dgemm, sgemm, memory
// bandwidth by a triad) and the share of its own limit an ALS iteration
// achieves on the warehouse's ratings, plus the export/cache timings and peak memory.
//
//   swift build -c release --product recsys-bench
//   RECSYS_HOME=experiments/out/home .build/release/recsys-bench [--rank 50] [--iterations 3] [--threads 2] [--reread]
//       [--solver cholesky|cg] [--cg-steps 3]
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
import Runtime
import Warehouse


let rank = argument("--rank", 50)
let iterations = argument("--iterations", 3)
let threads = argument("--threads", ProcessInfo.processInfo.activeProcessorCount)

// 1. The machine's limits, measured in this run: dgemm and sgemm (all cores,
//    n = 2000: 2n³ flops each), so that a float kernel is divided by the float
//    peak and a double one by the double peak; and memory bandwidth by a
//    STREAM-style triad a = b + s·c over three 1 GB arrays of doubles on every
//    core (24 bytes moved per element; write-allocate traffic not counted, as STREAM does).
Linalg.setBLASThreads(threads)
let n = 2000
func bestOf(_ runs: Int, _ body: () -> Void) -> Double {
    body()   // warm-up
    var best = Double.infinity
    for _ in 0..<runs {
        let t = Date()
        body()
        best = min(best, Date().timeIntervalSince(t))
    }
    return best
}
let a = (0..<(n * n)).map { Double($0 % 97) / 97 }
let b = (0..<(n * n)).map { Double($0 % 89) / 89 }
var c = [Double](repeating: 0, count: n * n)
let dgemm = 2 * pow(Double(n), 3) / bestOf(3) { Linalg.gemm(m: n, n: n, k: n, a: a, b: b, c: &c) } / 1e9
let af = a.map(Float.init), bf = b.map(Float.init)
var cf = [Float](repeating: 0, count: n * n)
// C = A·Bᵀ has the same flops as A·B.
let sgemm = 2 * pow(Double(n), 3) / bestOf(3) { Linalg.gemmTransposedB(m: n, n: n, k: n, a: af, b: bf, c: &cf) } / 1e9
c = []; cf = []
let streamCount = 1 << 27
let triadA = UnsafeMutableBufferPointer<Double>.allocate(capacity: streamCount)
let triadB = UnsafeMutableBufferPointer<Double>.allocate(capacity: streamCount)
let triadC = UnsafeMutableBufferPointer<Double>.allocate(capacity: streamCount)
Parallel.forEachChunk(count: streamCount, chunkSize: 1 << 20, threads: threads) { range in
    for i in range { triadA[i] = 0; triadB[i] = Double(i & 1023); triadC[i] = 0.5 }
}
let triadSeconds = bestOf(3) {
    Parallel.forEachChunk(count: streamCount, chunkSize: 1 << 20, threads: threads) { range in
        for i in range { triadA[i] = triadB[i] + 3 * triadC[i] }
    }
}
let bandwidth = 24 * Double(streamCount) / triadSeconds / 1e9
triadA.deallocate(); triadB.deallocate(); triadC.deallocate()
print(String(format: "limits, %d threads: dgemm %d×%d %.1f GFLOP/s; sgemm %.1f GFLOP/s; triad %.1f GB/s", threads, n, n, dgemm, sgemm, bandwidth))

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
    // Bytes a product must move at the least: each rating's (index, value) pair once (8 bytes), plus
    // the l-wide double block read and the l-wide result written once (the gathered rows come from cache).
    let productBytes = Double(tm.products) * (8 * Double(matrix.count) + 8 * l * (m + nn))
    print(String(format: "  %d sparse products: %.2f s (%.2f s of them by Aᵀ), %.1f GFLOP/s = %.0f%% of dgemm; %.1f GB/s of the least traffic = %.0f%% of the triad",
                 tm.products, tm.productSeconds, tm.transposedProductSeconds, productFlops / tm.productSeconds / 1e9,
                 100 * productFlops / tm.productSeconds / 1e9 / dgemm, productBytes / tm.productSeconds / 1e9,
                 100 * productBytes / tm.productSeconds / 1e9 / bandwidth))
    print(String(format: "  orthonormalization (CholeskyQR2, Householder's flop count): %.2f s, %.1f GFLOP/s = %.0f%% of dgemm; small SVD + lift: %.2f s",
                 tm.orthonormalizationSeconds, qrFlops / tm.orthonormalizationSeconds / 1e9,
                 100 * qrFlops / tm.orthonormalizationSeconds / 1e9 / dgemm, tm.smallSVDSeconds))
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
        // Two flops per factor for the dot product, four per factor for the two updates (float).
        // Memory: each rating reads its (customer, movie, rating) entry and reads and writes both factor rows.
        let gflops = Double(matrix.count) * 6 * Double(rank) / epoch.seconds / 1e9
        let bytes = Double(matrix.count) * (12 + 4 * 4 * Double(rank + 1)) / epoch.seconds / 1e9
        print(String(format: "SGD rank %d epoch %d: %.1f s = %.3f epochs/s, %.1f M ratings/s, %.1f GFLOP/s = %.0f%% of sgemm, %.1f GB/s touched = %.0f%% of the triad, train RMSE %.4f",
                     rank, epoch.iteration, epoch.seconds, 1 / epoch.seconds, Double(matrix.count) / epoch.seconds / 1e6,
                     gflops, 100 * gflops / sgemm, bytes, 100 * bytes / bandwidth, epoch.trainRMSE))
    }
    print(String(format: "SGD: %.3f epochs/s over %d epochs; peak memory %.2f GiB", Double(seconds.count) / seconds.reduce(0, +),
                 seconds.count, peakMemoryGB()))
    exit(0)
default:
    break
}

// 3. ALS iterations (joint biases unless --fixed-biases: k + 1 unknowns per row), --solver cholesky|cg.
//    Flops per half-sweep, per row with n ratings: Cholesky: syrk n·k(k+1), gemv 2nk, potrf k³/3, potrs 2k²;
//    CG with s steps: 4nk per pass over the gathered rows (a dot and an axpy), s + 1 passes.
//    Both are float kernels: divided by sgemm.
let biasMode: ALSConfiguration.BiasMode = CommandLine.arguments.contains("--fixed-biases") ? .fixed : .joint
let solver = ALSConfiguration.Solver(rawValue: option("--solver") ?? "cholesky") ?? .cholesky
let cgSteps = argument("--cg-steps", 3)
func sweepFlops(_ start: [Int], cg: Bool) -> Double {
    let k = Double(biasMode == .joint ? rank + 1 : rank)
    var total = 0.0
    for r in 0..<(start.count - 1) where start[r + 1] > start[r] {
        let rows = Double(start[r + 1] - start[r])
        total += cg ? 4 * rows * k * Double(cgSteps + 1) : rows * k * (k + 1) + 2 * rows * k + k * k * k / 3 + 2 * k * k
    }
    return total
}
var config = ALSConfiguration()
config.rank = rank
config.iterations = iterations
config.threads = threads
config.regularization = 0.05
config.biases = biasMode
config.solver = solver
config.cgSteps = cgSteps
let model = try ALSTrainer(config).fit(matrix, biases: biases) { report in
    // The first sweep is exact on either path (CG needs a previous solution to start from).
    let cg = solver == .cg && report.iteration > 1
    let gflops = (sweepFlops(matrix.customerStart, cg: cg) + sweepFlops(matrix.movieStart, cg: cg)) / report.seconds / 1e9
    print("\(biasMode.rawValue) biases, \(cg ? "cg \(cgSteps) steps" : "cholesky"): " + String(format: "ALS rank %d iteration %d: %.1f s, train RMSE %.4f, %.1f GFLOP/s = %.0f%% of sgemm",
                 rank, report.iteration, report.seconds, report.trainRMSE, gflops, 100 * gflops / sgemm))
}
_ = model
print(String(format: "peak memory: %.2f GiB", peakMemoryGB()))
