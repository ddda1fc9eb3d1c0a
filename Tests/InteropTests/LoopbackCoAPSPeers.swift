import CoAP
import DTLS
import EventLoop
import Foundation

/// A CoAP client over DTLS (coaps): one connected socket, one DTLS client session, and a CoAP
/// endpoint whose datagrams travel as the session's application data.
final class LoopbackCoAPSClient: LoopbackPeer {
    let session: DTLSClientSession
    private var endpoint: CoAPEndpoint
    private var socket: UDPSocketID!
    private var timer: TimerHandle?
    private var records = DTLSOutput()
    private var outcomes: [CoAPRequestID: Result<CoAPMessage, CoAPRequestFailure>] = [:]
    private(set) var events: [DTLSEvent] = []

    init(server: SocketAddress, key: PreSharedKey, parameters: DTLSParameters, seed: UInt64) throws {
        session = try DTLSClientSession(key: key, parameters: parameters, seed: seed)
        endpoint = CoAPEndpoint(seed: seed)
        try super.init()
        socket = try loop.openUDPSocket(bindTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), connectTo: server, tag: 0)
        loop.datagramReceived = { [unowned self] _, _, bytes, _, now in
            let time = Timestamp(nanoseconds: now)
            session.receive(bytes, now: time, output: &records)
            flush(now: time)
        }
    }

    deinit {
        loop.close(socket)
    }

    override func deadlineReached(tag: UInt64, now: Timestamp) {
        timer = nil
        session.handleDeadline(now: now, output: &records)
        endpoint.handleDeadline(now: now, output: &output)
        flush(now: now)
    }

    /// Hands decrypted records to CoAP, CoAP's datagrams to DTLS, DTLS's datagrams to the socket.
    private func flush(now: Timestamp) {
        events += records.events
        let plaintexts = records.applicationData
        records.events.removeAll()
        records.applicationData.removeAll()
        for plaintext in plaintexts { endpoint.receive(plaintext, now: now, output: &output) }
        // Before the handshake is done a CoAP datagram is refused, and CoAP retransmits it.
        for datagram in output.datagrams { session.send(datagram, now: now, output: &records) }
        for event in output.events {
            switch event {
            case .response(let id, let message): outcomes[id] = .success(message)
            case .failed(let id, let failure): outcomes[id] = .failure(failure)
            case .request, .rejected, .notificationFailed: break
            }
        }
        output.removeAll()
        for datagram in records.datagrams { loop.send(datagram, on: socket) }
        records.removeAll()
        if let timer { loop.cancel(timer) }
        let deadline = [session.nextDeadline, endpoint.nextDeadline].compactMap { $0 }.min()
        timer = deadline.map { loop.schedule(at: $0.nanoseconds, tag: 0) }
    }

    /// Runs the handshake, at most `seconds`, and returns where the session stands.
    func handshake(seconds: Double = 10) -> DTLSSessionState {
        let now = Timestamp(nanoseconds: loop.now)
        session.start(now: now, output: &records)
        flush(now: now)
        runUntil(seconds: seconds) { self.session.state != .handshaking }
        return session.state
    }

    /// Sends `request` inside the session and waits for its outcome, at most `seconds`.
    func perform(_ request: CoAPMessage, seconds: Double = 10) throws -> CoAPMessage {
        let now = Timestamp(nanoseconds: loop.now)
        let id = endpoint.send(request, now: now, output: &output)
        flush(now: now)
        guard runUntil(seconds: seconds, { self.outcomes[id] != nil }) else {
            throw InteropFailure("no outcome for \(request) within \(seconds) s")
        }
        return try outcomes.removeValue(forKey: id)!.mapError { InteropFailure("\(request): \($0)") }.get()
    }
}

/// A coaps server from our modules: one unconnected socket, a DTLS server session and a CoAP
/// endpoint per peer address, all sharing one DTLS server configuration.
final class LoopbackCoAPSServer: LoopbackPeer {
    private let configuration: DTLSServerConfiguration
    private var socket: UDPSocketID!
    private var peers: [SocketAddress] = []
    private var sessions: [DTLSServerSession] = []
    private var endpoints: [CoAPEndpoint] = []
    private var timers: [TimerHandle?] = []
    private var records = DTLSOutput()
    private let handler: (CoAPMessage) -> CoAPMessage
    private(set) var address: SocketAddress!
    /// The events of every session, in order, with the identity of the client when established.
    private(set) var events: [(DTLSEvent, identity: [UInt8]?)] = []
    private(set) var requests: [CoAPMessage] = []

    init(keys: DTLSServerKeys, handler: @escaping (CoAPMessage) -> CoAPMessage) throws {
        configuration = try DTLSServerConfiguration(keys: keys, seed: 7)
        self.handler = handler
        try super.init()
        socket = try loop.openUDPSocket(bindTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), tag: 0)
        address = loop.localAddress(of: socket)
        loop.datagramReceived = { [unowned self] _, _, bytes, peer, now in
            let index = session(for: peer)
            let time = Timestamp(nanoseconds: now)
            sessions[index].receive(bytes, now: time, output: &records)
            flush(peerAt: index, now: time)
        }
    }

    deinit {
        loop.close(socket)
    }

    /// The index of `peer`'s session; a new one for a new peer, or when the last one ended.
    private func session(for peer: SocketAddress) -> Int {
        func fresh() -> DTLSServerSession {
            DTLSServerSession(configuration: configuration, transportID: Array(peer.description.utf8))
        }
        guard let index = peers.firstIndex(of: peer) else {
            peers.append(peer)
            sessions.append(fresh())
            endpoints.append(CoAPEndpoint(seed: UInt64(peers.count)))
            timers.append(nil)
            return peers.count - 1
        }
        switch sessions[index].state {
        case .failed, .closed:
            sessions[index] = fresh()
            endpoints[index] = CoAPEndpoint(seed: UInt64(index))
        case .notStarted, .handshaking, .established:
            break
        }
        return index
    }

    override func deadlineReached(tag: UInt64, now: Timestamp) {
        let index = Int(tag)
        timers[index] = nil
        sessions[index].handleDeadline(now: now, output: &records)
        endpoints[index].handleDeadline(now: now, output: &output)
        flush(peerAt: index, now: now)
    }

    private func flush(peerAt index: Int, now: Timestamp) {
        let session = sessions[index]
        events += records.events.map { ($0, session.clientIdentity) }
        let plaintexts = records.applicationData
        records.events.removeAll()
        records.applicationData.removeAll()
        for plaintext in plaintexts { endpoints[index].receive(plaintext, now: now, output: &output) }
        var pending = output.events
        output.events.removeAll()
        while !pending.isEmpty {
            if case .request(let incoming) = pending.removeFirst() {
                requests.append(incoming.message)
                endpoints[index].respond(to: incoming, with: handler(incoming.message), now: now, output: &output)
                pending += output.events
                output.events.removeAll()
            }
        }
        for datagram in output.datagrams { session.send(datagram, now: now, output: &records) }
        output.removeAll()
        for datagram in records.datagrams { loop.send(datagram, on: socket, to: peers[index]) }
        records.removeAll()
        if let timer = timers[index] { loop.cancel(timer) }
        let deadline = [session.nextDeadline, endpoints[index].nextDeadline].compactMap { $0 }.min()
        timers[index] = deadline.map { loop.schedule(at: $0.nanoseconds, tag: UInt64(index)) }
    }
}
