import Fleet
import Foundation
import XCTest

// `lwm2m-fleet run` on a network that misbehaves (`faults:`) and against an embedded server that
// restarts mid-run (`server.embedded.restart`).
extension RunCommandTests {
    func testAtTwentyPercentLossEachWayOnlyExchangesThatLostEveryTransmissionFail() throws {
        // 300 devices, each datagram lost with 20% each way, 2% arriving twice, 5% held back to
        // be overtaken. CoAP sends a request five times (MAX_RETRANSMIT 4) and an exchange
        // succeeds when one copy and its answer both arrive (0.8 x 0.8 each time), so about
        // 0.36^5 = 0.6% of exchanges run out of transmissions: a few Registers and De-registers
        // of 300 devices. Everything else must come through, with nothing but those timeouts.
        let run = try run("""
            seed: 7
            server: embedded
            devices:
              - count: 300
                lifetime: 300s
                faults: { loss: 20%, duplicate: 2%, reorder: 5% }
            stages:
              - { duration: 3s, rate: 100/s }
              - { duration: 2s, hold: true }
            end: { mode: deregister, grace: 50s }
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        let faults = try XCTUnwrap(metrics.faults, "the result counts what was injected")
        for (way, counts) in [("up", faults.up), ("down", faults.down)] {
            XCTAssertGreaterThan(counts.datagrams, 600, way)
            XCTAssertEqual(Double(counts.dropped) / Double(counts.datagrams), 0.2, accuracy: 0.05, "\(way): \(counts)")
            XCTAssertGreaterThan(counts.duplicated, 0, way)
            XCTAssertGreaterThan(counts.reordered + counts.delayed, 0, "\(way): held back to be overtaken")
        }
        XCTAssertEqual(faults.rebound, 0)
        XCTAssertTrue(run.output.contains("faults injected at the devices: up "), run.output)

        let value = { (name: String) in Int(metrics.value(for: name) ?? -1) }
        let registerTimeouts = value("register.timeouts"), deregisterTimeouts = value("deregister.timeouts")
        XCTAssertEqual(value("register.succeeded") + registerTimeouts, 300, "every Register answered or out of transmissions")
        XCTAssertEqual(value("register.failed"), registerTimeouts, "no failure but running out of transmissions")
        XCTAssertEqual(value("deregister.count"), value("register.succeeded"), "every registered device De-registers")
        XCTAssertEqual(value("deregister.failed"), deregisterTimeouts)
        XCTAssertEqual(value("devices.unfinished"), registerTimeouts + deregisterTimeouts, "the devices those exchanges left behind, no other")
        // 0.6% of 600 exchanges is 3.6; more than 12 has a chance under 1 in 10,000.
        XCTAssertLessThanOrEqual(registerTimeouts + deregisterTimeouts, 12, run.output)
        XCTAssertGreaterThanOrEqual(value("register.retransmissions"), 4 * registerTimeouts, "a timed-out Register was sent five times")
        XCTAssertEqual(value("violations"), 0, "duplicates and reordering are no violations")
        let server = serverCounts(run.output)
        XCTAssertGreaterThanOrEqual(server["registered-total"] ?? -1, value("register.succeeded"))
        XCTAssertEqual(server["refused"], 0, "a duplicate Register or De-register is answered from the duplicate cache")
    }

    func testFaultsOfTheEmbeddedServersSocketsAreCountedAndEveryExchangeStillSucceeds() throws {
        // The embedded servers lose, duplicate, reorder and delay datagrams on their own sockets;
        // at 5% loss each way an exchange runs out of transmissions once in 100,000.
        let run = try run("""
            seed: 3
            server:
              embedded:
                faults: { loss: 5%, duplicate: 5%, reorder: 5%, delay: 10ms, jitter: 5ms }
            devices:
              - count: 100
                lifetime: 300s
            stages:
              - { duration: 1s, rate: 100/s }
              - { duration: 1s, hold: true }
            end: { mode: deregister, grace: 50s }
            thresholds:
              - register.failed == 0
              - deregister.failed == 0
              - devices.unfinished == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        XCTAssertNil(metrics.faults, "no group has faults: the devices inject none")
        let serverFaults = try XCTUnwrap(metrics.embeddedServer?.faults, run.output)
        for counts in [serverFaults.up, serverFaults.down] {
            XCTAssertGreaterThanOrEqual(counts.datagrams, 200)
            XCTAssertGreaterThan(counts.dropped, 0, "\(counts)")
            XCTAssertGreaterThan(counts.duplicated, 0, "\(counts)")
            XCTAssertGreaterThan(counts.delayed, 0, "\(counts)")
        }
        XCTAssertTrue(run.output.contains("faults injected at the embedded servers: up "), run.output)
        XCTAssertEqual(serverCounts(run.output)["held-now"], 0, run.output)
    }

    func testBehindANATThatRebindsEveryDeviceUpdatesFromNewPortsAndTheServerFollows() throws {
        // Every second a device's NAT mapping changes: its next datagram, an Update every 2 s
        // (lifetime 4 s), leaves from a new port, and the server moves the registration there.
        let run = try run("""
            seed: 3
            server: embedded
            devices:
              - count: 100
                lifetime: 4s
                faults: { rebind-every: 1s }
            stages:
              - { duration: 1s, rate: 100/s }
              - { duration: 5s, hold: true }
            thresholds:
              - register.failed == 0
              - update.failed == 0
              - deregister.failed == 0
              - devices.unfinished == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        XCTAssertEqual(metrics.value(for: "register.succeeded"), 100, "registered once: no registration was lost on the way")
        XCTAssertGreaterThanOrEqual(metrics.value(for: "update.succeeded") ?? 0, 200, "each device updates twice or more")
        let faults = try XCTUnwrap(metrics.faults)
        XCTAssertGreaterThanOrEqual(faults.rebound, 200, "each Update left from a new port: \(run.output)")
        XCTAssertEqual(faults.up.dropped + faults.down.dropped, 0, "rebinding alone loses nothing")
        XCTAssertEqual(faults.up.datagrams, faults.down.datagrams, "every request answered, no retransmission")
        XCTAssertTrue(run.output.contains(" NAT rebindings"), run.output)
        let server = serverCounts(run.output)
        XCTAssertEqual(server["held-now"], 0, "every registration followed its device to its new address and ended: \(run.output)")
        XCTAssertEqual(server["expired"], 0)
    }

    func testAfterTheServerRestartsEveryDeviceRegistersAgainAndTheStormIsReportedAcrossWorkers() throws {
        // Devices register in the first 2 s with a 20 s lifetime, so they update 10 s later, from
        // 10 s on: the server goes down at 9.5 s for 3 s, the Updates sent meanwhile are
        // retransmitted, and every Update after it is answered 4.04, so the device registers again.
        let run = try run("""
            seed: 5
            server:
              embedded:
                restart: { at: 9500ms, down: 3s }
            devices:
              - count: 200
                lifetime: 20s
            stages:
              - { duration: 2s, rate: 100/s }
              - { duration: 23s, hold: true }
            thresholds:
              - devices.unfinished == 0
              - server.registrations_lost == 200
            """, extraArguments: ["--workers", "2"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics, run.output)
        let storm = try XCTUnwrap(metrics.restartStorm, "the workers' reports merged")
        XCTAssertEqual(storm.restartAtSeconds, 9.5)
        XCTAssertEqual(storm.downSeconds, 3)
        XCTAssertEqual(storm.devicesRegistered, 200, "registered when the server went down")
        XCTAssertEqual(storm.devicesRegisteredAgain, 200)
        XCTAssertEqual(storm.devicesBootstrappedAgain, 0, "a short downtime needs no bootstrap")
        let seconds = try XCTUnwrap(storm.secondsUntilAllRegisteredAgain)
        XCTAssertGreaterThan(seconds, 3, "no one registered while the server was down")
        XCTAssertLessThan(seconds, 15, "within a lifetime of the server's return")
        XCTAssertTrue(storm.registeredAgainPerSecond.prefix(3).allSatisfy { $0 == 0 }, "\(storm.registeredAgainPerSecond)")
        XCTAssertEqual(storm.registeredAgainPerSecond.reduce(0, +), 200)
        XCTAssertGreaterThan(storm.peakRegisteredAgainPerSecond, 20)
        XCTAssertEqual(storm.failures["update 4.04"], 200, "each device learnt of the restart from its Update: \(storm.failures)")
        XCTAssertEqual(metrics.value(for: "register.succeeded"), 400, "registered twice each")
        XCTAssertEqual(metrics.value(for: "deregister.succeeded"), 200, "and De-registered with the new server")
        XCTAssertTrue(run.output.contains("server restart at 9.5 s, down 3.0 s: 200 registrations lost; all registered again in "), run.output)
        XCTAssertEqual(serverCounts(run.output)["registrations-lost"], 200, run.output)
    }
}
