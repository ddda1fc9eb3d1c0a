import Foundation

/// `lwm2m-fleet serve` started as a child process on free ports, for fleets whose server is
/// `embedded`: the fleet's own load then never competes with the server for the same loop.
public final class EmbeddedServerProcess {
    private let process = Process()
    private let output = Pipe()
    public let bootstrapURI: String
    public let serverURI: String

    /// Starts `executable serve --port 0 --bootstrap-port 0 <arguments>` and waits for its ready line.
    public init(executable: URL, arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = ["serve", "--port", "0", "--bootstrap-port", "0"] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
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
                throw EmbeddedServerError(reason: "the embedded server did not start (no '\(key)=' in its ready line)")
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
        let summary = String(decoding: rest, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("summary ") }
        return summary.map { String($0.dropFirst("summary ".count)) } ?? ""
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// The embedded server could not be started.
public struct EmbeddedServerError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
