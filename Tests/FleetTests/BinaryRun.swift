import Foundation

/// The built `lwm2m-fleet` run once to its end: its exit status, standard output and standard error.
struct BinaryRun {
    var status: Int32
    var output: String
    var errors: String

    /// Runs `lwm2m-fleet ARGUMENTS` and waits for it.
    static func run(_ arguments: [String]) throws -> BinaryRun {
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        // Standard error to a file: read after standard output, a pipe of its own could fill and
        // stall the process while the test waits for the other.
        let errorsPath = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: errorsPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorsPath) }
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorsPath))
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let errors = (try? String(contentsOfFile: errorsPath, encoding: .utf8)) ?? ""
        return BinaryRun(status: process.terminationStatus, output: printed, errors: errors)
    }
}
