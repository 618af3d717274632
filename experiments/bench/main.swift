// ALS benchmark: in one run, the machine's own dgemm GFLOP/s and the GFLOP/s
// an ALS iteration achieves on the warehouse's ratings, plus the export/cache
// timings and peak memory.
//
//   swift build -c release --product recsys-bench
//   RECSYS_HOME=experiments/out/home .build/release/recsys-bench [--rank 50] [--iterations 3] [--threads 2] [--reread]
//
// Reads the complete load of the database recsys would use (the managed
// cluster under RECSYS_HOME unless --database / RECSYS_DATABASE_URL say otherwise).
import Features
import Foundation
import Models
import Warehouse

func argument(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) { return v }
    return fallback
}
func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
    return nil
}
func peakMemoryGB() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1_048_576   // KiB → GiB
}

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
let home = RecsysHome()
let database = Database(target: DatabaseTarget.resolve(option: option("--database")), home: home)
let connection = try database.connect()
var t = Date()
let (matrix, version, cached) = try RatingExport.matrix(connection, home: home)
print(String(format: "ratings: %d (%d customers, %d movies), data version %@, %@ in %.1f s",
             matrix.count, matrix.customerCount, matrix.movieCount, version, cached ? "read from the cache" : "exported and cached",
             Date().timeIntervalSince(t)))
print(String(format: "  peak memory so far: %.2f GiB", peakMemoryGB()))
if !cached && CommandLine.arguments.contains("--reread") {
    // Holds two matrices at once: the peak after this is not the trainer's.
    t = Date()
    _ = try RatingExport.matrix(connection, home: home)
    print(String(format: "  reading the cache again: %.1f s", Date().timeIntervalSince(t)))
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
t = Date()
let biases = BiasModel(fitting: matrix)
print(String(format: "biases: %.1f s", Date().timeIntervalSince(t)))
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
