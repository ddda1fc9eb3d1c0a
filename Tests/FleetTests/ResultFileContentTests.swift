import Fleet
import Foundation
import XCTest

/// What schema version 3 adds for a reader with no code: the fleet file as data, and the
/// percentiles beside every histogram.
final class ResultFileContentTests: XCTestCase {
    func testTheParsedFleetIsTheFleetFileAsDataWithoutItsKeys() throws {
        let result = try ResultSchemaTests.richResult()
        let fleet = try XCTUnwrap(result.spec.fleet)
        XCTAssertEqual(fleet.deviceCount, 50)
        XCTAssertEqual(fleet.groups.map(\.name), ["meters", "locks"])
        XCTAssertEqual(fleet.groups.map(\.firstDeviceIndex), [0, 30])
        XCTAssertEqual(fleet.groups.map(\.bootstrap), ["client-initiated", "none"])
        XCTAssertEqual(fleet.groups.map(\.endpoint), ["meters-{index:06}", "locks-{index:06}"])
        XCTAssertEqual(fleet.groups.map(\.lwm2mVersion), ["1.1", "1.2"])
        XCTAssertEqual(fleet.groups[0].sessionSeconds, 20)
        XCTAssertEqual(fleet.groups[0].faults?.lossUp, 0.05)
        XCTAssertEqual(fleet.groups[0].faults?.delayNanoseconds, 20_000_000)
        XCTAssertNil(fleet.groups[0].security)
        let security = try XCTUnwrap(fleet.groups[1].security)
        XCTAssertEqual([security.mode, security.keySource, security.handshake, security.bootstrapOver], ["psk", "key-secret", "every-update", "coaps"])
        XCTAssertTrue(security.resume)
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(fleet), as: UTF8.self).contains("s3cret"), "a key's source is named, never the key")

        XCTAssertEqual(fleet.server.kind, "embedded")
        XCTAssertEqual(fleet.server.read, ["/3/0"])
        XCTAssertEqual(fleet.server.restart, ServerRestart(atSeconds: 5, downSeconds: 2))
        XCTAssertEqual(fleet.server.faults?.lossDown, 0.01)

        XCTAssertEqual(fleet.stages.map(\.arrivals), ["ramp", "constant", "hold"])
        XCTAssertEqual(fleet.stages.map(\.startSeconds), [0, 2, 4])
        XCTAssertEqual(fleet.stages.map(\.startRatePerSecond), [0, 15, 0])
        XCTAssertEqual(fleet.stages.map(\.endRatePerSecond), [20, 15, 0])
        // The ramp offers 20 arrivals, the constant stage 30: the 50 devices.
        XCTAssertEqual(fleet.stages.map(\.intendedArrivals), [20, 30, 0])
        XCTAssertEqual(fleet.stages[2].churnPerSecond, 0.001, accuracy: 1e-12)
        XCTAssertEqual(fleet.end.mode, "deregister")
        XCTAssertEqual([fleet.end.deregistersPerSecond, fleet.end.graceSeconds], [25, 20])
        XCTAssertEqual([fleet.seed, fleet.durationLimitSeconds.map(UInt64.init), fleet.inFlightLimit.map(UInt64.init)], [9, 600, 500])
        XCTAssertEqual(fleet.thresholds.map(\.metric), ["register.latency.p99", "bootstrap.failed.rate", "loop_lag.p99"])
        XCTAssertEqual(fleet.thresholds.map(\.comparator), ["<", "<", "<"])
        XCTAssertEqual(fleet.thresholds.map(\.limit), [200_000_000, 0.001, 5_000_000])
    }

    func testAResultMadeFromTextParsesItAndAResultOfTextThatDoesNotParseHasNoFleet() throws {
        XCTAssertEqual(ResultFile.Spec(path: "rich.yaml", text: ResultSchemaTests.fleetText).fleet?.deviceCount, 50)
        XCTAssertNil(ResultFile.Spec(path: "hand.yaml", text: "devices: 50\n").fleet)
    }

    func testEveryHistogramWritesItsPercentilesAndAnEmptyOneWritesNulls() throws {
        var histogram = LatencyHistogram()
        for value: UInt64 in 1...1_000 { histogram.record(value * 1_000_000) }
        let written = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(histogram))
        guard case .object(let members) = written, case .object(let percentiles)? = members["percentiles"] else {
            return XCTFail("no percentiles in \(written)")
        }
        XCTAssertEqual(percentiles["p50"], .integer(Double(histogram.value(atPercentile: 50))))
        XCTAssertEqual(percentiles["p99"], .integer(Double(histogram.value(atPercentile: 99))))
        XCTAssertEqual(percentiles["p999"], .integer(Double(histogram.value(atPercentile: 99.9))))
        XCTAssertEqual(percentiles["max"], .integer(1_000_000_000))
        XCTAssertEqual(try XCTUnwrap(percentiles["p90"]?.numberValue), 900_000_000, accuracy: 900_000, "within 0.1 %")

        let empty = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(LatencyHistogram()))
        guard case .object(let emptyMembers) = empty else { return XCTFail("\(empty)") }
        XCTAssertEqual(emptyMembers["percentiles"], .object(["p50": .null, "p90": .null, "p99": .null, "p999": .null, "max": .null, "mean": .null]))
        // Written for readers, never read back: the buckets give them again.
        XCTAssertEqual(try JSONDecoder().decode(LatencyHistogram.self, from: JSONEncoder().encode(histogram)).percentiles, histogram.percentiles)
    }
}
