import CoAP
import DTLS
import EventLoop
import Fleet
import LwM2M
import LwM2MClient
import XCTest

/// Devices over DTLS when their server restarts and forgets every session: their records are
/// dropped there without a word, so an exchange that times out makes the session suspect and
/// the device's next datagram starts a new handshake (issue 15, handshake storms).
final class DeviceDTLSRestartTests: XCTestCase {
    func testDevicesHandshakeAgainAfterTheServerLostTheirSessionsAndRegisterAgain() throws {
        OpenFileLimit.raiseToHardLimit()
        let secret = "restart-secret"
        var serve = try ServeProcess(arguments: ["--dtls-port", "0", "--psk-secret", secret])
        let port = try XCTUnwrap(serve.address("dtls-server")).port
        let count = 5
        func record(_ path: String, _ value: LwM2MValue) throws -> LwM2MRecord {
            LwM2MRecord(path: try LwM2MPath(parsing: path), value: value)
        }
        let records = [
            try record("/0/0/0", .string("coaps://127.0.0.1:\(port)")), try record("/0/0/1", .boolean(false)),
            try record("/0/0/2", .integer(0)), try record("/0/0/10", .integer(1)), try record("/1/0/0", .integer(1)),
            try record("/1/0/1", .integer(4)), try record("/1/0/7", .string("U")), try record("/3/0/0", .string("lwm2m-fleet")),
        ]
        let profile = DeviceProfile(model: .core, records: records, supportedObjects: [0, 1, 3], speaksDTLS: true)
        // Short CoAP timers, so an Update the restarted server drops times out in about a second.
        var transmission = CoAPTransmissionParameters()
        transmission.ackTimeoutMilliseconds = 200
        transmission.maxRetransmit = 2
        let configuration = ClientConfiguration(updateMarginSeconds: 1, transmission: transmission)
        let devices = (0..<count).map { LwM2MClient(configuration: configuration, profile: profile, index: UInt32($0), seed: 11) }
        let loop = try EventLoop()
        let driver = DeviceDriver(loop: loop, devices: devices, localAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 0))
        // Each device's identity is its endpoint name, its key derived from the server's secret.
        let identity = FleetSpec.EndpointPattern(prefix: configuration.endpointPrefix, indexWidth: configuration.indexWidth)
        driver.security = [(0..<count, DeviceSecurity(identity: identity, keySource: .derived(secret: Array(secret.utf8))))]
        var handshakes = 0
        var registers = 0
        var timedOut = 0
        driver.observer = { _, action, _ in
            switch action {
            case .operationFinished(.handshake, .succeeded, _, _): handshakes += 1
            case .operationFinished(.register, .succeeded, _, _): registers += 1
            case .operationFinished(_, .timedOut, _, _): timedOut += 1
            default: break
            }
        }
        let runner = DriverLoop(driver: driver)
        func run(seconds: Double, until done: @escaping () -> Bool) -> Bool { runner.run(seconds: seconds, until: done) }
        for device in 0..<count { driver.start(device: device, now: Timestamp(nanoseconds: loop.now)) }
        XCTAssertTrue(run(seconds: 10) { registers == count }, "registered \(registers), handshakes \(handshakes)")
        XCTAssertEqual(handshakes, count)

        // The server restarts on the same port with nothing: no session, no registration.
        _ = serve.stop()
        serve = try ServeProcess(arguments: ["--dtls-port", "\(port)", "--psk-secret", secret])
        defer { _ = serve.stop() }
        XCTAssertTrue(run(seconds: 20) { registers == 2 * count && driver.devices.allSatisfy(\.isRegistered) },
                      "registered again \(registers - count), handshakes \(handshakes), timeouts \(timedOut)")
        XCTAssertEqual(handshakes, 2 * count, "one new handshake per device")
        XCTAssertGreaterThanOrEqual(timedOut, count, "each learnt it from an Update that went unanswered")
    }
}
