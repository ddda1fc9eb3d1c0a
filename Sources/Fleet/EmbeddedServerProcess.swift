import Foundation

/// `lwm2m-fleet serve` started as a child process on free ports, for fleets whose server is
/// `embedded`: the fleet's own load then never competes with the server for the same loop.
public final class EmbeddedServerProcess {
    private let process = Process()
    private let output = Pipe()
    /// Where the server's stderr goes (a file, so its status lines never fill a pipe nobody reads):
    /// when it fails to start, the reason is there.
    private let errorLog = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-fleet-serve-\(UUID().uuidString).log")
    public let bootstrapURI: String
    public let serverURI: String

    /// Starts `executable serve --port 0 --bootstrap-port 0 <arguments>` and waits for its ready line.
    public init(executable: URL, arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = ["serve", "--port", "0", "--bootstrap-port", "0"] + arguments
        process.standardOutput = output
        let errorLog = errorLog
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorLog)
        try process.run()
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let fields = String(decoding: buffer, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        func address(_ key: String) throws -> String {
            guard let field = fields.first(where: { $0.hasPrefix(key + "=") }) else {
                let said = (try? String(contentsOf: errorLog, encoding: .utf8))?.split(separator: "\n").last.map { ": \($0)" } ?? ""
                try? FileManager.default.removeItem(at: errorLog)
                throw EmbeddedServerError(reason: "the embedded server did not start\(said.isEmpty ? " (no '\(key)=' in its ready line)" : said)")
            }
            return "coap://" + field.dropFirst(key.count + 1)
        }
        bootstrapURI = try address("bootstrap")
        serverURI = try address("server")
    }

    /// Stops the server (SIGINT) and returns its summary line (`registrations=0 registered=...`).
    public func stop() -> String {
        guard process.isRunning else { return "" }
        process.interrupt()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: errorLog)
        let summary = String(decoding: rest, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("summary ") }
        return summary.map { String($0.dropFirst("summary ".count)) } ?? ""
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
