import Fleet
import Foundation
import XCTest

/// The fleet file keys that make the network and the server misbehave: `faults:` of a device
/// group and of the embedded servers, and `server.embedded.restart`.
final class FaultsAndRestartSpecTests: XCTestCase {
    private let millisecond: UInt64 = 1_000_000

    /// A fleet of one group with `group` lines added to it, `server` as given, stages of 21 s.
    private static func fleet(server: String = "server: embedded\n", group: String = "") -> String {
        server + "devices:\n  - count: 10\n" + group + "stages:\n  - { duration: 1s, rate: 10/s }\n  - { duration: 20s, hold: true }\n"
    }

    private func problems(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            _ = try FleetSpec(yaml: yaml, source: "broken.yaml")
            XCTFail("loaded, expected an error", file: file, line: line)
            return []
        } catch {
            return error.lines
        }
    }

    func testGroupFaultsReadEveryKeyAndOneWayLossOverridesLoss() throws {
        let spec = try FleetSpec(yaml: Self.fleet(group: """
                faults: { loss: 20%, loss-down: 10%, duplicate: 1%, reorder: 2.5%, delay: 50ms, jitter: 20ms, rebind-every: 30s }

            """), source: "faults.yaml")
        XCTAssertEqual(spec.devices[0].faults, LinkImpairment(
            lossUp: 0.2, lossDown: 0.1, duplicate: 0.01, reorder: 0.025, delayNanoseconds: 50 * millisecond,
            jitterNanoseconds: 20 * millisecond, rebindEveryNanoseconds: 30_000 * millisecond))
        let oneWay = try FleetSpec(yaml: Self.fleet(group: "    faults: { loss-up: 5% }\n"), source: "faults.yaml")
        XCTAssertEqual(oneWay.devices[0].faults, LinkImpairment(lossUp: 0.05))
        let none = try FleetSpec(yaml: Self.fleet(), source: "faults.yaml")
        XCTAssertTrue(none.devices[0].faults.isNone, "no faults unless asked")
    }

    func testServerFaultsAndRestartReachTheEmbeddedServersConfiguration() throws {
        let spec = try FleetSpec(yaml: Self.fleet(server: """
            server:
              embedded:
                read: [/3/0]
                faults: { loss: 5%, delay: 10ms }
                restart: { at: 10s, down: 2500ms }

            """), source: "restart.yaml")
        guard case .embedded(let embedded) = spec.server else { return XCTFail("\(spec.server)") }
        XCTAssertEqual(embedded.faults, LinkImpairment(lossUp: 0.05, lossDown: 0.05, delayNanoseconds: 10 * millisecond))
        XCTAssertEqual(embedded.restart, ServerRestart(atSeconds: 10, downSeconds: 2.5))
        let configuration = spec.embeddedServerConfiguration(for: embedded)
        XCTAssertEqual(configuration.faults, embedded.faults)
        XCTAssertEqual(configuration.restart, embedded.restart)
        // It goes to `serve` as JSON, with the run's seed and start added by the run.
        var handedOver = configuration
        handedOver.seed = 7
        handedOver.runStartedAt = 1_765_000_000.25
        XCTAssertEqual(try JSONDecoder().decode(EmbeddedServerConfiguration.self, from: JSONEncoder().encode(handedOver)), handedOver)
        let down = try FleetSpec(yaml: Self.fleet(server: "server: { embedded: { restart: { at: 1s, down: 0s } } }\n"), source: "restart.yaml")
        XCTAssertEqual(down.server, .embedded({ var server = FleetSpec.EmbeddedServer(); server.restart = ServerRestart(atSeconds: 1, downSeconds: 0); return server }()),
                       "down: 0s comes back at once, empty")
    }

    func testTheRestartCountsFromTheRunsStartOnEveryProcessesClock() {
        let restart = ServerRestart(atSeconds: 60, downSeconds: 10)
        XCTAssertEqual(restart.nanosecondsUntilRestart(runStartedAt: 1_000, wallClockNow: 1_000), 60_000_000_000)
        XCTAssertEqual(restart.nanosecondsUntilRestart(runStartedAt: 1_000, wallClockNow: 1_059.5), 500_000_000, "a worker started later waits less")
        XCTAssertEqual(restart.nanosecondsUntilRestart(runStartedAt: 1_000, wallClockNow: 1_070), 0, "past: at once")
        XCTAssertEqual(restart.downNanoseconds, 10_000_000_000)
    }

    func testFaultMistakesNameTheFileLineKeyAndWhatIsValid() {
        XCTAssertEqual(problems(Self.fleet(group: "    faults: { los: 20%, loss-up: 120%, loss-down: 5, delay: 10ms, jitter: 20ms }\n")), [
            "broken.yaml:4:15: devices[0].faults.los: unknown key 'los'; did you mean 'loss'? valid keys: loss, loss-up, loss-down, duplicate, "
                + "reorder, delay, jitter, rebind-every",
            "broken.yaml:4:34: devices[0].faults.loss-up: '120%' is not valid; use a percentage such as 20% or 0.5%, from 0% to 100%",
            "broken.yaml:4:51: devices[0].faults.loss-down: '5' is not valid; use a percentage such as 20% or 0.5%, from 0% to 100%",
            "broken.yaml:4:75: devices[0].faults.jitter: '20ms' is more than the delay (10ms): a delay varies by at most its own length "
                + "either way; raise delay or lower jitter",
        ])
        XCTAssertEqual(problems(Self.fleet(group: "    faults: [20%]\n")), [
            "broken.yaml:4:13: devices[0].faults: expected a mapping of impairments such as { loss: 20%, duplicate: 1%, delay: 50ms }, found a list",
        ])
        XCTAssertEqual(problems(Self.fleet(group: "    faults: { rebind-every: 0s }\n")), [
            "broken.yaml:4:29: devices[0].faults.rebind-every: '0s' is not valid; use a duration above 0, such as 30s",
        ])
    }

    func testServerFaultsHaveNoRebindingAndARestartNeedsBothTimesWithinTheStages() {
        XCTAssertEqual(problems(Self.fleet(server: "server: { embedded: { faults: { loss: 1%, rebind-every: 30s } } }\n")), [
            "broken.yaml:1:57: server.embedded.faults.rebind-every: the servers' address never changes; NAT rebinding is the devices': "
                + "give rebind-every under a device group's faults",
        ])
        XCTAssertEqual(problems(Self.fleet(server: "server: { embedded: { restart: { at: 10s } } }\n")), [
            "broken.yaml:1:32: server.embedded.restart.down: missing; add down: with how long the server answers nothing, such as down: 10s "
                + "(0s: back at once, empty)",
        ])
        XCTAssertEqual(problems(Self.fleet(server: "server: { embedded: { restart: { at: 21s, down: 5s } } }\n")), [
            "broken.yaml:1:38: server.embedded.restart.at: the restart comes after the stages end (21s in); restart the server while devices "
                + "are online: make at shorter or add a hold stage, such as - { duration: 60s, hold: true }",
        ])
        XCTAssertEqual(problems(Self.fleet(server: "server: { embedded: { restart: soon } }\n")), [
            "broken.yaml:1:32: server.embedded.restart: expected a mapping such as { at: 60s, down: 10s }, found 'soon'",
        ])
    }

    func testTheRestartStormFleetRestartsTheServerWhileTheFleetIsOnline() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fleets/server-restart-storm.yaml")
        let spec = try FleetSpec(contentsOfFile: url.path)
        guard case .embedded(let embedded) = spec.server, let restart = embedded.restart else { return XCTFail("\(spec.server)") }
        let lifetime = Double(spec.devices[0].lifetimeSeconds)
        let lastArrival = spec.stages[0].durationSeconds
        XCTAssertGreaterThan(restart.atSeconds, lastArrival, "every device is registered when the server restarts")
        XCTAssertGreaterThan(spec.stagesDurationSeconds, restart.atSeconds + restart.downSeconds + lifetime,
                             "every device updates, hears 4.04 and registers again before the end")
        XCTAssertTrue(spec.thresholds.contains { $0.metric == "server.registrations_lost" })
    }
}
