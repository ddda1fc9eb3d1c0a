import Fleet
import Foundation
import Glibc
import XCTest

/// The fleet over DTLS with pre-shared keys against a third-party DTLS stack: libcoap's resource
/// directory built on OpenSSL (`coap-rd-openssl -k KEY`), which answers an LwM2M Register 2.01.
extension RunCommandTests {
    /// libcoap's resource directory on 127.0.0.1, DTLS on `port` + 1 with the PSK `key`, until the block returns.
    private func withLibCoAPResourceDirectory<T>(key: String, _ body: (_ coapsPort: UInt16) throws -> T) throws -> T {
        let binary = "/usr/bin/coap-rd-openssl"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("\(binary) is not installed (apt-get install libcoap3-bin)")
        }
        // libcoap listens on the port for CoAP and on the next one for DTLS: a free pair, found
        // by letting the kernel pick (a rare collision fails the run, not silently passes it).
        let port = UInt16.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-A", "127.0.0.1", "-p", "\(port)", "-k", key, "-v", "0"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: 0.3)
        return try body(port + 1)
    }

    private func fleet(port: UInt16, keyHex: String) -> String {
        // `end: drop`: coap-rd 4.3.1 frees a registration twice on DELETE and dies (seen with its
        // plain CoAP build as well), and answers an Update 4.05 (its registrations take no POST).
        """
        seed: 3
        server: { server: coaps://127.0.0.1:\(port) }
        devices:
          - count: 20
            lifetime: 300s
            security: { mode: psk, identity: "dtls-{index:04}", key: \(keyHex) }
        stages:
          - { duration: 1s, rate: 20/s }
          - { duration: 1s, hold: true }
        end: drop
        thresholds:
          - handshake.succeeded == 20
          - register.succeeded == 20
        """
    }

    func testTheFleetHandshakesAndRegistersOverDTLSAtLibCoAPsResourceDirectory() throws {
        let run = try withLibCoAPResourceDirectory(key: "secretkey") { port in
            try self.run(fleet(port: port, keyHex: Array("secretkey".utf8).map { String(format: "%02x", $0) }.joined()))
        }
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "handshake.succeeded"), 20, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "register.succeeded"), 20, run.output)
    }

    func testAWrongKeyLeavesEveryHandshakeUnfinishedAndCountedNeverACrashOrAHang() throws {
        let run = try withLibCoAPResourceDirectory(key: "secretkey") { port in
            try self.run(fleet(port: port, keyHex: "00112233445566778899aabbccddeeff"))
        }
        XCTAssertEqual(run.status, 99, "the thresholds fail: \(run.output)")
        XCTAssertEqual(run.result?.metrics.value(for: "register.succeeded"), 0, run.output)
        // OpenSSL drops a Finished it cannot decrypt without a word (an mbedTLS peer answers
        // bad_record_mac): only the clock tells, and the run's end cut every handshake off.
        XCTAssertEqual(run.result?.metrics.value(for: "handshake.succeeded"), 0, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "handshake.timeouts"), 20, run.output)
    }
}

/// The fleet over DTLS against the embedded servers: bootstrap, PSK provisioning, register,
/// update and de-register, with sessions parked between exchanges.
extension RunCommandTests {
    func testAFleetBootstrapsAndLivesOverDTLSWithTheKeysTheBootstrapServerWrote() throws {
        let run = try run("""
            seed: 8
            server: { embedded: { read: [/3/0] } }
            devices:
              - count: 100
                bootstrap: client-initiated
                lifetime: 4s
                security: { mode: psk, key-secret: fleet-secret }
            stages:
              - { duration: 1s, rate: 100/s }
              - { duration: 3s, hold: true }
            end: { mode: deregister, grace: 10s }
            thresholds:
              - devices.unfinished == 0
              - server.handshake_failures == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics)
        XCTAssertEqual(metrics.value(for: "handshake.succeeded"), 200, "one with the Bootstrap-Server, one with the Server: \(run.output)")
        XCTAssertEqual(metrics.value(for: "bootstrap.succeeded"), 100)
        XCTAssertEqual(metrics.value(for: "register.succeeded"), 100)
        XCTAssertGreaterThanOrEqual(metrics.value(for: "update.succeeded") ?? 0, 100, "an Update every 2 s, over parked sessions")
        XCTAssertEqual(metrics.value(for: "read.succeeded"), 100, "the server's Read reached every device over DTLS")
        XCTAssertEqual(metrics.value(for: "deregister.succeeded"), 100)
        XCTAssertEqual(metrics.embeddedServer?.handshakes, 200)
    }

    func testAKeyTheServerDoesNotHoldFailsEveryHandshakeWithTheAlertNamed() throws {
        let serve = try ServeProcess(arguments: ["--dtls-port", "0", "--psk-secret", "the-servers-secret"])
        let port = try XCTUnwrap(serve.address("dtls-server")).port
        let run = try run("""
            seed: 9
            server: { server: coaps://127.0.0.1:\(port) }
            devices:
              - count: 10
                security: { mode: psk, key-secret: another-secret }
            stages:
              - { duration: 1s, rate: 10/s }
              - { duration: 1s, hold: true }
            thresholds:
              - register.succeeded == 10
            """, extraArguments: ["--workers", "1"])
        _ = serve.stop()
        XCTAssertEqual(run.status, 99, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "handshake.failed"), 10, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "register.succeeded"), 0)
        XCTAssertTrue(run.output.contains("DTLS handshake failed: bad_record_mac"), "mbedTLS answers a Finished it cannot open with the alert: \(run.output)")
    }
}

/// A handshake storm by design: devices that handshake again before every Update.
extension RunCommandTests {
    func testDevicesThatHandshakeBeforeEveryUpdateDoSoAndTheServerKeepsUp() throws {
        let run = try run("""
            seed: 10
            server: embedded
            devices:
              - count: 50
                lifetime: 4s
                security: { mode: psk, key-secret: storm, handshake: every-update }
            stages:
              - { duration: 1s, rate: 50/s }
              - { duration: 5s, hold: true }
            end: { mode: deregister, grace: 10s }
            thresholds:
              - update.failed.rate == 0
              - server.handshake_failures == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics)
        let updates = try XCTUnwrap(metrics.value(for: "update.succeeded"))
        XCTAssertGreaterThanOrEqual(updates, 100, "an Update every 2 s: \(run.output)")
        XCTAssertEqual(metrics.value(for: "handshake.succeeded"), 50 + updates, "one to register, one before each Update")
        XCTAssertEqual(metrics.embeddedServer?.handshakes, 50 + Int(updates))
        XCTAssertEqual(metrics.embeddedServer?.handshakesResumed, 0)
    }

    func testDevicesThatResumeBeforeEveryUpdateDoAFullHandshakeOnlyTheFirstTime() throws {
        let run = try run("""
            seed: 10
            server: embedded
            devices:
              - count: 50
                lifetime: 4s
                security: { mode: psk, key-secret: storm, handshake: every-update, resume: true }
            stages:
              - { duration: 1s, rate: 50/s }
              - { duration: 5s, hold: true }
            end: { mode: deregister, grace: 10s }
            thresholds:
              - update.failed.rate == 0
              - handshake-resumed.failed.rate == 0
              - server.handshake_failures == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics)
        let updates = try XCTUnwrap(metrics.value(for: "update.succeeded"))
        XCTAssertGreaterThanOrEqual(updates, 100, "an Update every 2 s: \(run.output)")
        XCTAssertEqual(metrics.value(for: "handshake.succeeded"), 50, "one full handshake per device, to register")
        XCTAssertEqual(metrics.value(for: "handshake-resumed.succeeded"), updates, "each Update's handshake resumed")
        XCTAssertEqual(metrics.embeddedServer?.handshakes, 50 + Int(updates), "the server counts both kinds")
        XCTAssertEqual(metrics.embeddedServer?.handshakesResumed, Int(updates), "and the resumed ones apart")
        XCTAssertTrue(run.output.contains("handshake-resumed"), "the summary shows resumed handshakes apart: \(run.output)")
    }
}

/// A `coaps://` server that answers in plain CoAP: a failure of its own, named, not a timeout.
extension RunCommandTests {
    /// A UDP socket on 127.0.0.1 that answers every datagram with a CoAP Reset, as a plain CoAP
    /// server does to what it cannot parse, until `stop`.
    final class PlainCoAPResetter {
        let descriptor: Int32
        let port: UInt16

        init() throws {
            let socketDescriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            descriptor = socketDescriptor
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(socketDescriptor, $0, length) == 0 && getsockname(socketDescriptor, $0, &length) == 0
                }
            }
            guard bound else { throw XCTSkip("could not bind a UDP socket on 127.0.0.1") }
            port = UInt16(bigEndian: address.sin_port)
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(socketDescriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 2048)
                var peer = sockaddr_storage()
                while true {
                    var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                    let count = withUnsafeMutablePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socketDescriptor, &buffer, buffer.count, 0, $0, &peerLength) }
                    }
                    if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK { return }
                    guard count > 0 else { continue }
                    let reset: [UInt8] = [0x70, 0x00, 0x12, 0x34]
                    _ = withUnsafePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socketDescriptor, reset, reset.count, 0, $0, peerLength) }
                    }
                }
            }
        }

        func stop() { shutdown(descriptor, Int32(SHUT_RDWR)); close(descriptor) }
    }

    func testACoAPSServerThatAnswersInPlainCoAPIsNamedAsSuch() throws {
        let resetter = try PlainCoAPResetter()
        defer { resetter.stop() }
        let run = try run("""
            seed: 12
            server: { server: coaps://127.0.0.1:\(resetter.port) }
            devices:
              - count: 5
                security: { mode: psk, key: 00112233 }
            stages:
              - { duration: 1s, rate: 5/s }
            end: drop
            thresholds:
              - handshake.failed.rate == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 99, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "handshake.failed"), 5, run.output)
        XCTAssertEqual(run.result?.metrics.value(for: "handshake.timeouts"), 0, "no timeout on top of it: \(run.output)")
        XCTAssertTrue(run.output.contains("the server answered in plain CoAP, not DTLS"), run.output)
    }
}

/// A plain bootstrap that provisions DTLS credentials, as in many labs.
extension RunCommandTests {
    func testAPlainBootstrapProvisionsTheDTLSAccountTheDevicesRegisterWith() throws {
        let run = try run("""
            seed: 13
            server: embedded
            devices:
              - count: 50
                bootstrap: client-initiated
                security: { mode: psk, key-secret: lab, bootstrap-over: coap }
            stages:
              - { duration: 1s, rate: 50/s }
              - { duration: 1s, hold: true }
            thresholds:
              - devices.unfinished == 0
              - server.handshake_failures == 0
            """, extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics)
        XCTAssertEqual(metrics.value(for: "bootstrap.succeeded"), 50)
        XCTAssertEqual(metrics.value(for: "handshake.succeeded"), 50, "one handshake each, with the LwM2M Server only: \(run.output)")
        XCTAssertEqual(metrics.value(for: "register.succeeded"), 50)
        XCTAssertEqual(metrics.embeddedServer?.handshakes, 50)
    }
}

/// Devices that wake: a device that leaves and comes back (churn) opens a new connection and
/// handshakes again, resuming its last session when its group says `resume: true`.
extension RunCommandTests {
    static func churningFleet(security: String) -> String {
        """
        seed: 12
        server: embedded
        devices:
          - count: 40
            security: { mode: psk, key-secret: wake\(security) }
        stages:
          - { duration: 1s, rate: 40/s }
          - { duration: 4s, hold: true, churn: 25%/s }
        end: { mode: deregister, grace: 10s }
        thresholds:
          - register.failed.rate == 0
          - server.handshake_failures == 0
        """
    }

    func testADeviceThatComesBackHandshakesAgainInFull() throws {
        let run = try run(Self.churningFleet(security: ""), extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics)
        XCTAssertGreaterThan(metrics.returns, 10, run.output)
        XCTAssertEqual(metrics.value(for: "handshake.succeeded"), 40 + Double(metrics.returns), "one at arrival, one per return")
        XCTAssertNil(metrics.operations["handshake-resumed"])
        XCTAssertEqual(metrics.embeddedServer?.handshakesResumed, 0)
    }

    func testADeviceThatComesBackResumesItsSessionAndEachKindOfHandshakeCountsItsBytes() throws {
        let run = try run(Self.churningFleet(security: ", resume: true"), extraArguments: ["--workers", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let metrics = try XCTUnwrap(run.result?.metrics)
        XCTAssertGreaterThan(metrics.returns, 10, run.output)
        XCTAssertEqual(metrics.value(for: "handshake.succeeded"), 40, "a full handshake at arrival only")
        XCTAssertEqual(metrics.value(for: "handshake-resumed.succeeded"), Double(metrics.returns), "every return resumed")
        XCTAssertEqual(metrics.embeddedServer?.handshakesResumed, Int(metrics.returns))
        // A full PSK handshake with a cookie: ClientHello twice, HelloVerifyRequest, the server's
        // flight, the client's and the server's Finished and a ticket: several hundred bytes. A
        // resumed one skips the key exchange but carries the ticket in both ClientHellos and gets
        // a new one, so it is no smaller in bytes (it saves CPU and the PSK lookup, not bytes).
        let full = try XCTUnwrap(metrics.value(for: "handshake.bytes.mean"))
        let resumed = try XCTUnwrap(metrics.value(for: "handshake-resumed.bytes.mean"))
        XCTAssertGreaterThan(full, 300, run.output)
        XCTAssertLessThan(full, 2_000, run.output)
        XCTAssertGreaterThan(resumed, 300, run.output)
        XCTAssertLessThan(resumed, 2_000, run.output)
        XCTAssertNotEqual(resumed, full, "counted apart")
        let sent = try XCTUnwrap(metrics.value(for: "handshake.bytes.sent"))
        let received = try XCTUnwrap(metrics.value(for: "handshake.bytes.received"))
        XCTAssertEqual((sent + received) / 40, full, accuracy: 0.001)
        XCTAssertTrue(run.output.contains("bytes each"), "the summary shows bytes per handshake: \(run.output)")
    }
}
