import CoAP
import DTLS
import EventLoop
@testable import Fleet
import Foundation
import LwM2MServer
import XCTest

/// A DTLS client on the `ServerDriver`'s own loop, on a socket of its own: one DTLS client
/// session and one CoAP endpoint, its datagrams passed on to the driver's handler otherwise.
private final class DriverDTLSClient {
    let loop: EventLoop
    let session: DTLSClientSession
    private var endpoint = CoAPEndpoint(seed: 5)
    private var coap = CoAPEndpointOutput()
    private var records = DTLSOutput()
    private let socket: UDPSocketID
    private var timer: TimerHandle?
    private(set) var outcomes: [CoAPRequestID: Result<CoAPMessage, CoAPRequestFailure>] = [:]
    private var isDone: () -> Bool = { true }

    static let socketTag: UInt64 = 100
    static let timerTag = ServerDriver.firstOwnerTag
    static let guardTag = ServerDriver.firstOwnerTag + 1
    static let pollTag = ServerDriver.firstOwnerTag + 2

    init(driver: ServerDriver, server: SocketAddress, key: PreSharedKey) throws {
        loop = driver.loop
        var parameters = DTLSParameters()
        parameters.handshakeTimeoutMinimumMilliseconds = 200
        parameters.handshakeTimeoutMaximumMilliseconds = 800
        session = try DTLSClientSession(key: key, parameters: parameters, seed: 9)
        socket = try driver.loop.openUDPSocket(
            bindTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), connectTo: server, tag: Self.socketTag)
        driver.install { [unowned self] tag, now in
            switch tag {
            case Self.timerTag:
                timer = nil
                session.handleDeadline(now: Timestamp(nanoseconds: now), output: &records)
                endpoint.handleDeadline(now: Timestamp(nanoseconds: now), output: &coap)
                flush(now: Timestamp(nanoseconds: now))
            case Self.guardTag:
                loop.stop()
            default:
                if isDone() { loop.stop() } else { _ = loop.schedule(at: now + 10_000_000, tag: Self.pollTag) }
            }
        }
        let driverHandler = loop.datagramReceived
        loop.datagramReceived = { [unowned self] socket, tag, bytes, peer, now in
            guard tag == Self.socketTag else { return driverHandler?(socket, tag, bytes, peer, now) ?? () }
            session.receive(bytes, now: Timestamp(nanoseconds: now), output: &records)
            flush(now: Timestamp(nanoseconds: now))
        }
    }

    private func flush(now: Timestamp) {
        let plaintexts = records.applicationData
        records.applicationData.removeAll()
        for plaintext in plaintexts { endpoint.receive(plaintext, now: now, output: &coap) }
        for datagram in coap.datagrams { session.send(datagram, now: now, output: &records) }
        for case .response(let id, let message) in coap.events { outcomes[id] = .success(message) }
        for case .failed(let id, let failure) in coap.events { outcomes[id] = .failure(failure) }
        coap.removeAll()
        for datagram in records.datagrams { loop.send(datagram, on: socket) }
        records.removeAll()
        if let timer { loop.cancel(timer) }
        timer = [session.nextDeadline, endpoint.nextDeadline].compactMap { $0 }.min().map { loop.schedule(at: $0.nanoseconds, tag: Self.timerTag) }
    }

    /// Runs the loop until `condition` holds or `seconds` pass; whether it held.
    @discardableResult
    func runUntil(seconds: Double, _ condition: @escaping () -> Bool) -> Bool {
        isDone = condition
        let limit = loop.schedule(at: loop.now + UInt64(seconds * 1e9), tag: Self.guardTag)
        let poll = loop.schedule(at: loop.now + 10_000_000, tag: Self.pollTag)
        if !condition() { loop.run() }
        loop.cancel(limit)
        loop.cancel(poll)
        return condition()
    }

    func handshake(seconds: Double = 10) -> DTLSSessionState {
        let now = Timestamp(nanoseconds: loop.now)
        session.start(now: now, output: &records)
        flush(now: now)
        runUntil(seconds: seconds) { self.session.state != .handshaking }
        return session.state
    }

    func perform(_ request: CoAPMessage, seconds: Double = 10) -> CoAPMessage? {
        let now = Timestamp(nanoseconds: loop.now)
        let id = endpoint.send(request, now: now, output: &coap)
        flush(now: now)
        runUntil(seconds: seconds) { self.outcomes[id] != nil }
        return try? outcomes[id]?.get()
    }
}

/// The embedded servers over DTLS: the `ServerDriver`'s `coaps://` sockets with a client of our
/// DTLS module, `serve --dtls-port` with libcoap's OpenSSL client, and the DTLS configuration
/// `run` gives them from the groups' `security:`.
final class EmbeddedDTLSServerTests: XCTestCase {
    private static let groupKey: [UInt8] = Array("group-key-000001".utf8)

    private func driver() throws -> ServerDriver {
        let dtls = EmbeddedDTLSConfiguration(
            groupKeys: [.init(identityPrefix: "sim-", identityIndexWidth: 6, source: .fixed(Self.groupKey))],
            accountSecret: Array("account secret".utf8))
        return try ServerDriver(
            loop: try EventLoop(), host: "127.0.0.1", serverPort: 0, bootstrapPort: 0,
            registrationConfiguration: RegistrationServerConfiguration(), bootstrapConfiguration: BootstrapServerConfiguration(),
            dtls: dtls)
    }

    private static func register(_ endpoint: String) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: .post)
        message.setPath("/rd")
        for item in ["ep=\(endpoint)", "lt=300", "b=U"] { message.options.append(.uriQuery, string: item) }
        message.options.append(.contentFormat, uint: 40)
        message.payload = Array("</1/0>,</3/0>".utf8)[...]
        return message
    }

    func testADeviceWithItsGroupKeyRegistersOverDTLSAtTheDriversCoAPSServer() throws {
        let driver = try driver()
        let server = try XCTUnwrap(driver.dtlsServerAddress)
        XCTAssertNotNil(driver.dtlsBootstrapAddress)
        let client = try DriverDTLSClient(driver: driver, server: server, key: PreSharedKey(identity: "sim-000001", key: Self.groupKey))
        guard case .established = client.handshake() else { return XCTFail("handshake: \(client.session.state)") }
        let response = try XCTUnwrap(client.perform(Self.register("sim-000001")), "an answer inside the session")
        XCTAssertEqual(response.code, .created)
        XCTAssertEqual(driver.registrationServer.registrationCount, 1)
        XCTAssertEqual(driver.handshakesCompleted, 1)
        XCTAssertEqual(driver.handshakeFailures, [:])
    }

    func testTheServersSessionIsParkedOnceIdleAndAnUpdateLoadsItAgain() throws {
        let driver = try driver()
        let server = try XCTUnwrap(driver.dtlsServerAddress)
        let client = try DriverDTLSClient(driver: driver, server: server, key: PreSharedKey(identity: "sim-000001", key: Self.groupKey))
        guard case .established = client.handshake() else { return XCTFail("handshake: \(client.session.state)") }
        XCTAssertEqual(driver.dtlsSessionsParked, 0, "mbedTLS saves a server only once it received an application record")
        XCTAssertEqual(driver.dtlsSessionsLive, 1)

        let created = try XCTUnwrap(client.perform(Self.register("sim-000001")))
        XCTAssertEqual(created.code, .created)
        XCTAssertEqual(driver.dtlsSessionsLive, 1, "live a while after its last use: a bootstrap's exchanges come milliseconds apart")
        XCTAssertTrue(client.runUntil(seconds: 3) { driver.dtlsSessionsParked == 1 }, "parked once idle for a second")
        XCTAssertEqual(driver.dtlsSessionsLive, 0)

        for round in 0..<2 {
            var update = CoAPMessage(type: .confirmable, code: .post)
            update.setPath("/" + created.options.strings(.locationPath).joined(separator: "/"))
            let changed = try XCTUnwrap(client.perform(update), "round \(round): an answer from the loaded session")
            XCTAssertEqual(changed.code, .changed)
            XCTAssertTrue(client.runUntil(seconds: 3) { driver.dtlsSessionsParked == 1 }, "round \(round): parked again once idle")
            XCTAssertEqual(driver.dtlsSessionsLive, 0)
        }
        XCTAssertEqual(driver.handshakesCompleted, 1, "no new handshake: the same session carried on")
        XCTAssertEqual(driver.registrationServer.registrationCount, 1)
    }

    func testAnIdentityNoGroupClaimsNeedsTheAccountKey() throws {
        let driver = try driver()
        let server = try XCTUnwrap(driver.dtlsServerAddress)
        let account = PreSharedKey.derived(secret: Array("account secret".utf8), identity: Array("meter-7".utf8))
        let client = try DriverDTLSClient(driver: driver, server: server, key: account)
        guard case .established = client.handshake() else { return XCTFail("handshake: \(client.session.state)") }
        XCTAssertEqual(client.perform(Self.register("meter-7"))?.code, .created)
    }

    func testAWrongKeyFailsTheHandshakeAndIsCountedByReason() throws {
        let driver = try driver()
        let server = try XCTUnwrap(driver.dtlsServerAddress)
        let client = try DriverDTLSClient(
            driver: driver, server: server, key: PreSharedKey(identity: "sim-000002", key: Array("not-the-group-k1".utf8)))
        XCTAssertEqual(client.handshake(), .failed(.badRecordMAC))
        client.runUntil(seconds: 2) { driver.handshakeFailures["bad_record_mac"] == 1 }
        XCTAssertEqual(driver.handshakeFailures, ["bad_record_mac": 1])
        XCTAssertEqual(driver.handshakesCompleted, 0)
        XCTAssertEqual(driver.registrationServer.registrationCount, 0)
    }

    func testTheBootstrapServerSendsPSKDevicesToTheCoAPSServerWithTheKeyItChecks() throws {
        var bootstrap = BootstrapServerConfiguration()
        var settings = BootstrapServerConfiguration.Settings()
        settings.preSharedKey = true
        bootstrap.endpointRules = [.init(pattern: "sim-*", settings: settings)]
        let driver = try ServerDriver(
            loop: try EventLoop(), host: "127.0.0.1", serverPort: 0, bootstrapPort: 0,
            registrationConfiguration: RegistrationServerConfiguration(), bootstrapConfiguration: bootstrap,
            dtls: EmbeddedDTLSConfiguration(accountSecret: [1, 2, 3]))
        let rule = driver.bootstrapServer.configuration.endpointRules[0].settings
        XCTAssertEqual(rule.serverURI, "coaps://\(driver.dtlsServerAddress!)")
        XCTAssertEqual(driver.bootstrapServer.configuration.defaults.serverURI, "coap://\(driver.serverAddress)", "no PSK, plain CoAP")
    }

    func testAnEmbeddedServerCountsAddTheirHandshakeFailureReasons() {
        var counts = EmbeddedServerCounts()
        (counts.handshakes, counts.handshakeFailures, counts.handshakeFailureReasons) = (3, 2, ["timeout": 1, "bad_record_mac": 1])
        var other = EmbeddedServerCounts()
        (other.handshakeFailures, other.handshakeFailureReasons) = (1, ["timeout": 1])
        counts.add(other)
        XCTAssertEqual(counts.handshakeFailureReasons, ["timeout": 2, "bad_record_mac": 1])
        XCTAssertEqual(counts.value(for: "handshake_failures"), 3)
        XCTAssertEqual(counts.value(for: "handshakes"), 3)
    }

    // MARK: serve

    func testServeWithDTLSPrintsItsCoAPSAddresses() throws {
        let serve = try ServeProcess(arguments: ["--dtls-port", "0", "--psk-secret", "s"])
        XCTAssertNotNil(serve.readyLine.range(of: #"dtls-bootstrap=127\.0\.0\.1:\d+ dtls-server=127\.0\.0\.1:\d+"#, options: .regularExpression),
                        serve.readyLine)
        XCTAssertTrue(serve.stop().contains("handshakes=0 handshakes-resumed=0 handshake-failures=0"))
    }

    func testServeRefusesDTLSWithoutOrWithBothKeySources() throws {
        let none = try BinaryRun.run(["serve", "--dtls-port", "0"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.errors.contains("give --psk-file CSV or --psk-secret TEXT"), none.errors)
        let both = try BinaryRun.run(["serve", "--dtls-port", "0", "--psk-secret", "s", "--psk-file", "k.csv"])
        XCTAssertTrue(both.errors.contains("give one of them"), both.errors)
        let keysOnly = try BinaryRun.run(["serve", "--psk-secret", "s"])
        XCTAssertTrue(keysOnly.errors.contains("--psk-secret is for DTLS"), keysOnly.errors)
    }

    func testLibCoAPsOpenSSLClientRegistersAtServeOverDTLS() throws {
        try libCoAPClientRegistersAtServeOverDTLS("coap-client-openssl")
    }

    func testLibCoAPsGnuTLSClientRegistersAtServeOverDTLS() throws {
        try libCoAPClientRegistersAtServeOverDTLS("coap-client-gnutls")
    }

    /// A third-party DTLS stack (libcoap's client on OpenSSL or GnuTLS) registers at `serve`'s
    /// `coaps://` LwM2M Server with a PSK from `--psk-file`.
    private func libCoAPClientRegistersAtServeOverDTLS(_ name: String) throws {
        let tool = URL(fileURLWithPath: "/usr/bin/" + name)
        guard FileManager.default.isExecutableFile(atPath: tool.path) else {
            throw XCTSkip("\(name) is not installed (Debian package libcoap3-bin; `make test` installs it)")
        }
        // libcoap's -k takes the key as text: a key whose bytes are printable ASCII.
        let key = "secretkey123"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("psk-\(UUID().uuidString).csv")
        let hex = key.utf8.map { String(format: "%02x", $0) }.joined()
        try "# identity,key-hex\nsim-000001,\(hex)\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let serve = try ServeProcess(arguments: ["--dtls-port", "0", "--bootstrap-dtls-port", "0", "--psk-file", file.path])
        let port = try XCTUnwrap(serve.address("dtls-server")).port

        let process = Process()
        process.executableURL = tool
        process.arguments = ["-v", "6", "-u", "sim-000001", "-k", key, "-m", "post", "-t", "40", "-e", "</1/0>,</3/0>",
                             "coaps://127.0.0.1:\(port)/rd?ep=sim-000001&lt=300&b=U"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        XCTAssertTrue(printed.contains("c:2.01"), printed)
        let summary = serve.stop()
        XCTAssertTrue(summary.contains("registered-total=1 "), summary)
        XCTAssertTrue(summary.contains("handshakes=1 "), summary)
    }

    // MARK: run's configuration

    func testASecuredGroupGivesTheEmbeddedServersItsKeysAndPSKAccounts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dtls-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try (0..<10).map { "meter-\($0),0a0b0c0d" }.joined(separator: "\n").write(
            to: directory.appendingPathComponent("keys.csv"), atomically: true, encoding: .utf8)
        let yaml = """
            server: embedded
            devices:
              - count: 4
                bootstrap: client-initiated
                security: { mode: psk, identity: "psk-{index:03}", key: 0A0b }
              - count: 4
                endpoint: "meter-{index}"
                bootstrap: client-initiated
                security: { mode: psk, key-file: keys.csv }
              - count: 2
                endpoint: "plain-{index}"
                bootstrap: client-initiated
            stages:
              - { duration: 1s, rate: 10/s }

            """
        let spec = try FleetSpec(yaml: yaml, source: "dtls.yaml", baseDirectory: directory.path)
        let configuration = spec.embeddedServerConfiguration(for: FleetSpec.EmbeddedServer(), seed: 42)
        let dtls = try XCTUnwrap(configuration.dtls)
        XCTAssertEqual(dtls.groupKeys, [
            .init(identityPrefix: "psk-", identityIndexWidth: 3, source: .fixed([0x0A, 0x0B])),
            .init(identityPrefix: "meter-", identityIndexWidth: 0,
                  source: .file(path: directory.appendingPathComponent("keys.csv").standardizedFileURL.path)),
        ])
        XCTAssertEqual(dtls.accountSecret.count, 16)
        XCTAssertEqual(spec.embeddedServerConfiguration(for: FleetSpec.EmbeddedServer(), seed: 42).dtls, dtls, "the same for the same seed")
        XCTAssertNotEqual(spec.embeddedServerConfiguration(for: FleetSpec.EmbeddedServer(), seed: 43).dtls?.accountSecret, dtls.accountSecret)
        let pskRules = configuration.bootstrap.endpointRules.map { ($0.pattern, $0.settings.preSharedKey) }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: pskRules), ["sim-*": true, "meter-*": true, "plain-*": false])

        let plain = try FleetSpec(yaml: "server: embedded\ndevices:\n  - count: 2\nstages:\n  - { duration: 1s, rate: 10/s }\n", source: "plain.yaml")
        XCTAssertNil(plain.embeddedServerConfiguration(for: FleetSpec.EmbeddedServer()).dtls)
    }
}
