import CoAP
import EventLoop
import LwM2MClient

// Fault injection where datagrams enter and leave the devices (`DeviceFaults`): every datagram
// a device sends or receives passes the injector here, and no protocol code knows of it.
extension DeviceDriver {
    /// The timer of the held datagrams: above every device tag (device indices fit 32 bits),
    /// below the owner's tags.
    static let faultTimerTag = firstOwnerTag - 1

    /// Injects `faults` into the devices' traffic from now on.
    public func injectFaults(_ faults: DeviceFaults) {
        self.faults = faults
    }

    /// What fault injection did so far; nil without it.
    public var faultCounts: FaultCounts? { faults?.counts }

    /// A datagram that reached a device's socket, through its link's faults.
    func receiveThroughFaults(_ bytes: [UInt8], device: Int, role: ServerRole, socket: UDPSocketID, now: Timestamp) {
        // A socket kept open only for datagrams held on their way out (its device closed it or
        // moved to a new port): what reaches it is lost, as at a closed port.
        guard socket == self.socket(role, of: device) else { return }
        admit(DeviceFaults.Datagram(device: UInt32(device), role: role, direction: .down, socket: socket, bytes: bytes), now: now)
    }

    /// A datagram a device sends on its open socket for `role`, through its link's faults; its
    /// NAT mapping may have changed first.
    func sendThroughFaults(_ bytes: [UInt8], role: ServerRole, device: Int, now: Timestamp) {
        if faults!.needsRebinding(device, globalIndex: devices[device].index, now: now) { rebind(device) }
        admit(DeviceFaults.Datagram(device: UInt32(device), role: role, direction: .up, socket: socket(role, of: device), bytes: bytes), now: now)
    }

    /// Gives a datagram its fate and delivers what arrives at once.
    private func admit(_ datagram: DeviceFaults.Datagram, now: Timestamp) {
        let device = Int(datagram.device)
        let fate = faults!.fate(ofNextDatagramOf: device, globalIndex: devices[device].index, direction: datagram.direction)
        if datagram.direction == .up, !fate.isDropped {
            upDatagramsHeld[datagram.socket, default: 0] += fate.duplicateDelayNanoseconds == nil ? 1 : 2
        }
        var deliveries: [DeviceFaults.Datagram] = []
        faults!.injector.admit(datagram, on: datagram.link, direction: datagram.direction, fate: fate, now: now, deliveries: &deliveries)
        deliver(deliveries, now: now)
        rescheduleFaultTimer()
    }

    /// Closes a socket the device let go of, or, while datagrams it sent are held, once they are out.
    func closeAfterHeldDatagrams(_ socket: UDPSocketID) {
        if upDatagramsHeld[socket] != nil { socketsClosingWhenSent.insert(socket) } else { loop.close(socket) }
    }

    /// Moves the device's open sockets to new local ports, connected to the same servers, as a
    /// carrier NAT that gave it a new mapping: the servers see the same endpoint from a new
    /// address. The device's CoAP state stays as it is.
    private func rebind(_ device: Int) {
        var moved = false
        for role in [ServerRole.bootstrapServer, .server] {
            let old = socket(role, of: device)
            // A socket that cannot be opened (no free port) leaves the device on its old one.
            guard old != .notOpen, let uri = connectedURI(role, of: device),
                  let new = try? connectedSocket(role, of: device, uri: uri)
            else { continue }
            if role == .server { sockets[device].server = new } else { sockets[device].bootstrap = new }
            closeAfterHeldDatagrams(old)
            moved = true
        }
        if moved { faults!.countRebinding() }
    }

    /// Held datagrams whose time has come.
    func releaseHeldDatagrams(now: Timestamp) {
        faultTimerDeadline = .max
        var deliveries: [DeviceFaults.Datagram] = []
        faults?.injector.releaseDue(now: now, deliveries: &deliveries)
        deliver(deliveries, now: now)
        rescheduleFaultTimer()
    }

    /// Sends what devices sent, from the socket it left; gives devices what reached them, unless
    /// they let go of the socket it reached meanwhile.
    private func deliver(_ deliveries: [DeviceFaults.Datagram], now: Timestamp) {
        for datagram in deliveries {
            let device = Int(datagram.device)
            switch datagram.direction {
            case .up:
                loop.send(datagram.bytes, on: datagram.socket)
                sentFromHold(datagram.socket)
            case .down:
                guard datagram.socket == socket(datagram.role, of: device) else { continue }
                receiveAtDevice(datagram.bytes, role: datagram.role, device: device, now: now)
            }
        }
    }

    /// One datagram of `socket` left the hold; the last one closes a socket its device let go of.
    private func sentFromHold(_ socket: UDPSocketID) {
        guard let held = upDatagramsHeld[socket] else { return }
        if held > 1 {
            upDatagramsHeld[socket] = held - 1
            return
        }
        upDatagramsHeld[socket] = nil
        if socketsClosingWhenSent.remove(socket) != nil { loop.close(socket) }
    }

    /// Keeps the driver's one timer at or before the injector's next deadline; a timer left
    /// earlier fires, finds nothing due and moves.
    private func rescheduleFaultTimer() {
        guard let deadline = faults?.injector.nextDeadline?.nanoseconds, deadline < faultTimerDeadline else { return }
        if faultTimerDeadline != .max { loop.cancel(faultTimer) }
        faultTimer = loop.schedule(at: deadline, tag: Self.faultTimerTag)
        faultTimerDeadline = deadline
    }
}
