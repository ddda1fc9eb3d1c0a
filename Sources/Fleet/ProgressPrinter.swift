import Foundation
import Synchronization

/// Shows a run's progress on stderr: the reports of its workers (or its own, in one process),
/// combined by `FleetProgress` into one line a second, redrawn in place on a terminal, one line
/// a second otherwise. The parent calls it from a reading thread per worker.
public final class ProgressPrinter: ProgressSink, Sendable {
    private let isTerminal: Bool
    private let enabled: Bool
    /// Also keeps lines of several threads from interleaving: they are written under it.
    private let progress: Mutex<FleetProgress>
    /// Fed every report and line, shown or not (`--metrics-port`).
    private let live: LiveMetrics?

    public init(progress: FleetProgress, enabled: Bool = true, live: LiveMetrics? = nil) {
        self.enabled = enabled
        self.live = live
        self.progress = Mutex(progress)
        isTerminal = isatty(FileHandle.standardError.fileDescriptor) != 0
    }

    /// A run in one process is its own only worker.
    public func report(_ report: ProgressReport) {
        receive(report, from: 0)
    }

    /// Takes a worker's report and shows the lines it completes.
    public func receive(_ report: ProgressReport, from worker: Int) {
        live?.record(report, from: worker)
        progress.withLock { progress in
            for line in progress.receive(report, from: worker) { show(line) }
        }
    }

    /// A worker sends no more reports: shows the lines that waited only for it.
    public func workerEnded(_ worker: Int) {
        progress.withLock { progress in
            for line in progress.workerEnded(worker) { show(line) }
        }
    }

    /// A message on a line of its own, once however many workers send it.
    public func note(_ text: String) {
        progress.withLock { progress in
            guard enabled, progress.shouldShow(note: text) else { return }
            write((isTerminal ? "\n" : "") + text + "\n")
        }
    }

    /// Ends the in-place line so what follows starts on a fresh one.
    public func finish() {
        if enabled, isTerminal { write("\n") }
    }

    private func show(_ line: ProgressLine) {
        live?.record(line)
        guard enabled else { return }
        write(isTerminal ? "\r\u{1B}[2K" + line.text : line.text + "\n")
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
