import CoAP
import LwM2M
import LwM2MClient
import LwM2MServer
import XCTest

/// Simulated devices and the embedded Bootstrap-Server wired back to back on a manual clock: no
/// sockets, no threads. Datagrams are delivered in the order sent; the clock moves only in `advance`.
private final class BootstrapNetwork {
    private(set) var now = Timestamp.seconds(1_000)
    var bootstrapServer: LwM2MBootstrapServer<Int>
    private(set) var clients: [LwM2MClient]
    /// Every event the Bootstrap-Server reported, in order.
    private(set) var events: [ServerEvent] = []
    /// Requests the Bootstrap-Server sent, per device, in order (retransmissions included).
    private(set) var requestsToDevice: [Int: [CoAPMessage]] = [:]
    /// Messages each device sent to the Bootstrap-Server.
    private(set) var messagesFromDevice: [Int: [CoAPMessage]] = [:]
    private(set) var clientActions: [Int: [ClientAction]] = [:]
    private(set) var retransmissionsByBootstrapServer = 0
    /// Requests from the Bootstrap-Server this returns true for are lost on the way to the device.
    var losesRequest: (CoAPMessage) -> Bool = { _ in false }

    /// A trivial LwM2M Server per device that answers Register with 2.01.
    private var registrars: [Int: CoAPEndpoint] = [:]
    private var connected: [Int: Set<ServerRole>] = [:]
    private enum Hop {
        case toBootstrapServer(Int, [UInt8])
        case toRegistrar(Int, [UInt8])
        case toDevice(Int, ServerRole, [UInt8])
    }
    private var queue: [Hop] = []

    init(configuration: BootstrapServerConfiguration, clients: [LwM2MClient]) {
        bootstrapServer = LwM2MBootstrapServer(configuration: configuration, seed: 7)
        self.clients = clients
    }

    func startAll() {
        for index in clients.indices {
            var actions: [ClientAction] = []
            clients[index].start(now: now, actions: &actions)
            apply(actions, of: index)
        }
        pump()
    }

    /// Server-initiated bootstrap of device `index`.
    func bootstrap(_ index: Int, version: LwM2MVersion) {
        var output = ServerOutput<Int>()
        bootstrapServer.bootstrap(index, endpoint: clients[index].endpointName, lwm2mVersion: version, now: now, output: &output)
        absorb(output)
        pump()
    }

    /// Moves the clock to `time`, handling every deadline on the way in order.
    func advance(seconds: UInt64) {
        let target = now.adding(milliseconds: seconds * 1000)
        while true {
            var next = bootstrapServer.nextDeadline
            func consider(_ deadline: Timestamp?) {
                if let deadline, next.map({ deadline < $0 }) ?? true { next = deadline }
            }
            clients.forEach { consider($0.nextDeadline) }
            registrars.values.forEach { consider($0.nextDeadline) }
            guard let due = next, due <= target else { break }
            now = max(now, due)
            if let deadline = bootstrapServer.nextDeadline, deadline <= now {
                var output = ServerOutput<Int>()
                bootstrapServer.handleDeadline(now: now, output: &output)
                absorb(output)
            }
            for index in clients.indices where clients[index].nextDeadline.map({ $0 <= now }) ?? false {
                var actions: [ClientAction] = []
                clients[index].handleDeadline(now: now, actions: &actions)
                apply(actions, of: index)
            }
            for index in registrars.keys where registrars[index]!.nextDeadline.map({ $0 <= now }) ?? false {
                var output = CoAPEndpointOutput()
                registrars[index]!.handleDeadline(now: now, output: &output)
                queue += output.datagrams.map { .toDevice(index, .server, $0) }
            }
            pump()
        }
        now = max(now, target)
    }

    func bootstrapOutcomes(_ index: Int) -> [OperationOutcome] {
        (clientActions[index] ?? []).compactMap {
            if case .operationFinished(.bootstrap, let outcome, _, _) = $0 { outcome } else { nil }
        }
    }

    func finished(succeeded: Bool) -> [String] {
        events.compactMap {
            if case .bootstrapFinished(let endpoint, succeeded) = $0 { endpoint } else { nil }
        }
    }

    func completedSteps(_ endpoint: String) -> [(operation: String, code: CoAPCode?)] {
        events.compactMap {
            if case .operationCompleted(let operation, endpoint, let code, _) = $0 { (operation, code) } else { nil }
        }
    }

    /// Method and path of each request the Bootstrap-Server sent to device `index`.
    func script(_ index: Int) -> [String] {
        (requestsToDevice[index] ?? []).map { "\($0.code) \($0.path)" }
    }

    // MARK: Delivery

    private func apply(_ actions: [ClientAction], of index: Int) {
        clientActions[index, default: []] += actions
        for action in actions {
            switch action {
            case .connect(let role, _):
                connected[index, default: []].insert(role)
                if role == .server {
                    // A new socket is a new peer address to the server: its CoAP state starts afresh.
                    registrars[index] = CoAPEndpoint(parameters: Fixtures.transmission, seed: UInt64(index))
                }
            case .disconnect(let role):
                connected[index]?.remove(role)
            case .send(let role, let datagram) where connected[index]?.contains(role) ?? false:
                if role == .bootstrapServer {
                    messagesFromDevice[index, default: []].append(try! CoAPMessage.decode(datagram).get())
                    queue.append(.toBootstrapServer(index, datagram))
                } else {
                    queue.append(.toRegistrar(index, datagram))
                }
            default:
                break
            }
        }
    }

    private func absorb(_ output: ServerOutput<Int>) {
        events += output.events
        retransmissionsByBootstrapServer += output.retransmissions
        for (index, datagram) in output.datagrams {
            let message = try! CoAPMessage.decode(datagram).get()
            if message.code.isRequest {
                requestsToDevice[index, default: []].append(message)
                if losesRequest(message) { continue }
            }
            queue.append(.toDevice(index, .bootstrapServer, datagram))
        }
    }

    /// Delivers datagrams until nobody has anything left to send.
    private func pump() {
        var next = 0
        while next < queue.count {
            let hop = queue[next]
            next += 1
            switch hop {
            case .toBootstrapServer(let index, let datagram):
                var output = ServerOutput<Int>()
                bootstrapServer.receive(datagram, from: index, now: now, output: &output)
                absorb(output)
            case .toRegistrar(let index, let datagram):
                registrarReceive(datagram, index: index)
            case .toDevice(let index, let role, let datagram):
                guard connected[index]?.contains(role) ?? false else { continue }
                var actions: [ClientAction] = []
                clients[index].receive(datagram, from: role, now: now, actions: &actions)
                apply(actions, of: index)
            }
        }
        queue.removeAll()
    }

    private func registrarReceive(_ datagram: [UInt8], index: Int) {
        guard var registrar = registrars[index] else { return }
        var output = CoAPEndpointOutput()
        registrar.receive(datagram, now: now, output: &output)
        for case .request(let request) in output.events where request.message.code == .post && request.message.uriPath == ["rd"] {
            var created = CoAPMessage(type: .acknowledgement, code: .created)
            created.options.append(.locationPath, string: "rd")
            created.options.append(.locationPath, string: String(index))
            registrar.respond(to: request, with: created, now: now, output: &output)
        }
        registrars[index] = registrar
        queue += output.datagrams.map { .toDevice(index, .server, $0) }
    }
}

/// Devices and configurations the Bootstrap-Server tests share.
private enum Fixtures {
    static let bootstrapURI = "coap://127.0.0.1:5783"

    static var transmission: CoAPTransmissionParameters {
        var parameters = CoAPTransmissionParameters()
        parameters.ackRandomFactor = 1
        return parameters
    }

    static func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }

    /// A Bootstrap-Server account at Security instance `instance`, as the only account a device has.
    static func bootstrapAccount(instance: UInt16 = 5, holdOffSeconds: Int64 = 3) -> [LwM2MRecord] {
        [
            LwM2MRecord(path: path("/0/\(instance)/0"), value: .string(bootstrapURI)),
            LwM2MRecord(path: path("/0/\(instance)/1"), value: .boolean(true)),
            LwM2MRecord(path: path("/0/\(instance)/2"), value: .integer(3)),
            LwM2MRecord(path: path("/0/\(instance)/11"), value: .integer(holdOffSeconds)),
        ]
    }

    static func profile(bootstrapInstance: UInt16 = 5, holdOffSeconds: Int64 = 3) -> DeviceProfile {
        let device = [
            LwM2MRecord(path: path("/3/0/0"), value: .string("lwm2m-fleet")),
            LwM2MRecord(path: path("/3/0/1"), value: .string("sim")),
            LwM2MRecord(path: path("/3/0/16"), value: .string("U")),
        ]
        return DeviceProfile(
            model: LwM2MModel.core, records: bootstrapAccount(instance: bootstrapInstance, holdOffSeconds: holdOffSeconds) + device,
            supportedObjects: [0, 1, 3])
    }

    static func configuration(
        prefix: String = "sim-", version: LwM2MVersion = .v1_1, mode: ClientConfiguration.BootstrapMode = .clientInitiated,
        preferredFormat: LwM2MContentFormat? = nil, bootstrapTimeoutSeconds: UInt32 = 60
    ) -> ClientConfiguration {
        ClientConfiguration(
            endpointPrefix: prefix, lwm2mVersion: version, bootstrapMode: mode, preferredContentFormat: preferredFormat,
            bootstrapTimeoutSeconds: bootstrapTimeoutSeconds, transmission: transmission)
    }

    static func client(
        _ configuration: ClientConfiguration, index: Int, profile: DeviceProfile = Fixtures.profile()
    ) -> LwM2MClient {
        LwM2MClient(configuration: configuration, profile: profile, index: UInt32(index), seed: 42)
    }

    static func serverConfiguration(
        _ defaults: BootstrapServerConfiguration.Settings = .init(), rules: [BootstrapServerConfiguration.EndpointRule] = []
    ) -> BootstrapServerConfiguration {
        BootstrapServerConfiguration(defaults: defaults, endpointRules: rules, transmission: transmission)
    }

    /// The records a device holds for the account `settings` describe.
    static func securityRecords(instance: UInt16, _ settings: BootstrapServerConfiguration.Settings) -> [LwM2MRecord] {
        [
            LwM2MRecord(path: path("/0/\(instance)/0"), value: .string(settings.serverURI)),
            LwM2MRecord(path: path("/0/\(instance)/1"), value: .boolean(false)),
            LwM2MRecord(path: path("/0/\(instance)/2"), value: .integer(3)),
            LwM2MRecord(path: path("/0/\(instance)/10"), value: .integer(Int64(settings.shortServerID))),
        ]
    }

    static func serverRecords(_ settings: BootstrapServerConfiguration.Settings) -> [LwM2MRecord] {
        [
            LwM2MRecord(path: path("/1/0/0"), value: .integer(Int64(settings.shortServerID))),
            LwM2MRecord(path: path("/1/0/1"), value: .integer(Int64(settings.lifetimeSeconds))),
            LwM2MRecord(path: path("/1/0/2"), value: .integer(Int64(settings.defaultMinimumPeriodSeconds))),
            LwM2MRecord(path: path("/1/0/3"), value: .integer(Int64(settings.defaultMaximumPeriodSeconds))),
            LwM2MRecord(path: path("/1/0/6"), value: .boolean(false)),
            LwM2MRecord(path: path("/1/0/7"), value: .string(settings.binding.description)),
        ]
    }
}

/// The embedded Bootstrap-Server against real client state machines, in lockstep on a manual clock.
final class BootstrapServerTests: XCTestCase {
    private typealias F = Fixtures

    // MARK: Client-initiated bootstrap

    func testThousandClientsBootstrapToTheConfiguredAccountAndKeepTheirBootstrapAccount() throws {
        var special = BootstrapServerConfiguration.Settings()
        special.serverURI = "coap://10.0.0.2:5683"
        special.shortServerID = 2
        special.lifetimeSeconds = 60
        let configuration = F.serverConfiguration(rules: [.init(pattern: "sim-0001*", settings: special)])
        let profile = F.profile()
        let clientConfiguration = F.configuration()
        let network = BootstrapNetwork(
            configuration: configuration,
            clients: (0..<1_000).map { F.client(clientConfiguration, index: $0, profile: profile) })

        network.startAll()

        let counters = network.bootstrapServer.counters
        XCTAssertEqual(counters.started, 1_000)
        XCTAssertEqual(counters.finished, 1_000)
        XCTAssertEqual(counters.failed, 0)
        XCTAssertEqual(counters.inProgress, 0)
        XCTAssertEqual(counters.requestsSent, 5_000, "Delete /0, Delete /1, two Writes and Finish per device")
        XCTAssertEqual(network.finished(succeeded: true).count, 1_000)
        let bootstrapAccount = F.bootstrapAccount()
        for (index, client) in network.clients.enumerated() {
            let settings = (100..<200).contains(index) ? special : configuration.defaults
            XCTAssertEqual(client.stateName, "registered", "device \(index)")
            XCTAssertEqual(network.bootstrapOutcomes(index), [.succeeded], "device \(index)")
            XCTAssertEqual(network.script(index), ["0.04 /0", "0.04 /1", "0.03 /0/1", "0.03 /1/0", "0.02 /bs"], "device \(index)")
            let store = client.store
            XCTAssertEqual(store.instanceIDs(of: 0), [1, 5], "device \(index)")
            XCTAssertEqual(store.instanceIDs(of: 1), [0], "device \(index)")
            XCTAssertEqual(store.records(at: F.path("/0/1"), now: network.now), F.securityRecords(instance: 1, settings), "device \(index)")
            XCTAssertEqual(store.records(at: F.path("/1/0"), now: network.now), F.serverRecords(settings), "device \(index)")
            XCTAssertEqual(store.records(at: F.path("/0/5"), now: network.now), bootstrapAccount, "device \(index)")
            XCTAssertEqual(store.serverAccounts.map(\.serverURI), [settings.serverURI], "device \(index)")
        }
        let steps = network.completedSteps("sim-000042")
        XCTAssertEqual(steps.map(\.operation), ["bootstrap-delete", "bootstrap-delete", "bootstrap-write", "bootstrap-write", "bootstrap-finish"])
        XCTAssertEqual(steps.map(\.code), [.deleted, .deleted, .changed, .changed, .changed])
    }

    func testPreferredContentFormatIsHonouredElseTheVersionPicksSenMLCBOROrTLV() throws {
        var legacy = BootstrapServerConfiguration.Settings()
        legacy.lwm2mVersion = .v1_0
        let cases: [(ClientConfiguration, expected: LwM2MContentFormat)] = [
            (F.configuration(), .senmlCBOR),
            (F.configuration(preferredFormat: .tlv), .tlv),
            (F.configuration(preferredFormat: .senmlJSON), .senmlJSON),
            // Plain text carries one value, not an instance: the server falls back to the version's format.
            (F.configuration(preferredFormat: .plainText), .senmlCBOR),
            (F.configuration(prefix: "old-", version: .v1_0), .tlv),
        ]
        let network = BootstrapNetwork(
            configuration: F.serverConfiguration(rules: [.init(pattern: "old-*", settings: legacy)]),
            clients: cases.enumerated().map { F.client($1.0, index: $0) })

        network.startAll()

        for (index, testCase) in cases.enumerated() {
            let bootstrapRequest = try XCTUnwrap(network.messagesFromDevice[index]?.first)
            let writes = (network.requestsToDevice[index] ?? []).filter { $0.code == .put }
            XCTAssertEqual(writes.map(\.contentFormat), [testCase.expected.rawValue, testCase.expected.rawValue],
                           "device \(index), Bootstrap-Request \(bootstrapRequest.uriQuery)")
            XCTAssertEqual(network.clients[index].stateName, "registered", "device \(index)")
        }
        XCTAssertEqual(network.bootstrapServer.counters.finished, cases.count)
    }

    func testDiscoverAndReadRunInOrderAndTheWrittenAccountAvoidsTheBootstrapAccount() throws {
        var settings = BootstrapServerConfiguration.Settings()
        settings.discover = true
        settings.read = true
        // The device keeps its Bootstrap-Server account at instance 1, the id the server would write otherwise.
        let network = BootstrapNetwork(
            configuration: F.serverConfiguration(settings),
            clients: [F.client(F.configuration(), index: 1, profile: F.profile(bootstrapInstance: 1))])

        network.startAll()

        XCTAssertEqual(network.script(0), ["0.01 /", "0.04 /0", "0.04 /1", "0.03 /0/0", "0.03 /1/0", "0.01 /1", "0.02 /bs"])
        let requests = try XCTUnwrap(network.requestsToDevice[0])
        XCTAssertEqual(requests[0].accept, LwM2MContentFormat.linkFormat.rawValue)
        XCTAssertEqual(requests[5].accept, LwM2MContentFormat.senmlCBOR.rawValue)
        let steps = network.completedSteps("sim-000001")
        XCTAssertEqual(steps.map(\.operation), [
            "bootstrap-discover", "bootstrap-delete", "bootstrap-delete", "bootstrap-write", "bootstrap-write",
            "bootstrap-read", "bootstrap-finish",
        ])
        XCTAssertEqual(steps.map(\.code), [.content, .deleted, .deleted, .changed, .changed, .content, .changed])
        let store = network.clients[0].store
        XCTAssertEqual(store.records(at: F.path("/0/1"), now: network.now), F.bootstrapAccount(instance: 1))
        XCTAssertEqual(store.records(at: F.path("/0/0"), now: network.now), F.securityRecords(instance: 0, settings))
        XCTAssertEqual(network.clients[0].stateName, "registered")
        XCTAssertEqual(network.finished(succeeded: true), ["sim-000001"])
    }

    func testDiscoveredLwM2M10DeviceGetsTLVAndNoBootstrapRead() throws {
        var settings = BootstrapServerConfiguration.Settings()
        settings.discover = true
        settings.read = true
        settings.delete = .root
        let network = BootstrapNetwork(
            configuration: F.serverConfiguration(settings), clients: [F.client(F.configuration(version: .v1_0), index: 3)])

        network.startAll()

        // The configured 1.1 would mean SenML CBOR, which a 1.0 device refuses; `</>;lwm2m=1.0` says TLV.
        XCTAssertEqual(network.script(0), ["0.01 /", "0.04 /", "0.03 /0/1", "0.03 /1/0", "0.02 /bs"])
        let writes = (network.requestsToDevice[0] ?? []).filter { $0.code == .put }
        XCTAssertEqual(writes.map(\.contentFormat), [LwM2MContentFormat.tlv.rawValue, LwM2MContentFormat.tlv.rawValue])
        XCTAssertEqual(network.clients[0].stateName, "registered")
        XCTAssertEqual(network.clients[0].store.instanceIDs(of: 0), [1, 5])
    }

    // MARK: Failures

    func testRefusedWriteIsFollowedByFinishAndTheRetryWritesTLV() throws {
        // The old- device is 1.0 but nothing tells the server so: its SenML CBOR write is refused with 4.15.
        let network = BootstrapNetwork(
            configuration: F.serverConfiguration(),
            clients: [F.client(F.configuration(prefix: "old-", version: .v1_0), index: 1), F.client(F.configuration(), index: 2)])

        network.startAll()

        XCTAssertEqual(network.finished(succeeded: false), ["old-000001"])
        XCTAssertEqual(network.finished(succeeded: true), ["sim-000002"])
        let steps = network.completedSteps("old-000001")
        XCTAssertEqual(steps.map(\.operation), ["bootstrap-delete", "bootstrap-delete", "bootstrap-write", "bootstrap-finish"])
        XCTAssertEqual(steps.map(\.code), [.deleted, .deleted, .unsupportedContentFormat, .notAcceptable],
                       "the device holds no account after the refused write, so it refuses Finish")
        XCTAssertEqual(network.script(0), ["0.04 /0", "0.04 /1", "0.03 /0/1", "0.02 /bs"], "Finish ends the failed bootstrap too")
        XCTAssertEqual(network.bootstrapServer.counters.failed, 1)
        XCTAssertEqual(network.bootstrapServer.counters.finished, 1)
        XCTAssertEqual(network.bootstrapServer.counters.inProgress, 0)
        XCTAssertEqual(network.clients[0].stateName, "waiting-to-bootstrap", "the refused Finish failed the bootstrap")
        XCTAssertEqual(network.clients[1].stateName, "registered")

        // The device asks again after its back-off (5 s): this time the writes are TLV.
        network.advance(seconds: 6)
        XCTAssertEqual(network.bootstrapOutcomes(0), [.rejected, .succeeded])
        let writes = (network.requestsToDevice[0] ?? []).filter { $0.code == .put }
        XCTAssertEqual(writes.map(\.contentFormat), [LwM2MContentFormat.senmlCBOR.rawValue, LwM2MContentFormat.tlv.rawValue,
                                                      LwM2MContentFormat.tlv.rawValue])
        XCTAssertEqual(network.clients[0].stateName, "registered")
        XCTAssertEqual(network.bootstrapServer.counters.finished, 2)
        XCTAssertEqual(network.bootstrapServer.counters.failed, 1)
    }

    func testUnansweredStepTimesOutAndFinishEndsTheFailedBootstrap() throws {
        let network = BootstrapNetwork(
            configuration: F.serverConfiguration(),
            clients: [F.client(F.configuration(bootstrapTimeoutSeconds: 600), index: 1)])
        network.losesRequest = { $0.code == .put && $0.path == "/1/0" }

        network.startAll()
        XCTAssertEqual(network.bootstrapServer.counters.inProgress, 1)
        network.advance(seconds: 61)
        XCTAssertEqual(network.bootstrapServer.counters.inProgress, 1, "still retransmitting")
        // ACK_TIMEOUT 2 s doubled over 4 retransmissions: the request fails 62 s after it was sent,
        // and Finish ends the bootstrap (the device, without a Server instance, refuses it).
        network.advance(seconds: 2)

        XCTAssertEqual(network.retransmissionsByBootstrapServer, 4)
        XCTAssertEqual(network.finished(succeeded: false), ["sim-000001"])
        let steps = network.completedSteps("sim-000001").suffix(2)
        XCTAssertEqual(steps.map(\.operation), ["bootstrap-write", "bootstrap-finish"])
        XCTAssertEqual(steps.map(\.code), [nil, .notAcceptable], "a timeout has no response code")
        XCTAssertEqual(network.bootstrapServer.counters.failed, 1)
        XCTAssertEqual(network.bootstrapServer.counters.inProgress, 0)
    }

    func testNewBootstrapRequestAbandonsTheUnfinishedBootstrapAndStartsOver() throws {
        let network = BootstrapNetwork(
            configuration: F.serverConfiguration(),
            clients: [F.client(F.configuration(bootstrapTimeoutSeconds: 20), index: 1)])
        network.losesRequest = { $0.code == .put && $0.path == "/1/0" }

        network.startAll()
        // The device gives up after 20 s and asks again 5 s later.
        network.advance(seconds: 26)

        XCTAssertEqual(network.bootstrapOutcomes(0), [.timedOut])
        let counters = network.bootstrapServer.counters
        XCTAssertEqual(counters.started, 2)
        XCTAssertEqual(counters.failed, 1)
        XCTAssertEqual(counters.inProgress, 1)
        XCTAssertEqual(network.finished(succeeded: false), ["sim-000001"])
        XCTAssertEqual(network.script(0).filter { $0 == "0.04 /0" }.count, 2, "the script ran again from the start")
    }

    func testBadBootstrapRequestsAreRefusedWithAReason() throws {
        var server = LwM2MBootstrapServer<Int>(configuration: F.serverConfiguration(), seed: 1)
        var device = CoAPEndpoint(parameters: F.transmission, seed: 2)
        let now = Timestamp.seconds(5)

        func answer(_ code: CoAPCode, _ path: String, query: [String]) -> CoAPMessage? {
            var request = CoAPMessage(type: .confirmable, code: code)
            request.setPath(path)
            for item in query { request.options.append(.uriQuery, string: item) }
            var deviceOutput = CoAPEndpointOutput()
            let id = device.send(request, now: now, output: &deviceOutput)
            var serverOutput = ServerOutput<Int>()
            server.receive(deviceOutput.datagrams[0], from: 9, now: now, output: &serverOutput)
            deviceOutput.removeAll()
            for (_, datagram) in serverOutput.datagrams { device.receive(datagram, now: now, output: &deviceOutput) }
            for case .response(id, let response) in deviceOutput.events { return response }
            return nil
        }

        let missingName = try XCTUnwrap(answer(.post, "/bs", query: ["pct=112"]))
        XCTAssertEqual(missingName.code, .badRequest)
        XCTAssertEqual(String(decoding: missingName.payload, as: UTF8.self),
                       "Uri-Query: Bootstrap-Request needs the endpoint client name 'ep'")
        let badFormat = try XCTUnwrap(answer(.post, "/bs", query: ["ep=a", "pct=cbor"]))
        XCTAssertEqual(badFormat.code, .badRequest)
        XCTAssertTrue(String(decoding: badFormat.payload, as: UTF8.self).contains("pct must be a content-format number"))
        XCTAssertEqual(try XCTUnwrap(answer(.get, "/bs", query: ["ep=a"])).code, .methodNotAllowed)
        XCTAssertEqual(try XCTUnwrap(answer(.post, "/rd", query: ["ep=a"])).code, .notFound)
        XCTAssertEqual(server.counters.started, 0)
        XCTAssertNil(server.nextDeadline, "a refusal leaves nothing to wait for")
    }

    // MARK: Server-initiated bootstrap

    func testServerInitiatedBootstrapOfAHoldingOffDeviceNeedsNoBootstrapRequest() throws {
        let network = BootstrapNetwork(
            configuration: F.serverConfiguration(),
            clients: [F.client(F.configuration(mode: .serverInitiated), index: 4, profile: F.profile(holdOffSeconds: 30))])
        network.startAll()
        XCTAssertEqual(network.clients[0].stateName, "holding-off")

        network.advance(seconds: 10)
        network.bootstrap(0, version: .v1_1)

        XCTAssertEqual(network.clients[0].stateName, "registered")
        XCTAssertEqual(network.script(0), ["0.04 /0", "0.04 /1", "0.03 /0/1", "0.03 /1/0", "0.02 /bs"])
        XCTAssertEqual(network.finished(succeeded: true), ["sim-000004"])
        XCTAssertEqual(network.events.first, .bootstrapStarted(endpoint: "sim-000004"))
        XCTAssertEqual(network.clients[0].store.instanceIDs(of: 0), [1, 5])
        // The hold-off time passes: the bootstrapped device does not ask for another bootstrap.
        network.advance(seconds: 30)
        XCTAssertFalse((network.messagesFromDevice[0] ?? []).contains { $0.code.isRequest },
                       "the device sent no Bootstrap-Request, only answers")
        XCTAssertEqual(network.bootstrapServer.counters.started, 1)
    }

    // MARK: Endpoint rules

    func testGlobPatternsMatchWholeNames() {
        let cases: [(pattern: String, name: String, matches: Bool)] = [
            ("*", "", true), ("*", "anything", true), ("a*c", "abbbc", true), ("a*c", "abbbd", false),
            ("*-meter", "x-meter", true), ("*-meter", "x-meters", false), ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "acb", false), ("exact", "exact", true), ("exact", "exact1", false), ("**", "z", true),
        ]
        let marked = BootstrapServerConfiguration.Settings(shortServerID: 2)
        for testCase in cases {
            let configuration = BootstrapServerConfiguration(endpointRules: [.init(pattern: testCase.pattern, settings: marked)])
            XCTAssertEqual(configuration.settings(forEndpoint: testCase.name) == marked, testCase.matches,
                           "'\(testCase.pattern)' against '\(testCase.name)'")
        }
    }
}

/// The Bootstrap-Server provisions PSK accounts over `coaps://` (issue 15): Security Mode 0 with the
/// identity and key its key source gives each endpoint, which the device then connects with.
final class BootstrapServerPreSharedKeyTests: XCTestCase {
    private static let keys: PreSharedKeySource = { endpoint in
        PreSharedKeyMaterial(identity: Array(endpoint.utf8), key: Array(repeating: UInt8(endpoint.count), count: 16))
    }

    private func fleet(speaksDTLS: Bool) -> SimulatedFleet {
        var settings = BootstrapServerConfiguration.Settings(serverURI: "coaps://127.0.0.1:5684")
        settings.preSharedKey = true
        return SimulatedFleet(
            devices: SimulatedFleet.devices(
                20, configuration: ClientConfiguration(bootstrapMode: .clientInitiated), bootstrap: true, seed: 3, speaksDTLS: speaksDTLS),
            bootstrap: BootstrapServerConfiguration(defaults: settings), registration: RegistrationServerConfiguration(), seed: 3,
            preSharedKeys: Self.keys)
    }

    func testADeviceThatSpeaksDTLSGetsAPSKAccountAndConnectsWithExactlyWhatWasWritten() throws {
        let fleet = fleet(speaksDTLS: true)
        fleet.startAll(perSecond: 100)
        fleet.run(seconds: 10)
        for device in fleet.devices {
            XCTAssertTrue(device.isRegistered, device.stateName)
            let written = try XCTUnwrap(device.preSharedKey(for: .server))
            XCTAssertEqual(written.identity, Array(device.endpointName.utf8))
            XCTAssertEqual(written.key, Self.keys(device.endpointName)?.key)
            XCTAssertNil(device.preSharedKey(for: .bootstrapServer), "its factory account holds no key: the fleet file's group gives it")
        }
    }

    func testADeviceThatSpeaksPlainCoAPOnlyRefusesThePSKAccountAtFinish() {
        let fleet = fleet(speaksDTLS: false)
        fleet.startAll(perSecond: 100)
        fleet.run(seconds: 1)
        XCTAssertTrue(fleet.devices.allSatisfy { !$0.isRegistered })
        XCTAssertTrue(fleet.records.allSatisfy { record in record.handled.contains { $0.0 == .bootstrapFinish && $0.1 == .notAcceptable } })
        XCTAssertEqual(fleet.bootstrapServer.counters.failed, 20)
    }
}

