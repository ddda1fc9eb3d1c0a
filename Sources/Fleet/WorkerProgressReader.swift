import Foundation

/// The parent's end of a worker's progress pipe: reads the `ProgressMessage` lines the worker's
/// `WorkerProgressWriter` writes, on a thread of its own, and hands them to the printer.
enum WorkerProgressReader {
    /// Reads `pipe` until the worker closes it (it exited), then tells the printer the worker
    /// ended and leaves `group`, which the caller entered.
    static func start(worker: Int, reading pipe: Pipe, into printer: ProgressPrinter, group: DispatchGroup) {
        let handle = pipe.fileHandleForReading
        let thread = Thread {
            let decoder = JSONDecoder()
            var buffer = Data()
            while case let chunk = handle.availableData, !chunk.isEmpty {
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = buffer[buffer.startIndex..<newline]
                    buffer.removeSubrange(buffer.startIndex...newline)
                    // A worker writes only messages to stdout: any other line is not progress.
                    switch try? decoder.decode(ProgressMessage.self, from: line) {
                    case .report(let report)?: printer.receive(report, from: worker)
                    case .note(let text)?: printer.note(text)
                    case nil: break
                    }
                }
            }
            printer.workerEnded(worker)
            group.leave()
        }
        thread.start()
    }
}
