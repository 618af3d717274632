import Foundation
import Logging
import Runtime

/// Shows how a long step advances: on a terminal a live bar (percent, rows,
/// rows/s, ETA) redrawn in place on stderr; otherwise a log line every few
/// seconds. Thread-safe: producers on other threads may call `advance`.
public final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private let logger: Logger
    private let interactive: Bool
    private var label = ""
    private var total = 0
    private var done = 0
    private var started = Date()
    private var lastDraw = Date.distantPast
    private let logInterval: TimeInterval

    /// `interactive` nil means: a bar when stderr is a terminal.
    /// What `total` counts, for the progress line ("rows", "steps").
    private var unit = "rows"

    public init(logger: Logger, interactive: Bool? = nil, logInterval: TimeInterval = 5) {
        self.logger = logger
        self.interactive = interactive ?? (isatty(2) == 1)
        self.logInterval = logInterval
    }

    public func begin(_ label: String, total: Int, alreadyDone: Int = 0, unit: String = "rows") {
        lock.lock(); defer { lock.unlock() }
        self.label = label
        self.unit = unit
        self.total = total
        self.done = alreadyDone
        started = Date()
        lastDraw = .distantPast
        if !interactive {
            logger.info("\(label): started (\(Self.count(total)) \(unit)\(alreadyDone > 0 ? ", \(Self.count(alreadyDone)) already loaded" : ""))")
        }
    }

    /// Adds `rows` to the count: read and store in one locked step, so that
    /// threads advancing at once never lose each other's rows.
    public func advance(_ rows: Int) {
        lock.lock(); defer { lock.unlock() }
        setDone(done + rows)
    }

    /// Sets how many rows are done so far.
    public func update(done newValue: Int) {
        lock.lock(); defer { lock.unlock() }
        setDone(newValue)
    }

    /// How many rows are done so far.
    public var completed: Int {
        lock.lock(); defer { lock.unlock() }
        return done
    }

    /// - Precondition: `lock` is held.
    private func setDone(_ newValue: Int) {
        done = newValue
        let now = Date()
        let interval = interactive ? 0.2 : logInterval
        guard now.timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = now
        let line = render(now: now)
        if interactive {
            Self.terminal("\r\u{1B}[2K" + line)
        } else {
            logger.info("\(line)")
        }
    }

    /// A redraw of the bar; a failed write stops the command like any failed output.
    private static func terminal(_ text: String) {
        do { try Output.standardError(text) } catch let error as OutputError { Interruption.request(failure: error) } catch {}
    }

    /// Ends the current step with its summary line.
    public func finish(rows: Int, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        let rate = seconds > 0 ? Double(rows) / seconds : 0
        let summary = rows == 0 ? "\(label): done in \(String(format: "%.1f", seconds)) s"
            : "\(label): \(Self.count(rows)) rows in \(String(format: "%.1f", seconds)) s (\(Self.count(Int(rate))) rows/s)"
        if interactive { Self.terminal("\r\u{1B}[2K") }
        logger.info("\(summary)")
    }

    private func render(now: Date) -> String {
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let rate = Double(done) / elapsed
        let eta = rate > 0 && total > done ? Double(total - done) / rate : 0
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = interactive ? String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + " " : ""
        return "\(label) \(bar)\(String(format: "%5.1f", fraction * 100))%  \(Self.count(done))/\(Self.count(total)) \(unit)  \(Self.count(Int(rate)))/s  ETA \(Self.duration(eta))"
    }

    /// 1234567 → "1,234,567".
    public static func count(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
