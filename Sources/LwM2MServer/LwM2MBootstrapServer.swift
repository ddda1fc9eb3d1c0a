import CoAP
import LwM2M

/// The embedded LwM2M Bootstrap-Server (LwM2M 1.1 TS Core 6.1), sans I/O: datagrams and `now` in,
/// datagrams and events out, one CoAP endpoint per peer.
///
/// `POST /bs?ep=NAME[&pct=N]` is answered 2.04, then the script of the endpoint's settings runs, one
/// request at a time, each sent when the answer to the previous one came: Bootstrap-Discover `GET /`
/// (optional), Bootstrap-Delete of /0 and /1 (or of /), Bootstrap-Write of a NoSec Security instance
/// and of Server instance /1/0, Bootstrap-Read of /1 (optional, 1.1 devices), Bootstrap-Finish. An
/// error answer or a timeout skips the rest of the script to Bootstrap-Finish, for the Bootstrap-Server
/// ends every bootstrap with it, and that bootstrap counts as failed; 2.04 to the Finish of a script
/// whose steps all passed ends it as succeeded. A Write refused with 4.15 is remembered for the
/// endpoint, whose next bootstrap writes TLV (`BootstrapPlan.fallbackFormat`). The device's
/// Bootstrap-Server account is never written: Bootstrap-Delete keeps it, and the Security instance
/// written avoids its id when Discover shows it. `bootstrap(_:...)` runs the same script towards a
/// device that waits for it (server-initiated bootstrap, TS Core 6.1.4).
public struct LwM2MBootstrapServer<Peer: Hashable & Sendable>: Sendable {
    public let configuration: BootstrapServerConfiguration
    public private(set) var counters = BootstrapServerCounters()
    private var endpoints: PeerEndpoints<Peer>
    private var sessions: [Peer: BootstrapSession] = [:]
    /// The format to write in, by endpoint name, for devices that refused the last one with 4.15:
    /// one entry per such device, dropped when its bootstrap succeeds.
    private var formatAfterRefusal: [String: LwM2MContentFormat] = [:]

    /// The PSK accounts' keys (`Settings.preSharedKey`); nil writes none.
    private let preSharedKeys: PreSharedKeySource?

    public init(configuration: BootstrapServerConfiguration, seed: UInt64, preSharedKeys: PreSharedKeySource? = nil) {
        self.configuration = configuration
        self.preSharedKeys = preSharedKeys
        endpoints = PeerEndpoints(parameters: configuration.transmission, seed: seed)
    }

    /// When `handleDeadline` may have work (a retransmission or a timeout); it may have none then.
    public var nextDeadline: Timestamp? { endpoints.nextDeadline }

    /// Processes one datagram from `peer`.
    public mutating func receive(_ datagram: [UInt8], from peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>) {
        var coap = CoAPEndpointOutput()
        endpoints.with(peer) { $0.receive(datagram, now: now, output: &coap) }
        process(coap, from: peer, now: now, output: &output)
        releaseEndpointIfDone(peer)
    }

    /// Retransmits requests whose ACK is late and fails the bootstraps whose request timed out.
    public mutating func handleDeadline(now: Timestamp, output: inout ServerOutput<Peer>) {
        for peer in endpoints.duePeers(now: now) {
            var coap = CoAPEndpointOutput()
            endpoints.with(peer) { $0.handleDeadline(now: now, output: &coap) }
            process(coap, from: peer, now: now, output: &output)
            releaseEndpointIfDone(peer)
        }
    }

    /// Server-initiated bootstrap: runs the script of `endpoint`'s settings towards a device that waits
    /// in ClientHoldOffTime, with no Bootstrap-Request. `lwm2mVersion` replaces the configured one.
    /// Does nothing while a bootstrap of `peer` is already in progress.
    public mutating func bootstrap(
        _ peer: Peer, endpoint: String, lwm2mVersion: LwM2MVersion, now: Timestamp, output: inout ServerOutput<Peer>
    ) {
        guard sessions[peer] == nil else { return }
        start(peer, endpointName: endpoint, lwm2mVersion: lwm2mVersion, preferredFormat: nil, now: now, output: &output)
    }

    // MARK: Events of the endpoints

    private mutating func process(_ coap: CoAPEndpointOutput, from peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>) {
        forward(coap, to: peer, output: &output)
        for event in coap.events {
            switch event {
            case .request(let request):
                handleRequest(request, from: peer, now: now, output: &output)
            case .response(let id, let response):
                stepEnded(id, response: response, peer: peer, now: now, output: &output)
            case .failed(let id, _):
                stepEnded(id, response: nil, peer: peer, now: now, output: &output)
            case .notificationFailed, .rejected:
                break
            }
        }
    }

    private func forward(_ coap: CoAPEndpointOutput, to peer: Peer, output: inout ServerOutput<Peer>) {
        for datagram in coap.datagrams { output.datagrams.append((peer, datagram)) }
        output.retransmissions += coap.retransmissions
    }

    /// Bootstrap-Request (TS Core 6.1.7): `POST /bs` with `ep` and optionally `pct`.
    private mutating func handleRequest(
        _ request: CoAPIncomingRequest, from peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>
    ) {
        let message = request.message
        guard message.uriPath == ["bs"] else {
            return refuse(request, from: peer, code: .notFound, now: now, output: &output,
                          reason: "this Bootstrap-Server serves Bootstrap-Request (POST /bs) only, not \(message.path)")
        }
        guard message.code == .post else {
            return refuse(request, from: peer, code: .methodNotAllowed, now: now, output: &output,
                          reason: "Bootstrap-Request is POST /bs, not \(message.code)")
        }
        let parameters: BootstrapRequestParameters
        do {
            parameters = try BootstrapRequestParameters(queryItems: message.uriQuery)
        } catch {
            return refuse(request, from: peer, code: .badRequest, now: now, output: &output, reason: error.description)
        }
        if let abandoned = sessions[peer] {
            // The device gave up on the bootstrap in progress and asks again: start over.
            endpoints.with(peer) { $0.cancel(abandoned.request) }
            end(abandoned.plan.endpointName, of: peer, succeeded: false, output: &output)
        }
        respond(to: request, from: peer, with: CoAPMessage(type: .acknowledgement, code: .changed), now: now, output: &output)
        start(peer, endpointName: parameters.endpointName, lwm2mVersion: nil,
              preferredFormat: parameters.preferredContentFormat, now: now, output: &output)
    }

    private mutating func refuse(
        _ request: CoAPIncomingRequest, from peer: Peer, code: CoAPCode, now: Timestamp, output: inout ServerOutput<Peer>,
        reason: String
    ) {
        // The reason goes back as a diagnostic payload (RFC 7252 5.5.2).
        let answer = CoAPMessage(type: .acknowledgement, code: code, payload: ArraySlice(reason.utf8))
        respond(to: request, from: peer, with: answer, now: now, output: &output)
        output.events.append(.refused(operation: "bootstrap-request", code: code, reason: reason))
    }

    private mutating func respond(
        to request: CoAPIncomingRequest, from peer: Peer, with answer: CoAPMessage, now: Timestamp,
        output: inout ServerOutput<Peer>
    ) {
        var coap = CoAPEndpointOutput()
        endpoints.with(peer) { $0.respond(to: request, with: answer, now: now, output: &coap) }
        forward(coap, to: peer, output: &output)
    }

    // MARK: The script

    private mutating func start(
        _ peer: Peer, endpointName: String, lwm2mVersion: LwM2MVersion?, preferredFormat: LwM2MContentFormat?,
        now: Timestamp, output: inout ServerOutput<Peer>
    ) {
        let settings = configuration.settings(forEndpoint: endpointName)
        let plan = BootstrapPlan(
            endpointName: endpointName, settings: settings, lwm2mVersion: lwm2mVersion,
            preferredFormat: formatAfterRefusal[endpointName] ?? preferredFormat,
            preSharedKey: settings.preSharedKey ? preSharedKeys?(endpointName) : nil)
        counters.started += 1
        counters.inProgress += 1
        output.events.append(.bootstrapStarted(endpoint: endpointName))
        if let first = plan.step(after: nil) { send(first, plan: plan, to: peer, now: now, output: &output) }
    }

    private mutating func send(
        _ step: BootstrapStep, plan: BootstrapPlan, to peer: Peer, stepFailed: Bool = false, now: Timestamp,
        output: inout ServerOutput<Peer>
    ) {
        var coap = CoAPEndpointOutput()
        guard let request = plan.request(for: step) else {
            // Unreachable with the values a plan writes; reported, not trapped, should that change.
            // Finish always encodes, so the bootstrap still ends with it.
            return send(.finish, plan: plan, to: peer, stepFailed: true, now: now, output: &output)
        }
        let id = endpoints.with(peer) { $0.send(request, now: now, output: &coap) }
        forward(coap, to: peer, output: &output)
        counters.requestsSent += 1
        sessions[peer] = BootstrapSession(plan: plan, step: step, request: id, sentAt: now, stepFailed: stepFailed)
    }

    /// The answer to the request in flight came (or it failed): report its latency, then run the next
    /// step, or end the bootstrap.
    private mutating func stepEnded(
        _ id: CoAPRequestID, response: CoAPMessage?, peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>
    ) {
        guard var session = sessions[peer], session.request == id else { return }
        output.events.append(.operationCompleted(
            operation: session.step.operationName, endpoint: session.plan.endpointName, code: response?.code,
            latencyNanoseconds: now.nanoseconds(since: session.sentAt)))
        let passed = response.map { session.plan.accept($0, to: session.step) } ?? false
        if session.step == .finish {
            let succeeded = passed && !session.stepFailed
            if succeeded { formatAfterRefusal[session.plan.endpointName] = nil }
            return end(session.plan.endpointName, of: peer, succeeded: succeeded, output: &output)
        }
        guard passed else {
            if session.step.isWrite, response?.code == .unsupportedContentFormat {
                formatAfterRefusal[session.plan.endpointName] = BootstrapPlan.fallbackFormat
            }
            // The Bootstrap-Server ends every bootstrap with Bootstrap-Finish, a failed one too
            // (the rule this project started from): the device then checks what it holds (TS Core
            // 6.1.7, Bootstrap-Finish) and is not left waiting for a script that will not go on.
            return send(.finish, plan: session.plan, to: peer, stepFailed: true, now: now, output: &output)
        }
        let next = session.plan.step(after: session.step) ?? .finish
        send(next, plan: session.plan, to: peer, stepFailed: session.stepFailed, now: now, output: &output)
    }

    private mutating func end(_ endpointName: String, of peer: Peer, succeeded: Bool, output: inout ServerOutput<Peer>) {
        sessions[peer] = nil
        counters.inProgress -= 1
        if succeeded { counters.finished += 1 } else { counters.failed += 1 }
        output.events.append(.bootstrapFinished(endpoint: endpointName, succeeded: succeeded))
    }

    /// Drops the endpoint of a peer with no bootstrap in progress once nothing is in flight, so a
    /// storm of devices leaves no state behind. A late retransmission of a request already answered is
    /// then answered afresh, which is harmless for a refusal and restarts a bootstrap that ended.
    private mutating func releaseEndpointIfDone(_ peer: Peer) {
        guard sessions[peer] == nil, endpoints.with(peer, \.isIdle) else { return }
        endpoints.remove(peer)
    }
}

/// What the Bootstrap-Server did so far, for the status line and the result file.
public struct BootstrapServerCounters: Hashable, Sendable {
    /// Bootstraps begun: accepted Bootstrap-Requests and server-initiated ones.
    public var started = 0
    /// Bootstraps the device ended by accepting Bootstrap-Finish (2.04).
    public var finished = 0
    /// Bootstraps in which a step failed (an error answer or a timeout; Finish was sent all the
    /// same), whose Finish was refused or not answered, or that a new Bootstrap-Request of the same
    /// device cut off.
    public var failed = 0
    public var inProgress = 0
    /// Requests sent to devices (Discover, Delete, Write, Read, Finish), retransmissions not counted.
    public var requestsSent = 0

    public init() {}
}
