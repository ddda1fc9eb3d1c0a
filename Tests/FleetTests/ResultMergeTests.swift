import CoAP
import Fleet
import LwM2MClient
import XCTest

/// `merge` combines only the exact parts of one run: every refusal, partial merges that say so,
/// stripes that compose (workers into their shard, shards into the whole), exact histograms.
final class ResultMergeTests: XCTestCase {
    private static let deviceCount = 8

    private static let fleet = """
        seed: 3
        server: { server: coap://127.0.0.1:5683 }
        devices:
          - count: 8
        stages:
          - { duration: 1s, rate: 8/s }
        thresholds:
          - register.succeeded == 8
        """

    /// What the devices of `stripe` record: one registration each, device d taking d+1 ms.
    private static func metrics(of stripe: ShardStripe) -> FleetMetrics {
        var metrics = FleetMetrics()
        for device in 0..<deviceCount where device % stripe.count == stripe.index {
            let latency = UInt64(device + 1) * 1_000_000
            metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: latency, serviceNanoseconds: latency / 2)
        }
        return metrics
    }

    /// The result a run of `stripe` (nil: the whole fleet) writes.
    private static func part(
        _ stripe: ShardStripe?, seed: UInt64 = 3, fleet: String = fleet, toolVersion: String = "0.1.0"
    ) -> ResultFile {
        ResultFile(
            toolVersion: toolVersion, seed: seed, spec: .init(path: "fleet.yaml", text: fleet),
            startedAt: "2025-03-01T12:00:00Z", finishedAt: "2025-03-01T12:00:02Z", interrupted: false,
            metrics: metrics(of: stripe ?? .whole), thresholds: [], workers: 1, shard: stripe)
    }

    private func assertRefused(
        _ parts: [(path: String, result: ResultFile)], covering target: ShardStripe = .whole, allowPartial: Bool = false,
        _ expected: ResultMergeError, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try ResultMerge.merge(parts, covering: target, allowPartial: allowPartial), file: file, line: line) { error in
            XCTAssertEqual(error as? ResultMergeError, expected, file: file, line: line)
            for word in words {
                XCTAssertTrue("\(error)".contains(word), "'\(error)' should mention '\(word)'", file: file, line: line)
            }
        }
    }

    // MARK: Refusals

    func testTheSameFileTwiceIsADuplicateEvenWithTheOtherShardThere() {
        let first = Self.part(ShardStripe(index: 0, count: 2)), second = Self.part(ShardStripe(index: 1, count: 2))
        assertRefused(
            [("part-0.json", first), ("part-0.json", first), ("part-1.json", second)],
            .duplicateStripe(ShardStripe(index: 0, count: 2), paths: ["part-0.json", "part-0.json"]),
            mentioning: ["part-0.json is given 2 times"])
        assertRefused(
            [("part-0.json", first), ("part-1.json", second), ("part-0.json", first)], allowPartial: true,
            .duplicateStripe(ShardStripe(index: 0, count: 2), paths: ["part-0.json", "part-0.json"]),
            mentioning: ["part-0.json"])
    }

    func testTwoWholeRunsAreADuplicate() {
        assertRefused(
            [("a.json", Self.part(nil)), ("b.json", Self.part(nil))],
            .duplicateStripe(.whole, paths: ["a.json", "b.json"]), mentioning: ["whole fleet", "a.json, b.json"])
    }

    func testOneShardOfTwoIsRefusedAsMissingTheOther() {
        assertRefused(
            [("part-0.json", Self.part(ShardStripe(index: 0, count: 2)))],
            .missingStripes([ShardStripe(index: 1, count: 2)], target: .whole), mentioning: ["missing shards 1/2", "--allow-partial"])
    }

    func testPartsOfAnotherSeedFleetFileOrToolVersionAreRefused() {
        let first = ("part-0.json", Self.part(ShardStripe(index: 0, count: 2)))
        assertRefused(
            [first, ("part-1.json", Self.part(ShardStripe(index: 1, count: 2), seed: 4))],
            .differentSeed(path: "part-1.json", seed: 4, firstPath: "part-0.json", firstSeed: 3), mentioning: ["seed 4", "--seed"])
        assertRefused(
            [first, ("part-1.json", Self.part(ShardStripe(index: 1, count: 2), fleet: Self.fleet.replacingOccurrences(of: "8/s", with: "4/s")))],
            .differentFleetFile(path: "part-1.json", firstPath: "part-0.json"), mentioning: ["part-1.json", "part-0.json"])
        assertRefused(
            [first, ("part-1.json", Self.part(ShardStripe(index: 1, count: 2), toolVersion: "0.2.0"))], allowPartial: true,
            .differentToolVersion(path: "part-1.json", toolVersion: "0.2.0", firstPath: "part-0.json", firstToolVersion: "0.1.0"),
            mentioning: ["0.2.0", "0.1.0"])
    }

    func testStripesOfDifferentSplitsAreRefused() {
        assertRefused(
            [("shard-0.json", Self.part(ShardStripe(index: 0, count: 2))), ("worker-1.json", Self.part(ShardStripe(index: 1, count: 4))),
             ("worker-3.json", Self.part(ShardStripe(index: 3, count: 4)))],
            .differentSplits(pathsByCount: [2: ["shard-0.json"], 4: ["worker-1.json", "worker-3.json"]]),
            mentioning: ["stripes of 2", "worker-1.json, worker-3.json: stripes of 4"])
    }

    func testAStripeOutsideTheShardMergedIsRefused() {
        let target = ShardStripe(index: 0, count: 2)
        assertRefused(
            [("worker-0.json", Self.part(ShardStripe(index: 0, count: 4))), ("worker-1.json", Self.part(ShardStripe(index: 1, count: 4)))],
            covering: target, allowPartial: true,
            .stripeOutsideTarget(path: "worker-1.json", stripe: ShardStripe(index: 1, count: 4), target: target), mentioning: ["shard 0/2"])
        // A split into 3 does not refine a split into 2.
        assertRefused(
            [("third.json", Self.part(ShardStripe(index: 0, count: 3)))], covering: target, allowPartial: true,
            .stripeOutsideTarget(path: "third.json", stripe: ShardStripe(index: 0, count: 3), target: target), mentioning: ["0/3"])
    }

    func testNothingToMergeIsRefused() {
        assertRefused([], .noParts, mentioning: ["no result"])
    }

    // MARK: Partial merges

    func testAllowPartialMarksTheResultPartialAndNamesWhatIsMissing() throws {
        let merged = try ResultMerge.merge(
            [("part-0.json", Self.part(ShardStripe(index: 0, count: 4))), ("part-2.json", Self.part(ShardStripe(index: 2, count: 4)))],
            allowPartial: true)
        XCTAssertTrue(merged.isPartial)
        ResultSchema.assertValid(merged)
        XCTAssertEqual(merged.missingStripes, [ShardStripe(index: 1, count: 4), ShardStripe(index: 3, count: 4)])
        XCTAssertNil(merged.shard)
        XCTAssertEqual(merged.metrics.value(for: "register.succeeded"), 4)
        // The thresholds are evaluated on what is there.
        XCTAssertEqual(merged.thresholds.map(\.passed), [false])
        XCTAssertEqual(merged.thresholds.first?.observed, 4)
    }

    func testAPartialPartKeepsTheMergeItIsInPartial() throws {
        let partialShard = try ResultMerge.merge(
            [("worker-0.json", Self.part(ShardStripe(index: 0, count: 4)))], covering: ShardStripe(index: 0, count: 2), allowPartial: true)
        XCTAssertEqual(partialShard.shard, ShardStripe(index: 0, count: 2))
        ResultSchema.assertValid(partialShard)
        XCTAssertEqual(partialShard.missingStripes, [ShardStripe(index: 2, count: 4)])
        let parts = [("shard-0.json", partialShard), ("shard-1.json", Self.part(ShardStripe(index: 1, count: 2)))]
        assertRefused(parts, .missingStripes([ShardStripe(index: 2, count: 4)], target: .whole), mentioning: ["missing shards 2/4"])
        let whole = try ResultMerge.merge(parts, allowPartial: true)
        XCTAssertEqual(whole.missingStripes, [ShardStripe(index: 2, count: 4)])
        XCTAssertEqual(whole.metrics.value(for: "register.succeeded"), 6)
    }

    func testACompleteMergeIsNotMarkedPartial() throws {
        let merged = try ResultMerge.merge(
            [("part-1.json", Self.part(ShardStripe(index: 1, count: 2))), ("part-0.json", Self.part(ShardStripe(index: 0, count: 2)))],
            allowPartial: true)
        XCTAssertFalse(merged.isPartial)
        XCTAssertNil(merged.missingStripes)
        XCTAssertEqual(merged.thresholds.map(\.passed), [true])
    }

    // MARK: Stripes compose

    func testWorkerStripesOfAShardMergeIntoThatShardAndTheShardsIntoTheWhole() throws {
        // Workers w = 0, 1 of shard I/2 run stripe (I + 2w)/4.
        let shard0 = try ResultMerge.merge(
            [("w0.json", Self.part(ShardStripe(index: 0, count: 4))), ("w2.json", Self.part(ShardStripe(index: 2, count: 4)))],
            covering: ShardStripe(index: 0, count: 2))
        let shard1 = try ResultMerge.merge(
            [("w3.json", Self.part(ShardStripe(index: 3, count: 4))), ("w1.json", Self.part(ShardStripe(index: 1, count: 4)))],
            covering: ShardStripe(index: 1, count: 2))
        XCTAssertEqual(shard0.shard, ShardStripe(index: 0, count: 2))
        XCTAssertEqual(shard1.shard, ShardStripe(index: 1, count: 2))
        XCTAssertFalse(shard0.isPartial)
        XCTAssertEqual(shard0.metrics, Self.metrics(of: ShardStripe(index: 0, count: 2)))
        XCTAssertEqual(shard0.workers, 2)

        let whole = try ResultMerge.merge([("shard-0.json", shard0), ("shard-1.json", shard1)])
        XCTAssertNil(whole.shard, "the whole fleet records no shard")
        XCTAssertFalse(whole.isPartial)
        XCTAssertEqual(whole.workers, 4)
        XCTAssertEqual(whole.thresholds.map(\.passed), [true])
        XCTAssertEqual(whole.seed, 3)
        XCTAssertEqual(whole.spec.text, Self.fleet)
    }

    func testMergedHistogramsAreExactlyThoseOfOneRunOfAllDevices() throws {
        let merged = try ResultMerge.merge(
            [("part-0.json", Self.part(ShardStripe(index: 0, count: 2))), ("part-1.json", Self.part(ShardStripe(index: 1, count: 2)))])
        let single = Self.metrics(of: .whole)
        let register = try XCTUnwrap(merged.metrics.operations["register"])
        XCTAssertEqual(register.latency.count, UInt64(Self.deviceCount), "the parts' counts add")
        XCTAssertEqual(register.latency, single.operations["register"]?.latency)
        XCTAssertEqual(register.service, single.operations["register"]?.service)
        XCTAssertEqual(merged.metrics, single)
        XCTAssertEqual(register.latency.max, 8_000_000)
        XCTAssertEqual(register.latency.min, 1_000_000)
    }

    func testTheMergedRunSpansItsPartsAndIsInterruptedWhenOneWas() throws {
        var early = Self.part(ShardStripe(index: 0, count: 2))
        early.startedAt = "2025-03-01T11:59:58Z"
        var late = Self.part(ShardStripe(index: 1, count: 2))
        late.finishedAt = "2025-03-01T12:00:05Z"
        late.interrupted = true
        let merged = try ResultMerge.merge([("early.json", early), ("late.json", late)])
        XCTAssertEqual(merged.startedAt, "2025-03-01T11:59:58Z")
        XCTAssertEqual(merged.finishedAt, "2025-03-01T12:00:05Z")
        XCTAssertEqual(merged.elapsedSeconds, 7)
        XCTAssertTrue(merged.interrupted)
    }
}
