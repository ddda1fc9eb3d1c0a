import CoAP
import DTLS
import EventLoop
import LwM2MServer

/// A sans-I/O server machine the driver can run on a socket of its own.
public protocol ServerMachine {
    mutating func receive(_ datagram: [UInt8], from peer: SocketAddress, now: Timestamp, output: inout ServerOutput<SocketAddress>)
    mutating func handleDeadline(now: Timestamp, output: inout ServerOutput<SocketAddress>)
    var nextDeadline: Timestamp? { get }
}

extension LwM2MRegistrationServer: ServerMachine where Peer == SocketAddress {}
extension LwM2MBootstrapServer: ServerMachine where Peer == SocketAddress {}

/// Runs the embedded Bootstrap-Server and LwM2M Server on one event loop, each on an
/// unconnected UDP socket, with one timer entry per machine, and reads the run's
/// `EmbeddedServerControlMessage`s on a third socket, on loopback. With DTLS, each server has a
/// `coaps://` socket too (`ServerDriver+DTLS.swift`).
public final class ServerDriver {
    public let loop: EventLoop
    public internal(set) var registrationServer: LwM2MRegistrationServer<SocketAddress>
    public internal(set) var bootstrapServer: LwM2MBootstrapServer<SocketAddress>
    public let serverAddress: SocketAddress
    public let bootstrapAddress: SocketAddress
    /// The `coaps://` addresses of the LwM2M Server and the Bootstrap-Server; nil without DTLS.
    public let dtlsServerAddress: SocketAddress?
    public let dtlsBootstrapAddress: SocketAddress?
    /// The control socket: on loopback whatever `host` is, as only this machine's run may use it.
    public let controlAddress: SocketAddress
    /// Every event the machines report, for the status line and the summary.
    public var observer: ((ServerEvent) -> Void)?
    private let serverSocket: UDPSocketID
    private let bootstrapSocket: UDPSocketID
    private let controlSocket: UDPSocketID
    let dtlsServerSocket: UDPSocketID?
    let dtlsBootstrapSocket: UDPSocketID?
    /// The DTLS sessions of both `coaps://` sockets; nil without DTLS.
    var dtlsPeers: ServerDTLSPeers?
    /// What the last call into a DTLS session produced, emptied after each.
    var dtlsRecords = DTLSOutput()
    var dtlsTimer: (handle: TimerHandle, deadline: Timestamp)?
    var serverOutput = ServerOutput<SocketAddress>()
    var bootstrapOutput = ServerOutput<SocketAddress>()
    private var timers: [(handle: TimerHandle, deadline: Timestamp)?] = [nil, nil]
    /// Datagrams the machines sent again because no ACK came.
    public private(set) var retransmissions = 0
    /// Fault injection (`ServerDriver+Faults.swift`); nil without faults.
    var faults: ServerFaults?
    var faultTimer = TimerHandle.unscheduled
    var faultTimerDeadline: Timestamp?
    /// Whether the LwM2M Server is down in a restart (`ServerDriver+Restart.swift`): it answers nothing.
    var isServerDown = false
    var restartDowntimeNanoseconds: UInt64 = 0
    /// Registrations the LwM2M Server held when it restarted, and lost.
    public internal(set) var registrationsLost = 0
    var restarts: UInt64 = 0

    static let serverTag: UInt64 = 1
    static let bootstrapTag: UInt64 = 2
    static let faultTag: UInt64 = 3
    static let restartTag: UInt64 = 4
    static let backUpTag: UInt64 = 5
    static let controlTag: UInt64 = 6
    static let dtlsServerTag: UInt64 = 7
    static let dtlsBootstrapTag: UInt64 = 8
    static let dtlsTimerTag: UInt64 = 9
    /// Tags from here on belong to the owner (status line, shutdown).
    public static let firstOwnerTag: UInt64 = 16

    /// Binds both sockets (four with `dtls`), then builds the machines. Where the bootstrap
    /// configuration keeps the built-in server URI, devices are sent to this process's own LwM2M
    /// Server, at the port it really got (which differs from the default when started on port 0):
    /// its `coaps://` address for settings that write a pre-shared key, when DTLS is on.
    /// Throws when a socket cannot be bound or a key file of `dtls` cannot be used.
    public init(
        loop: EventLoop, host: String, serverPort: UInt16, bootstrapPort: UInt16,
        registrationConfiguration: RegistrationServerConfiguration, bootstrapConfiguration: BootstrapServerConfiguration,
        dtls: EmbeddedDTLSConfiguration? = nil
    ) throws {
        self.loop = loop
        serverSocket = try loop.openUDPSocket(bindTo: try SocketAddress(ipAddress: host, port: serverPort), tag: Self.serverTag)
        bootstrapSocket = try loop.openUDPSocket(bindTo: try SocketAddress(ipAddress: host, port: bootstrapPort), tag: Self.bootstrapTag)
        // A registration storm arrives faster than one loop turn drains it: let the kernel queue it.
        try? loop.setBufferSizes(of: serverSocket, receiveBytes: 32 << 20, sendBytes: 32 << 20)
        try? loop.setBufferSizes(of: bootstrapSocket, receiveBytes: 32 << 20, sendBytes: 32 << 20)
        controlSocket = try loop.openUDPSocket(bindTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), tag: Self.controlTag)
        // Every device of a server-initiated arrival burst announces itself here.
        try? loop.setBufferSizes(of: controlSocket, receiveBytes: 8 << 20, sendBytes: 1 << 16)
        serverAddress = loop.localAddress(of: serverSocket)!
        bootstrapAddress = loop.localAddress(of: bootstrapSocket)!
        controlAddress = loop.localAddress(of: controlSocket)!

        var accountKeys: PreSharedKeySource?
        if let dtls {
            let keys = try EmbeddedServerKeys(dtls)
            dtlsPeers = ServerDTLSPeers(configuration: try DTLSServerConfiguration(keys: keys.serverKeys, seed: 3))
            accountKeys = keys.accountKeys
            let serverSocket = try loop.openUDPSocket(bindTo: try SocketAddress(ipAddress: host, port: dtls.serverPort), tag: Self.dtlsServerTag)
            let bootstrapSocket = try loop.openUDPSocket(
                bindTo: try SocketAddress(ipAddress: host, port: dtls.bootstrapPort), tag: Self.dtlsBootstrapTag)
            try? loop.setBufferSizes(of: serverSocket, receiveBytes: 32 << 20, sendBytes: 32 << 20)
            try? loop.setBufferSizes(of: bootstrapSocket, receiveBytes: 32 << 20, sendBytes: 32 << 20)
            (dtlsServerSocket, dtlsBootstrapSocket) = (serverSocket, bootstrapSocket)
            dtlsServerAddress = loop.localAddress(of: serverSocket)!
            dtlsBootstrapAddress = loop.localAddress(of: bootstrapSocket)!
        } else {
            (dtlsServerSocket, dtlsBootstrapSocket, dtlsServerAddress, dtlsBootstrapAddress) = (nil, nil, nil, nil)
        }

        var bootstrap = bootstrapConfiguration
        let builtIn = BootstrapServerConfiguration.Settings().serverURI
        let plain = "coap://\(serverAddress)"
        let secure = dtlsServerAddress.map { "coaps://\($0)" }
        func own(_ settings: BootstrapServerConfiguration.Settings) -> String {
            settings.preSharedKey ? secure ?? plain : plain
        }
        if bootstrap.defaults.serverURI == builtIn { bootstrap.defaults.serverURI = own(bootstrap.defaults) }
        for index in bootstrap.endpointRules.indices where bootstrap.endpointRules[index].settings.serverURI == builtIn {
            bootstrap.endpointRules[index].settings.serverURI = own(bootstrap.endpointRules[index].settings)
        }
        registrationServer = LwM2MRegistrationServer(configuration: registrationConfiguration, seed: 1)
        bootstrapServer = LwM2MBootstrapServer(configuration: bootstrap, seed: 2, preSharedKeys: accountKeys)
    }

    /// Takes over the loop's datagram and timer handlers; `ownerTimer` gets tags from `firstOwnerTag` on.
    public func install(ownerTimer: @escaping (_ tag: UInt64, _ now: UInt64) -> Void) {
        loop.datagramReceived = { [unowned self] _, tag, bytes, peer, now in
            // The run's control messages are no traffic of the servers: faults do not touch them.
            if faults != nil, tag != Self.controlTag {
                receiveThroughFaults(Array(bytes), socketTag: tag, from: peer, now: Timestamp(nanoseconds: now))
            } else {
                handle(Array(bytes), socketTag: tag, from: peer, now: Timestamp(nanoseconds: now))
            }
        }
        loop.timerFired = { [unowned self] tag, now in
            let time = Timestamp(nanoseconds: now)
            switch tag {
            case Self.serverTag:
                timers[0] = nil
                registrationServer.handleDeadline(now: time, output: &serverOutput)
            case Self.bootstrapTag:
                timers[1] = nil
                bootstrapServer.handleDeadline(now: time, output: &bootstrapOutput)
            case Self.faultTag:
                return releaseHeldDatagrams(now: time)
            case Self.dtlsTimerTag:
                dtlsTimer = nil
                handleDTLSDeadlines(now: time)
            case Self.restartTag:
                goDown()
            case Self.backUpTag:
                comeBack()
            default:
                return ownerTimer(tag, now)
            }
            flush()
        }
    }

    /// A control message of the run: a device waiting for a server-initiated bootstrap gets it now.
    private func receiveControl(_ datagram: [UInt8], now: Timestamp) {
        let message: EmbeddedServerControlMessage
        do {
            message = try EmbeddedServerControlMessage(datagram: datagram)
        } catch {
            bootstrapOutput.events.append(.refused(operation: "control-message", code: .badRequest, reason: "\(error)"))
            return
        }
        switch message {
        case .deviceWaiting(let endpoint, let address, let lwm2mVersion):
            do {
                let peer = try SocketAddress(hostAndPort: address)
                bootstrapServer.bootstrap(peer, endpoint: endpoint, lwm2mVersion: lwm2mVersion, now: now, output: &bootstrapOutput)
            } catch {
                bootstrapOutput.events.append(.refused(operation: "control-message", code: .badRequest, reason: "\(error)"))
            }
        }
    }

    /// A datagram for the machine behind the socket tagged `socketTag`.
    func handle(_ bytes: [UInt8], socketTag: UInt64, from peer: SocketAddress, now: Timestamp) {
        switch socketTag {
        case Self.serverTag:
            // A server down in a restart answers nothing.
            guard !isServerDown else { return }
            registrationServer.receive(bytes, from: peer, now: now, output: &serverOutput)
        case Self.bootstrapTag:
            bootstrapServer.receive(bytes, from: peer, now: now, output: &bootstrapOutput)
        case Self.dtlsServerTag:
            guard !isServerDown else { return }
            receiveDTLS(bytes, socketTag: socketTag, from: peer, now: now)
        case Self.dtlsBootstrapTag:
            receiveDTLS(bytes, socketTag: socketTag, from: peer, now: now)
        default:
            receiveControl(bytes, now: now)
        }
        flush()
    }

    /// The socket a tag names: the LwM2M Server's or the Bootstrap-Server's, plain or `coaps://`.
    func socket(tagged tag: UInt64) -> UDPSocketID {
        switch tag {
        case Self.serverTag: serverSocket
        case Self.dtlsServerTag: dtlsServerSocket!
        case Self.dtlsBootstrapTag: dtlsBootstrapSocket!
        default: bootstrapSocket
        }
    }

    /// Sends a datagram on the socket tagged `socketTag`, through the faults when there are any.
    func sendOnWire(_ bytes: [UInt8], socketTag: UInt64, to peer: SocketAddress, now: Timestamp) {
        if faults != nil {
            sendThroughFaults(bytes, socketTag: socketTag, to: peer, now: now)
        } else {
            loop.send(bytes, on: socket(tagged: socketTag), to: peer)
        }
    }

    func flush() {
        flush(&serverOutput, tag: Self.serverTag)
        flush(&bootstrapOutput, tag: Self.bootstrapTag)
        reschedule(0, registrationServer.nextDeadline, tag: Self.serverTag)
        reschedule(1, bootstrapServer.nextDeadline, tag: Self.bootstrapTag)
        settleDTLSTurn(now: Timestamp(nanoseconds: loop.now))
    }

    /// Sends what a machine sent: sealed by the peer's session for a peer that came over DTLS.
    private func flush(_ output: inout ServerOutput<SocketAddress>, tag: UInt64) {
        let now = Timestamp(nanoseconds: loop.now)
        let dtlsTag = tag == Self.serverTag ? Self.dtlsServerTag : Self.dtlsBootstrapTag
        for datagram in output.datagrams {
            if let slot = dtlsPeers?.slot(of: datagram.peer, on: dtlsTag) {
                seal(datagram.bytes, forPeerAt: slot, now: now)
            } else {
                sendOnWire(datagram.bytes, socketTag: tag, to: datagram.peer, now: now)
            }
        }
        retransmissions += output.retransmissions
        if let observer { output.events.forEach(observer) }
        output.removeAll()
    }

    private func reschedule(_ index: Int, _ deadline: Timestamp?, tag: UInt64) {
        if let current = timers[index] {
            guard current.deadline != deadline else { return }
            loop.cancel(current.handle)
            timers[index] = nil
        }
        if let deadline { timers[index] = (loop.schedule(at: deadline.nanoseconds, tag: tag), deadline) }
    }
}
