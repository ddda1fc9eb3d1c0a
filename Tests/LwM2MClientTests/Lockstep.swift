import CoAP
import LwM2M
@testable import LwM2MClient
import XCTest

/// A server of the lockstep tests: a real CoAP endpoint and a script that answers requests.
final class ScriptedPeer {
    var endpoint: CoAPEndpoint
    /// Answers a request from the device; nil leaves it unanswered.
    var handler: (CoAPMessage) -> CoAPMessage? = { _ in nil }
    /// Every request the device sent, in order.
    private(set) var requests: [CoAPMessage] = []
    /// Responses to the requests this peer sent to the device.
    var responses: [CoAPRequestID: CoAPMessage] = [:]
    var failures: [CoAPRequestID: CoAPRequestFailure] = [:]
    /// Answer CON notifications with Reset instead of ACK (an observer that lost interest).
    var resetNotifications = false
    /// Notifications and other messages matched to no request (for observe tests).
    var notifications: [(at: Timestamp, message: CoAPMessage)] = []
    fileprivate var outbox: [[UInt8]] = []

    init(seed: UInt64) {
        var parameters = CoAPTransmissionParameters()
        parameters.ackRandomFactor = 1
        endpoint = CoAPEndpoint(parameters: parameters, seed: seed)
    }

    /// Tokens of observations this peer holds: later responses on them are notifications.
    private var observeTokens: Set<CoAPToken> = []

    func receive(_ datagram: [UInt8], now: Timestamp) {
        // A notification answers a request whose exchange has ended: take it before the endpoint
        // would refuse it, and acknowledge it like an observer does (RFC 7641 4.2).
        if let message = try? CoAPMessage.decode(datagram).get(), message.type != .acknowledgement,
           message.code.isResponse, observeTokens.contains(message.token) {
            notifications.append((now, message))
            if message.type == .confirmable {
                outbox.append(CoAPMessage.empty(resetNotifications ? .reset : .acknowledgement, messageID: message.messageID).encoded())
            }
            return
        }
        var output = CoAPEndpointOutput()
        endpoint.receive(datagram, now: now, output: &output)
        absorb(output, now: now)
    }

    func deadline(now: Timestamp) {
        var output = CoAPEndpointOutput()
        endpoint.handleDeadline(now: now, output: &output)
        absorb(output, now: now)
    }

    /// Sends a request to the device; its outcome lands in `responses` or `failures`.
    @discardableResult
    func send(_ request: CoAPMessage, now: Timestamp) -> CoAPRequestID {
        var output = CoAPEndpointOutput()
        let id = endpoint.send(request, now: now, output: &output)
        absorb(output, now: now)
        return id
    }

    private func absorb(_ output: CoAPEndpointOutput, now: Timestamp) {
        outbox += output.datagrams
        for event in output.events {
            switch event {
            case .request(let incoming):
                requests.append(incoming.message)
                if let answer = handler(incoming.message) {
                    var reply = CoAPEndpointOutput()
                    endpoint.respond(to: incoming, with: answer, now: now, output: &reply)
                    outbox += reply.datagrams
                }
            case .response(let id, let message):
                responses[id] = message
                if message.observe != nil { observeTokens.insert(message.token) }
            case .failed(let id, let failure): failures[id] = failure
            case .rejected, .notificationFailed: break
            }
        }
    }

    fileprivate func takeOutbox() -> [[UInt8]] {
        defer { outbox.removeAll() }
        return outbox
    }
}

/// One device and its two servers wired back to back on a manual clock: no sockets, no threads.
final class Lockstep {
    var client: LwM2MClient
    var now = Timestamp.seconds(1_000)
    let bootstrapServer = ScriptedPeer(seed: 101)
    let server = ScriptedPeer(seed: 202)
    private(set) var actions: [ClientAction] = []
    private(set) var connected: [ServerRole: String] = [:]
    /// The network's losses: a datagram for which this returns true never arrives.
    var losesFromDevice: (ServerRole, CoAPMessage) -> Bool = { _, _ in false }
    var losesToDevice: (ServerRole, CoAPMessage) -> Bool = { _, _ in false }
    /// Reordering: datagrams to the device for which this returns true wait until `releaseHeld()`.
    var holdsToDevice: (ServerRole, CoAPMessage) -> Bool = { _, _ in false }
    private var held: [(ServerRole, [UInt8])] = []

    init(client: LwM2MClient) {
        self.client = client
    }

    func peer(_ role: ServerRole) -> ScriptedPeer { role == .server ? server : bootstrapServer }

    /// Requests the device ignored that prove the server broke the rule.
    var violations: [ServerViolation] { ignored.filter(\.isProven) }
    /// Requests the device ignored that a conformant server may have sent.
    var ignoredUnproven: [ServerViolation] { ignored.filter { !$0.isProven } }

    var ignored: [ServerViolation] {
        actions.compactMap { if case .violation(let violation) = $0 { violation } else { nil } }
    }

    func finished(_ operation: LwM2MOperation) -> [(OperationOutcome, CoAPCode?)] {
        actions.compactMap {
            if case .operationFinished(operation, let outcome, let code, _) = $0 { (outcome, code) } else { nil }
        }
    }

    func start() {
        var produced: [ClientAction] = []
        client.start(now: now, actions: &produced)
        apply(produced)
    }

    /// Hands the device `message` as if `role`'s server sent it now (a separate response, say).
    func inject(_ message: CoAPMessage, from role: ServerRole = .server) {
        deliver(message.encoded(), from: role)
    }

    /// Hands the device the piggybacked answer to `request`, as if its server sent it now (for a
    /// late answer the script held back: return nil from the handler, then call this).
    func answer(_ request: CoAPMessage, with code: CoAPCode, from role: ServerRole = .server) {
        var reply = CoAPMessage(type: .acknowledgement, code: code)
        reply.messageID = request.messageID
        reply.token = request.token
        var produced: [ClientAction] = []
        client.receive(reply.encoded(), from: role, now: now, actions: &produced)
        apply(produced)
    }

    /// Stops the device, as the fleet does at its end.
    func stop(deregister: Bool) {
        var produced: [ClientAction] = []
        client.stop(now: now, deregister: deregister, actions: &produced)
        apply(produced)
    }

    /// Sends a request from a server to the device and delivers everything that follows.
    @discardableResult
    func request(_ message: CoAPMessage, from role: ServerRole) -> CoAPRequestID {
        let id = peer(role).send(message, now: now)
        pump()
        return id
    }

    /// Moves the clock to `time`, handling every deadline on the way in order.
    func advance(to time: Timestamp) {
        // Bounded: a machine whose deadline never moves past `now` must fail the test, not hang it.
        for iteration in 0... {
            guard iteration < 200_000 else { return XCTFail("deadlines never settle at \(now)") }
            let deadlines = [client.nextDeadline, server.endpoint.nextDeadline, bootstrapServer.endpoint.nextDeadline].compactMap { $0 }
            guard let next = deadlines.min(), next <= time else { break }
            now = max(now, next)
            if let deadline = client.nextDeadline, deadline <= now {
                var produced: [ClientAction] = []
                client.handleDeadline(now: now, actions: &produced)
                apply(produced)
            }
            for role in [ServerRole.server, .bootstrapServer] where (peer(role).endpoint.nextDeadline ?? .max) <= now {
                peer(role).deadline(now: now)
                pump()
            }
        }
        now = max(now, time)
    }

    func advance(seconds: Double) {
        advance(to: now.adding(nanoseconds: UInt64(seconds * 1e9)))
    }

    private func apply(_ produced: [ClientAction]) {
        actions += produced
        for action in produced {
            switch action {
            case .connect(let role, let uri):
                // A new socket is a new peer address to the server: its CoAP state starts afresh.
                connected[role] = uri
                peer(role).endpoint = CoAPEndpoint(parameters: peer(role).endpoint.parameters, seed: UInt64(actions.count))
            case .disconnect(let role): connected[role] = nil
            case .send(let role, let datagram):
                guard connected[role] != nil else { continue }
                if let message = try? CoAPMessage.decode(datagram).get(), losesFromDevice(role, message) { continue }
                peer(role).receive(datagram, now: now)
            default: break
            }
        }
        pump()
    }

    /// Delivers the datagrams `holdsToDevice` held back, in the order they were sent.
    func releaseHeld() {
        let released = held
        held.removeAll()
        for (role, datagram) in released where connected[role] != nil { deliver(datagram, from: role) }
    }

    private func deliver(_ datagram: [UInt8], from role: ServerRole) {
        var produced: [ClientAction] = []
        client.receive(datagram, from: role, now: now, actions: &produced)
        apply(produced)
    }

    /// Delivers what the servers have to send until nobody has anything left.
    private func pump() {
        for _ in 0..<1_000 {
            var delivered = false
            for role in [ServerRole.server, .bootstrapServer] {
                for datagram in peer(role).takeOutbox() where connected[role] != nil {
                    if let message = try? CoAPMessage.decode(datagram).get() {
                        if losesToDevice(role, message) { continue }
                        if holdsToDevice(role, message) {
                            held.append((role, datagram))
                            continue
                        }
                    }
                    delivered = true
                    deliver(datagram, from: role)
                }
            }
            if !delivered { return }
        }
        XCTFail("the lockstep network did not settle")
    }
}

extension Timestamp {
    static let max = Timestamp(nanoseconds: .max)
}
