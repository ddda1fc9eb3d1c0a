import CoAP
import DTLS
import EventLoop

// The `coaps://` sockets of the embedded servers (issue 15): a datagram goes to the DTLS session
// of its peer, and the session's application data to the same machine as plain CoAP, with the
// peer's address; what a machine sends that peer goes out sealed by its session. The machines
// never know which of their peers speak DTLS.
extension ServerDriver {
    /// DTLS handshakes the `coaps://` sockets completed so far.
    public var handshakesCompleted: Int { dtlsPeers?.handshakes ?? 0 }

    /// Of `handshakesCompleted`, those that resumed a session from its ticket (abbreviated).
    public var handshakesResumed: Int { dtlsPeers?.resumedHandshakes ?? 0 }

    /// DTLS handshakes that failed so far, by reason (`bad_record_mac`, `timeout`, ...).
    public var handshakeFailures: [String: Int] { dtlsPeers?.handshakeFailures ?? [:] }

    /// DTLS sessions of the `coaps://` sockets parked now (established and idle, a few hundred
    /// bytes each), and live ones (handshaking, or waiting for their first application record).
    public var dtlsSessionsParked: Int { dtlsPeers?.sessionsParked ?? 0 }
    public var dtlsSessionsLive: Int { dtlsPeers?.sessionsLive ?? 0 }

    /// A datagram that reached a `coaps://` socket (after the faults).
    func receiveDTLS(_ bytes: [UInt8], socketTag: UInt64, from peer: SocketAddress, now: Timestamp) {
        guard let slot = dtlsPeers?.slotWithSession(for: peer, on: socketTag) else { return }
        dtlsPeers!.peers[slot].session!.receive(bytes, now: now, output: &dtlsRecords)
        settle(slot, now: now)
    }

    /// Sends what a machine sent to a DTLS peer inside its session; dropped when the session is
    /// not established (gone, or handshaking again), as the network would: CoAP sends it again.
    func seal(_ bytes: [UInt8], forPeerAt slot: Int, now: Timestamp) {
        guard let session = dtlsPeers!.peers[slot].session else { return }
        _ = session.send(bytes, now: now, output: &dtlsRecords)
        settle(slot, now: now)
    }

    /// Retransmits the handshake flights whose timers ran out, or fails those handshakes.
    func handleDTLSDeadlines(now: Timestamp) {
        while let slot = dtlsPeers?.popDue(now: now) {
            dtlsPeers!.peers[slot].session?.handleDeadline(now: now, output: &dtlsRecords)
            settle(slot, now: now)
        }
    }

    /// Acts on what the last call into the session of `slot` produced: its datagrams go on the
    /// wire, its application data into the machine behind its socket, its events into the counts.
    private func settle(_ slot: Int, now: Timestamp) {
        let peer = dtlsPeers!.peers[slot]
        for datagram in dtlsRecords.datagrams { sendOnWire(datagram, socketTag: peer.socketTag, to: peer.address, now: now) }
        let plaintexts = dtlsRecords.applicationData
        let events = dtlsRecords.events
        dtlsRecords.removeAll()
        dtlsPeers!.settle(slot, events: events, now: now)
        for plaintext in plaintexts {
            if peer.socketTag == Self.dtlsServerTag {
                registrationServer.receive(plaintext, from: peer.address, now: now, output: &serverOutput)
            } else {
                bootstrapServer.receive(plaintext, from: peer.address, now: now, output: &bootstrapOutput)
            }
        }
    }

    /// At the end of a turn, once the machines' answers are sealed and sent: parks the sessions
    /// idle long enough, and keeps the driver's DTLS timer at the sessions' earliest deadline.
    func settleDTLSTurn(now: Timestamp) {
        dtlsPeers?.parkIdleSessions(now: now)
        rescheduleDTLSTimer()
    }

    /// Keeps the driver's DTLS timer at the sessions' earliest handshake deadline.
    private func rescheduleDTLSTimer() {
        let deadline = dtlsPeers?.nextDeadline
        if let current = dtlsTimer {
            guard current.deadline != deadline else { return }
            loop.cancel(current.handle)
            dtlsTimer = nil
        }
        if let deadline { dtlsTimer = (loop.schedule(at: deadline.nanoseconds, tag: Self.dtlsTimerTag), deadline) }
    }
}
