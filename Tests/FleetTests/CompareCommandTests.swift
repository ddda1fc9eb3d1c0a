import Fleet
import Foundation
import XCTest

/// `lwm2m-fleet compare` end to end: the built binary on result files, its exit status and output.
final class CompareCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("compare-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    private func write(_ result: ResultFile, _ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try result.write(to: path)
        return path
    }

    func testNoRegressionExits0AndARegressionExits99NamingIt() throws {
        let a = try write(ComparedResults.registrations(100, milliseconds: 10), "a.json")
        let same = try BinaryRun.run(["compare", a, a])
        XCTAssertEqual(same.status, 0, same.output + same.errors)
        XCTAssertTrue(same.output.contains("no regression: 0 better, 7 the same within tolerance, 1 not judged"), same.output)

        let b = try write(ComparedResults.registrations(100, milliseconds: 13), "b.json")
        let worse = try BinaryRun.run(["compare", a, b])
        XCTAssertEqual(worse.status, 99, worse.output + worse.errors)
        XCTAssertTrue(worse.output.contains("B regresses: 3 metrics of 8 worse beyond tolerance"), worse.output)
        XCTAssertTrue(worse.output.contains("register latency p99 ms +30.0%"), worse.output)

        let tolerated = try BinaryRun.run(["compare", a, b, "--tolerance", "35%"])
        XCTAssertEqual(tolerated.status, 0, tolerated.output + tolerated.errors)
    }

    func testMarkdownAndJSONCarryTheSameVerdict() throws {
        let a = try write(ComparedResults.registrations(1000, milliseconds: 1), "a.json")
        let b = try write(ComparedResults.registrations(1000, milliseconds: 1, failures: 5), "b.json")
        let markdown = try BinaryRun.run(["compare", a, b, "--format", "markdown"])
        XCTAssertEqual(markdown.status, 99, markdown.errors)
        XCTAssertTrue(markdown.output.hasPrefix("### lwm2m-fleet compare: B regresses: 1 metric of 8"), markdown.output)
        XCTAssertTrue(markdown.output.contains("| register | failure rate % | lower | 0.000 | 0.500 | +0.500 pp | 0.1 pp | **worse** |"), markdown.output)

        let json = try BinaryRun.run(["compare", a, b, "--format", "json"])
        XCTAssertEqual(json.status, 99, json.errors)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any], json.output)
        XCTAssertEqual(document["regressed"] as? Bool, true)
        let rows = try XCTUnwrap(document["rows"] as? [[String: Any]])
        let worse = rows.filter { $0["regression"] as? Bool == true }
        XCTAssertEqual(worse.count, 1)
        XCTAssertEqual(worse.first?["metric"] as? String, "failure-rate")
        XCTAssertEqual(worse.first?["b"] as? Double, 0.005)
    }

    func testInvalidInputExits104WithTheReason() throws {
        let a = try write(ComparedResults.registrations(10, milliseconds: 1), "a.json")
        let notAResult = directory.appendingPathComponent("fleet.yaml").path
        try ComparedResults.fleet.write(toFile: notAResult, atomically: true, encoding: .utf8)
        let yaml = try BinaryRun.run(["compare", a, notAResult])
        XCTAssertEqual(yaml.status, 104)
        XCTAssertTrue(yaml.errors.contains("\(notAResult): not an lwm2m-fleet result file"), yaml.errors)

        let newer = directory.appendingPathComponent("newer.json").path
        let text = try String(contentsOfFile: a, encoding: .utf8)
            .replacingOccurrences(of: "\"schemaVersion\" : \(ResultFile.currentSchemaVersion)", with: "\"schemaVersion\" : 99")
        try text.write(toFile: newer, atomically: true, encoding: .utf8)
        let schema = try BinaryRun.run(["compare", newer, a])
        XCTAssertEqual(schema.status, 104)
        XCTAssertTrue(schema.errors.contains("\(newer): schema version 99"), schema.errors)

        let tolerance = try BinaryRun.run(["compare", a, a, "--tolerance", "p99=fast"])
        XCTAssertEqual(tolerance.status, 104)
        XCTAssertTrue(tolerance.errors.contains("--tolerance p99=fast: 'fast' is not a number"), tolerance.errors)

        let format = try BinaryRun.run(["compare", a, a, "--format", "html"])
        XCTAssertEqual(format.status, 104, format.errors)
    }

    func testAPartialMergeIsRefusedUnlessAllowedAndThenWarnedOf() throws {
        let a = try write(ComparedResults.registrations(10, milliseconds: 1), "a.json")
        let partial = try write(ComparedResults.result(missingStripes: [ShardStripe(index: 1, count: 2)]) {
            ComparedResults.record("register", 10, milliseconds: 1, into: &$0)
        }, "partial.json")
        let refused = try BinaryRun.run(["compare", a, partial])
        XCTAssertEqual(refused.status, 104)
        XCTAssertTrue(refused.errors.contains("\(partial) is a PARTIAL merge (missing shards 1/2)"), refused.errors)

        let allowed = try BinaryRun.run(["compare", a, partial, "--allow-partial", "--format", "json"])
        XCTAssertEqual(allowed.status, 0, allowed.errors)
        XCTAssertTrue(allowed.errors.contains("warning: B (\(partial)) is a PARTIAL merge (missing shards 1/2), compared anyway"), allowed.errors)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(allowed.output.utf8)) as? [String: Any], allowed.output)
        XCTAssertEqual((document["warnings"] as? [String])?.count, 1)
        XCTAssertEqual((document["b"] as? [String: Any])?["partial"] as? Bool, true)
    }
}
