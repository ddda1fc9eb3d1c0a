import Foundation

/// `lwm2m-fleet serve` started as a child process on free ports, for fleets whose server is
/// `embedded`: the fleet's own load then never competes with the server for the same loop.
///
/// The configuration goes to the child as JSON on its standard input; the child answers with
/// `EmbeddedServerReport` lines on its standard output: one when ready, one when stopped.
public final class EmbeddedServerProcess {
    /// The hidden `serve` flag that makes it read an `EmbeddedServerConfiguration` from standard
    /// input and report in JSON lines.
    public static let configurationFromStdinFlag = "--configuration-from-stdin"

    private let process = Process()
    private let output = Pipe()
    /// Where the server's stderr goes (a file, so its status lines never fill a pipe nobody reads):
    /// when it fails to start, the reason is there.
    private let errorLog = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-fleet-serve-\(UUID().uuidString).log")
    /// Output read past the ready line, where the summary may start.
    private var unread = Data()
    public let bootstrapURI: String
    public let serverURI: String
    /// The servers' `coaps://HOST:PORT` URIs; nil when the configuration had no `dtls`.
    public let dtlsBootstrapURI: String?
    public let dtlsServerURI: String?
    /// Where the run and its workers send `EmbeddedServerControlMessage`s (`HOST:PORT`).
    public let controlAddress: String
    /// The child's process id, for what only /proc tells of it (the memory benchmarks read its RSS).
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Starts `executable serve --configuration-from-stdin`, writes `configuration` to it and waits
    /// for its ready report.
    public init(executable: URL, configuration: EmbeddedServerConfiguration) throws {
        process.executableURL = executable
        process.arguments = ["serve", Self.configurationFromStdinFlag]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = output
        let errorLog = errorLog
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorLog)
        try process.run()
        // A child that exits before reading it all failed to start: that is reported below, with
        // what it said. Closing the pipe ends the document: the child reads to the end of its input.
        try? Self.write(JSONEncoder().encode(configuration), to: input.fileHandleForWriting)
        try? input.fileHandleForWriting.close()

        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) ?? buffer.endIndex
        guard case .ready(let bootstrapAddress, let serverAddress, let controlAddress, let dtlsBootstrapAddress, let dtlsServerAddress)?
            = try? EmbeddedServerReport(
            line: buffer[..<newline])
        else {
            let said = (try? String(contentsOf: errorLog, encoding: .utf8))?.split(separator: "\n").last.map { ": \($0)" }
            let line = String(decoding: buffer[..<newline], as: UTF8.self)
            // No deinit runs for an object that failed to initialize: clean up here.
            if process.isRunning { process.terminate() }
            try? FileManager.default.removeItem(at: errorLog)
            throw EmbeddedServerError(reason: "the embedded server did not start" + (said ?? " (its first line was '\(line)', not a ready report)"))
        }
        bootstrapURI = "coap://" + bootstrapAddress
        serverURI = "coap://" + serverAddress
        dtlsBootstrapURI = dtlsBootstrapAddress.map { "coaps://" + $0 }
        dtlsServerURI = dtlsServerAddress.map { "coaps://" + $0 }
        self.controlAddress = controlAddress
        unread = buffer[newline...]
    }

    /// Writes to a pipe whose reader may be gone, with SIGPIPE blocked on this thread meanwhile:
    /// the write then fails with EPIPE instead of the signal ending this process.
    private static func write(_ data: Data, to pipe: FileHandle) throws {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previousMask)
        defer {
            // A write to a pipe without reader left SIGPIPE pending on this thread: take it
            // before unblocking, or it would be delivered then.
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGPIPE) == 1 {
                var noWait = timespec()
                sigtimedwait(&pipeSignal, nil, &noWait)
            }
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }
        try pipe.write(contentsOf: data)
    }

    /// Stops the server (SIGINT) and returns what it counted; nil when it wrote no summary (it
    /// crashed or was killed), so that missing counts are never taken for zeros.
    public func stop() -> EmbeddedServerCounts? {
        // A server that stopped already (a SIGINT to the whole process group) wrote its summary too.
        if process.isRunning { process.interrupt() }
        let rest = unread + output.fileHandleForReading.readDataToEndOfFile()
        unread = Data()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: errorLog)
        for line in rest.split(separator: UInt8(ascii: "\n")) {
            if case .summary(let counts)? = try? EmbeddedServerReport(line: line) { return counts }
        }
        return nil
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: errorLog)
    }
}

/// The embedded server could not be started.
public struct EmbeddedServerError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
