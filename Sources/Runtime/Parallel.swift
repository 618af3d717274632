import Foundation

/// The worker loops of recsys: a fixed number of workers, each with its
/// own scratch, pulling chunks of an index range from a shared counter, so
/// that uneven chunks (the first movies of the co-rating count, the sources of
/// a dense graph) still spread evenly over the cores.
public enum Parallel {
    /// The default worker count: one per core.
    public static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Calls `body(worker, range)` for consecutive chunks of `0..<count`, on
    /// `threads` workers. `makeScratch(worker)` runs once per worker, on it.
    /// Which worker gets which chunk varies from run to run: results must not
    /// depend on it (write per chunk or per index, reduce in index order).
    public static func forEachChunk<Scratch>(count: Int, chunkSize: Int, threads: Int,
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
    public static func forEachChunk(count: Int, chunkSize: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        forEachChunk(count: count, chunkSize: chunkSize, threads: threads, makeScratch: { _ in () }) { _, range in body(range) }
    }

    /// [body(0), …, body(count − 1)], computed on `threads` workers; the first error thrown is rethrown.
    public static func map<T>(count: Int, chunkSize: Int = 64, threads: Int, _ body: (Int) throws -> T) throws -> [T] {
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: max(count, 1))
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let failure = FirstError()
        forEachChunk(count: count, chunkSize: chunkSize, threads: threads) { range in
            for i in range where failure.error == nil {
                do { results[i] = try body(i) } catch { failure.record(error) }
            }
        }
        if let error = failure.error { throw error }
        return results[0..<count].map { $0! }
    }

    /// Σ f(i) over 0..<count, summed per fixed chunk and the chunks in order:
    /// the same bits for any thread count.
    public static func sum(count: Int, threads: Int, _ f: (Int) -> Double) -> Double {
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

/// A running count of work done, shared by parallel workers, told to a
/// callback one call at a time: either every total (`report`), or a line each
/// time another `step` of the whole is done (`lines`), quiet for the first
/// second so that short runs say nothing.
public final class ProgressTally: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private let total: Int
    private let started = Date()
    private var nextLine: Double
    private let step: Double
    private let label: String
    private let report: ((Int) -> Void)?
    private let line: ((String) -> Void)?

    /// Every new total goes to `report`.
    public init(report: ((Int) -> Void)?) {
        (self.report, self.line, total, step, nextLine, label) = (report, nil, 1, 1, 1, "")
    }

    /// "label: 30% (2.1 s)" at each `step` of `total` done.
    public init(_ label: String, total: Int, step: Double = 0.1, lines: ((String) -> Void)?) {
        (self.report, self.line, self.total, self.step, nextLine, self.label) = (nil, lines, max(1, total), step, step, label)
    }

    public func advance(_ amount: Int) {
        guard report != nil || line != nil else { return }
        lock.lock(); defer { lock.unlock() }
        done += amount
        report?(done)
        guard let line else { return }
        let fraction = Double(done) / Double(total), elapsed = Date().timeIntervalSince(started)
        if fraction >= nextLine && fraction < 1 && elapsed >= 1 {
            while nextLine <= fraction { nextLine += step }
            line(String(format: "%@: %.0f%% (%.1f s)", label, fraction * 100, elapsed))
        }
    }
}
