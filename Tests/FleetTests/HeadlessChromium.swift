import Foundation
import XCTest

/// Debian's headless Chromium (`chromium`, which `make deps` installs) for the report tests: the
/// page it builds from an HTML file, and a screenshot of it. Each call is bounded in time.
struct HeadlessChromium {
    let executable: String
    /// Chromium's profile, in the test's own directory.
    let profileDirectory: String

    /// The installed Chromium with its profile in `directory`; skips the test without one.
    init(profileIn directory: URL) throws {
        guard let executable = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("chromium is not installed (make deps installs it): the page is not rendered")
        }
        self.executable = executable
        profileDirectory = directory.appendingPathComponent("profile").path
    }

    /// The DOM Chromium built from the page at `pagePath`, serialized.
    func dumpDOM(of pagePath: String) throws -> String {
        try run(["--dump-dom", "file://\(pagePath)"])
    }

    /// A screenshot of the page at `pagePath` in a window `width` by `height`, saved at `imagePath`.
    func screenshot(of pagePath: String, to imagePath: String, width: Int, height: Int) throws -> PNGImage {
        _ = try run(["--screenshot=\(imagePath)", "--window-size=\(width),\(height)", "file://\(pagePath)"])
        return try PNGImage(data: Data(contentsOf: URL(fileURLWithPath: imagePath)))
    }

    private func run(_ arguments: [String]) throws -> String {
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profileDirectory)"]
        return try Self.runBounded(executable, common + arguments, seconds: 90)
    }

    /// Runs `executable` and returns its standard output; ends it after `seconds`.
    private static func runBounded(_ executable: String, _ arguments: [String], seconds: Double) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: deadline)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        deadline.cancel()
        XCTAssertEqual(process.terminationStatus, 0, "\(executable) \(arguments.joined(separator: " "))")
        return printed
    }
}
