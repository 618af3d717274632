import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT) and SIGTERM as a request to stop long work cleanly.
///
/// Long loops poll `isRequested` (cheap: one atomic load) and call `check()`
/// where they can throw; the command then unwinds, its partial files are
/// removed (`TemporaryFiles`), and the CLI exits 130 or 143. Work that cannot
/// poll (a blocking libpq call) is covered by a grace period: if the process
/// has not ended `grace` seconds after the signal, the registered temporary
/// files are removed and the process exits with the same code. The database
/// side needs nothing more: an open transaction is rolled back and an advisory
/// lock is released when the connection drops.
///
/// SIGPIPE is ignored, so that writing to a closed pipe is a write error that
/// the command reports, not the end of the process.
public enum Interruption {
    /// 0 while no stop is requested, else the signal (or `outputFailureCode`).
    private static let requested = Atomic<Int32>(0)
    private static let state = Mutex<State>(State())

    private struct State {
        var sources: [DispatchSourceSignal] = []
        var failure: (any Error & Sendable)?
        var hooks: [@Sendable () -> Void] = []
    }

    /// The request code of a stop that a failed write asked for (not a signal).
    static let outputFailureCode: Int32 = -1

    /// Installs the handlers; call once, at process start.
    public static func install(grace: TimeInterval = 1.0) {
        Glibc.signal(SIGPIPE, SIG_IGN)
        let queue = DispatchQueue(label: "recsys.signals")
        var sources: [DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                let (exchanged, _) = requested.compareExchange(expected: 0, desired: number, ordering: .sequentiallyConsistent)
                if !exchanged {
                    // A second signal: stop now.
                    TemporaryFiles.removeAll()
                    _exit(128 + number)
                }
                // Work that waits on something else (a query on the server) is told too.
                for hook in state.withLock({ $0.hooks }) { hook() }
                DispatchQueue.global().asyncAfter(deadline: .now() + grace) {
                    TemporaryFiles.removeAll()
                    _exit(128 + number)
                }
            }
            source.resume()
            sources.append(source)
        }
        state.withLock { $0.sources = sources }
    }

    /// Gives SIGINT and SIGTERM to another owner (a server that drains its
    /// requests on them and exits 0): the handlers and their grace-period exit
    /// are removed; the signals stay ignored by default, so a dispatch source
    /// of the new owner receives them.
    public static func handOver() {
        state.withLock { state in
            state.sources.forEach { $0.cancel() }
            state.sources.removeAll()
        }
    }

    /// Runs `hook` when a signal asks for a stop (e.g. cancel the queries the
    /// server is running for us, which no loop of ours can poll).
    public static func onSignal(_ hook: @escaping @Sendable () -> Void) {
        state.withLock { $0.hooks.append(hook) }
    }

    /// The signal that asked for a stop, if one did: whatever error the
    /// interrupted work then throws (a cancelled query), the exit code is the signal's.
    public static var signal: Int32? {
        let code = requested.load(ordering: .sequentiallyConsistent)
        return code > 0 ? code : nil
    }

    /// True once a stop was requested: loops take no new work.
    @inline(__always)
    public static var isRequested: Bool { requested.load(ordering: .relaxed) != 0 }

    /// Throws `Interrupted` (or the failure that asked for the stop) once a stop was requested.
    public static func check() throws {
        let code = requested.load(ordering: .sequentiallyConsistent)
        guard code != 0 else { return }
        if code == outputFailureCode, let failure = state.withLock({ $0.failure }) { throw failure }
        throw Interrupted(signal: code)
    }

    /// Asks long work to stop because `failure` happened where it cannot be
    /// thrown (a log line that could not be written); `check()` then throws it.
    public static func request(failure: any Error & Sendable) {
        state.withLock { if $0.failure == nil { $0.failure = failure } }
        _ = requested.compareExchange(expected: 0, desired: outputFailureCode, ordering: .sequentiallyConsistent)
    }

    /// Forgets a request (tests run many commands in one process).
    public static func reset() {
        state.withLock { $0.failure = nil }
        requested.store(0, ordering: .sequentiallyConsistent)
    }

    /// Simulates a signal's request, without the grace-period exit (tests).
    public static func simulate(signal number: Int32) {
        _ = requested.compareExchange(expected: 0, desired: number, ordering: .sequentiallyConsistent)
    }
}

/// Long work stopped by SIGINT or SIGTERM.
public struct Interrupted: Error, CustomStringConvertible, Sendable {
    public let signal: Int32
    public init(signal: Int32) { self.signal = signal }
    /// 130 for SIGINT, 143 for SIGTERM: the shell's convention for "ended by signal N".
    public var exitCode: Int32 { 128 + signal }
    public var description: String {
        let name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
        return "interrupted by \(name); nothing partial was kept"
    }
}
