import CoAP
import LwM2M
@testable import LwM2MClient
@testable import LwM2MServer
import SharedTestData
import XCTest

// MARK: - Devices and the lockstep network

/// Device profiles for the server tests: a Server account for the embedded server and, when asked,
/// a Bootstrap-Server account, so that Execute /1/0/9 has somewhere to send the device.
private enum Devices {
    static func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }

    static func profile(lifetimeSeconds: Int64, bootstrap: Bool) -> DeviceProfile {
        var records = [
            LwM2MRecord(path: path("/0/0/0"), value: .string("coap://127.0.0.1:5683")),
            LwM2MRecord(path: path("/0/0/1"), value: .boolean(false)),
            LwM2MRecord(path: path("/0/0/2"), value: .integer(3)),
            LwM2MRecord(path: path("/0/0/10"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/0"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/1"), value: .integer(lifetimeSeconds)),
            LwM2MRecord(path: path("/1/0/6"), value: .boolean(false)),
            LwM2MRecord(path: path("/1/0/7"), value: .string("U")),
            LwM2MRecord(path: path("/3/0/0"), value: .string("lwm2m-fleet")),
            LwM2MRecord(path: path("/3/0/1"), value: .string("sim")),
            LwM2MRecord(path: path("/3/0/9"), value: .integer(100)),
        ]
        if bootstrap {
            records += [
                LwM2MRecord(path: path("/0/5/0"), value: .string("coap://127.0.0.1:5783")),
                LwM2MRecord(path: path("/0/5/1"), value: .boolean(true)),
                LwM2MRecord(path: path("/0/5/2"), value: .integer(3)),
            ]
        }
        // The battery level changes every second, so observations of it notify.
        return DeviceProfile(
            model: .core, records: records, supportedObjects: [0, 1, 3],
            generators: [ResourceKey(objectID: 3, resourceID: 9): .uniform(minimum: 0, maximum: 100, periodSeconds: 1)])
    }

    static func configuration(prefix: String, confirmableNotifications: Bool) -> ClientConfiguration {
        var transmission = CoAPTransmissionParameters()
        transmission.ackRandomFactor = 1
        return ClientConfiguration(
            endpointPrefix: prefix, confirmableNotifications: confirmableNotifications, transmission: transmission)
    }
}

private let never = Timestamp(nanoseconds: .max)

/// Devices and the embedded server wired back to back on a manual clock, with no sockets: every
/// datagram is delivered in the order it was sent, and each socket a device opens towards the
/// server is a peer address of its own, as the server would see it.
private final class RegistrationNetwork {
    var server: LwM2MRegistrationServer<Int>
    var clients: [LwM2MClient]
    var now = Timestamp.seconds(1_000)
    private(set) var events: [ServerEvent] = []
    private(set) var actions: [[ClientAction]]
    /// What each device received from the server, and sent to it, decoded, in order.
    private(set) var received: [[CoAPMessage]]
    private(set) var sent: [[CoAPMessage]]
    /// Bootstrap-Requests each device sent; nobody answers them, so the device stays bootstrapping.
    private(set) var bootstrapRequests: [Int]
    private var deadlines: [Timestamp?]
    /// The peer address of each device's open server socket.
    private var socket: [Int?]
    private var owner: [Int: Int] = [:]
    private var addresses = 0
    private var inFlight: [(toServer: Bool, address: Int, bytes: [UInt8])] = []

    init(
        devices count: Int, lifetimeSeconds: Int64 = 300, bootstrap: Bool = false, prefixes: [String] = ["sim-"],
        confirmableNotifications: Bool = false, configuration: RegistrationServerConfiguration = RegistrationServerConfiguration()
    ) {
        var configuration = configuration
        configuration.transmission.ackRandomFactor = 1
        server = LwM2MRegistrationServer(configuration: configuration, seed: 99)
        let profile = Devices.profile(lifetimeSeconds: lifetimeSeconds, bootstrap: bootstrap)
        let configurations = prefixes.map { Devices.configuration(prefix: $0, confirmableNotifications: confirmableNotifications) }
        clients = (0..<count).map { index in
            LwM2MClient(configuration: configurations[index % configurations.count], profile: profile, index: UInt32(index), seed: 42)
        }
        actions = Array(repeating: [], count: count)
        received = Array(repeating: [], count: count)
        sent = Array(repeating: [], count: count)
        bootstrapRequests = Array(repeating: 0, count: count)
        deadlines = Array(repeating: nil, count: count)
        socket = Array(repeating: nil, count: count)
    }

    func start() {
        for index in clients.indices {
            var produced: [ClientAction] = []
            clients[index].start(now: now, actions: &produced)
            apply(produced, of: index)
        }
        pump()
    }

    func stop(_ index: Int, deregister: Bool) {
        var produced: [ClientAction] = []
        clients[index].stop(now: now, deregister: deregister, actions: &produced)
        apply(produced, of: index)
        pump()
    }

    /// Moves the clock to `time`, handling every deadline of the server and the devices on the way.
    func advance(to time: Timestamp) {
        for _ in 0..<1_000_000 {
            var next = server.nextDeadline ?? never
            for deadline in deadlines { if let deadline, deadline < next { next = deadline } }
            guard next <= time else {
                now = max(now, time)
                return
            }
            now = max(now, next)
            if let deadline = server.nextDeadline, deadline <= now {
                var output = ServerOutput<Int>()
                server.handleDeadline(now: now, output: &output)
                absorb(output)
            }
            for index in clients.indices where (deadlines[index] ?? never) <= now {
                var produced: [ClientAction] = []
                clients[index].handleDeadline(now: now, actions: &produced)
                apply(produced, of: index)
            }
            pump()
        }
        XCTFail("the clock did not reach \(time)")
    }

    func advance(seconds: Double) {
        advance(to: now.adding(nanoseconds: UInt64(seconds * 1e9)))
    }

    func violations(of index: Int) -> [ServerViolation] {
        actions[index].compactMap { if case .violation(let violation) = $0 { violation } else { nil } }
    }

    var allViolations: [ServerViolation] { clients.indices.flatMap(violations(of:)) }

    func completions(_ operation: String) -> [(endpoint: String, code: CoAPCode?)] {
        events.compactMap {
            if case .operationCompleted(operation, let endpoint, let code, _) = $0 { (endpoint, code) } else { nil }
        }
    }

    private func apply(_ produced: [ClientAction], of index: Int) {
        actions[index] += produced
        for action in produced {
            switch action {
            case .connect(.server, _):
                addresses += 1
                socket[index] = addresses
                owner[addresses] = index
            case .disconnect(.server):
                socket[index] = nil
            case .send(.server, let bytes):
                guard let address = socket[index] else { continue }
                sent[index].append(try! CoAPMessage.decode(bytes).get())
                inFlight.append((true, address, bytes))
            case .send(.bootstrapServer, let bytes):
                let message = try! CoAPMessage.decode(bytes).get()
                if message.code == .post, message.uriPath == ["bs"] { bootstrapRequests[index] += 1 }
            default:
                break
            }
        }
        deadlines[index] = clients[index].nextDeadline
    }

    private func absorb(_ output: ServerOutput<Int>) {
        events += output.events
        for (peer, bytes) in output.datagrams { inFlight.append((false, peer, bytes)) }
    }

    /// Delivers datagrams until nobody has anything left to send.
    private func pump() {
        var head = 0
        while head < inFlight.count {
            let datagram = inFlight[head]
            head += 1
            if datagram.toServer {
                var output = ServerOutput<Int>()
                server.receive(datagram.bytes, from: datagram.address, now: now, output: &output)
                absorb(output)
            } else if let index = owner[datagram.address], socket[index] == datagram.address {
                received[index].append(try! CoAPMessage.decode(datagram.bytes).get())
                var produced: [ClientAction] = []
                clients[index].receive(datagram.bytes, from: .server, now: now, actions: &produced)
                apply(produced, of: index)
            }
        }
        inFlight.removeAll()
    }
}

// MARK: - The server alone, with hand-built datagrams

private func request(
    _ code: CoAPCode, _ path: [String], query: [String] = [], format: UInt16? = nil, payload: String? = nil,
    type: CoAPMessageType = .confirmable
) -> CoAPMessage {
    var message = CoAPMessage(type: type, code: code)
    for segment in path { message.options.append(.uriPath, string: segment) }
    for item in query { message.options.append(.uriQuery, string: item) }
    if let format { message.options.append(.contentFormat, uint: UInt64(format)) }
    message.payload = ArraySlice((payload ?? "").utf8)
    return message
}

private func registerRequest(_ endpoint: String, query: [String] = ["lt=300", "lwm2m=1.1", "b=U"]) -> CoAPMessage {
    request(.post, ["rd"], query: ["ep=\(endpoint)"] + query, format: 40, payload: "</1/0>,</3/0>")
}

/// The server spoken to directly: each request gets a fresh message ID and token unless it has them.
private struct DirectServer {
    var server: LwM2MRegistrationServer<Int>
    var now = Timestamp.seconds(1_000)
    var events: [ServerEvent] = []
    private var messageID: UInt16 = 0x1000

    init(_ configuration: RegistrationServerConfiguration = RegistrationServerConfiguration()) {
        server = LwM2MRegistrationServer(configuration: configuration, seed: 5)
    }

    /// Sends a request from `peer`; returns what the server sent back to it.
    mutating func send(_ message: CoAPMessage, from peer: Int = 1) -> [[UInt8]] {
        var message = message
        if message.messageID == 0 {
            messageID &+= 1
            message.messageID = messageID
        }
        if message.token == .empty { message.token = CoAPToken(value: UInt64(messageID), length: 4) }
        return receive(message.encoded(), from: peer)
    }

    mutating func receive(_ datagram: [UInt8], from peer: Int) -> [[UInt8]] {
        var output = ServerOutput<Int>()
        server.receive(datagram, from: peer, now: now, output: &output)
        events += output.events
        return output.datagrams.filter { $0.peer == peer }.map(\.bytes)
    }

    /// The single response to a request.
    mutating func answer(_ message: CoAPMessage, from peer: Int = 1) -> CoAPMessage? {
        let replies = send(message, from: peer)
        return replies.count == 1 ? try? CoAPMessage.decode(replies[0]).get() : nil
    }

    /// Registers `endpoint` and returns its registration id.
    mutating func register(_ endpoint: String, query: [String] = ["lt=300", "lwm2m=1.1", "b=U"], from peer: Int = 1) -> String? {
        guard let response = answer(registerRequest(endpoint, query: query), from: peer), response.code == .created,
              response.locationPath.count == 2, response.locationPath[0] == "rd"
        else { return nil }
        return response.locationPath[1]
    }

    /// Moves the clock on; returns what the server sent meanwhile (retransmissions, ...).
    @discardableResult
    mutating func advance(seconds: UInt64) -> [[UInt8]] {
        now = now.adding(milliseconds: seconds * 1000)
        var output = ServerOutput<Int>()
        server.handleDeadline(now: now, output: &output)
        events += output.events
        return output.datagrams.map(\.bytes)
    }
}

// MARK: - registration-requests.json

private struct RegistrationVectorFile: Decodable {
    var vectors: [RegistrationVector]
}

private struct RegistrationVector: Decodable {
    var id: String
    var request: Request?
    var response: Response?
    var steps: [Step]?
    var templates: [Template]?
    var serverRejections: [Rejection]?
    var cases: [RouteCase]?

    struct Request: Decodable {
        var type: String?
        var method: String?
        var uriPath: [String]?
        var uriQuery: [String]?
        var contentFormat: UInt16?
        var payload: String?
        var contentFormatCases: [UInt16]?
    }

    struct Response: Decodable {
        var type: String?
        var code: String
        var messageId: UInt16?
        var tokenHex: String?
        var hex: String?
        var locationPath: [String]?
    }

    struct Step: Decodable {
        var request: Request
        var response: Response
    }

    struct Template: Decodable {
        var operation: String
        var method: String
        var uriPath: [String]
        var success: String
    }

    struct Rejection: Decodable {
        var `case`: String
        var response: String
    }

    struct RouteCase: Decodable {
        var method: String
        var uriPath: [String]
        var requestType: String
    }

    /// A vector's request as a message, `<endpoint>` and `<registration-id>` filled in.
    static func message(_ request: Request, endpoint: String, registrationID: String?) -> CoAPMessage {
        func fill(_ text: String) -> String {
            text.replacing("<endpoint>", with: endpoint).replacing("<registration-id>", with: registrationID ?? "none")
        }
        return LwM2MServerTests.request(
            method(request.method ?? "POST"), (request.uriPath ?? []).map(fill), query: (request.uriQuery ?? []).map(fill),
            format: request.contentFormat, payload: request.payload, type: request.type == "NON" ? .nonConfirmable : .confirmable)
    }

    static func method(_ name: String) -> CoAPCode {
        switch name {
        case "GET": .get
        case "PUT": .put
        case "DELETE": .delete
        default: .post
        }
    }
}

// MARK: - Tests

final class RegistrationServerTests: XCTestCase {
    override func setUpWithError() throws {
        try SharedVectors.requireVectors()
    }

    private func vectors() throws -> [String: RegistrationVector] {
        let file = try SharedVectors.load("registration-requests.json", as: RegistrationVectorFile.self)
        return Dictionary(file.vectors.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func vector(_ id: String) throws -> RegistrationVector {
        try XCTUnwrap(try vectors()[id], "registration-requests.json has no vector \(id)")
    }

    // MARK: Registration interface with real clients

    func testThousandDevicesRegisterAndStayRegisteredByUpdatingBeforeTheirLifetimeEnds() throws {
        let network = RegistrationNetwork(devices: 1_000, lifetimeSeconds: 60)
        network.start()
        XCTAssertEqual(network.server.registrationCount, 1_000)
        XCTAssertEqual(network.server.counters.registered, 1_000)
        var ids: Set<String> = []
        for client in network.clients {
            guard case .registered(let held) = client.state else { return XCTFail("\(client.endpointName) is \(client.stateName)") }
            let registration = try XCTUnwrap(network.server.registration(endpoint: client.endpointName))
            XCTAssertEqual(held.location.segments, ["rd", registration.registrationID])
            XCTAssertEqual(registration.lifetimeSeconds, 60)
            XCTAssertEqual(registration.lwm2mVersion, .v1_1)
            XCTAssertEqual(registration.objects.objects.map(\.id), [1, 3])
            ids.insert(registration.registrationID)
        }
        XCTAssertEqual(ids.count, 1_000, "every registration has an id of its own")

        // Updates go at half the 60 s lifetime (MAX_TRANSMIT_WAIT, 93 s, does not fit before its
        // end): at +30, +60, ... +180 s.
        let registeredAt = network.now
        network.advance(seconds: 185)
        XCTAssertEqual(network.server.counters.updated, 6_000)
        XCTAssertEqual(network.server.counters.expired, 0)
        XCTAssertEqual(network.server.registrationCount, 1_000)
        XCTAssertTrue(network.clients.allSatisfy(\.isRegistered))
        let sample = try XCTUnwrap(network.server.registration(endpoint: network.clients[7].endpointName))
        XCTAssertEqual(sample.registeredAt, registeredAt)
        XCTAssertEqual(sample.refreshedAt, registeredAt.adding(milliseconds: 180_000))
        XCTAssertTrue(network.allViolations.isEmpty)
    }

    func testDeregisterRemovesTheRegistrationAndItsLocation() {
        let network = RegistrationNetwork(devices: 10)
        network.start()
        for index in 0..<5 { network.stop(index, deregister: true) }
        XCTAssertEqual(network.server.counters.deregistered, 5)
        XCTAssertEqual(network.server.registrationCount, 5)
        for index in 0..<10 {
            let name = network.clients[index].endpointName
            XCTAssertEqual(network.server.registration(endpoint: name) == nil, index < 5, name)
            XCTAssertEqual(network.events.contains(.deregistered(endpoint: name)), index < 5, name)
        }
        for index in 0..<5 {
            XCTAssertEqual(network.clients[index].stateName, "stopped")
            XCTAssertTrue(network.actions[index].contains {
                if case .operationFinished(.deregister, .succeeded, code: .deleted?, _) = $0 { true } else { false }
            })
        }
    }

    func testSilentDevicesExpireAfterLifetimeAndGraceWhileUpdatingOnesStay() {
        var configuration = RegistrationServerConfiguration()
        configuration.expiryGraceSeconds = 5
        let network = RegistrationNetwork(devices: 20, lifetimeSeconds: 60, configuration: configuration)
        network.start()
        let registeredAt = network.now
        // Stopped without De-register: the device goes silent and its registration stays.
        for index in 0..<10 { network.stop(index, deregister: false) }
        XCTAssertEqual(network.server.registrationCount, 20)

        network.advance(to: registeredAt.adding(milliseconds: 64_999))
        XCTAssertEqual(network.server.counters.expired, 0, "not before lifetime + grace")
        network.advance(to: registeredAt.adding(milliseconds: 65_000))
        XCTAssertEqual(network.server.counters.expired, 10)
        XCTAssertEqual(network.server.registrationCount, 10)
        for index in 0..<20 {
            let name = network.clients[index].endpointName
            XCTAssertEqual(network.events.contains(.expired(endpoint: name)), index < 10, name)
        }
        network.advance(seconds: 300)
        XCTAssertEqual(network.server.counters.expired, 10, "devices that update never expire")
        XCTAssertEqual(network.server.registrationCount, 10)
        XCTAssertTrue(network.clients[10...].allSatisfy(\.isRegistered))
    }

    func testRebootingDevicesReRegisterAndReplaceTheirOldRegistration() throws {
        // Execute /3/0/4 (Reboot): the device registers anew from the same socket.
        let reboot = AfterRegistrationAction(.execute(Devices.path("/3/0/4")), firstRegistrationOnly: true)
        let network = RegistrationNetwork(devices: 100, configuration: RegistrationServerConfiguration(afterRegistration: [reboot]))
        network.start()
        XCTAssertEqual(network.server.counters.registered, 200)
        XCTAssertEqual(network.server.counters.replaced, 100)
        XCTAssertEqual(network.server.registrationCount, 100)
        XCTAssertEqual(network.completions("execute").count, 100, "the reboot is sent once: firstRegistrationOnly")
        for client in network.clients {
            guard case .registered(let held) = client.state else { return XCTFail("\(client.endpointName) is \(client.stateName)") }
            let registration = try XCTUnwrap(network.server.registration(endpoint: client.endpointName))
            XCTAssertEqual(held.location.segments, ["rd", registration.registrationID], "the device holds the new location")
            let locations = network.events.compactMap {
                if case .registered(client.endpointName, let location) = $0 { location } else { nil }
            }
            XCTAssertEqual(locations.count, 2)
            XCTAssertNotEqual(locations.first, locations.last)
        }
        XCTAssertTrue(network.allViolations.isEmpty)
    }

    func testReRegistrationReplacesTheOldRegistrationWhoseLocationAnswersNotFound() throws {
        var direct = DirectServer()
        let first = try XCTUnwrap(direct.register("dev-a", from: 1))
        let second = try XCTUnwrap(direct.register("dev-a", from: 2))
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(direct.server.registrationCount, 1)
        XCTAssertEqual(direct.server.counters.replaced, 1)
        XCTAssertEqual(direct.server.registration(endpoint: "dev-a")?.registrationID, second)
        XCTAssertEqual(direct.answer(request(.post, ["rd", first]), from: 1)?.code, .notFound)
        XCTAssertEqual(direct.answer(request(.post, ["rd", second]), from: 2)?.code, .changed)
        XCTAssertEqual(direct.answer(request(.delete, ["rd", first]), from: 1)?.code, .notFound)
    }

    func testRegisterOfAnEnablerVersionOtherThanOneIsPreconditionFailed() throws {
        var direct = DirectServer()
        XCTAssertEqual(direct.answer(registerRequest("v2", query: ["lwm2m=2.0"]))?.code, .preconditionFailed)
        XCTAssertEqual(direct.answer(registerRequest("v12", query: ["lwm2m=1.2"]))?.code, .created)
        XCTAssertEqual(direct.answer(registerRequest("v10", query: []))?.code, .created)
        XCTAssertEqual(direct.server.registration(endpoint: "v10")?.lwm2mVersion, .v1_0, "no lwm2m means 1.0")
        XCTAssertEqual(direct.server.registration(endpoint: "v10")?.lifetimeSeconds, 86400, "no lt means 86400 s")
    }

    func testUpdateChangesOnlyWhatItCarriesAndAShorterLifetimeExpiresSooner() throws {
        var configuration = RegistrationServerConfiguration()
        configuration.expiryGraceSeconds = 2
        var direct = DirectServer(configuration)
        let id = try XCTUnwrap(direct.register("dev-u", query: ["lt=300", "lwm2m=1.1", "b=U", "Q"]))
        let update = request(.post, ["rd", id], query: ["lt=30", "b=T", "sms=123"], format: 40, payload: "</1/0>,</3/0>,</5/0>")
        XCTAssertEqual(direct.answer(update)?.code, .changed)
        let registration = try XCTUnwrap(direct.server.registration(endpoint: "dev-u"))
        XCTAssertEqual(registration.lifetimeSeconds, 30)
        XCTAssertEqual(registration.binding, LwM2MBinding("T"))
        XCTAssertEqual(registration.smsNumber, "123")
        XCTAssertTrue(registration.queueMode, "an Update without Q keeps queue mode")
        XCTAssertEqual(registration.objects.objects.map(\.id), [1, 3, 5])
        XCTAssertEqual(direct.answer(request(.post, ["rd", id]))?.code, .changed, "an empty Update refreshes")
        XCTAssertEqual(direct.server.registration(endpoint: "dev-u")?.objects.objects.map(\.id), [1, 3, 5])

        direct.advance(seconds: 31)
        XCTAssertEqual(direct.server.registrationCount, 1)
        direct.advance(seconds: 1)
        XCTAssertEqual(direct.server.registrationCount, 0, "30 s lifetime + 2 s grace")
        XCTAssertEqual(direct.events.last, .expired(endpoint: "dev-u"))
        XCTAssertEqual(direct.answer(request(.post, ["rd", id]))?.code, .notFound)
    }

    // MARK: After-registration actions

    func testAfterRegistrationReadComesOnlyAfterCreatedAndReturnsTheDeviceValues() throws {
        let read = AfterRegistrationAction(.read(Devices.path("/3/0"), accept: .senmlJSON), endpointPrefix: "sim-")
        let network = RegistrationNetwork(
            devices: 1_000, prefixes: ["sim-", "other-"], configuration: RegistrationServerConfiguration(afterRegistration: [read]))
        network.start()
        XCTAssertEqual(network.server.registrationCount, 1_000)
        XCTAssertTrue(network.allViolations.isEmpty, "\(network.allViolations.prefix(3))")
        let completions = network.completions("read")
        XCTAssertEqual(completions.count, 500, "only the devices the prefix selects")
        XCTAssertTrue(completions.allSatisfy { $0.endpoint.hasPrefix("sim-") && $0.code == .content })
        XCTAssertEqual(network.server.counters.operationsSent, 500)
        XCTAssertEqual(network.server.counters.operationsAnswered, 500)
        for index in network.clients.indices {
            let received = network.received[index]
            let requests = received.filter(\.code.isRequest)
            guard index.isMultiple(of: 2) else {
                XCTAssertTrue(requests.isEmpty)
                continue
            }
            let created = try XCTUnwrap(received.firstIndex { $0.code == .created })
            let firstRequest = try XCTUnwrap(received.firstIndex { $0.code.isRequest })
            XCTAssertLessThan(created, firstRequest, "the Read follows the 2.01")
            XCTAssertEqual(requests.map(\.path), ["/3/0"])
            // The device's answer as it went on the wire: its Device object in SenML JSON.
            let answer = try XCTUnwrap(network.sent[index].first { $0.code == .content })
            XCTAssertEqual(answer.contentFormat, LwM2MContentFormat.senmlJSON.rawValue)
            let records = try LwM2MPayloadCodec.decode(
                Array(answer.payload), format: .senmlJSON, requestPath: Devices.path("/3/0"), model: .core).get()
            XCTAssertTrue(records.contains(LwM2MRecord(path: Devices.path("/3/0/0"), value: .string("lwm2m-fleet"))))
            XCTAssertTrue(records.contains { $0.path == Devices.path("/3/0/9") })
        }
    }

    func testAfterRegistrationRequestsGoOneAtATimePerDevice() throws {
        // RFC 7252 4.7, NSTART = 1: the next request waits for the answer to the one in flight.
        let actions = [
            AfterRegistrationAction(.read(Devices.path("/3/0"))),
            AfterRegistrationAction(.observe(Devices.path("/3/0/9"))),
            AfterRegistrationAction(.read(Devices.path("/1/0"))),
        ]
        var direct = DirectServer(RegistrationServerConfiguration(afterRegistration: actions))
        let replies = direct.send(registerRequest("sim-1"))
        let decoded = try replies.map { try CoAPMessage.decode($0).get() }
        XCTAssertEqual(decoded.map(\.code), [.created, .get], "the 2.01, then the first request only")
        var asked = [decoded[1].path]
        var request = decoded[1]
        for _ in 0..<2 {
            var answer = CoAPMessage(type: .acknowledgement, code: .content)
            answer.messageID = request.messageID
            answer.token = request.token
            if request.observe == 0 { answer.options.set(.observe, uint: 1) }
            let next = try direct.receive(answer.encoded(), from: 1).map { try CoAPMessage.decode($0).get() }
            XCTAssertEqual(next.count, 1, "one request follows each answer")
            request = try XCTUnwrap(next.first)
            asked.append(request.path)
        }
        XCTAssertEqual(asked, ["/3/0", "/3/0/9", "/1/0"])
    }

    func testAnAfterRegistrationRequestThatGetsNoAnswerIsAskedThreeTimesThenCountedUnanswered() throws {
        let read = AfterRegistrationAction(.read(Devices.path("/3/0")))
        var direct = DirectServer(RegistrationServerConfiguration(afterRegistration: [read]))
        let first = try XCTUnwrap(direct.send(registerRequest("sim-1")).last.map { try CoAPMessage.decode($0).get() })
        XCTAssertEqual(first.code, .get)
        var sent = [first]
        for _ in 0..<400 {
            sent += try direct.advance(seconds: 1).map { try CoAPMessage.decode($0).get() }
        }
        XCTAssertEqual(sent.count, 15, "five copies of each of three requests")
        XCTAssertEqual(Set(sent.map(\.messageID)).count, 3, "each attempt is a new request")
        XCTAssertEqual(direct.server.counters.operationsFailed, 1, "one Read, unanswered")
        XCTAssertEqual(direct.server.counters.operationsSent, 1)
        XCTAssertEqual(direct.events.filter { $0 == .requestUnanswered(operation: "read", endpoint: "sim-1") }.count, 1)
    }

    func testARequestForARegistrationThatWasReplacedIsAbandonedNotUnanswered() throws {
        let read = AfterRegistrationAction(.read(Devices.path("/3/0")))
        var direct = DirectServer(RegistrationServerConfiguration(afterRegistration: [read]))
        let created = { (replies: [[UInt8]]) in replies.first.flatMap { try? CoAPMessage.decode($0).get() }?.code }
        XCTAssertEqual(created(direct.send(registerRequest("sim-1"))), .created)
        // The device's 2.01 was lost every time: it registers anew from a new port.
        for _ in 0..<10 { direct.advance(seconds: 1) }
        XCTAssertEqual(created(direct.send(registerRequest("sim-1"), from: 2)), .created)
        for _ in 0..<400 { direct.advance(seconds: 1) }
        XCTAssertEqual(direct.server.counters.operationsAbandoned, 1, "the Read of the old registration")
        XCTAssertEqual(direct.server.counters.operationsFailed, 1, "the new registration's Read went unanswered")
        XCTAssertEqual(direct.events.filter { if case .requestUnanswered = $0 { true } else { false } }.count, 1)
    }

    func testObservationsNotifyTheServerWithinTheWrittenAttributes() {
        for confirmable in [true, false] {
            let actions = [
                AfterRegistrationAction(.writeAttributes(Devices.path("/3/0/9"), queryItems: ["pmin=2"])),
                AfterRegistrationAction(.observe(Devices.path("/3/0/9"))),
            ]
            let network = RegistrationNetwork(
                devices: 50, confirmableNotifications: confirmable,
                configuration: RegistrationServerConfiguration(afterRegistration: actions))
            network.start()
            XCTAssertEqual(network.completions("write-attributes").map(\.code), Array(repeating: .changed, count: 50))
            XCTAssertEqual(network.completions("observe").map(\.code), Array(repeating: .content, count: 50))
            XCTAssertEqual(network.server.counters.observationsStarted, 50)

            network.advance(seconds: 20)
            let notifications = network.server.counters.notificationsReceived
            XCTAssertGreaterThanOrEqual(notifications, 50 * 5, "confirmable: \(confirmable)")
            XCTAssertLessThanOrEqual(notifications, 50 * 10, "pmin=2 allows at most one per 2 s")
            XCTAssertEqual(network.server.counters.rejectedMessages, 0)
            for index in network.clients.indices {
                XCTAssertEqual(network.clients[index].observations.count, 1, "the observation holds: every notification accepted")
                XCTAssertFalse(network.actions[index].contains { if case .retransmissions = $0 { true } else { false } },
                               "CON notifications are acknowledged at once")
            }
        }
    }

    func testExecuteOfBootstrapRequestTriggerSendsEveryDeviceToBootstrap() {
        let trigger = AfterRegistrationAction(.execute(Devices.path("/1/0/9")), firstRegistrationOnly: true)
        let network = RegistrationNetwork(
            devices: 100, bootstrap: true, configuration: RegistrationServerConfiguration(afterRegistration: [trigger]))
        network.start()
        XCTAssertEqual(network.completions("execute").map(\.code), Array(repeating: .changed, count: 100))
        XCTAssertTrue(network.clients.allSatisfy { $0.stateName == "bootstrapping" })
        XCTAssertEqual(network.bootstrapRequests, Array(repeating: 1, count: 100))
        XCTAssertTrue(network.allViolations.isEmpty)
        XCTAssertEqual(network.server.counters.violationsSent, 0)
    }

    // MARK: Misbehaving modes

    func testBeforeAcknowledgementModeViolationsAreReportedOnceAndNotApplied() {
        let network = RegistrationNetwork(
            devices: 50, configuration: RegistrationServerConfiguration(violation: .beforeAcknowledgement))
        network.start()
        let expected = [
            ServerViolation(operation: .read, path: "/3/0", state: .registering, isProven: true),
            ServerViolation(operation: .observe, path: "/3/0/9", state: .registering, isProven: true),
        ]
        for index in network.clients.indices {
            XCTAssertEqual(network.clients[index].stateName, "registering")
            XCTAssertEqual(network.violations(of: index), [], "ignored, and proven only by how the 2.01 comes")
            XCTAssertFalse(network.actions[index].contains { if case .requestHandled = $0 { true } else { false } })
        }
        XCTAssertEqual(network.server.counters.violationsSent, 100)
        XCTAssertEqual(network.events.filter { if case .violationSent = $0 { true } else { false } }.count, 100)

        // The 2.01 Created follows 100 ms later as a separate response: sent after the requests.
        network.advance(seconds: 0.1)
        for index in network.clients.indices {
            XCTAssertTrue(network.clients[index].isRegistered)
            XCTAssertEqual(network.received[index].map(\.code), [.empty, .get, .get, .created])
            XCTAssertEqual(network.received[index].last?.type, .confirmable)
            XCTAssertEqual(network.violations(of: index), expected)
            XCTAssertTrue(network.clients[index].observations.isEmpty, "the Observe was not applied")
        }
        // The server retransmits its requests; now registered, the devices answer those copies as
        // the new requests they are to them, and report nothing again.
        network.advance(seconds: 300)
        for index in network.clients.indices {
            XCTAssertEqual(network.violations(of: index), expected, "each violation is reported once")
        }
        XCTAssertEqual(network.server.counters.violationsAnswered, 100)
        XCTAssertEqual(network.server.registrationCount, 50)
    }

    func testDuringBootstrapModeViolationsAreReportedOnceAndNotApplied() {
        let network = RegistrationNetwork(
            devices: 50, bootstrap: true, configuration: RegistrationServerConfiguration(violation: .duringBootstrap))
        network.start()
        let expected = [
            ServerViolation(operation: .read, path: "/3/0", state: .bootstrapping, isProven: true),
            ServerViolation(operation: .observe, path: "/3/0/9", state: .bootstrapping, isProven: true),
        ]
        XCTAssertEqual(network.completions("execute").map(\.code), Array(repeating: .changed, count: 50))
        for index in network.clients.indices {
            XCTAssertEqual(network.clients[index].stateName, "bootstrapping")
            XCTAssertEqual(network.bootstrapRequests[index], 1)
            XCTAssertEqual(network.violations(of: index), expected)
        }
        XCTAssertEqual(network.server.counters.violationsSent, 100)
        network.advance(seconds: 100)
        for index in network.clients.indices {
            XCTAssertEqual(network.violations(of: index), expected, "each violation is reported once")
            XCTAssertTrue(network.clients[index].observations.isEmpty, "the Observe was not applied")
        }
        XCTAssertEqual(network.server.counters.violationsAnswered, 0)
        XCTAssertEqual(network.server.counters.observationsStarted, 0)
    }

    // MARK: Shared vectors

    func testRegisterWithAnyContentFormatButLinkFormatOrTextIsRefused() throws {
        let vector = try vector("wakaama-register-wrong-content-format")
        let expected = try XCTUnwrap(vector.response)
        let formats = try XCTUnwrap(vector.request?.contentFormatCases)
        let token = try XCTUnwrap(CoAPToken(bytes: try bytes(fromHex: try XCTUnwrap(expected.tokenHex), in: vector.id)))
        for diagnostics in [false, true] {
            var direct = DirectServer(RegistrationServerConfiguration(diagnosticPayloads: diagnostics))
            for format in formats {
                var message = request(
                    .post, ["rd"], query: ["ep=wakaama", "lt=300", "lwm2m=1.1", "b=U"], format: format, payload: "</1/0>,</3/0>")
                message.messageID = try XCTUnwrap(expected.messageId)
                message.token = token
                let replies = direct.send(message)
                XCTAssertEqual(replies.count, 1)
                let reply = try CoAPMessage.decode(try XCTUnwrap(replies.first)).get()
                XCTAssertEqual(reply.code, CoAPCode(expected.code), "format \(format)")
                XCTAssertEqual(reply.type, .acknowledgement)
                XCTAssertEqual(reply.messageID, expected.messageId)
                XCTAssertEqual(reply.token, token)
                XCTAssertTrue(reply.locationPath.isEmpty)
                if diagnostics {
                    XCTAssertTrue(String(decoding: reply.payload, as: UTF8.self).contains("link-format"))
                } else {
                    XCTAssertEqual(replies.first?.hexString, expected.hex, "format \(format): the bytes Wakaama sends")
                }
            }
            XCTAssertEqual(direct.server.registrationCount, 0)
        }
        // The formats that are accepted: link-format, text/plain, and none.
        var direct = DirectServer()
        for (index, format) in [UInt16(40), 0, nil].enumerated() {
            let message = request(.post, ["rd"], query: ["ep=ok-\(index)"], format: format, payload: "</1/0>,</3/0>")
            XCTAssertEqual(direct.answer(message)?.code, .created, "format \(String(describing: format))")
        }
    }

    func testRegisterWithoutObjectLinksIsRefused() throws {
        let vector = try vector("leshan-register-no-payload")
        var direct = DirectServer()
        let message = RegistrationVector.message(try XCTUnwrap(vector.request), endpoint: "leshan", registrationID: nil)
        let reply = try XCTUnwrap(direct.answer(message))
        XCTAssertEqual(reply.code, CoAPCode(try XCTUnwrap(vector.response?.code)))
        let reason = "Register must carry the object links (LwM2M 1.1 TS Core 6.2.1)"
        XCTAssertEqual(direct.events, [.refused(operation: "register", code: .badRequest, reason: reason)])
        XCTAssertEqual(direct.server.registrationCount, 0)
    }

    func testBindingChecksFollowTheRegisteredVersion() throws {
        for id in ["leshan-binding-checks-1.1", "leshan-binding-checks-1.0"] {
            let vector = try vector(id)
            var direct = DirectServer()
            var registrationID: String?
            for (number, step) in try XCTUnwrap(vector.steps).enumerated() {
                let message = RegistrationVector.message(step.request, endpoint: "leshan", registrationID: registrationID)
                let reply = try XCTUnwrap(direct.answer(message), "\(id) step \(number)")
                let diagnostic = String(decoding: reply.payload, as: UTF8.self)
                XCTAssertEqual(reply.code, CoAPCode(step.response.code), "\(id) step \(number): \(diagnostic)")
                if reply.code == .created { registrationID = reply.locationPath.last }
            }
            XCTAssertEqual(direct.server.registrationCount, 1, "\(id): the refused Register leaves the registration as it was")
        }
    }

    func testOperationMappingAndServerRejectionsOfLeshan() throws {
        let vector = try vector("leshan-operation-mapping")
        var direct = DirectServer()
        var registrationID = "none"
        for template in try XCTUnwrap(vector.templates) {
            let path = template.uriPath.map { $0 == "<registration-id>" ? registrationID : $0 }
            var message = request(RegistrationVector.method(template.method), path)
            if template.operation == "Register" {
                message = registerRequest("mapping")
            }
            let reply = try XCTUnwrap(direct.answer(message), template.operation)
            if template.operation == "Bootstrap-Request" {
                XCTAssertEqual(reply.code, .badRequest, "an LwM2M Server does not serve the bootstrap interface")
                continue
            }
            XCTAssertEqual(reply.code, CoAPCode(String(template.success.prefix(4))), template.operation)
            if template.operation == "Register" {
                XCTAssertEqual(reply.locationPath.count, 2)
                XCTAssertEqual(reply.locationPath.first, "rd")
                registrationID = try XCTUnwrap(reply.locationPath.last)
            }
        }
        XCTAssertEqual(direct.server.counters.registered, 1)
        XCTAssertEqual(direct.server.counters.updated, 1)
        XCTAssertEqual(direct.server.counters.deregistered, 1)

        let id = try XCTUnwrap(direct.register("rejections"))
        for rejection in try XCTUnwrap(vector.serverRejections) {
            let messages: [CoAPMessage] = switch rejection.case {
            case let text where text.contains("not sent as CON"):
                [request(.post, ["rd"], query: ["ep=non"], format: 40, payload: "</1/0>", type: .nonConfirmable),
                 request(.post, ["rd", id], type: .nonConfirmable)]
            case let text where text.contains("Bad URI") || text.contains("first Uri-Path segment"):
                [request(.post, ["registration"], query: ["ep=x"]), request(.post, ["rd", id, "extra"])]
            case let text where text.contains("DELETE"):
                [request(.delete, ["rd"]), request(.delete, ["rd", id, "extra"])]
            case let text where text.contains("lt present without value"):
                [registerRequest("lt", query: ["lt"]), request(.post, ["rd", id], query: ["lt="])]
            case let text where text.contains("Q present with a value"):
                [registerRequest("q", query: ["lwm2m=1.1", "Q=1"]), request(.post, ["rd", id], query: ["Q=yes"])]
            case let text where text.contains("not valid link-format"):
                [request(.post, ["rd"], query: ["ep=links"], format: 40, payload: "</1/0"),
                 request(.post, ["rd", id], format: 40, payload: "<3/0>;")]
            default:
                []
            }
            XCTAssertFalse(messages.isEmpty, "no request built for the rejection '\(rejection.case)'")
            for message in messages {
                let reply = try XCTUnwrap(direct.answer(message), rejection.case)
                XCTAssertEqual(reply.code, CoAPCode(String(rejection.response.prefix(4))), "\(rejection.case): \(message)")
            }
        }
        XCTAssertEqual(direct.server.registrationCount, 1, "no rejection changed the registrations")
    }

    func testRequestsAreRoutedToTheRegistrationInterfaceByMethodAndPath() throws {
        let vector = try vector("wakaama-uri-classification")
        var direct = DirectServer()
        for routeCase in try XCTUnwrap(vector.cases) {
            let message = request(RegistrationVector.method(routeCase.method), routeCase.uriPath)
            let route = LwM2MRegistrationServer<Int>.Route(message)
            let context = "\(routeCase.method) /\(routeCase.uriPath.joined(separator: "/"))"
            switch route {
            case .register, .update, .deregister:
                XCTAssertEqual(routeCase.requestType, "registration", context)
            case .refused(_, let refusal):
                XCTAssertNotEqual(routeCase.requestType, "registration", context)
                XCTAssertEqual(refusal.code.codeClass, 4, context)
            }
            // Over the wire: the Update of an unknown registration is 4.04, the rest is refused.
            let reply = try XCTUnwrap(direct.answer(message), context)
            if case .update = route { XCTAssertEqual(reply.code, .notFound, context) }
            if case .refused(_, let refusal) = route { XCTAssertEqual(reply.code, refusal.code, context) }
        }
        XCTAssertEqual(direct.server.registrationCount, 0)
    }

    func testCoreResourceDirectoryExamplesAsAnLwM2MServerAnswersThem() throws {
        let vectors = try vectors()
        var direct = DirectServer()
        // RFC 9176's example payload lists no LwM2M object (`<http://...>` is no path): refused.
        let register = try XCTUnwrap(vectors["rfc9176-register"]?.request)
        XCTAssertEqual(direct.answer(RegistrationVector.message(register, endpoint: "node1", registrationID: nil))?.code, .badRequest)
        // Registered with LwM2M object links, node1 follows the other examples to the letter.
        let id = try XCTUnwrap(direct.register("node1", query: []))
        for name in ["rfc9176-update", "rfc9176-update-base", "rfc9176-remove"] {
            let vector = try XCTUnwrap(vectors[name], name)
            var exchange = try XCTUnwrap(vector.request, name)
            exchange.uriPath = exchange.uriPath?.map { $0 == "4521" ? id : $0 }
            let reply = try XCTUnwrap(direct.answer(RegistrationVector.message(exchange, endpoint: "node1", registrationID: id)), name)
            XCTAssertEqual(reply.code, CoAPCode(try XCTUnwrap(vector.response?.code)), name)
            if name == "rfc9176-update-base" {
                XCTAssertEqual(
                    direct.server.registration(endpoint: "node1")?.additionalParameters,
                    [LwM2MQueryParameter(name: "base", value: "coaps://new.example.com")])
            }
        }
        XCTAssertNil(direct.server.registration(endpoint: "node1"))
        XCTAssertEqual(direct.events.last, .deregistered(endpoint: "node1"))
    }

    // MARK: Scale

    /// 200,000 Registers through `receive`, each from a peer of its own, then lookups, Updates,
    /// De-registers and the expiry of the rest; nothing in the server scans its registrations.
    func testTwoHundredThousandRegistrationsThroughReceive() throws {
        let count = 200_000
        var server = LwM2MRegistrationServer<Int>(configuration: RegistrationServerConfiguration(), seed: 7)
        var output = ServerOutput<Int>()
        let start = Timestamp.seconds(1_000)
        let links = Array("</1/0>,</3/0>".utf8)
        func datagram(_ code: CoAPCode, _ path: [String], query: [String], payload: [UInt8], index: Int) -> [UInt8] {
            var message = CoAPMessage(
                type: .confirmable, code: code, messageID: UInt16(truncatingIfNeeded: index &* 7),
                token: CoAPToken(value: UInt64(index), length: 4))
            for segment in path { message.options.append(.uriPath, string: segment) }
            if !payload.isEmpty { message.options.append(.contentFormat, uint: 40) }
            for item in query { message.options.append(.uriQuery, string: item) }
            message.payload = payload[...]
            return message.encoded()
        }
        let clock = ContinuousClock()
        var registers: [[UInt8]] = []
        let building = clock.measure {
            registers = (0..<count).map { index in
                datagram(.post, ["rd"], query: ["ep=load-\(index)", "lt=600", "lwm2m=1.1", "b=U"], payload: links, index: index)
            }
        }
        var created = 0
        let registering = clock.measure {
            for (index, bytes) in registers.enumerated() {
                server.receive(bytes, from: index, now: start, output: &output)
                // One piggybacked 2.01 Created (code byte 0x41) to the peer that registered.
                if output.datagrams.count == 1, output.datagrams[0].peer == index, output.datagrams[0].bytes[1] == 0x41 { created += 1 }
                output.removeAll()
            }
        }
        registers = []
        XCTAssertEqual(created, count)
        XCTAssertEqual(server.registrationCount, count)
        XCTAssertEqual(server.counters.registered, count)

        let lookingUp = clock.measure {
            for index in stride(from: 0, to: count, by: 997) {
                XCTAssertEqual(server.registration(endpoint: "load-\(index)")?.lifetimeSeconds, 600)
            }
        }
        let updatingAndRemoving = clock.measure {
            for index in 0..<1_000 {
                let updated = server.registration(endpoint: "load-\(index)")!.registrationID
                let update = datagram(.post, ["rd", updated], query: ["lt=1200"], payload: [], index: index + 1)
                server.receive(update, from: index, now: start.adding(milliseconds: 1_000), output: &output)
                let peer = count - 1 - index
                let removed = server.registration(endpoint: "load-\(peer)")!.registrationID
                let remove = datagram(.delete, ["rd", removed], query: [], payload: [], index: peer + 1)
                server.receive(remove, from: peer, now: start.adding(milliseconds: 1_000), output: &output)
            }
        }
        XCTAssertEqual(server.counters.updated, 1_000)
        XCTAssertEqual(server.counters.deregistered, 1_000)
        XCTAssertEqual(server.registrationCount, count - 1_000)

        output.removeAll()
        let expiring = clock.measure {
            // The 600 s lifetime plus the 5 s grace; the 1,000 updated ones have 1200 s.
            server.handleDeadline(now: start.adding(milliseconds: 605_000), output: &output)
        }
        XCTAssertEqual(server.counters.expired, count - 2_000)
        XCTAssertEqual(server.registrationCount, 1_000)
        XCTAssertEqual(server.registration(endpoint: "load-999")?.lifetimeSeconds, 1_200)
        XCTAssertNil(server.registration(endpoint: "load-1000"))

        // EXCHANGE_LIFETIME after their registration went, the peers' CoAP state goes too.
        server.handleDeadline(now: start.adding(milliseconds: 605_000 + 248_000), output: &output)
        XCTAssertEqual(server.peers.count, 1_000)
        print("""
            200,000 registrations: build datagrams \(building), receive Registers \(registering), 201 lookups \(lookingUp), \
            1,000 updates + 1,000 de-registers \(updatingAndRemoving), expire 198,000 \(expiring)
            """)
    }
}
