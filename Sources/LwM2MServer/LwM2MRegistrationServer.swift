import CoAP
import HeapModule
import LwM2M

/// The embedded LwM2M Server: the Client Registration interface (LwM2M 1.1 TS Core 6.2) and the
/// requests it sends to registered devices (6.3, 6.4), sans I/O.
///
/// Feed it datagrams with `receive` and call `handleDeadline` once `nextDeadline` has passed; each
/// call appends the datagrams to send, per peer, and the events to report to a `ServerOutput`.
///
/// - Register `POST /rd?ep=..` with object links answers 2.01 Created, Location-Path `rd/<id>`;
///   a Register with the name of a registered endpoint replaces that registration.
/// - Update `POST /rd/<id>` answers 2.04, De-register `DELETE /rd/<id>` 2.02, an unknown id 4.04.
/// - A registration not updated within its lifetime plus `expiryGraceSeconds` is removed.
/// - After-registration requests go out only behind the 2.01 Created, never before it; each
///   outcome is reported with its latency from when the request was sent.
/// - Notifications of the observations devices accepted are taken before the CoAP endpoint
///   (which matches responses to open exchanges only), acknowledged when CON, and counted.
/// - `configuration.violation` breaks the rule above on purpose, as a test aid.
///
/// Nothing scans the registrations: they are found by id, endpoint name and peer in hash maps,
/// lifetimes run out from a min-heap, and stale heap entries are skipped when they come up, so
/// every call is O(1) amortized or O(log n) in the number of registrations.
public struct LwM2MRegistrationServer<Peer: Hashable & Sendable>: Sendable {
    public let configuration: RegistrationServerConfiguration
    var peers: PeerEndpoints<Peer>
    var registrations: [UInt64: Stored] = [:]
    var registrationByEndpoint: [String: UInt64] = [:]
    /// The registration each peer address made last.
    var registrationByPeer: [Peer: UInt64] = [:]
    var expiries = Heap<ExpiryEntry>()
    var tasks = Heap<ScheduledTask>()
    var taskSequence: UInt64 = 0
    var pendingRequests: [RequestKey: PendingRequest] = [:]
    /// After-registration requests waiting for the one in flight to the same peer to end: one
    /// outstanding request per device (RFC 7252 4.7, NSTART = 1).
    var requestsInTurn: [Peer: [(CoAPMessage, PendingRequest)]] = [:]
    /// Peers with an after-registration request in flight.
    var peersAnswering: Set<Peer> = []
    /// Registers waiting for their delayed 2.01 in `.beforeAcknowledgement` mode, by registration;
    /// kept out of the task heap so that its entries stay small to move.
    var delayedCreated: [UInt64: CoAPIncomingRequest] = [:]
    var observations: [ObservationKey: Observation] = [:]
    /// Object links already read, by text and version: devices of a fleet send a handful of
    /// distinct payloads, so their registrations share one parsed copy.
    var objectLinksCache: [ObjectLinksKey: RegistrationPayload] = [:]
    var nextRegistrationNumber: UInt64
    var random: SeededRandom
    public internal(set) var counters = RegistrationServerCounters()

    public init(configuration: RegistrationServerConfiguration, seed: UInt64) {
        self.configuration = configuration
        peers = PeerEndpoints(parameters: configuration.transmission, seed: seed)
        random = SeededRandom(seed: seed ^ 0x5245_4749_5354_4552)
        // Four-character ids from a seeded start, so a restarted server does not hand a device
        // the location another device held before the restart.
        nextRegistrationNumber = 46_656 + random.next() % 1_000_000
    }

    public var registrationCount: Int { registrations.count }

    /// The registration of `endpoint`, nil when it has none.
    public func registration(endpoint: String) -> ServerRegistration? {
        registrationByEndpoint[endpoint].flatMap { registrations[$0]?.registration }
    }

    // MARK: Events

    /// Processes one datagram from `peer`.
    public mutating func receive(_ datagram: [UInt8], from peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>) {
        // A notification answers an exchange that has ended, so the endpoint would refuse it.
        if !observations.isEmpty, receiveNotification(datagram, from: peer, output: &output) { return }
        let events = withEndpoint(peer, output: &output) { endpoint, produced in
            endpoint.receive(datagram, now: now, output: &produced)
        }
        process(events, from: peer, now: now, output: &output)
    }

    /// Delayed 2.01 responses, lifetime expiries, CON retransmissions and request timeouts that are due.
    public mutating func handleDeadline(now: Timestamp, output: inout ServerOutput<Peer>) {
        runDueTasks(now: now, output: &output)
        expireDueRegistrations(now: now, output: &output)
        for peer in peers.duePeers(now: now) {
            let events = withEndpoint(peer, output: &output) { endpoint, produced in
                endpoint.handleDeadline(now: now, output: &produced)
            }
            process(events, from: peer, now: now, output: &output)
        }
    }

    /// The earliest time `handleDeadline` may have work to do (possibly a little early).
    public var nextDeadline: Timestamp? {
        var earliest = peers.nextDeadline
        if let expiry = expiries.min?.deadline, earliest.map({ expiry < $0 }) ?? true { earliest = expiry }
        if let task = tasks.min?.time, earliest.map({ task < $0 }) ?? true { earliest = task }
        return earliest
    }

    // MARK: Plumbing

    /// Runs `body` on the peer's endpoint, moves what it sent into `output`, and returns its events.
    mutating func withEndpoint(
        _ peer: Peer, output: inout ServerOutput<Peer>, _ body: (inout CoAPEndpoint, inout CoAPEndpointOutput) -> Void
    ) -> [CoAPEndpointEvent] {
        var produced = CoAPEndpointOutput()
        peers.with(peer) { body(&$0, &produced) }
        for datagram in produced.datagrams { output.datagrams.append((peer, datagram)) }
        output.retransmissions += produced.retransmissions
        return produced.events
    }

    mutating func process(_ events: [CoAPEndpointEvent], from peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>) {
        for event in events {
            switch event {
            case .request(let request):
                handleRequest(request, from: peer, now: now, output: &output)
            case .response(let id, let response):
                requestEnded(RequestKey(peer: peer, request: id), response: response, now: now, output: &output)
            case .failed(let id, _):
                requestEnded(RequestKey(peer: peer, request: id), response: nil, now: now, output: &output)
            case .rejected:
                counters.rejectedMessages += 1
            case .notificationFailed:
                // This server observes nothing of its own, so it sends no notifications.
                break
            }
        }
    }

    /// Sends an answer to a request `peer` sent.
    mutating func respond(
        to request: CoAPIncomingRequest, with response: CoAPMessage, peer: Peer, now: Timestamp,
        output: inout ServerOutput<Peer>
    ) {
        _ = withEndpoint(peer, output: &output) { endpoint, produced in
            endpoint.respond(to: request, with: response, now: now, output: &produced)
        }
    }

    mutating func schedule(_ work: ScheduledTask.Work, for peer: Peer, at time: Timestamp) {
        taskSequence &+= 1
        tasks.insert(ScheduledTask(time: time, sequence: taskSequence, peer: peer, work: work))
    }

    /// Drops the CoAP state of a peer that holds no registration once EXCHANGE_LIFETIME has
    /// passed, so that retransmissions until then still get the answer they got the first time.
    mutating func scheduleForgetting(_ peer: Peer, now: Timestamp) {
        schedule(.forgetPeer, for: peer, at: now.adding(nanoseconds: configuration.transmission.exchangeLifetimeNanoseconds))
    }

    mutating func runDueTasks(now: Timestamp, output: inout ServerOutput<Peer>) {
        while let task = tasks.min, task.time <= now {
            tasks.removeMin()
            switch task.work {
            case .sendCreated(let number):
                guard let request = delayedCreated.removeValue(forKey: number) else { continue }
                sendCreated(request, registration: number, to: task.peer, now: now, output: &output)
            case .forgetPeer:
                guard registrationByPeer[task.peer] == nil else { continue }
                if peers.with(task.peer, { $0.isIdle }) {
                    peers.remove(task.peer)
                } else {
                    scheduleForgetting(task.peer, now: now)
                }
            }
        }
    }

    // MARK: Registrations

    /// When a registration is removed unless refreshed: its lifetime end plus the grace.
    func removalDeadline(of registration: ServerRegistration) -> Timestamp {
        registration.expiresAt.adding(milliseconds: UInt64(configuration.expiryGraceSeconds) * 1000)
    }

    /// Removes registrations whose removal deadline passed; an entry whose registration was
    /// refreshed since is pushed again at the new deadline instead.
    mutating func expireDueRegistrations(now: Timestamp, output: inout ServerOutput<Peer>) {
        while let entry = expiries.min, entry.deadline <= now {
            expiries.removeMin()
            guard let stored = registrations[entry.number], stored.scheduledRemoval == entry.deadline else { continue }
            let removal = removalDeadline(of: stored.registration)
            if removal > now {
                registrations[entry.number]?.scheduledRemoval = removal
                expiries.insert(ExpiryEntry(deadline: removal, number: entry.number))
                continue
            }
            removeRegistration(entry.number, now: now)
            counters.expired += 1
            output.events.append(.expired(endpoint: stored.registration.endpointName))
        }
    }

    /// Forgets a registration with its observations; its location answers 4.04 from now on.
    @discardableResult
    mutating func removeRegistration(_ number: UInt64, now: Timestamp) -> Stored? {
        guard let stored = registrations.removeValue(forKey: number) else { return nil }
        delayedCreated[number] = nil
        if registrationByEndpoint[stored.registration.endpointName] == number {
            registrationByEndpoint[stored.registration.endpointName] = nil
        }
        if registrationByPeer[stored.peer] == number {
            registrationByPeer[stored.peer] = nil
            requestsInTurn[stored.peer] = nil
            scheduleForgetting(stored.peer, now: now)
        }
        for token in stored.observationTokens {
            observations[ObservationKey(peer: stored.peer, token: token)] = nil
        }
        return stored
    }

    /// The registration number behind a location id; nil for text this server never gives out.
    static func registrationNumber(_ registrationID: String) -> UInt64? {
        guard let number = UInt64(registrationID, radix: 36), String(number, radix: 36) == registrationID else { return nil }
        return number
    }
}

extension LwM2MRegistrationServer {
    /// A registration and what the server keeps with it.
    struct Stored: Sendable {
        var registration: ServerRegistration
        /// The address the Register or the last Update came from; requests go there.
        var peer: Peer
        /// The deadline pushed on the expiry heap for this registration; other entries are stale.
        var scheduledRemoval: Timestamp
        /// Whether the endpoint had no registration when this one was made.
        var isFirstRegistration: Bool
        /// Tokens of the observations the device accepted.
        var observationTokens: [CoAPToken] = []
    }

    /// When a registration's lifetime (plus grace) runs out.
    struct ExpiryEntry: Comparable, Sendable {
        var deadline: Timestamp
        var number: UInt64

        static func < (lhs: ExpiryEntry, rhs: ExpiryEntry) -> Bool { lhs.deadline < rhs.deadline }
        static func == (lhs: ExpiryEntry, rhs: ExpiryEntry) -> Bool { lhs.deadline == rhs.deadline }
    }

    /// Work the server does later by itself, in time order (ties in scheduling order).
    struct ScheduledTask: Comparable, Sendable {
        enum Work: Sendable {
            /// The delayed 2.01 Created of `.beforeAcknowledgement` mode.
            case sendCreated(registration: UInt64)
            /// Drop the CoAP state of a peer that no longer holds a registration.
            case forgetPeer
        }

        var time: Timestamp
        var sequence: UInt64
        var peer: Peer
        var work: Work

        static func < (lhs: ScheduledTask, rhs: ScheduledTask) -> Bool {
            lhs.time == rhs.time ? lhs.sequence < rhs.sequence : lhs.time < rhs.time
        }

        static func == (lhs: ScheduledTask, rhs: ScheduledTask) -> Bool {
            lhs.time == rhs.time && lhs.sequence == rhs.sequence
        }
    }

    /// A request this server sent, by the peer's endpoint and the endpoint's request ID.
    struct RequestKey: Hashable, Sendable {
        var peer: Peer
        var request: CoAPRequestID
    }

    /// Why a request went to a device, for what its outcome reports.
    enum RequestPurpose: Hashable, Sendable {
        /// A configured after-registration action.
        case action
        /// The Execute /1/0/9 of `.duringBootstrap` mode, whose answer sets off the violations.
        case bootstrapTrigger
        /// A request sent against the rule in misbehaving mode.
        case violation
    }

    /// A request this server sent and has no outcome for yet.
    struct PendingRequest: Sendable {
        var operation: String
        var purpose: RequestPurpose
        var registration: UInt64
        var endpointName: String
        var sentAt: Timestamp
        /// The token of an Observe request: a success response starts an observation with it.
        var observationToken: CoAPToken?
        /// What was asked, to ask it again when no answer came (`requestAttempts`).
        var action: AfterRegistrationAction
        /// Requests sent for this action so far, the first one included.
        var attempt: UInt8 = 1
    }

    /// An observation, by the peer notifications come from and its token.
    struct ObservationKey: Hashable, Sendable {
        var peer: Peer
        var token: CoAPToken
    }

    struct Observation: Sendable {
        var registration: UInt64
        /// The message ID of the last notification, so a retransmitted one is counted once.
        var lastMessageID: UInt16?
    }

    struct ObjectLinksKey: Hashable, Sendable {
        var text: String
        var lwm2mVersion: LwM2MVersion
    }
}

/// What the registration server has done since it started, for status lines and tests.
public struct RegistrationServerCounters: Hashable, Sendable {
    public var registered = 0
    public var updated = 0
    public var deregistered = 0
    public var expired = 0
    /// Registrations replaced by a new Register with the same endpoint name.
    public var replaced = 0
    /// Requests answered with an error (Register, Update, De-register, or a path not served).
    public var refused = 0
    /// After-registration requests sent, answered (with any code), and ended without a response.
    public var operationsSent = 0
    public var operationsAnswered = 0
    /// After-registration requests unanswered in all their attempts while the registration lived.
    public var operationsFailed = 0
    /// Ones that went unanswered once their registration was gone (replaced, de-registered, expired).
    public var operationsAbandoned = 0
    /// Observations the devices accepted, and the notifications they sent for them.
    public var observationsStarted = 0
    public var notificationsReceived = 0
    /// Requests sent against the rule in misbehaving mode, and how many the devices answered anyway.
    public var violationsSent = 0
    public var violationsAnswered = 0
    /// Datagrams the CoAP layer refused: malformed, with a bad option, or matching nothing sent.
    public var rejectedMessages = 0

    public init() {}
}
