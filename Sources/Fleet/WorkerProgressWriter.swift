import Foundation

/// A worker's progress, sent to its parent as one JSON `ProgressMessage` a line on stdout, which
/// the parent reads from a pipe (`WorkerProgressReader`) and shows combined with the others'.
public final class WorkerProgressWriter: ProgressSink {
    private let encoder = JSONEncoder()

    public init() {
        // A worker whose parent is gone still finishes its run and writes its result file: a
        // write to the closed pipe fails (and is ignored) instead of killing it.
        signal(SIGPIPE, SIG_IGN)
    }

    public func report(_ report: ProgressReport) {
        send(.report(report))
    }

    public func note(_ text: String) {
        send(.note(text))
    }

    /// Nothing to end: the parent sees the end of the pipe when the worker exits.
    public func finish() {}

    private func send(_ message: ProgressMessage) {
        // Integers and strings only: encoding cannot fail.
        var line = try! encoder.encode(message)
        line.append(UInt8(ascii: "\n"))
        try? FileHandle.standardOutput.write(contentsOf: line)
    }
}
