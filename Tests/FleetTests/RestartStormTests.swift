import CoAP
// The tracker is the runner's: internal.
@testable import Fleet
import Foundation
import LwM2MClient
import XCTest

/// The storm after the embedded LwM2M Server restarts, as the runner measures it (without
/// sockets) and as the result and the summary report it.
final class RestartStormTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    func testTheStormFollowsTheDevicesRegisteredAtTheRestartUntilEachRegisteredAgain() throws {
        var tracker = RestartStormTracker(restart: ServerRestart(atSeconds: 60, downSeconds: 10), deviceCount: 130)
        tracker.operationFailed(.update, .rejected, code: .notFound)
        tracker.registered(5, at: 50 * second)
        XCTAssertEqual(tracker.report.devicesRegisteredAgain, 0, "before the restart nothing counts")
        // Devices 0..<100 are registered at the restart, 100..<130 are not (yet).
        tracker.serverRestarted(at: 60 * second, deviceCount: 130) { $0 < 100 }
        XCTAssertTrue(tracker.isRaging)
        XCTAssertEqual(tracker.report.devicesRegistered, 100)
        for device in 0..<100 where device % 10 == 0 {
            tracker.operationFailed(.update, .rejected, code: .notFound)
        }
        tracker.operationFailed(.register, .timedOut, code: nil)
        tracker.startedBootstrap(7)
        tracker.startedBootstrap(120)
        for device in 0..<100 {
            // The first 60 a second after the server is back, the rest in the next second.
            tracker.registered(device, at: (device < 60 ? 70 : 71) * second + UInt64(device) * 1_000_000)
        }
        tracker.registered(3, at: 90 * second)
        tracker.registered(120, at: 72 * second)
        XCTAssertFalse(tracker.isRaging)
        tracker.operationFailed(.update, .timedOut, code: nil)
        let report = tracker.report
        XCTAssertEqual(report.devicesRegisteredAgain, 100, "each once; devices not registered at the restart do not count")
        XCTAssertEqual(report.devicesBootstrappedAgain, 1)
        XCTAssertEqual(report.registeredAgainPerSecond, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 60, 40])
        XCTAssertEqual(report.peakRegisteredAgainPerSecond, 60)
        XCTAssertEqual(try XCTUnwrap(report.secondsUntilAllRegisteredAgain), 11.099, accuracy: 0.001)
        XCTAssertEqual(report.failures, ["update 4.04": 10, "register timeout": 1], "only while the storm raged")
        XCTAssertEqual(report.failureCount, 11)
    }

    func testReportsOfTwoWorkersMergeSecondBySecondAndTheLastDeviceIsTheLatestOfBoth() throws {
        var first = RestartStormReport(restartAtSeconds: 60, downSeconds: 10)
        (first.devicesRegistered, first.devicesRegisteredAgain, first.devicesBootstrappedAgain) = (50, 50, 2)
        first.lastRegisteredAgainNanoseconds = 12 * second
        first.registeredAgainPerSecond = [0, 30, 20]
        first.failures = ["update 4.04": 50]
        var second = RestartStormReport(restartAtSeconds: 60, downSeconds: 10)
        (second.devicesRegistered, second.devicesRegisteredAgain) = (40, 39)
        second.lastRegisteredAgainNanoseconds = 30 * self.second
        second.registeredAgainPerSecond = [1, 10, 20, 8]
        second.failures = ["update 4.04": 40, "register timeout": 3]

        var metrics = FleetMetrics()
        metrics.recordRestartStorm(first)
        var other = FleetMetrics()
        other.recordRestartStorm(second)
        metrics.merge(other)
        metrics.merge(FleetMetrics())
        let merged = try XCTUnwrap(metrics.restartStorm)
        XCTAssertEqual(merged.devicesRegistered, 90)
        XCTAssertEqual(merged.devicesRegisteredAgain, 89)
        XCTAssertEqual(merged.devicesBootstrappedAgain, 2)
        XCTAssertEqual(merged.registeredAgainPerSecond, [1, 40, 40, 8])
        XCTAssertEqual(merged.lastRegisteredAgainNanoseconds, 30 * self.second)
        XCTAssertNil(merged.secondsUntilAllRegisteredAgain, "one device never registered again")
        XCTAssertEqual(merged.failures, ["update 4.04": 90, "register timeout": 3])
        let decoded = try JSONDecoder().decode(FleetMetrics.self, from: JSONEncoder().encode(metrics))
        XCTAssertEqual(decoded, metrics)

        let table = SummaryTable.render(metrics, thresholds: [], elapsedSeconds: 120)
        XCTAssertTrue(table.contains("server restart at 60.0 s, down 10.0 s: 90 registrations lost; 89 of them registered again "
            + "(the last 30.0 s after the restart) (peak 40/s, 2 via bootstrap); 93 failures meanwhile: update 4.04 x90, register timeout x3"), table)
    }

    func testInjectedFaultsOfTheDevicesAndTheServersShowOnALineEachAndAddAcrossWorkers() throws {
        var counts = FaultCounts()
        counts.up.datagrams = 100
        counts.up.dropped = 20
        counts.down.datagrams = 90
        counts.down.delayed = 3
        var metrics = FleetMetrics()
        metrics.recordFaults(counts)
        var other = FleetMetrics()
        other.recordFaults(counts)
        var server = EmbeddedServerCounts()
        server.faults = counts
        other.embeddedServer = server
        metrics.merge(other)
        XCTAssertEqual(metrics.faults?.up.dropped, 40)
        XCTAssertEqual(metrics.faults?.down.datagrams, 180)
        XCTAssertEqual(metrics.embeddedServer?.faults, counts)
        let table = SummaryTable.render(metrics, thresholds: [], elapsedSeconds: 1)
        XCTAssertTrue(table.contains("faults injected at the devices: up 200 datagrams: 40 dropped, 0 duplicated, 0 reordered, 0 delayed; "
            + "down 180 datagrams: 0 dropped, 0 duplicated, 0 reordered, 6 delayed\n"), table)
        XCTAssertTrue(table.contains("faults injected at the embedded servers: up 100 datagrams: 20 dropped"), table)
        XCTAssertFalse(SummaryTable.render(FleetMetrics(), thresholds: [], elapsedSeconds: 1).contains("faults"), "nothing injected, no line")
        XCTAssertEqual(try JSONDecoder().decode(FleetMetrics.self, from: JSONEncoder().encode(metrics)), metrics)
    }
}
