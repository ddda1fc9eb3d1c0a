import CoAP
import EventLoop
import Fleet
import LwM2M
import LwM2MClient
import XCTest

/// 1,000 client actors on one event loop against `lwm2m-fleet serve` in another process, over
/// real UDP sockets on 127.0.0.1: bootstrap, register, update, deregister, with the server's
/// counts checked at each step.
final class FleetAgainstServeTests: XCTestCase {
    private struct Tally {
        var bootstraps = 0
        var registered = 0
        var updated = 0
        var deregistered = 0
        var failures: [String] = []
        var violations = 0
    }

    func testThousandDevicesBootstrapRegisterUpdateDeregister() throws {
        OpenFileLimit.raiseToHardLimit()
        let serve = try ServeProcess(arguments: ["--lifetime", "6"])
        defer { _ = serve.process.isRunning ? serve.stop() : "" }
        let count = 1_000
        let bootstrapURI = "coap://127.0.0.1:\(serve.bootstrapAddress.port)"
        let records = [
            LwM2MRecord(path: try LwM2MPath(parsing: "/0/0/0"), value: .string(bootstrapURI)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/0/0/1"), value: .boolean(true)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/0/0/2"), value: .integer(3)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/0"), value: .string("lwm2m-fleet")),
        ]
        let profile = DeviceProfile(model: .core, records: records, supportedObjects: [0, 1, 3])
        let configuration = ClientConfiguration(bootstrapMode: .clientInitiated, updateMarginSeconds: 2)
        let devices = (0..<count).map { LwM2MClient(configuration: configuration, profile: profile, index: UInt32($0), seed: 7) }
        let loop = try EventLoop()
        let driver = DeviceDriver(loop: loop, devices: devices, localAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 0))
        var tally = Tally()
        driver.observer = { _, action, _ in
            switch action {
            case .operationFinished(.bootstrap, .succeeded, _, _): tally.bootstraps += 1
            case .operationFinished(.register, .succeeded, _, _): tally.registered += 1
            case .operationFinished(.update, .succeeded, _, _): tally.updated += 1
            case .operationFinished(.deregister, .succeeded, _, _): tally.deregistered += 1
            case .operationFinished(let operation, let outcome, let code, _):
                tally.failures.append("\(operation) \(outcome) \(code.map { "\($0)" } ?? "")")
            case .violation: tally.violations += 1
            default: break
            }
        }
        let runner = DriverLoop(driver: driver)
        func run(seconds: Double, until done: @escaping () -> Bool) -> Bool { runner.run(seconds: seconds, until: done) }

        // Arrivals in steps of 100 every 50 ms, as a fleet ramps up.
        for device in 0..<count {
            if device % 100 == 0 { XCTAssertFalse(run(seconds: 0.05) { false }) }
            driver.start(device: device, now: Timestamp(nanoseconds: loop.now))
        }
        XCTAssertTrue(run(seconds: 60) { tally.registered == count }, "registered \(tally.registered), failures \(tally.failures.prefix(5))")
        XCTAssertEqual(tally.bootstraps, count)
        XCTAssertTrue(run(seconds: 3) { serve.status.contains { $0.hasPrefix("held-now=\(count) ") } },
                      "the server holds exactly \(count): \(serve.status.suffix(3))")

        // Lifetime 6 s, margin 2 s: every device updates within the next ~5 s.
        XCTAssertTrue(run(seconds: 15) { tally.updated >= count }, "updated \(tally.updated)")

        for device in 0..<count { driver.stop(device: device, deregister: true, now: Timestamp(nanoseconds: loop.now)) }
        XCTAssertTrue(run(seconds: 30) { tally.deregistered == count }, "deregistered \(tally.deregistered)")
        XCTAssertTrue(run(seconds: 3) { serve.status.contains { $0.hasPrefix("held-now=0 ") } }, "\(serve.status.suffix(3))")
        XCTAssertEqual(driver.openSockets, 0)

        let summary = serve.stop()
        XCTAssertTrue(summary.contains("registered-total=\(count) "), summary)
        XCTAssertTrue(summary.contains("bootstraps=\(count) "), summary)
        XCTAssertTrue(summary.contains("deregistered=\(count) "), summary)
        XCTAssertTrue(summary.contains("updated=\(tally.updated) "), "server and clients count the same updates: \(summary)")
        XCTAssertTrue(tally.failures.isEmpty, "\(tally.failures.prefix(5))")
        XCTAssertEqual(tally.violations, 0)
    }

    /// `serve --violate before-ack`: Read and Observe reach every device before its Register is
    /// acknowledged; each device answers neither, registers, and reports both as proven violations.
    func testMisbehavingServerIsCaughtByEveryDevice() throws {
        OpenFileLimit.raiseToHardLimit()
        let serve = try ServeProcess(arguments: ["--violate", "before-ack"])
        defer { _ = serve.process.isRunning ? serve.stop() : "" }
        let count = 50
        let serverURI = "coap://127.0.0.1:\(serve.serverAddress.port)"
        let records = [
            LwM2MRecord(path: try LwM2MPath(parsing: "/0/0/0"), value: .string(serverURI)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/0/0/1"), value: .boolean(false)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/0/0/2"), value: .integer(3)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/0/0/10"), value: .integer(1)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/1/0/0"), value: .integer(1)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/1/0/1"), value: .integer(300)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/1/0/7"), value: .string("U")),
            LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/0"), value: .string("lwm2m-fleet")),
        ]
        let profile = DeviceProfile(model: .core, records: records, supportedObjects: [0, 1, 3])
        let devices = (0..<count).map { LwM2MClient(configuration: ClientConfiguration(), profile: profile, index: UInt32($0), seed: 3) }
        let loop = try EventLoop()
        let driver = DeviceDriver(loop: loop, devices: devices, localAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 0))
        var violations: [ServerViolation] = []
        var registered = 0
        var handled = 0
        driver.observer = { _, action, _ in
            switch action {
            case .violation(let violation): violations.append(violation)
            case .operationFinished(.register, .succeeded, _, _): registered += 1
            case .requestHandled: handled += 1
            default: break
            }
        }
        let guardTag = DeviceDriver.firstOwnerTag
        driver.install { tag, now in
            if tag == guardTag || registered == count { loop.stop() } else { _ = loop.schedule(at: now + 20_000_000, tag: guardTag + 1) }
        }
        for device in 0..<count { driver.start(device: device, now: Timestamp(nanoseconds: loop.now)) }
        let limit = loop.schedule(at: loop.now + 30_000_000_000, tag: guardTag)
        _ = loop.schedule(at: loop.now + 20_000_000, tag: guardTag + 1)
        loop.run()
        loop.cancel(limit)
        XCTAssertEqual(registered, count)
        XCTAssertEqual(violations.count, 2 * count, "a Read and an Observe per device: \(violations.prefix(4))")
        XCTAssertEqual(Set(violations.compactMap(\.operation)), [.read, .observe])
        XCTAssertTrue(violations.allSatisfy { $0.state == .registering })
        XCTAssertTrue(violations.allSatisfy(\.isProven), "the 2.01 came as a separate CON after them: proven")
        XCTAssertEqual(handled, 0, "no device answered an early request")
        let summary = serve.stop()
        XCTAssertTrue(summary.contains("violations-sent=\(2 * count) devices-violated=\(count) "), summary)
    }
}
