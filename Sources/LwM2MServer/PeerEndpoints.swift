import CoAP
import HeapModule

/// What a server machine produced in one call: datagrams for peers, and events for counters.
public struct ServerOutput<Peer: Hashable & Sendable>: Sendable {
    public var datagrams: [(peer: Peer, bytes: [UInt8])] = []
    public var events: [ServerEvent] = []
    /// CON messages sent again because their ACK did not come in time.
    public var retransmissions = 0

    public init() {}

    public mutating func removeAll() {
        datagrams.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
        retransmissions = 0
    }
}

/// The CoAP endpoints of a server, one per peer address, and the one deadline queue over them.
///
/// Every operation is O(log n) in the number of peers: endpoints live in a hash map, and each
/// peer's next deadline sits in a min-heap, pushed only when it changes; stale heap entries are
/// skipped when popped. A server holding 200,000 registrations never scans them.
public struct PeerEndpoints<Peer: Hashable & Sendable>: Sendable {
    private struct Entry: Comparable, Sendable {
        var deadline: Timestamp
        var peer: Peer

        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.deadline < rhs.deadline }
        static func == (lhs: Entry, rhs: Entry) -> Bool { lhs.deadline == rhs.deadline }
    }

    private struct Slot: Sendable {
        var endpoint: CoAPEndpoint
        /// The deadline last pushed for this peer, so an unchanged one is not pushed again.
        var scheduled: Timestamp?
    }

    public var parameters: CoAPTransmissionParameters { sharedParameters.value }
    // One copy for every peer's endpoint.
    private let sharedParameters: SharedTransmissionParameters
    private var slots: [Peer: Slot] = [:]
    private var deadlines = Heap<Entry>()
    private var seed: UInt64

    public init(parameters: CoAPTransmissionParameters, seed: UInt64) {
        sharedParameters = SharedTransmissionParameters(parameters)
        self.seed = seed
    }

    public var count: Int { slots.count }

    /// Runs `body` on the peer's endpoint (created on first use), then reschedules its deadline.
    public mutating func with<Result>(_ peer: Peer, _ body: (inout CoAPEndpoint) -> Result) -> Result {
        var slot = slots.removeValue(forKey: peer) ?? {
            seed &+= 0x9E37_79B9_7F4A_7C15
            return Slot(endpoint: CoAPEndpoint(sharedParameters: sharedParameters, seed: seed), scheduled: nil)
        }()
        let result = body(&slot.endpoint)
        if let deadline = slot.endpoint.nextDeadline, slot.scheduled.map({ deadline < $0 }) ?? true {
            deadlines.insert(Entry(deadline: deadline, peer: peer))
            slot.scheduled = deadline
        }
        slots[peer] = slot
        return result
    }

    /// Forgets a peer (its endpoint state, and its pending deadlines once they come up).
    public mutating func remove(_ peer: Peer) {
        slots[peer] = nil
    }

    /// The earliest deadline any peer might have (it may turn out stale).
    public var nextDeadline: Timestamp? { deadlines.min?.deadline }

    /// Pops every peer whose deadline has come, each once, for the caller to run `handleDeadline` on.
    public mutating func duePeers(now: Timestamp) -> [Peer] {
        var due: [Peer] = []
        while let first = deadlines.min, first.deadline <= now {
            deadlines.removeMin()
            guard var slot = slots[first.peer], slot.scheduled == first.deadline else { continue }
            slot.scheduled = nil
            slots[first.peer] = slot
            due.append(first.peer)
        }
        return due
    }
}
