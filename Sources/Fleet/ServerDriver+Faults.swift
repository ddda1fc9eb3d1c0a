import CoAP
import EventLoop

// Fault injection where datagrams enter and leave the embedded servers (`ServerFaults`): the
// machines never know of it.
extension ServerDriver {
    /// Injects `impairment` into both servers' traffic from now on; `seed` is the run's.
    public func injectFaults(_ impairment: LinkImpairment, seed: UInt64) {
        guard !impairment.isNone else { return }
        faults = ServerFaults(impairment: impairment, seed: seed)
    }

    /// What fault injection did so far; nil without it.
    public var faultCounts: FaultCounts? { faults?.injector.counts }

    /// A datagram that reached one of the sockets, through the faults.
    func receiveThroughFaults(_ bytes: [UInt8], socketTag: UInt64, from peer: SocketAddress, now: Timestamp) {
        admit(ServerFaults.Datagram(socketTag: socketTag, peer: peer, direction: .up, bytes: bytes), now: now)
    }

    /// A datagram a machine sends, through the faults.
    func sendThroughFaults(_ bytes: [UInt8], socketTag: UInt64, to peer: SocketAddress, now: Timestamp) {
        admit(ServerFaults.Datagram(socketTag: socketTag, peer: peer, direction: .down, bytes: bytes), now: now)
    }

    /// Held datagrams whose time has come.
    func releaseHeldDatagrams(now: Timestamp) {
        faultTimerDeadline = nil
        var deliveries: [ServerFaults.Datagram] = []
        faults?.injector.releaseDue(now: now, deliveries: &deliveries)
        deliver(deliveries, now: now)
    }

    private func admit(_ datagram: ServerFaults.Datagram, now: Timestamp) {
        let fate = faults!.fateOfNextDatagram(datagram.direction)
        var deliveries: [ServerFaults.Datagram] = []
        faults!.injector.admit(datagram, on: datagram.link, direction: datagram.direction, fate: fate, now: now, deliveries: &deliveries)
        deliver(deliveries, now: now)
    }

    /// Sends what the machines sent, and gives the machines what reached their sockets.
    private func deliver(_ deliveries: [ServerFaults.Datagram], now: Timestamp) {
        for datagram in deliveries {
            switch datagram.direction {
            case .down: loop.send(datagram.bytes, on: socket(tagged: datagram.socketTag), to: datagram.peer)
            case .up: handle(datagram.bytes, socketTag: datagram.socketTag, from: datagram.peer, now: now)
            }
        }
        // After the machines ran: what they sent went through `admit` and may be held too.
        rescheduleFaultTimer()
    }

    /// Keeps the driver's fault timer at the injector's next deadline.
    private func rescheduleFaultTimer() {
        let deadline = faults?.injector.nextDeadline
        guard deadline != faultTimerDeadline else { return }
        if faultTimerDeadline != nil { loop.cancel(faultTimer) }
        faultTimerDeadline = deadline
        if let deadline { faultTimer = loop.schedule(at: deadline.nanoseconds, tag: Self.faultTag) }
    }
}
