import EventLoop
import Foundation
import Synchronization
import XCTest

/// Lines read on a pipe's handler thread and looked at from the test's thread.
final class CollectedLines: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ text: String) {
        lines.withLock { $0 += text.split(separator: "\n").map(String.init) }
    }

    var all: [String] { lines.withLock { $0 } }
}

/// `lwm2m-fleet serve` as a child process on free ports, with its output collected.
final class ServeProcess {
    let process = Process()
    let bootstrapAddress: SocketAddress
    let serverAddress: SocketAddress
    /// The ready line, as printed.
    let readyLine: String
    private let output = Pipe()
    private let errors = Pipe()
    private let statusLines = CollectedLines()

    /// The built `lwm2m-fleet` next to the test bundle.
    static var executable: URL {
        var directory = Bundle(for: ServeProcess.self).bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("lwm2m-fleet").path),
              directory.pathComponents.count > 1 {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("lwm2m-fleet")
    }

    init(arguments: [String] = []) throws {
        process.executableURL = Self.executable
        process.arguments = ["serve", "--port", "0", "--bootstrap-port", "0"] + arguments
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // The ready line, within 10 s.
        let deadline = Date().addingTimeInterval(10)
        var buffer = Data()
        while Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            if buffer.contains(UInt8(ascii: "\n")) { break }
        }
        let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        func address(_ key: String) throws -> SocketAddress {
            guard let field = line.split(separator: " ").first(where: { $0.hasPrefix(key + "=") }),
                  let colon = field.lastIndex(of: ":"), let port = UInt16(field[field.index(after: colon)...])
            else { throw XCTSkip("serve did not print its ready line: '\(line)'") }
            return try SocketAddress(ipAddress: "127.0.0.1", port: port)
        }
        bootstrapAddress = try address("bootstrap")
        serverAddress = try address("server")
        readyLine = line
        let collected = statusLines
        errors.fileHandleForReading.readabilityHandler = { handle in
            collected.append(String(decoding: handle.availableData, as: UTF8.self))
        }
    }

    /// The address the ready line gives for `key` (`dtls-server`, ...); nil when it has none.
    func address(_ key: String) -> SocketAddress? {
        guard let field = readyLine.split(separator: " ").first(where: { $0.hasPrefix(key + "=") }),
              let colon = field.lastIndex(of: ":"), let port = UInt16(field[field.index(after: colon)...])
        else { return nil }
        return try? SocketAddress(ipAddress: "127.0.0.1", port: port)
    }

    /// The status lines printed so far (one a second).
    var status: [String] { statusLines.all }

    /// Stops the server with SIGINT and returns its final summary line.
    func stop() -> String {
        process.interrupt()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
        return String(decoding: rest, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("summary") }.map(String.init) ?? ""
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
