import Foundation

/// A child process to run: any executable (a shell script, python3, the built binary), with
/// variables added to the test's environment.
struct BoundedProcess {
    var executable: URL
    var arguments: [String]
    var environment: [String: String] = [:]

    /// What the process did: its exit status and what it printed.
    struct Outcome {
        var status: Int32
        var output: String
        var errors: String
        /// False when the time bound ran out and the process was killed (its status is then the signal's).
        var finishedInTime: Bool
    }

    /// `/usr/bin/env NAME ARGUMENTS`: a program found on PATH.
    static func onPath(_ name: String, _ arguments: [String]) -> BoundedProcess {
        BoundedProcess(executable: URL(fileURLWithPath: "/usr/bin/env"), arguments: [name] + arguments)
    }

    /// Runs the process to its end, killing it if it runs longer than `seconds`.
    func run(within seconds: Double) throws -> Outcome {
        try Self.runTogether([self], within: seconds)[0]
    }

    /// Starts every process at once and waits for all of them, killing those still running
    /// `seconds` after the start.
    static func runTogether(_ processes: [BoundedProcess], within seconds: Double) throws -> [Outcome] {
        let deadline = Date().addingTimeInterval(seconds)
        // Output to files, not pipes: a full pipe would stall a process nobody reads while the
        // test waits for another.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bounded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var running: [(process: Process, output: URL, errors: URL)] = []
        defer {
            for child in running where child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
        }
        for (number, description) in processes.enumerated() {
            let output = directory.appendingPathComponent("\(number).out")
            let errors = directory.appendingPathComponent("\(number).err")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            let process = Process()
            process.executableURL = description.executable
            process.arguments = description.arguments
            process.environment = ProcessInfo.processInfo.environment.merging(description.environment) { $1 }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = try FileHandle(forWritingTo: errors)
            try process.run()
            running.append((process, output, errors))
        }
        var outcomes: [Outcome] = []
        for child in running {
            while child.process.isRunning, Date() < deadline { usleep(20_000) }
            let finishedInTime = !child.process.isRunning
            if !finishedInTime { kill(child.process.processIdentifier, SIGKILL) }
            child.process.waitUntilExit()
            outcomes.append(Outcome(
                status: child.process.terminationStatus,
                output: (try? String(contentsOf: child.output, encoding: .utf8)) ?? "",
                errors: (try? String(contentsOf: child.errors, encoding: .utf8)) ?? "",
                finishedInTime: finishedInTime))
        }
        return outcomes
    }
}
