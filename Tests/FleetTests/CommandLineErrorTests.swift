import Foundation
import SharedTestData
import XCTest

/// What a new user sees when they get the command line or a file name wrong (issue 17): the
/// problem in one line, no usage block burying it, and the documented status.
final class CommandLineErrorTests: XCTestCase {
    func testAMissingFleetFileSaysSoInOneLine() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-fleet-\(UUID().uuidString).yaml").path
        let run = try BinaryRun.run(["run", missing])
        XCTAssertEqual(run.status, 104, run.errors)
        XCTAssertEqual(run.errors, "Error: \(missing): no such file\n")
        // validate lists each file's problems as FILE: PROBLEM, as for the problems inside one.
        let validate = try BinaryRun.run(["validate", missing])
        XCTAssertEqual(validate.status, 104, validate.errors)
        XCTAssertEqual(validate.errors, "\(missing): no such file\n")
    }

    func testADirectoryInsteadOfAFleetFileIsNamedAsSuch() throws {
        let directory = FileManager.default.temporaryDirectory.path
        let run = try BinaryRun.run(["validate", directory])
        XCTAssertEqual(run.status, 104)
        XCTAssertTrue(run.errors.contains("\(directory): is a directory, not a file"), run.errors)
    }

    func testANegativeWorkerCountIsOutOfRangeNotAMissingValue() throws {
        let run = try BinaryRun.run(["run", "unused.yaml", "--workers", "-1"])
        XCTAssertEqual(run.status, 104)
        XCTAssertTrue(run.errors.hasPrefix("Error: --workers must be 1 to 64, got -1\n"), run.errors)
        XCTAssertFalse(run.errors.contains("Usage:"), run.errors)
    }

    func testAMistypedOptionGetsASuggestionAndAPointerToTheHelpNotTheUsageBlock() throws {
        let run = try BinaryRun.run(["run", "unused.yaml", "--wrokers", "2"])
        XCTAssertEqual(run.status, 104)
        XCTAssertEqual(run.errors, "Error: Unknown option '--wrokers'. Did you mean '--workers'?\nSee 'lwm2m-fleet help' and 'lwm2m-fleet help <subcommand>'.\n")
    }

    func testAFleetWithOneStageSaysStageNotStages() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("one-stage-\(UUID().uuidString).yaml")
        try """
            server: embedded
            devices:
              - count: 1
            stages:
              - { duration: 1s, rate: 1/s }
            thresholds:
              - violations == 0
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try BinaryRun.run(["validate", file.path])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertEqual(run.output, "\(file.path): ok (1 device, 1 stage, 1 threshold)\n")
    }

    func testAFleetMayPointDDFAtTheOMARegistryFolderItself() throws {
        let registry = try SharedVectors.registryDirectory().path
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString).yaml")
        try """
            server: embedded
            devices:
              - count: 2
                ddf: \(registry)
                objects:
                  - { id: 3303, values: { "5700": 21.5 } }
            stages:
              - { duration: 1s, rate: 2/s }
            """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try BinaryRun.run(["validate", file.path])
        XCTAssertEqual(run.status, 0, run.errors)
        let notes = run.errors.split(separator: "\n")
        XCTAssertEqual(notes.count, 3, run.errors)
        XCTAssertTrue(notes.allSatisfy { $0.hasPrefix("note: \(file.path): devices[0].ddf: skipped \(registry)/") }, run.errors)
    }

    func testTheTopLevelHelpListsEverySubcommandAndTheExitStatuses() throws {
        let run = try BinaryRun.run(["--help"])
        XCTAssertEqual(run.status, 0)
        let help = run.output.replacingOccurrences(of: "\n", with: " ")
        for status in ["0 success", "99 a threshold failed", "104 invalid arguments", "105 a run ended", "1 undecodable input"] {
            XCTAssertTrue(help.contains(status), "\(status): \(run.output)")
        }
        for command in ["run", "search", "validate", "serve", "merge", "compare", "report", "decode"] {
            XCTAssertTrue(run.output.contains("\n  \(command) "), "\(command): \(run.output)")
        }
        XCTAssertFalse(help.contains("later versions"), run.output)
    }
}
