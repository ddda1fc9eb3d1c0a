import Fleet
import Foundation
import XCTest

/// `lwm2m-fleet search` end to end: the built binary against a server of known capacity, its
/// exit status, its table and its search result.
final class SearchCommandTests: XCTestCase {
    struct Search {
        var status: Int32
        var output: String
        var errors: String
        var result: SearchResult?
    }

    /// Runs `search` on `yaml`; `interruptAfter` sends SIGINT after that many seconds.
    func search(_ yaml: String, arguments: [String] = [], interruptAfter: Double? = nil) throws -> Search {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("search-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let out = file + ".result.json"
        let errors = file + ".stderr"
        defer {
            for path in [file, out, errors] { try? FileManager.default.removeItem(atPath: path) }
        }
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["search", file, "--out", out] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        XCTAssertTrue(FileManager.default.createFile(atPath: errors, contents: nil))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        try process.run()
        if let interruptAfter {
            Thread.sleep(forTimeInterval: interruptAfter)
            process.interrupt()
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Search(
            status: process.terminationStatus, output: output, errors: (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "",
            result: try? SearchResult.read(from: out))
    }

    func testASearchFindsTheConnectionLimitOfAServerAsItsKneeWithAPlateau() throws {
        // 150 registrations at once: steps of 1 s of arrivals hold rate x 1 s devices, so 150/s is
        // the highest rate whose every Register is accepted.
        let server = try ConnectionLimitedServer(limit: 150)
        defer { server.stop() }
        let started = Date()
        let run = try search("""
            server: { server: \(server.uri) }
            devices:
              - count: 10
            stages:
              - { duration: 1s, rate: 10/s }
            thresholds:
              - register.failed.rate == 0
            # Loose generator limits: this machine is shared while tests run, and the knee is the
            # stand-in server's by construction.
            search: { from: 50/s, to: 400/s, step-duration: 1s, hold: 1s, generator: { loop-lag: 200ms, rate-error: 20% } }
            """)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "the search is bounded: \(run.errors)")
        XCTAssertEqual(run.status, 0, "\(run.output)\n\(run.errors)")
        let result = try XCTUnwrap(run.result, run.errors)
        let answer = result.answer
        XCTAssertEqual(answer.kind, .knee, run.output)
        XCTAssertEqual(answer.highestPassing, 150, run.output)
        XCTAssertTrue(answer.confirmed)
        let failing = try XCTUnwrap(answer.lowestFailing)
        XCTAssertGreaterThan(failing, 150)
        XCTAssertLessThanOrEqual(failing, 165, "within the 10% precision")
        let plateau = try XCTUnwrap(answer.plateau, run.output)
        XCTAssertEqual(plateau.acceptedFrom, 150, accuracy: 1, "accepted Registers per second stop at the limit")
        XCTAssertEqual(plateau.offeredFrom, 150)
        // The failing step says what broke first and how many devices the server held then.
        let failed = try XCTUnwrap(result.steps.first { $0.load == failing })
        XCTAssertEqual(failed.verdict, .failed)
        XCTAssertEqual(failed.brokeFirst, "register.failed.rate == 0")
        XCTAssertEqual(failed.registeredAtBreak, 150)
        XCTAssertTrue(failed.generatorHealthy)
        XCTAssertEqual(result.steps.map(\.phase).first, .growing)
        XCTAssertEqual(result.steps.last?.phase, .confirming)
        XCTAssertEqual(server.counts.mostHeld, 150)
        XCTAssertEqual(server.counts.held, 0, "every step de-registered its devices, so each started from an empty registry")
        XCTAssertTrue(run.output.contains("answer: the server sustains 150/s (confirmed by a repeat) and fails at"), run.output)
        XCTAssertTrue(run.output.contains("plateau: accepted registrations stop growing at 150/s"), run.output)
        XCTAssertTrue(run.errors.contains("step 1 (growing): 50/s, 50 devices"), run.errors)

        // Its report page (SearchReportTests has the rest): load, accepted, register p99, the
        // failure rate, the generator's lag and rate error, registered; a marker for every step.
        let page = HTMLReport.render(result, path: "search.json")
        XCTAssertEqual(page.components(separatedBy: "<svg class=\"chart").count - 1, 7)
        let loadChart = try XCTUnwrap(page.components(separatedBy: "aria-label=\"Load offered per step\"").dropFirst().first)
            .components(separatedBy: "</figure>")[0]
        XCTAssertEqual(loadChart.components(separatedBy: "class=\"marker\"").count - 1, result.steps.count)
        XCTAssertTrue(page.contains("registered at the break</th><td>150 devices"), "the break the search found")
    }

    func testAnInterruptEndsTheRunningStepAndWritesAPartialAnswer() throws {
        let run = try search("""
            server: embedded
            devices:
              - count: 10
            stages:
              - { duration: 1s, rate: 10/s }
            search: { from: 20/s, to: 2000/s, step-duration: 3s, hold: 30s }
            """, interruptAfter: 4)
        XCTAssertEqual(run.status, 105, "\(run.output)\n\(run.errors)")
        let result = try XCTUnwrap(run.result, "the partial answer is written: \(run.errors)")
        XCTAssertEqual(result.answer.stoppedBy, "interrupted")
        XCTAssertEqual(result.answer.kind, .incomplete)
        let step = try XCTUnwrap(result.steps.last)
        XCTAssertEqual(step.verdict, .interrupted, "the step ran when the interrupt came: \(run.errors)")
        XCTAssertLessThan(step.elapsedSeconds, 30, "it ended at once, not after its hold")
        XCTAssertTrue(run.output.contains("answer: PARTIAL (interrupted)"), run.output)
    }

    func testMaxDurationStartsNoStepThatWouldNotEndInTimeAndTheAnswerIsPartial() throws {
        let run = try search("""
            server: embedded
            devices:
              - count: 10
            stages:
              - { duration: 1s, rate: 10/s }
            search: { from: 20/s, to: 2000/s, step-duration: 5s }
            """, arguments: ["--max-duration", "2s"])
        XCTAssertEqual(run.status, 105, "\(run.output)\n\(run.errors)")
        let result = try XCTUnwrap(run.result, run.errors)
        XCTAssertEqual(result.answer.stoppedBy, "max-duration")
        XCTAssertTrue(result.steps.isEmpty, "a 5 s step does not fit in 2 s")
        XCTAssertEqual(result.maxDurationSeconds, 2)
        XCTAssertTrue(run.errors.contains("would end after --max-duration"), run.errors)
    }

    func testAMistakeInTheSearchSectionExits104NamingTheLine() throws {
        let run = try search("""
            server: embedded
            devices:
              - count: 10
            stages:
              - { duration: 1s, rate: 10/s }
            search:
              growth: 1x
            """)
        XCTAssertEqual(run.status, 104)
        XCTAssertTrue(run.errors.contains(":7:") && run.errors.contains("search.growth"), run.errors)
    }
}
