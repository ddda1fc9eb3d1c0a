import CoAP
import LwM2M

// What the server asks of registered devices (LwM2M 1.1 TS Core 6.3, 6.4): after-registration
// requests, observations and their notifications, and the requests of misbehaving mode.
extension LwM2MRegistrationServer {
    /// Answers Register with 2.01 Created and Location-Path `rd/<id>`, then sends what follows a
    /// registration. The requests go behind the 2.01 in the same output, so the device has its
    /// acknowledgement before any of them: the rule this project checks servers for.
    mutating func sendCreated(
        _ request: CoAPIncomingRequest, registration number: UInt64, to peer: Peer, now: Timestamp,
        output: inout ServerOutput<Peer>
    ) {
        guard let stored = registrations[number] else { return }
        var created = CoAPMessage(type: .acknowledgement, code: .created)
        created.options.append(.locationPath, string: "rd")
        created.options.append(.locationPath, string: stored.registration.registrationID)
        respond(to: request, with: created, peer: peer, now: now, output: &output)

        let name = stored.registration.endpointName
        var requests: [(CoAPMessage, PendingRequest)] = []
        for action in configuration.afterRegistration
        where action.applies(to: name, isFirstRegistration: stored.isFirstRegistration) {
            requests.append(makeRequest(action, purpose: .action, registration: number, endpointName: name, now: now))
        }
        if configuration.violation == .duringBootstrap, stored.isFirstRegistration {
            let trigger = AfterRegistrationAction(.execute(Self.bootstrapRequestTrigger))
            requests.append(makeRequest(trigger, purpose: .bootstrapTrigger, registration: number, endpointName: name, now: now))
        }
        requestsInTurn[peer, default: []] += requests
        sendNextInTurn(to: peer, now: now, output: &output)
    }

    /// Sends the next after-registration request waiting for `peer` unless one is in flight: a
    /// device gets one request at a time (RFC 7252 4.7, NSTART = 1). A request whose registration
    /// ended meanwhile is dropped: the device it was for is not registered any more.
    mutating func sendNextInTurn(to peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>) {
        guard !peersAnswering.contains(peer) else { return }
        while var waiting = requestsInTurn[peer], !waiting.isEmpty {
            let next = waiting.removeFirst()
            requestsInTurn[peer] = waiting.isEmpty ? nil : waiting
            guard registrations[next.1.registration]?.peer == peer else { continue }
            peersAnswering.insert(peer)
            return send([next], to: peer, now: now, output: &output)
        }
    }

    /// `.beforeAcknowledgement` mode: an empty ACK for the Register, the violating requests, and
    /// the 2.01 Created only after the configured delay, as a separate response.
    mutating func acknowledgeThenViolate(
        _ request: CoAPIncomingRequest, registration number: UInt64, from peer: Peer, now: Timestamp,
        output: inout ServerOutput<Peer>
    ) {
        _ = withEndpoint(peer, output: &output) { endpoint, produced in
            endpoint.acknowledge(request, now: now, output: &produced)
        }
        sendViolations(registration: number, to: peer, now: now, output: &output)
        let delay = UInt64(configuration.violationAcknowledgementDelayMilliseconds)
        delayedCreated[number] = request
        schedule(.sendCreated(registration: number), for: peer, at: now.adding(milliseconds: delay))
    }

    /// Read /3/0 and Observe /3/0/9, sent while the device may not be asked anything.
    mutating func sendViolations(registration number: UInt64, to peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>) {
        guard let name = registrations[number]?.registration.endpointName else { return }
        let read = AfterRegistrationAction(.read(Self.deviceInstance))
        let observe = AfterRegistrationAction(.observe(Self.batteryLevel))
        let requests = [read, observe].map { action in
            makeRequest(action, purpose: .violation, registration: number, endpointName: name, now: now)
        }
        send(requests, to: peer, now: now, output: &output)
    }

    static var bootstrapRequestTrigger: LwM2MPath { LwM2MPath(objectID: 1, instanceID: 0, resourceID: 9) }
    static var deviceInstance: LwM2MPath { LwM2MPath(objectID: 3, instanceID: 0) }
    static var batteryLevel: LwM2MPath { LwM2MPath(objectID: 3, instanceID: 0, resourceID: 9) }

    /// A request with what its outcome will need; an Observe gets a token of the server's, the
    /// key its notifications will be matched by.
    mutating func makeRequest(
        _ action: AfterRegistrationAction, purpose: RequestPurpose, registration: UInt64, endpointName: String,
        now: Timestamp
    ) -> (CoAPMessage, PendingRequest) {
        var message = action.message
        var pending = PendingRequest(
            operation: action.operationName, purpose: purpose, registration: registration, endpointName: endpointName,
            sentAt: now, action: action)
        if message.observe == 0 {
            let token = CoAPToken(value: random.next(), length: 8)
            message.token = token
            pending.observationToken = token
        }
        return (message, pending)
    }

    /// Sends requests to a device through its endpoint and keeps each until its outcome.
    mutating func send(
        _ requests: [(CoAPMessage, PendingRequest)], to peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>
    ) {
        guard !requests.isEmpty else { return }
        var ids: [CoAPRequestID] = []
        _ = withEndpoint(peer, output: &output) { endpoint, produced in
            for (message, _) in requests { ids.append(endpoint.send(message, now: now, output: &produced)) }
        }
        for (id, (_, pending)) in zip(ids, requests) {
            pendingRequests[RequestKey(peer: peer, request: id)] = pending
            switch pending.purpose {
            case .violation:
                counters.violationsSent += 1
                output.events.append(.violationSent(operation: pending.operation, endpoint: pending.endpointName))
            case .action, .bootstrapTrigger:
                counters.operationsSent += 1
            }
        }
    }

    /// The response to one of our requests, or its failure (nil): reports the operation, and
    /// starts the observation an Observe asked for.
    mutating func requestEnded(_ key: RequestKey, response: CoAPMessage?, now: Timestamp, output: inout ServerOutput<Peer>) {
        guard let pending = pendingRequests.removeValue(forKey: key) else { return }
        if let response, let token = pending.observationToken, response.code.isSuccess, response.observe != nil {
            startObservation(token, peer: key.peer, registration: pending.registration)
        }
        switch pending.purpose {
        case .violation:
            if response != nil { counters.violationsAnswered += 1 }
        case .action, .bootstrapTrigger:
            let registrationLives = registrations[pending.registration]?.peer == key.peer
            if response == nil, registrationLives, pending.attempt < Self.requestAttempts {
                return askAgain(pending, to: key.peer, now: now, output: &output)
            }
            if response != nil {
                counters.operationsAnswered += 1
            } else if registrationLives {
                counters.operationsFailed += 1
                output.events.append(.requestUnanswered(operation: pending.operation, endpoint: pending.endpointName))
            } else {
                // The device registered anew, de-registered or expired: the request was for a
                // registration that is gone, and the new one gets its own.
                counters.operationsAbandoned += 1
            }
            if response != nil || registrationLives {
                output.events.append(.operationCompleted(
                    operation: pending.operation, endpoint: pending.endpointName, code: response?.code,
                    latencyNanoseconds: now.nanoseconds(since: pending.sentAt)))
            }
            if pending.purpose == .bootstrapTrigger, response?.code.isSuccess == true {
                // The device answered the Bootstrap-Request Trigger, so it is bootstrapping now.
                sendViolations(registration: pending.registration, to: key.peer, now: now, output: &output)
            }
            peersAnswering.remove(key.peer)
            sendNextInTurn(to: key.peer, now: now, output: &output)
        }
    }

    /// Requests sent for one after-registration action before the server gives up on it: a real
    /// server's operator would ask again, and at 20% loss each way one CoAP exchange in about 170
    /// ends unanswered (0.36^5), which would leave a Read of the fleet unanswered for no fault of
    /// the device.
    static var requestAttempts: UInt8 { 3 }

    /// Sends an after-registration request that got no answer again, as a new request: its latency
    /// still counts from the first one. The peer's turn (NSTART = 1) stays with it.
    mutating func askAgain(_ pending: PendingRequest, to peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>) {
        var (message, again) = makeRequest(
            pending.action, purpose: pending.purpose, registration: pending.registration, endpointName: pending.endpointName,
            now: now)
        again.sentAt = pending.sentAt
        again.attempt = pending.attempt + 1
        var id: CoAPRequestID?
        _ = withEndpoint(peer, output: &output) { endpoint, produced in
            id = endpoint.send(message, now: now, output: &produced)
        }
        if let id { pendingRequests[RequestKey(peer: peer, request: id)] = again }
        output.retransmissions += 1
    }

    mutating func startObservation(_ token: CoAPToken, peer: Peer, registration number: UInt64) {
        guard registrations[number]?.peer == peer else { return }
        registrations[number]?.observationTokens.append(token)
        observations[ObservationKey(peer: peer, token: token)] = Observation(registration: number)
        counters.observationsStarted += 1
    }

    /// Takes a notification (RFC 7641 4.2): a CON or NON response carrying the token of one of our
    /// observations. A CON one is acknowledged here; an error code or a missing Observe option ends
    /// the observation (RFC 7641 3.2). Returns false for anything else, which goes to the endpoint.
    mutating func receiveNotification(_ datagram: [UInt8], from peer: Peer, output: inout ServerOutput<Peer>) -> Bool {
        // Looked at in the header first, so requests and ACKs cost no second decode.
        guard datagram.count >= 4 else { return false }
        let type = (datagram[0] >> 4) & 0x3
        let tokenLength = Int(datagram[0] & 0x0F)
        let codeClass = datagram[1] >> 5
        guard type <= 1, (2...5).contains(codeClass), tokenLength <= 8, datagram.count >= 4 + tokenLength,
              let token = CoAPToken(bytes: datagram[4..<4 + tokenLength])
        else { return false }
        let key = ObservationKey(peer: peer, token: token)
        guard let observation = observations[key], case .success(let message) = CoAPMessage.decode(datagram) else { return false }
        if message.type == .confirmable {
            output.datagrams.append((peer, CoAPMessage.empty(.acknowledgement, messageID: message.messageID).encoded()))
        }
        guard observation.lastMessageID != message.messageID else { return true }
        counters.notificationsReceived += 1
        if message.code.isSuccess, message.observe != nil {
            observations[key]?.lastMessageID = message.messageID
        } else {
            observations[key] = nil
            registrations[observation.registration]?.observationTokens.removeAll { $0 == token }
        }
        return true
    }
}
