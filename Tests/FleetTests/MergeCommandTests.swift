import Fleet
import Foundation
import XCTest

/// `lwm2m-fleet merge` end to end: the built binary on result files, its exit status and output.
final class MergeCommandTests: XCTestCase {
    private struct Merge {
        var status: Int32
        var output: String
        var errors: String
        var result: ResultFile?
    }

    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("merge-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    /// Writes the result a run of `stripe` of a two-device fleet writes, and returns its path.
    private func part(_ stripe: ShardStripe) throws -> String {
        var metrics = FleetMetrics()
        metrics.recordOperation("register", outcome: .succeeded, code: nil, latencyNanoseconds: 1_000_000, serviceNanoseconds: 500_000)
        metrics.endReason = .completed
        let result = ResultFile(
            toolVersion: "0.1.0", seed: 3,
            spec: .init(path: "fleet.yaml", text: """
                server: { server: coap://127.0.0.1:5683 }
                devices:
                  - count: 2
                stages:
                  - { duration: 1s, rate: 2/s }
                """),
            startedAt: "2025-03-01T12:00:00Z", finishedAt: "2025-03-01T12:00:01Z", interrupted: false,
            metrics: metrics, thresholds: [], workers: 1, shard: stripe)
        let path = directory.appendingPathComponent("part-\(stripe.index).json").path
        try result.write(to: path)
        ResultSchema.assertValid(file: path)
        return path
    }

    private func merge(_ arguments: [String]) throws -> Merge {
        let out = directory.appendingPathComponent("merged.json").path
        let merge = try BinaryRun.run(["merge"] + arguments + ["--out", out])
        return Merge(status: merge.status, output: merge.output, errors: merge.errors, result: ResultSchema.read(out))
    }

    func testTheSameFileTwiceExits104AndWritesNoResult() throws {
        let first = try part(ShardStripe(index: 0, count: 2))
        let merged = try merge([first, first])
        XCTAssertEqual(merged.status, 104, merged.errors)
        XCTAssertTrue(merged.errors.contains("\(first) is given 2 times"), merged.errors)
        XCTAssertNil(merged.result)
    }

    func testAllowPartialSaysPartialAndTheResultNamesTheMissingShard() throws {
        let merged = try merge([try part(ShardStripe(index: 0, count: 2)), "--allow-partial"])
        XCTAssertEqual(merged.status, RunExitStatus.endedEarly.rawValue, "a partial result never passes: \(merged.errors)")
        XCTAssertTrue(merged.output.contains("PARTIAL: missing shards 1/2"), merged.output)
        XCTAssertEqual(merged.result?.missingStripes, [ShardStripe(index: 1, count: 2)])
    }
}
