import CoAP
import DequeModule
import DTLS
import EventLoop

/// The DTLS server sessions of the embedded servers' `coaps://` sockets, one per peer and
/// socket, with their handshake retransmission timers in one queue (the driver keeps one loop
/// timer at its earliest deadline).
///
/// A peer keeps its slot for the whole run; its session is dropped when it fails or closes,
/// which frees its mbedTLS context (about 35 KB), and a new one is made for its next datagram.
/// An established session is parked once it has been idle for `parkAfterIdleNanoseconds` (a
/// few hundred bytes instead of the context; the next datagram either way loads it again), so
/// the live contexts are those of the handshakes running and of the peers served in the last
/// second, not one per device; and a bootstrap's or a registration's exchanges, milliseconds
/// apart, do not pay a save and a load (about 15 us) each.
struct ServerDTLSPeers {
    /// One peer of one `coaps://` socket.
    struct Peer {
        let socketTag: UInt64
        let address: SocketAddress
        var session: DTLSServerSession?
        var timer: (handle: TimerHandle, deadline: Timestamp)?
        /// When its established session was last used.
        var usedAt = Timestamp.zero
    }

    /// A peer's key: a client may use one address for both servers.
    private struct Key: Hashable {
        var socketTag: UInt64
        var address: SocketAddress
    }

    let configuration: DTLSServerConfiguration
    private(set) var peers: [Peer] = []
    private var slots: [Key: Int] = [:]
    /// Slot numbers as tags, due at the sessions' next deadlines.
    private var timers = TimerQueue()
    /// Slots whose established session was used, with when, oldest first (a slot used again
    /// appears again; the older entry is then skipped).
    private var used = Deque<(slot: Int, usedAt: Timestamp)>()
    /// How long an established session stays live after its last use.
    static let parkAfterIdleNanoseconds: UInt64 = 1_000_000_000
    /// Handshakes completed (resumed ones too), those of them that resumed a session from its
    /// ticket, and the failed ones by reason (`DTLSFailure.countName`).
    private(set) var handshakes = 0
    private(set) var resumedHandshakes = 0
    private(set) var handshakeFailures: [String: Int] = [:]

    init(configuration: DTLSServerConfiguration) {
        self.configuration = configuration
    }

    /// The slot of the peer at `address` on `socketTag`'s socket, if it ever sent a datagram there.
    func slot(of address: SocketAddress, on socketTag: UInt64) -> Int? {
        slots[Key(socketTag: socketTag, address: address)]
    }

    /// The slot of the peer, with a live session: made for a new peer, and anew for one whose
    /// last session failed or closed.
    mutating func slotWithSession(for address: SocketAddress, on socketTag: UInt64) -> Int {
        let key = Key(socketTag: socketTag, address: address)
        let slot: Int
        if let known = slots[key] {
            slot = known
        } else {
            slot = peers.count
            slots[key] = slot
            peers.append(Peer(socketTag: socketTag, address: address))
        }
        if peers[slot].session == nil {
            peers[slot].session = DTLSServerSession(configuration: configuration, transportID: Self.transportID(of: address))
        }
        return slot
    }

    /// The address bytes and the port: what the HelloVerifyRequest cookie binds the handshake to.
    private static func transportID(of address: SocketAddress) -> [UInt8] {
        Array(address.description.utf8)
    }

    /// Counts what a call into the session of `slot` reported, drops the session when it ended,
    /// and keeps its timer at its next deadline.
    mutating func settle(_ slot: Int, events: [DTLSEvent], now: Timestamp) {
        for event in events {
            switch event {
            case .established(_, let resumed):
                handshakes += 1
                if resumed { resumedHandshakes += 1 }
            case .failed(let failure): handshakeFailures[failure.countName, default: 0] += 1
            case .closedByPeer, .restartedByPeer: break
            }
        }
        switch peers[slot].session?.state {
        case .failed?, .closed?: peers[slot].session = nil
        case .established? where peers[slot].session?.isParked == false:
            peers[slot].usedAt = now
            used.append((slot, now))
        case .notStarted?, .handshaking?, .established?, nil: break
        }
        let deadline = peers[slot].session?.nextDeadline
        if let current = peers[slot].timer {
            guard current.deadline != deadline else { return }
            timers.cancel(current.handle)
            peers[slot].timer = nil
        }
        if let deadline { peers[slot].timer = (timers.schedule(at: deadline.nanoseconds, tag: UInt64(slot)), deadline) }
    }

    /// Parks the established sessions idle for `parkAfterIdleNanoseconds`. A server session
    /// that has not yet received an application record refuses (mbedTLS keeps its last flight
    /// until then, RFC 6347 4.2.4); that record brings it back here.
    mutating func parkIdleSessions(now: Timestamp) {
        while let oldest = used.first, oldest.usedAt.adding(nanoseconds: Self.parkAfterIdleNanoseconds) <= now {
            used.removeFirst()
            guard peers[oldest.slot].usedAt == oldest.usedAt else { continue }
            peers[oldest.slot].session?.park()
        }
    }

    /// Sessions parked now, and sessions with a live mbedTLS context (handshaking, or established
    /// and refused parking so far): a walk over every peer, for tests and the summary.
    var sessionsParked: Int { peers.count { $0.session?.isParked == true } }
    var sessionsLive: Int { peers.count { $0.session.map { !$0.isParked } ?? false } }

    /// The earliest handshake deadline of all sessions, or the next session to park.
    var nextDeadline: Timestamp? {
        let handshake = timers.nextDeadline.map { Timestamp(nanoseconds: $0) }
        guard let parking = used.first?.usedAt.adding(nanoseconds: Self.parkAfterIdleNanoseconds) else { return handshake }
        return handshake.map { min($0, parking) } ?? parking
    }

    /// The slot of a session whose deadline has come, taken off the queue; nil when none is due.
    mutating func popDue(now: Timestamp) -> Int? {
        guard let due = timers.popDue(now: now.nanoseconds) else { return nil }
        let slot = Int(due.tag)
        peers[slot].timer = nil
        return slot
    }

    /// Forgets the sessions of one socket's peers (a server that restarts loses them).
    mutating func dropSessions(on socketTag: UInt64) {
        for slot in peers.indices where peers[slot].socketTag == socketTag {
            peers[slot].session = nil
            if let timer = peers[slot].timer { timers.cancel(timer.handle) }
            peers[slot].timer = nil
        }
    }
}

extension DTLSFailure {
    /// The failure's name in counts: `handshake_failure`, `bad_record_mac`, `timeout`, ...
    var countName: String {
        switch self {
        case .handshakeFailure: "handshake_failure"
        case .unknownPSKIdentity: "unknown_psk_identity"
        case .badRecordMAC: "bad_record_mac"
        case .decryptError: "decrypt_error"
        case .timeout: "timeout"
        case .peerClosed: "peer_closed"
        case .alert(let number): "alert_\(number)"
        case .other(let code): "mbedtls_error_-0x\(String(-Int(code), radix: 16, uppercase: true))"
        }
    }
}
