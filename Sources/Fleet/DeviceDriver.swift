import CoAP
import DTLS
import EventLoop
import LwM2MClient

/// Runs client state machines on the event loop: gives each device's server roles a connected
/// UDP socket, its wake-ups a place in the loop's timer queue, and carries out its actions.
///
/// Devices live in one array of structs; a socket's tag and a timer's tag carry the device
/// index, so no device has an object, closure or task of its own (DESIGN.md).
public final class DeviceDriver {
    /// Called for every action a device produced that the driver does not carry out itself
    /// (operation outcomes, violations, state changes), for metrics.
    public var observer: ((_ device: Int, _ action: ClientAction, _ now: Timestamp) -> Void)?

    public let loop: EventLoop
    public internal(set) var devices: [LwM2MClient]
    /// Where device sockets bind: a loopback or host address (port chosen by the kernel).
    public let localAddress: SocketAddress
    /// Several source addresses lift the 64k-ports-per-address limit: device k binds to
    /// `sourceAddresses[sourceAddressOfDevice[k]]` when these are set.
    public var sourceAddresses: [SocketAddress] = []
    public var sourceAddressOfDevice: [UInt8] = []
    // Per device, with `UDPSocketID.notOpen` for a socket not open (an optional costs 4 bytes more).
    var sockets: [(bootstrap: UDPSocketID, server: UDPSocketID)]
    /// Per device and role: which server its last connection went to and whether it answered.
    private var contacts: [(bootstrap: PeerContact, server: PeerContact)]
    /// The server URIs devices connected to, indexed by `PeerContact.server`.
    private var serverURIs: [String] = []
    private var timers: [DeviceTimer]
    var actions: [ClientAction] = []
    private var hostNames = HostNameLookups()
    /// Fault injection (`DeviceDriver+Faults.swift`); nil when no group has faults, and then no
    /// device has any state for it.
    var faults: DeviceFaults?
    /// Datagrams devices sent that the faults hold, by the socket they leave from: a socket with
    /// some is closed only once they are out (`socketsClosingWhenSent`), as they left before.
    var upDatagramsHeld: [UDPSocketID: Int] = [:]
    var socketsClosingWhenSent: Set<UDPSocketID> = []
    /// The driver's timer for the held datagrams, and its deadline (`.max`: none).
    var faultTimer = TimerHandle.unscheduled
    var faultTimerDeadline = UInt64.max
    /// Sockets that could not be opened, by server URI and reason.
    public internal(set) var connectionFailures: [(server: String, reason: String)] = []
    /// DTLS sessions of `coaps://` connections, by socket tag (`DeviceDriver+DTLS.swift`): empty,
    /// and costing nothing, in a fleet without DTLS.
    var dtlsLinks: [UInt64: DeviceDTLSLink] = [:]
    public var dtlsParameters = DTLSParameters()
    /// Seeds the sessions' random bytes (the run's seed).
    public var dtlsSeed: UInt64 = 0
    /// The `security:` of groups of device slots: the key a device presents on a `coaps://`
    /// connection its Security object holds none for, whether it handshakes before each Update
    /// and whether it resumes its sessions. Empty: plain CoAP.
    public var security: [(devices: Range<Int>, security: DeviceSecurity)] = []
    /// The last session of each of their connections, by socket tag, saved when a handshake
    /// ended (`DTLSClientSession.resumableSession`, a few hundred bytes): the next handshake of
    /// that device and role resumes from it, across a closed connection and a churn too.
    var resumableDTLSSessions: [UInt64: [UInt8]] = [:]
    /// Bytes the handshakes' datagrams carried, by operation (`handshake`, `handshake-resumed`),
    /// counted when each handshake ends (`DeviceDTLSLink.handshakeBytes`).
    public internal(set) var handshakeBytes: [LwM2MOperation: (sent: UInt64, received: UInt64)] = [:]

    /// UDP payload bytes devices sent and received.
    public private(set) var bytesSent = 0
    public private(set) var bytesReceived = 0

    /// Tags above this are the owner's own timers, not device wake-ups.
    public static let firstOwnerTag = UInt64(1) << 40

    public init(loop: EventLoop, devices: [LwM2MClient], localAddress: SocketAddress) {
        self.loop = loop
        self.devices = devices
        self.localAddress = localAddress
        sockets = Array(repeating: (.notOpen, .notOpen), count: devices.count)
        contacts = Array(repeating: (PeerContact(), PeerContact()), count: devices.count)
        timers = Array(repeating: .unset, count: devices.count)
        loop.reserveCapacity(sockets: devices.count)
    }

    /// Routes the loop's datagrams and the device timers to this driver. `ownerTimer` receives
    /// the timers whose tag is at least `firstOwnerTag`.
    public func install(ownerTimer: @escaping (_ tag: UInt64, _ now: UInt64) -> Void) {
        loop.datagramReceived = { [unowned self] socket, tag, bytes, _, now in
            let (device, role) = Self.slot(ofTag: tag)
            guard device < devices.count else { return }
            bytesReceived += bytes.count
            if role == .server { contacts[device].server.answered = true } else { contacts[device].bootstrap.answered = true }
            if faults != nil {
                return receiveThroughFaults(Array(bytes), device: device, role: role, socket: socket, now: Timestamp(nanoseconds: now))
            }
            receiveAtDevice(Array(bytes), role: role, device: device, now: Timestamp(nanoseconds: now))
        }
        loop.timerFired = { [unowned self] tag, now in
            guard tag < Self.firstOwnerTag else { return ownerTimer(tag, now) }
            if tag == Self.faultTimerTag { return releaseHeldDatagrams(now: Timestamp(nanoseconds: now)) }
            let device = Int(tag)
            timers[device] = .unset
            handleDTLSDeadlines(of: device, now: Timestamp(nanoseconds: now))
            // The timer may be earlier than the device's deadline (see `reschedule`): then it only moves.
            if let deadline = devices[device].nextDeadlineWithoutCopy(), deadline.nanoseconds <= now {
                devices[device].handleDeadline(now: Timestamp(nanoseconds: now), actions: &actions)
            }
            carryOut(device: device, now: Timestamp(nanoseconds: now))
        }
    }

    public func start(device: Int, now: Timestamp) {
        devices[device].start(now: now, actions: &actions)
        carryOut(device: device, now: now)
    }

    /// Puts a fresh device in the slot of a stopped one (churn: the same device coming back).
    public func replace(device: Int, with client: LwM2MClient) {
        let now = Timestamp(nanoseconds: loop.now)
        close(.server, of: device, now: now)
        close(.bootstrapServer, of: device, now: now)
        devices[device] = client
        reschedule(device)
    }

    /// Makes a registered device send Register again on its open connection.
    public func registerAgain(device: Int, now: Timestamp) {
        devices[device].registerAgain(now: now, actions: &actions)
        carryOut(device: device, now: now)
    }

    public func stop(device: Int, deregister: Bool, now: Timestamp) {
        devices[device].stop(now: now, deregister: deregister, actions: &actions)
        carryOut(device: device, now: now)
    }

    /// Where the socket of `device` for `role` is bound: the address its server sees; nil while
    /// none is open.
    public func localAddress(of device: Int, role: ServerRole) -> SocketAddress? {
        let socket = role == .server ? sockets[device].server : sockets[device].bootstrap
        return socket == .notOpen ? nil : loop.localAddress(of: socket)
    }

    /// Sockets currently open for devices.
    public var openSockets: Int {
        sockets.reduce(0) { $0 + ($1.bootstrap == .notOpen ? 0 : 1) + ($1.server == .notOpen ? 0 : 1) }
    }

    func carryOut(device: Int, now: Timestamp) {
        // A socket that cannot be opened is an event of the device, whose actions come next.
        while !actions.isEmpty {
            // Take the actions out first: an observer may call back into the driver (a device
            // registering again, say), which must find an empty list, not these actions again.
            var current: [ClientAction] = []
            swap(&current, &actions)
            for action in current {
                switch action {
                case .connect(let role, let uri):
                    close(role, of: device, now: now)
                    open(role, of: device, uri: uri, now: now)
                case .disconnect(let role):
                    close(role, of: device, now: now)
                case .send(let role, let datagram):
                    sendFromDevice(datagram, role: role, device: device, now: now)
                case .operationFinished(let operation, .timedOut, _, _) where !dtlsLinks.isEmpty:
                    exchangeTimedOut(operation, of: device)
                    observer?(device, action, now)
                default:
                    observer?(device, action, now)
                }
            }
            // Hand the emptied buffer back so the next event appends without allocating.
            current.removeAll(keepingCapacity: true)
            if actions.isEmpty { swap(&current, &actions) }
        }
        parkIdleDTLS(of: device)
        reschedule(device)
    }

    static func tag(of device: Int, _ role: ServerRole) -> UInt64 {
        UInt64(device) << 1 | (role == .server ? 1 : 0)
    }

    /// The device and role a socket's tag stands for (`tag(of:_:)` the other way).
    static func slot(ofTag tag: UInt64) -> (device: Int, role: ServerRole) {
        (Int(tag >> 1), tag & 1 == 0 ? .bootstrapServer : .server)
    }

    /// Puts a datagram on the wire from the device's socket for `role` (through the faults), or
    /// holds it while the socket waits for a host name lookup.
    func transmit(_ datagram: [UInt8], role: ServerRole, device: Int, now: Timestamp) {
        let socket = self.socket(role, of: device)
        if socket != .notOpen {
            bytesSent += datagram.count
            if faults != nil { sendThroughFaults(datagram, role: role, device: device, now: now) } else { loop.send(datagram, on: socket) }
        } else if hostNames.isWaiting(Self.tag(of: device, role)) {
            hostNames.hold(datagram, for: Self.tag(of: device, role))
        }
    }

    private func open(_ role: ServerRole, of device: Int, uri: String, now: Timestamp) {
        let contact = PeerContact(server: serverIndex(of: uri), answered: false)
        if role == .server { contacts[device].server = contact } else { contacts[device].bootstrap = contact }
        do {
            // nil: a name a Bootstrap-Server wrote, looked up first; the socket opens once it answers.
            guard let socket = try connectedSocket(role, of: device, uri: uri) else { return }
            if role == .server { sockets[device].server = socket } else { sockets[device].bootstrap = socket }
            faults?.bound(device, globalIndex: devices[device].index, now: now)
            if (try? CoAPURI(uri))?.isSecure == true { startDTLS(role, of: device, uri: uri, now: now) }
        } catch {
            connectionFailures.append((uri, "\(error)"))
            // Not a silent server: no datagram could be sent to it.
            if role == .server { contacts[device].server = PeerContact() } else { contacts[device].bootstrap = PeerContact() }
            devices[device].connectionFailed(role, now: now, actions: &actions)
        }
    }

    /// Resolves `host` for the connections waiting for it, then opens them and sends what they held.
    private func lookUp(_ host: String) {
        loop.resolve(host: host, port: 0) { [unowned self] answer in
            let now = Timestamp(nanoseconds: loop.now)
            for (connection, held) in hostNames.record(answer, for: host) {
                let (device, role) = Self.slot(ofTag: connection.tag)
                open(role, of: device, uri: connection.uri, now: now)
                actions += held.map { .send(role, $0) }
                carryOut(device: device, now: now)
            }
        }
    }

    /// A new socket of the device for `role`, connected to `uri`; nil while the URI's host name
    /// is looked up (the connection then waits for the answer, see `lookUp`).
    func connectedSocket(_ role: ServerRole, of device: Int, uri: String) throws -> UDPSocketID? {
        let tag = Self.tag(of: device, role)
        let parsed = try CoAPURI(uri)
        let local = device < sourceAddressOfDevice.count ? sourceAddresses[Int(sourceAddressOfDevice[device])] : localAddress
        let remote: SocketAddress
        if let address = try? SocketAddress(ipAddress: parsed.host, port: parsed.port) {
            remote = address
        } else if let answer = hostNames.answer(for: parsed.host) {
            guard let address = HostNameLookups.address(among: try answer.get(), like: local, port: parsed.port) else {
                throw HostNameError(host: parsed.host, family: local.isIPv6 ? "IPv6" : "IPv4")
            }
            remote = address
        } else {
            if hostNames.wait(.init(tag: tag, uri: uri), for: parsed.host) { lookUp(parsed.host) }
            return nil
        }
        return try loop.openUDPSocket(bindTo: local, connectTo: remote, tag: tag)
    }

    /// The device's socket for `role`; `.notOpen` when it has none.
    func socket(_ role: ServerRole, of device: Int) -> UDPSocketID {
        role == .server ? sockets[device].server : sockets[device].bootstrap
    }

    /// The URI the device's connection of `role` went to last; nil before its first.
    func connectedURI(_ role: ServerRole, of device: Int) -> String? {
        let index = role == .server ? contacts[device].server.server : contacts[device].bootstrap.server
        return index == PeerContact.none ? nil : serverURIs[Int(index)]
    }

    private func serverIndex(of uri: String) -> UInt16 {
        if let index = serverURIs.firstIndex(of: uri) { return UInt16(index) }
        // Past 65,535 distinct servers, the rest share the last slot's name in the report.
        guard serverURIs.count < Int(UInt16.max) else { return UInt16.max - 1 }
        serverURIs.append(uri)
        return UInt16(serverURIs.count - 1)
    }

    /// Per server URI: devices whose last connection to it got no datagram back.
    public func unansweredDevicesByServer() -> [String: Int] {
        var counts: [String: Int] = [:]
        for contact in contacts {
            for peer in [contact.bootstrap, contact.server] where peer.server != PeerContact.none && !peer.answered {
                counts[serverURIs[Int(peer.server)], default: 0] += 1
            }
        }
        return counts
    }

    private func close(_ role: ServerRole, of device: Int, now: Timestamp) {
        hostNames.cancel(Self.tag(of: device, role))
        closeDTLS(role, of: device, now: now)
        if role == .server, sockets[device].server != .notOpen {
            closeAfterHeldDatagrams(sockets[device].server)
            sockets[device].server = .notOpen
        } else if role == .bootstrapServer, sockets[device].bootstrap != .notOpen {
            closeAfterHeldDatagrams(sockets[device].bootstrap)
            sockets[device].bootstrap = .notOpen
        }
    }

    /// Keeps one loop timer entry per device, at or before its next deadline.
    private func reschedule(_ device: Int) {
        let deadline = nextDeadline(of: device)
        let current = timers[device]
        if current.isSet {
            // A later deadline keeps the earlier timer, which then fires early and only moves:
            // every request pushes the retransmission deadline back, and moving the timer in the
            // queue on each of them cost more than the occasional early wake-up.
            if let deadline, deadline.nanoseconds >= current.deadline { return }
            loop.cancel(current.handle)
            timers[device] = .unset
        }
        if let deadline {
            timers[device] = DeviceTimer(handle: loop.schedule(at: deadline.nanoseconds, tag: UInt64(device)), deadline: deadline.nanoseconds)
        }
    }

    private func nextDeadline(of device: Int) -> Timestamp? {
        let own = devices[device].nextDeadlineWithoutCopy()
        guard let link = dtlsDeadline(of: device) else { return own }
        return own.map { min($0, link) } ?? link
    }
}

/// Which server a device's connection of one role went to last, and whether it ever answered.
private struct PeerContact {
    static let none = UInt16.max
    /// Index into `DeviceDriver.serverURIs`; `none` before the first connection.
    var server = PeerContact.none
    var answered = false
}

/// A device's one loop timer and the deadline it is set for; `unset` when it has no timer.
private struct DeviceTimer {
    var handle: TimerHandle
    var deadline: UInt64

    /// No timer: a deadline no timer ever has, where an optional would cost 8 bytes more.
    static let unset = DeviceTimer(handle: .unscheduled, deadline: .max)

    var isSet: Bool { deadline != .max }
}
