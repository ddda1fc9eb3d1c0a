import Foundation

/// What the live progress line shows, taken once a second.
public struct ProgressSnapshot: Sendable {
    public var elapsedSeconds = 0.0
    public var arrivals = 0
    public var stage = ""
    public var targetRate = 0.0
    public var registered = 0
    public var bootstrapping = 0
    public var failed = 0
    /// Register latency percentiles in nanoseconds.
    public var registerP50 = 0.0
    public var registerP99 = 0.0
    public var errors = 0
    public var violations = 0
    public var loopLagP99 = 0.0
}

/// Writes the progress line to stderr: redrawn in place on a terminal, one line a second otherwise.
public final class ProgressPrinter: Sendable {
    private let isTerminal: Bool
    private let enabled: Bool
    /// Put before every line: which worker's stripe the numbers are for.
    private let prefix: String

    public init(enabled: Bool = true, prefix: String = "") {
        self.enabled = enabled
        self.prefix = prefix
        isTerminal = isatty(FileHandle.standardError.fileDescriptor) != 0
    }

    public func show(_ snapshot: ProgressSnapshot, since last: ProgressSnapshot) {
        guard enabled else { return }
        let seconds = max(snapshot.elapsedSeconds - last.elapsedSeconds, 0.001)
        let actualRate = Double(snapshot.arrivals - last.arrivals) / seconds
        func fixed(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }
        let line = "\(fixed(snapshot.elapsedSeconds))s \(snapshot.stage) arrivals \(fixed(actualRate))/s"
            + " (target \(fixed(snapshot.targetRate))/s) registered \(snapshot.registered) bootstrapping \(snapshot.bootstrapping)"
            + " failed \(snapshot.failed) register p50 \(fixed(snapshot.registerP50 / 1e6, 1))ms p99 \(fixed(snapshot.registerP99 / 1e6, 1))ms"
            + " errors \(snapshot.errors) violations \(snapshot.violations) loop-lag p99 \(fixed(snapshot.loopLagP99 / 1e6, 2))ms"
        write(isTerminal ? "\r\u{1B}[2K" + prefix + line : prefix + line + "\n")
    }

    /// A message on a line of its own.
    public func note(_ text: String) {
        guard enabled else { return }
        write((isTerminal ? "\n" : "") + text + "\n")
    }

    /// Ends the in-place line so what follows starts on a fresh one.
    public func finish() {
        if enabled, isTerminal { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
