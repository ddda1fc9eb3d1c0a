import CoAP
import LwM2M

/// One simulated LwM2M device: its object store, its CoAP endpoints and its bootstrap and
/// registration state machine. Pure: events and `now` in, `ClientAction`s out.
///
/// The driver calls `start`, `receive` for each datagram from a role's socket, `handleDeadline`
/// once `nextDeadline` has passed, and `stop`; after each call it carries out the actions.
public struct LwM2MClient: Sendable {
    /// Where a device is in its life (TS Core 6.1, 6.2).
    public enum State: Sendable {
        case idle
        /// Server-initiated bootstrap: waiting ClientHoldOffTime for the Bootstrap-Server.
        case holdingOff(until: Timestamp)
        /// Bootstrap-Request sent (or the Bootstrap-Server started writing) and not finished.
        /// `askedByDevice`: the device sent Bootstrap-Request (client-initiated, or the fallback of
        /// a server-initiated device); `request` is that request until its answer came.
        case bootstrapping(startedAt: Timestamp, deadline: Timestamp, request: CoAPRequestID?, askedByDevice: Bool)
        case registering(RegisterInFlight)
        case registered(Registration)
        case deregistering(DeregisterInFlight)
        /// After a failure: what to try again, and when.
        case waiting(until: Timestamp, then: RetryStep)
        case stopped
    }

    /// What a device does once a wait after a failure ends.
    public enum RetryStep: Hashable, Sendable {
        case bootstrap
        case register
    }

    /// An acknowledged registration (TS Core 6.2.1).
    public struct Registration: Sendable {
        /// The Location-Path the server gave (`["rd", "5a3f"]`).
        public var location: RegistrationLocation
        public var binding: LwM2MBinding
        /// When the last Register or Update was acknowledged.
        public var refreshedAt: Timestamp
        /// When the Register was acknowledged: a device's session counts from there.
        public var registeredAt: Timestamp
        /// A hash of the object links last sent, so an Update carries them only when they changed.
        public var objectLinksHash: Int
        /// The Update in flight, out of line: a device is updating for a moment of its life, and
        /// inline it would cost every device 40 bytes.
        var updateInFlight: OutOfLine<UpdateInFlight>?
        /// Set by the Registration Update Trigger or an object-list change: send an Update now.
        public var updateRequested = false
        /// A Register was asked for while the Update was in flight: it goes once that Update ends
        /// (RFC 7252 4.7, NSTART = 1: one outstanding request per server).
        var registersWhenUpdateEnds = false
        // After the 8-byte fields, so that it packs with `updateRequested` instead of padding.
        public var lifetimeSeconds: UInt32

        /// An Update in flight, with when it started.
        public var update: (request: CoAPRequestID, startedAt: Timestamp)? {
            updateInFlight.map { ($0.value.request, $0.value.startedAt) }
        }
    }

    /// A Register sent and not answered yet.
    public struct RegisterInFlight: Sendable {
        public var startedAt: Timestamp
        public var request: CoAPRequestID
        /// Hash of the object links it carries, kept for its acknowledgement.
        var objectLinksHash: Int
        /// Requests from the server ignored meanwhile on a connection where the server held no
        /// registration: the Register's outcome tells whether they prove a violation.
        var ignoredRequests: [ServerViolation] = []
    }

    /// A De-register sent and not answered yet, with what it takes to send it again.
    public struct DeregisterInFlight: Sendable {
        public var startedAt: Timestamp
        public var request: CoAPRequestID
        var location: RegistrationLocation
        /// De-registers sent so far for this registration, the first one included.
        var attempt: UInt8 = 1
        /// A copy went out again (a CoAP retransmission or a new attempt): an earlier one may have
        /// removed the registration, and its answer been lost.
        var resent = false
    }

    /// An Update sent and not answered yet, and what it told the server: applied to the
    /// registration once it is acknowledged.
    struct UpdateInFlight: Sendable {
        var request: CoAPRequestID
        var startedAt: Timestamp
        var lifetimeSeconds: UInt32
        var binding: LwM2MBinding
        var objectLinksHash: Int
    }

    // Stored properties run from the widest to the narrowest, so the struct has no padding: a
    // fleet holds one per device.
    public let configuration: ClientConfiguration
    public internal(set) var store: ObjectStore
    public internal(set) var state: State = .idle
    /// Out of line: only a bootstrapping device has one, and inline it would cost every device 56 bytes.
    var bootstrapConnection: OutOfLine<BootstrapConnection>?
    var serverEndpoint: CoAPEndpoint?
    /// The server the device registers with (the first usable account after bootstrap), as the
    /// first element of the accounts it was read from: every untouched device of a profile then
    /// shares the profile's one array, where a copy would cost each device 68 bytes.
    var accountSource: [ServerAccount] = []
    var observations: [Observation] = []
    /// What the server wrote with Write-Attributes.
    var attributes = NotificationAttributeTable()
    /// The device's index in the fleet: its endpoint name and seed derive from it.
    public let index: UInt32
    /// Connections opened so far: each new endpoint gets fresh message IDs and tokens.
    var connections: UInt16 = 0
    /// Failed bootstraps in a row, for the back-off.
    var bootstrapFailures: UInt8 = 0
    /// Registration retries: attempt within the sequence, and sequences done (TS 1.1 6.2.1.1).
    var registrationAttempt: UInt8 = 0
    var registrationSequence: UInt8 = 0
    /// Stop was asked while a Register was in flight: De-register as soon as it is acknowledged,
    /// so no registration is left behind on the server.
    var deregisterWhenRegistered = false
    /// The De-register in flight ends a session that repeats: Register again once it is answered.
    var registersAgainAfterDeregister = false
    /// The Observe value sent last, by any observation (see `takeObserveValue`).
    var lastObserveValue: UInt32 = 0
    /// What the server can know of the device over the current server connection.
    var serverKnowledge = ServerKnowledge.noRegistration

    public init(configuration: ClientConfiguration, profile: DeviceProfile, index: UInt32, seed: UInt64) {
        self.configuration = configuration
        self.index = index
        store = ObjectStore(profile: profile, seed: seed ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
    }

    public var endpointName: String { configuration.endpointName(index: index) }

    /// The server the device registers with; nil before the first Register and after a bootstrap.
    var account: ServerAccount? { accountSource.first }

    /// The state without its data, as metrics, violation reports and the fleet's scheduler use it.
    public var deviceState: DeviceState {
        switch state {
        case .idle: .idle
        case .holdingOff: .holdingOff
        case .bootstrapping: .bootstrapping
        case .registering: .registering
        case .registered(let registration): registration.update == nil ? .registered : .updating
        case .deregistering: .deregistering
        case .waiting(_, .bootstrap): .waitingToBootstrap
        case .waiting(_, .register): .waitingToRegister
        case .stopped: .stopped
        }
    }

    /// The state's name (`registered`, `waiting-to-register`, ...).
    public var stateName: String { deviceState.name }

    public var isRegistered: Bool {
        if case .registered = state { return true }
        return false
    }

    // MARK: Events

    /// Starts the device: bootstrap, hold-off or registration, as its profile and configuration say.
    public mutating func start(now: Timestamp, actions: inout [ClientAction]) {
        guard case .idle = state else { return }
        switch configuration.bootstrapMode {
        case .clientInitiated:
            requestBootstrap(now: now, actions: &actions)
        case .serverInitiated:
            guard let bootstrap = store.bootstrapAccount else {
                return register(now: now, actions: &actions)
            }
            connect(.bootstrapServer, uri: bootstrap.serverURI, actions: &actions)
            let until = now.adding(milliseconds: UInt64(bootstrap.clientHoldOffSeconds) * 1000)
            transition(to: .holdingOff(until: until), actions: &actions)
        case .none:
            if store.serverAccounts.isEmpty, store.bootstrapAccount != nil {
                requestBootstrap(now: now, actions: &actions)
            } else {
                register(now: now, actions: &actions)
            }
        }
    }

    /// A datagram arrived on `role`'s socket.
    public mutating func receive(_ datagram: [UInt8], from role: ServerRole, now: Timestamp, actions: inout [ClientAction]) {
        var output = CoAPEndpointOutput()
        switch role {
        case .bootstrapServer:
            guard bootstrapConnection != nil else { return }
            bootstrapConnection!.value.endpoint.receive(datagram, now: now, output: &output)
        case .server:
            guard serverEndpoint != nil else { return }
            serverEndpoint!.receive(datagram, now: now, output: &output)
        }
        process(output, from: role, now: now, actions: &actions)
    }

    /// Retransmissions, timeouts, hold-off and retry ends, Updates and notifications that are due.
    public mutating func handleDeadline(now: Timestamp, actions: inout [ClientAction]) {
        for role in [ServerRole.bootstrapServer, .server] {
            var output = CoAPEndpointOutput()
            switch role {
            case .bootstrapServer:
                guard let deadline = bootstrapConnection?.value.endpoint.nextDeadline, deadline <= now else { continue }
                bootstrapConnection!.value.endpoint.handleDeadline(now: now, output: &output)
            case .server:
                guard let deadline = serverEndpoint?.nextDeadline, deadline <= now else { continue }
                serverEndpoint!.handleDeadline(now: now, output: &output)
            }
            process(output, from: role, now: now, actions: &actions)
        }
        if let closesAt = bootstrapConnection?.value.closesAt, closesAt <= now {
            disconnect(.bootstrapServer, actions: &actions)
        }
        switch state {
        case .holdingOff(let until) where until <= now:
            // Nobody wrote during ClientHoldOffTime: ask ourselves (TS Core 6.1.4).
            requestBootstrap(now: now, actions: &actions)
        case .bootstrapping(let startedAt, let deadline, _, _) where deadline <= now:
            bootstrapFailed(startedAt: startedAt, outcome: .timedOut, code: nil, now: now, actions: &actions)
        case .waiting(let until, let step) where until <= now:
            switch step {
            case .bootstrap: requestBootstrap(now: now, actions: &actions)
            case .register: register(now: now, actions: &actions)
            }
        case .registered(let registration) where sessionEnd(registration).map({ $0 <= now }) ?? false:
            stop(now: now, deregister: true, actions: &actions)
            registersAgainAfterDeregister = configuration.sessionRepeats
            return
        case .registered(let registration) where registration.update == nil:
            if registration.updateRequested || updateDeadline(registration) <= now {
                sendUpdate(now: now, actions: &actions)
            }
        default:
            break
        }
        notifyDueObservations(now: now, actions: &actions)
    }

    /// Ends the device: De-register when registered (TS Core 6.2.3), otherwise just stop.
    public mutating func stop(now: Timestamp, deregister: Bool, actions: inout [ClientAction]) {
        // Whoever stops the device ends a repeating session for good.
        registersAgainAfterDeregister = false
        if deregister, case .registering = state {
            deregisterWhenRegistered = true
            return
        }
        // A De-register in flight finishes on its own; cutting it off would lose its outcome.
        if case .deregistering = state { return }
        // So does an Update: De-register once it is answered.
        if deregister, case .registered(let registration) = state, registration.update != nil {
            deregisterWhenRegistered = true
            return
        }
        if deregister, case .registered(let registration) = state, serverEndpoint != nil {
            return sendDeregister(location: registration.location, startedAt: now, now: now, actions: &actions)
        }
        reportOperationCutOff(now: now, actions: &actions)
        finish(actions: &actions)
    }

    /// The operation in flight, if any, ends unanswered when the device stops: it counts as a
    /// timeout with its latency so far, so a run against a silent server cannot pass on nothing.
    mutating func reportOperationCutOff(now: Timestamp, actions: inout [ClientAction]) {
        guard let (operation, startedAt) = operationInFlight else { return }
        actions.append(.operationFinished(operation, .timedOut, code: nil, startedAt: startedAt))
    }

    /// The operation the device started and is waiting for, with when it started.
    public var operationInFlight: (operation: LwM2MOperation, startedAt: Timestamp)? {
        switch state {
        case .bootstrapping(let startedAt, _, _, let askedByDevice): (bootstrapOperation(askedByDevice: askedByDevice), startedAt)
        case .registering(let register): (.register, register.startedAt)
        case .deregistering(let deregister): (.deregister, deregister.startedAt)
        case .registered(let registration): registration.update.map { (.update, $0.startedAt) }
        default: nil
        }
    }

    /// The pre-shared key the device's Security object holds for its connection of `role` (the
    /// Bootstrap-Server account, or the account it registers with): what a Bootstrap-Server wrote
    /// (TS Core E.1, `/0/x/3` and `/0/x/5`). Nil when the account has none, as a preinstalled
    /// account of a fleet file leaves it to the group's `security:`.
    public func preSharedKey(for role: ServerRole) -> (identity: [UInt8], key: [UInt8])? {
        let instance = role == .bootstrapServer ? store.bootstrapAccount?.instanceID : account?.securityInstanceID
        return instance.flatMap { store.preSharedKey(securityInstance: $0) }
    }

    /// The driver could not open the socket for `role` (a host name it cannot resolve, no free
    /// port): the operation that needed it fails at once, as the state machine of that role says.
    public mutating func connectionFailed(_ role: ServerRole, now: Timestamp, actions: inout [ClientAction]) {
        switch (role, state) {
        case (.bootstrapServer, .bootstrapping(let startedAt, _, _, _)):
            bootstrapFailed(startedAt: startedAt, outcome: .failed, code: nil, now: now, actions: &actions)
        case (.bootstrapServer, .holdingOff):
            // Nothing can reach a device without its bootstrap socket: ask for bootstrap instead.
            disconnect(.bootstrapServer, actions: &actions)
            requestBootstrap(now: now, actions: &actions)
        case (.server, .registering(let register)):
            serverEndpoint = nil
            actions.append(.operationFinished(.register, .failed, code: nil, startedAt: register.startedAt))
            registrationFailed(now: now, actions: &actions)
        default:
            break
        }
    }

    /// `nextDeadline` for a device kept in a collection: being `mutating`, it reads the device
    /// where it lies, where the getter is handed a copy of the whole struct (retaining each of
    /// its references) by callers in other modules.
    public mutating func nextDeadlineWithoutCopy() -> Timestamp? {
        nextDeadline
    }

    /// The earliest time `handleDeadline` has work to do.
    public var nextDeadline: Timestamp? {
        var earliest: Timestamp?
        func consider(_ time: Timestamp?) {
            if let time, earliest.map({ time < $0 }) ?? true { earliest = time }
        }
        consider(bootstrapConnection?.value.endpoint.nextDeadline)
        consider(bootstrapConnection?.value.closesAt)
        consider(serverEndpoint?.nextDeadline)
        switch state {
        case .holdingOff(let until): consider(until)
        case .bootstrapping(_, let deadline, _, _): consider(deadline)
        case .waiting(let until, _): consider(until)
        case .registered(let registration):
            if registration.update == nil {
                consider(registration.updateRequested ? registration.refreshedAt : updateDeadline(registration))
            }
            consider(sessionEnd(registration))
        default: break
        }
        consider(nextObservationDeadline())
        return earliest
    }

    // MARK: Plumbing shared by the flows

    mutating func transition(to newState: State, actions: inout [ClientAction]) {
        if case .registering(let register) = state {
            // Left without the Register's outcome (the device stopped): nothing proves them.
            for ignored in register.ignoredRequests { actions.append(.violation(ignored)) }
        }
        let before = deviceState
        state = newState
        let after = deviceState
        if before != after { actions.append(.stateChanged(from: before, to: after)) }
    }

    mutating func connect(_ role: ServerRole, uri: String, actions: inout [ClientAction]) {
        connections &+= 1
        let seed = store.seed &+ UInt64(connections) &* 0x9E37_79B9_7F4A_7C15
        switch role {
        case .bootstrapServer:
            guard bootstrapConnection == nil else {
                // Still open after the last Finish: it serves this bootstrap now, and stays.
                bootstrapConnection!.value.closesAt = nil
                return
            }
            bootstrapConnection = OutOfLine(BootstrapConnection(
                endpoint: CoAPEndpoint(sharedParameters: configuration.sharedTransmission, seed: seed)))
        case .server:
            serverEndpoint = CoAPEndpoint(sharedParameters: configuration.sharedTransmission, seed: seed)
            serverKnowledge = .noRegistration
        }
        actions.append(.connect(role, uri: uri))
    }

    mutating func disconnect(_ role: ServerRole, actions: inout [ClientAction]) {
        switch role {
        case .bootstrapServer:
            guard bootstrapConnection != nil else { return }
            bootstrapConnection = nil
        case .server:
            guard serverEndpoint != nil else { return }
            serverEndpoint = nil
            observations.removeAll()
        }
        actions.append(.disconnect(role))
    }

    /// Sends a request through `role`'s endpoint; returns the ID its outcome will carry.
    mutating func send(_ request: CoAPMessage, to role: ServerRole, now: Timestamp, actions: inout [ClientAction]) -> CoAPRequestID {
        var output = CoAPEndpointOutput()
        let id: CoAPRequestID
        switch role {
        case .bootstrapServer: id = bootstrapConnection!.value.endpoint.send(request, now: now, output: &output)
        case .server: id = serverEndpoint!.send(request, now: now, output: &output)
        }
        for datagram in output.datagrams { actions.append(.send(role, datagram)) }
        return id
    }

    /// Carries out what an endpoint produced: datagrams out, then each event.
    mutating func process(_ output: CoAPEndpointOutput, from role: ServerRole, now: Timestamp, actions: inout [ClientAction]) {
        for datagram in output.datagrams { actions.append(.send(role, datagram)) }
        if role == .server, output.repliesRepeated > 0, case .toldOfBootstrap = serverKnowledge {
            // The server retransmitted the Bootstrap-Request Trigger (with NSTART = 1 it has nothing
            // else of ours to wait for): it learns the device bootstraps only from this answer, and
            // the time it cannot have given up runs from here.
            serverKnowledge = .toldOfBootstrap(answeredAtSecond: ServerKnowledge.second(of: now))
        }
        if output.retransmissions > 0 {
            actions.append(.retransmissions(output.retransmissions, of: retransmittedOperation(role)))
            if role == .server, case .deregistering(var deregister) = state {
                deregister.resent = true
                state = .deregistering(deregister)
            }
        }
        for event in output.events {
            switch event {
            case .request(let request):
                handleRequest(request, from: role, now: now, actions: &actions)
            case .response(let id, let response):
                handleOutcome(of: id, response: response, failure: nil, from: role, now: now, actions: &actions)
            case .failed(let id, let failure):
                handleOutcome(of: id, response: nil, failure: failure, from: role, now: now, actions: &actions)
            case .notificationFailed(let token, _):
                observations.removeAll { $0.token == token }
            case .rejected:
                break
            }
        }
    }

    /// What a retransmission on `role`'s socket repeats, by what the device waits for there: its
    /// one request in flight, or else a confirmable notification.
    func retransmittedOperation(_ role: ServerRole) -> LwM2MOperation {
        guard role == .server else { return operationInFlight?.operation ?? .bootstrap }
        return deviceState.operationInFlight ?? .notify
    }

    /// Answers a request delivered by `role`'s endpoint.
    mutating func respond(to request: CoAPIncomingRequest, with response: CoAPMessage, from role: ServerRole, now: Timestamp, actions: inout [ClientAction]) {
        var output = CoAPEndpointOutput()
        switch role {
        case .bootstrapServer: bootstrapConnection?.value.endpoint.respond(to: request, with: response, now: now, output: &output)
        case .server: serverEndpoint?.respond(to: request, with: response, now: now, output: &output)
        }
        for datagram in output.datagrams { actions.append(.send(role, datagram)) }
    }

    /// A response or failure for one of our requests, routed by what the state waits for.
    mutating func handleOutcome(
        of id: CoAPRequestID, response: CoAPMessage?, failure: CoAPRequestFailure?, from role: ServerRole,
        now: Timestamp, actions: inout [ClientAction]
    ) {
        let outcome: OperationOutcome = if let response {
            response.code.isSuccess ? .succeeded : .rejected
        } else {
            failure == .timeout ? .timedOut : .failed
        }
        switch state {
        case .bootstrapping(let startedAt, _, let request, _) where request == id:
            bootstrapRequestAnswered(startedAt: startedAt, outcome: outcome, code: response?.code, now: now, actions: &actions)
        case .registering(let register) where register.request == id:
            registrationAnswered(response, outcome: outcome, register: register, now: now, actions: &actions)
        case .registered(let registration) where registration.update?.request == id:
            updateAnswered(response, outcome: outcome, registration: registration, now: now, actions: &actions)
        case .deregistering(let deregister) where deregister.request == id:
            deregistrationAnswered(response, outcome: outcome, deregister: deregister, now: now, actions: &actions)
        default:
            break
        }
    }

    /// Closes every connection and stops for good.
    mutating func finish(actions: inout [ClientAction]) {
        disconnect(.bootstrapServer, actions: &actions)
        disconnect(.server, actions: &actions)
        transition(to: .stopped, actions: &actions)
    }
}
