import Foundation
import Runtime

/// The worker loops of this module: a fixed number of workers, each with its
/// own scratch, pulling chunks of an index range from a shared counter, so
/// that uneven chunks (the first movies of the co-rating count, the sources of
/// a dense graph) still spread evenly over the cores.
enum Parallel {
    /// The default worker count: one per core.
    static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Calls `body(worker, range)` for consecutive chunks of `0..<count`, on
    /// `threads` workers. `makeScratch(worker)` runs once per worker, on it.
    /// Which worker gets which chunk varies from run to run: results must not
    /// depend on it (write per chunk or per index, reduce in index order).
    static func forEachChunk<Scratch>(count: Int, chunkSize: Int, threads: Int,
                                      makeScratch: (Int) -> Scratch,
                                      _ body: (inout Scratch, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunkSize = max(1, chunkSize)
        let chunks = (count + chunkSize - 1) / chunkSize
        let workers = max(1, min(threads, chunks))
        let counter = ChunkCounter()
        func run(_ worker: Int) {
            var scratch = makeScratch(worker)
            // No new chunk once a stop is requested; the caller checks `Interruption.check()`.
            while let chunk = counter.take(below: chunks) {
                let lower = chunk * chunkSize
                body(&scratch, lower..<min(count, lower + chunkSize))
            }
        }
        if workers == 1 {
            run(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: workers, execute: run)
        }
    }

    /// `forEachChunk` without scratch.
    static func forEachChunk(count: Int, chunkSize: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        forEachChunk(count: count, chunkSize: chunkSize, threads: threads, makeScratch: { _ in () }) { _, range in body(range) }
    }

    /// Σ f(i) over 0..<count, summed per fixed chunk and the chunks in order:
    /// the same bits for any thread count.
    static func sum(count: Int, threads: Int, _ f: (Int) -> Double) -> Double {
        let chunkSize = 4096
        let chunks = (count + chunkSize - 1) / chunkSize
        guard chunks > 0 else { return 0 }
        var partial = [Double](repeating: 0, count: chunks)
        partial.withUnsafeMutableBufferPointer { out in
            let out = out
            forEachChunk(count: chunks, chunkSize: 1, threads: threads) { range in
                for chunk in range {
                    var s = 0.0
                    for i in (chunk * chunkSize)..<min(count, (chunk + 1) * chunkSize) { s += f(i) }
                    out[chunk] = s
                }
            }
        }
        return partial.reduce(0, +)
    }
}

/// A shared chunk counter (a lock is cheap next to a chunk of work).
/// Progress lines from long loops, at most one per `step` of the fraction done.
final class ProgressTicker: @unchecked Sendable {
    private let lock = NSLock()
    private let report: ((String) -> Void)?
    private let label: String
    private let total: Int
    private let started = Date()
    private var done = 0
    private var nextReport: Double

    init(_ label: String, total: Int, step: Double = 0.1, report: ((String) -> Void)?) {
        self.label = label
        self.total = max(1, total)
        self.report = report
        self.nextReport = step
        self.step = step
    }

    private let step: Double

    func advance(_ amount: Int) {
        guard let report else { return }
        lock.lock()
        done += amount
        let fraction = Double(done) / Double(total)
        var line: String?
        // Short runs stay quiet: nothing before a second has passed.
        if fraction >= nextReport && fraction < 1 && Date().timeIntervalSince(started) >= 1 {
            while nextReport <= fraction { nextReport += step }
            line = String(format: "%@: %.0f%% (%.1f s)", label, fraction * 100, Date().timeIntervalSince(started))
        }
        lock.unlock()
        if let line { report(line) }
    }
}
