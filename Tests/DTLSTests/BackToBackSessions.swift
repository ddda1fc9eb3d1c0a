import CoAP
import DTLS

/// A client and a server session wired back to back on a manual clock: no sockets, no threads.
///
/// Datagrams wait in a queue per direction until `deliver` hands them over, so a test can drop,
/// capture or mutate them; the clock moves only when `run` jumps it to the next deadline.
final class BackToBackSessions {
    let client: DTLSClientSession
    let server: DTLSServerSession
    private(set) var now = Timestamp.seconds(1_000)
    private(set) var clientEvents: [DTLSEvent] = []
    private(set) var serverEvents: [DTLSEvent] = []
    private(set) var clientReceived: [[UInt8]] = []
    private(set) var serverReceived: [[UInt8]] = []
    /// Every datagram each side sent, lost or not, in order.
    private(set) var sentByClient: [[UInt8]] = []
    private(set) var sentByServer: [[UInt8]] = []
    private(set) var flightsRetransmitted = 0
    private var toServer: [[UInt8]] = []
    private var toClient: [[UInt8]] = []
    private var output = DTLSOutput()
    /// Decides, by its index in `sentByClient`, whether a client datagram is lost.
    var losesClientDatagram: (Int) -> Bool = { _ in false }
    /// Decides, by its index in `sentByServer`, whether a server datagram is lost.
    var losesServerDatagram: (Int) -> Bool = { _ in false }

    init(client: DTLSClientSession, server: DTLSServerSession) {
        self.client = client
        self.server = server
    }

    convenience init(
        key: PreSharedKey, serverKeys: DTLSServerKeys, clientParameters: DTLSParameters = DTLSParameters(),
        serverParameters: DTLSParameters = DTLSParameters(), seed: UInt64 = 1
    ) throws {
        let configuration = try DTLSServerConfiguration(keys: serverKeys, parameters: serverParameters, seed: seed)
        self.init(
            client: try DTLSClientSession(key: key, parameters: clientParameters, seed: seed &+ 1),
            server: DTLSServerSession(configuration: configuration, transportID: Array("127.0.0.1:5684".utf8)))
    }

    var isSettled: Bool {
        func settled(_ state: DTLSSessionState) -> Bool {
            switch state {
            case .established, .failed, .closed: true
            case .notStarted, .handshaking: false
            }
        }
        return settled(client.state) && settled(server.state) && toServer.isEmpty && toClient.isEmpty
    }

    func start() {
        client.start(now: now, output: &output)
        collectClient()
    }

    /// Hands over every queued datagram, both ways, until none is left (at most `rounds` rounds).
    func deliver(rounds: Int = 20) {
        for _ in 0..<rounds where !toServer.isEmpty || !toClient.isEmpty {
            let forServer = toServer
            toServer.removeAll()
            for datagram in forServer {
                server.receive(datagram, now: now, output: &output)
                collectServer()
            }
            let forClient = toClient
            toClient.removeAll()
            for datagram in forClient {
                client.receive(datagram, now: now, output: &output)
                collectClient()
            }
        }
    }

    /// Delivers, then jumps the clock from deadline to deadline until both sides are settled or
    /// `seconds` of manual time have passed; returns whether they settled.
    @discardableResult
    func run(seconds: UInt64 = 120) -> Bool {
        let limit = now.adding(nanoseconds: seconds * 1_000_000_000)
        for _ in 0..<1_000 {
            deliver()
            if isSettled { return true }
            let deadlines = [client.nextDeadline, server.nextDeadline].compactMap { $0 }
            guard let next = deadlines.min(), next <= limit else { return false }
            now = max(now, next)
            client.handleDeadline(now: now, output: &output)
            collectClient()
            server.handleDeadline(now: now, output: &output)
            collectServer()
        }
        return false
    }

    func advanceClock(toAtLeast time: Timestamp) {
        now = max(now, time)
    }

    func clientSends(_ text: String) -> Bool {
        defer { collectClient() }
        return client.send(Array(text.utf8), now: now, output: &output)
    }

    func serverSends(_ text: String) -> Bool {
        defer { collectServer() }
        return server.send(Array(text.utf8), now: now, output: &output)
    }

    func closeClient() {
        client.close(now: now, output: &output)
        collectClient()
    }

    /// Feeds `datagram` to one side directly, as if it came from the network, and keeps what it
    /// answers queued for the peer.
    func inject(_ datagram: [UInt8], intoServer: Bool) {
        if intoServer {
            server.receive(datagram, now: now, output: &output)
            collectServer()
        } else {
            client.receive(datagram, now: now, output: &output)
            collectClient()
        }
    }

    /// Forgets what is queued both ways (answers to injected garbage, say).
    func dropQueued() {
        toServer.removeAll()
        toClient.removeAll()
    }

    private func collectClient() {
        for datagram in output.datagrams {
            if !losesClientDatagram(sentByClient.count) { toServer.append(datagram) }
            sentByClient.append(datagram)
        }
        clientEvents += output.events
        clientReceived += output.applicationData
        flightsRetransmitted += output.flightsRetransmitted
        output.removeAll()
    }

    private func collectServer() {
        for datagram in output.datagrams {
            if !losesServerDatagram(sentByServer.count) { toClient.append(datagram) }
            sentByServer.append(datagram)
        }
        serverEvents += output.events
        serverReceived += output.applicationData
        flightsRetransmitted += output.flightsRetransmitted
        output.removeAll()
    }
}

/// The DTLS record layer's view of a datagram, enough for tests to tell flights apart.
enum DTLSRecordPeek {
    static let handshake: UInt8 = 22
    static let helloVerifyRequest: UInt8 = 3

    /// The content type of the first record (20 change_cipher_spec, 21 alert, 22 handshake,
    /// 23 application_data).
    static func contentType(_ datagram: [UInt8]) -> UInt8? { datagram.first }

    /// The handshake message type of the first record, when it is an unencrypted handshake
    /// record (epoch 0): 1 ClientHello, 2 ServerHello, 3 HelloVerifyRequest, ...
    static func handshakeType(_ datagram: [UInt8]) -> UInt8? {
        guard datagram.count > 13, datagram[0] == handshake, datagram[3] == 0, datagram[4] == 0 else { return nil }
        return datagram[13]
    }
}
