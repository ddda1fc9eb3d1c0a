import CoAP
import LwM2M

// Register, Update and their retries (LwM2M 1.1 TS Core 6.2).
extension LwM2MClient {
    /// Sends Register to the first LwM2M Server account; without one, bootstraps. A registered
    /// device with an Update in flight sends it once that Update ends (RFC 7252 4.7: NSTART = 1).
    mutating func register(now: Timestamp, actions: inout [ClientAction]) {
        observations.removeAll()
        if case .registered(var registration) = state, let endpoint = serverEndpoint, endpoint.requestsInFlight > 0 {
            registration.registersWhenUpdateEnds = true
            state = .registered(registration)
            return
        }
        // The account read last stays valid until a bootstrap or a Write to the Server object
        // (which reset or refresh it); reading it from the store costs more than the Register.
        let isFreshlyRead = accountSource.isEmpty
        if isFreshlyRead { accountSource = store.serverAccounts }
        guard let account else {
            if store.bootstrapAccount != nil { return requestBootstrap(now: now, actions: &actions) }
            actions.append(.operationFinished(.register, .failed, code: nil, startedAt: now))
            return finish(actions: &actions)
        }
        // An account read again (after a bootstrap) gets a new connection, even to the same URI.
        if serverEndpoint == nil || isFreshlyRead {
            disconnect(.server, actions: &actions)
            connect(.server, uri: account.serverURI, actions: &actions)
        }
        var request = CoAPMessage(type: .confirmable, code: .post)
        request.options.reserveCapacity(options: 8, bytes: 64)
        request.options.append(.uriPath, string: "rd")
        // The same items RegistrationParameters writes, `ep` first; only `ep` differs between devices.
        request.options.append(.uriQuery, string: "ep=" + endpointName)
        let binding = configuration.binding(for: account)
        for item in configuration.registerQueryTail(lifetimeSeconds: account.lifetimeSeconds, binding: binding) {
            request.options.append(.uriQuery, string: item)
        }
        request.options.append(.contentFormat, uint: UInt64(LwM2MContentFormat.linkFormat.rawValue))
        let links = registrationLinks
        request.payload = links.bytes[...]
        let id = send(request, to: .server, now: now, actions: &actions)
        transition(to: .registering(RegisterInFlight(startedAt: now, request: id, objectLinksHash: links.hash)), actions: &actions)
    }

    /// Registers again now, over the same connection, as a device that rebooted would (a
    /// registration storm; the capacity benchmarks use it to register at full speed).
    public mutating func registerAgain(now: Timestamp, actions: inout [ClientAction]) {
        guard isRegistered else { return }
        register(now: now, actions: &actions)
    }

    /// The Register payload: every object but Security (and OSCORE) with its instances (TS Core 6.2.1).
    var registrationLinks: RegistrationLinks {
        let instanceKeys = store.instanceKeys
        let key = RegistrationLinks.Key(instanceKeys: instanceKeys, lwm2mVersion: configuration.lwm2mVersion)
        return store.profile.registrationLinks.value(for: key) {
            // Built once per key, so reading the store again costs nothing that matters.
            let objects = store.objectIDs.filter { $0 != 0 && $0 != 21 }.map { objectID in
                let version = store.model.object(objectID).flatMap { LwM2MVersion($0.objectVersion) } ?? .v1_0
                return RegistrationPayload.SupportedObject(id: objectID, version: version, instanceIDs: store.instanceIDs(of: objectID))
            }
            return RegistrationLinks(text: RegistrationPayload(lwm2mVersion: configuration.lwm2mVersion, objects: objects).text)
        }
    }

    mutating func registrationAnswered(
        _ response: CoAPMessage?, outcome: OperationOutcome, register: RegisterInFlight, now: Timestamp, actions: inout [ClientAction]
    ) {
        settleIgnoredRequests(of: register, response: response, actions: &actions)
        actions.append(.operationFinished(.register, outcome, code: response?.code, startedAt: register.startedAt))
        guard let response, response.code == .created, let account else {
            if deregisterWhenRegistered {
                deregisterWhenRegistered = false
                return finish(actions: &actions)
            }
            return registrationFailed(now: now, actions: &actions)
        }
        registrationAttempt = 0
        registrationSequence = 0
        let registration = Registration(
            location: RegistrationLocation(of: response), binding: configuration.binding(for: account),
            refreshedAt: now, registeredAt: now, objectLinksHash: register.objectLinksHash, lifetimeSeconds: account.lifetimeSeconds)
        transition(to: .registered(registration), actions: &actions)
        deregisterIfAsked(now: now, actions: &actions)
    }

    /// The De-register that `stop` put off until the Register or Update in flight was answered;
    /// a session that repeats still repeats after it.
    mutating func deregisterIfAsked(now: Timestamp, actions: inout [ClientAction]) {
        guard deregisterWhenRegistered else { return }
        deregisterWhenRegistered = false
        let registerAgain = registersAgainAfterDeregister
        stop(now: now, deregister: true, actions: &actions)
        registersAgainAfterDeregister = registerAgain
    }

    /// Retries per the Server object (TS 1.1 6.2.1.1): Communication Retry Count attempts spaced by
    /// Communication Retry Timer × 2^(attempt-1), then Sequence Delay Timer between Sequence Retry
    /// Count sequences, then bootstrap when Bootstrap on Registration Failure is set.
    mutating func registrationFailed(now: Timestamp, actions: inout [ClientAction]) {
        guard let account else { return finish(actions: &actions) }
        registrationAttempt += 1
        if registrationAttempt < max(account.communicationRetryCount, 1) {
            let delay = UInt64(account.communicationRetryTimerSeconds) << UInt64(min(registrationAttempt - 1, 20))
            return transition(to: .waiting(until: now.adding(milliseconds: delay * 1000), then: .register), actions: &actions)
        }
        registrationAttempt = 0
        registrationSequence += 1
        if registrationSequence < max(account.sequenceRetryCount, 1) {
            let delay = UInt64(account.sequenceDelayTimerSeconds)
            return transition(to: .waiting(until: now.adding(milliseconds: delay * 1000), then: .register), actions: &actions)
        }
        registrationSequence = 0
        if account.bootstrapOnRegistrationFailure, store.bootstrapAccount != nil {
            return requestBootstrap(now: now, actions: &actions)
        }
        finish(actions: &actions)
    }

    /// De-registers sent for one registration before the device gives up: at 20% loss each way
    /// one CoAP exchange in about 170 fails (0.36^5), so three leave one device in five million
    /// registered on the server.
    static let deregisterAttempts: UInt8 = 3

    /// Sends De-register (TS Core 6.2.3), or sends it again.
    mutating func sendDeregister(
        location: RegistrationLocation, startedAt: Timestamp, attempt: UInt8 = 1, now: Timestamp, actions: inout [ClientAction]
    ) {
        var request = CoAPMessage(type: .confirmable, code: .delete)
        location.appendURIPath(to: &request.options)
        let id = send(request, to: .server, now: now, actions: &actions)
        let deregister = DeregisterInFlight(startedAt: startedAt, request: id, location: location, attempt: attempt, resent: attempt > 1)
        transition(to: .deregistering(deregister), actions: &actions)
    }

    /// The De-register's answer, or its failure. The server's 2.02, or its 4.04 to a De-register
    /// sent more than once, ends it: a 4.04 then says an earlier copy removed the registration
    /// (its answer lost), or that the server no longer knew the device's new address (a NAT
    /// rebinding between copies) by the registration it had already removed. A De-register
    /// that got no answer goes again, up to `deregisterAttempts`, so that no registration is left
    /// behind on the server at the end of a run over a lossy link.
    mutating func deregistrationAnswered(
        _ response: CoAPMessage?, outcome: OperationOutcome, deregister: DeregisterInFlight, now: Timestamp,
        actions: inout [ClientAction]
    ) {
        if response == nil, deregister.attempt < Self.deregisterAttempts, serverEndpoint != nil {
            actions.append(.retransmissions(1, of: .deregister))
            return sendDeregister(
                location: deregister.location, startedAt: deregister.startedAt, attempt: deregister.attempt + 1, now: now,
                actions: &actions)
        }
        var outcome = outcome
        if response?.code == .notFound, deregister.resent { outcome = .succeeded }
        actions.append(.operationFinished(.deregister, outcome, code: response?.code, startedAt: deregister.startedAt))
        if registersAgainAfterDeregister {
            registersAgainAfterDeregister = false
            return register(now: now, actions: &actions)
        }
        finish(actions: &actions)
    }

    /// When the next Update is due: `updateMarginSeconds` before the lifetime ends, and at least
    /// MAX_TRANSMIT_WAIT before it (RFC 7252 4.8.2), so that an Update whose first copies are lost
    /// is still retransmitted, or given up on, while the registration lives; at most half the
    /// lifetime, so short lifetimes still refresh in time.
    func updateDeadline(_ registration: Registration) -> Timestamp {
        let lifetime = UInt64(registration.lifetimeSeconds) * 1_000_000_000
        let margin = min(configuration.updateMarginNanoseconds, lifetime / 2)
        return registration.refreshedAt.adding(nanoseconds: lifetime - margin)
    }

    /// When a device with a session deregisters; nil without a session, or once that De-register
    /// already waits for an Update's answer (then it is no deadline any more).
    func sessionEnd(_ registration: Registration) -> Timestamp? {
        guard !deregisterWhenRegistered else { return nil }
        return configuration.sessionSeconds.map { registration.registeredAt.adding(milliseconds: UInt64(($0 * 1000).rounded())) }
    }

    /// Sends Update with only what changed since the last Register or Update (TS Core 6.2.2).
    mutating func sendUpdate(now: Timestamp, actions: inout [ClientAction]) {
        guard case .registered(var registration) = state, serverEndpoint != nil, let account else { return }
        var parameters = RegistrationUpdateParameters()
        if account.lifetimeSeconds != registration.lifetimeSeconds { parameters.lifetimeSeconds = account.lifetimeSeconds }
        let binding = configuration.binding(for: account)
        if binding != registration.binding { parameters.binding = binding }
        var request = CoAPMessage(type: .confirmable, code: .post)
        registration.location.appendURIPath(to: &request.options)
        for item in parameters.queryItems { request.options.append(.uriQuery, string: item) }
        let links = registrationLinks
        if links.hash != registration.objectLinksHash {
            request.options.append(.contentFormat, uint: UInt64(LwM2MContentFormat.linkFormat.rawValue))
            request.payload = links.bytes[...]
        }
        let id = send(request, to: .server, now: now, actions: &actions)
        registration.updateInFlight = OutOfLine(UpdateInFlight(
            request: id, startedAt: now, lifetimeSeconds: account.lifetimeSeconds, binding: binding, objectLinksHash: links.hash))
        registration.updateRequested = false
        transition(to: .registered(registration), actions: &actions)
    }

    /// 2.04 refreshes the registration; 4.04 (the server forgot us) or any failure registers anew.
    mutating func updateAnswered(
        _ response: CoAPMessage?, outcome: OperationOutcome, registration: Registration, now: Timestamp, actions: inout [ClientAction]
    ) {
        actions.append(.operationFinished(.update, outcome, code: response?.code, startedAt: registration.update?.startedAt ?? now))
        guard outcome == .succeeded else { return register(now: now, actions: &actions) }
        var refreshed = registration
        refreshed.updateInFlight = nil
        refreshed.refreshedAt = now
        if let sent = registration.updateInFlight?.value {
            refreshed.lifetimeSeconds = sent.lifetimeSeconds
            refreshed.binding = sent.binding
            refreshed.objectLinksHash = sent.objectLinksHash
        }
        transition(to: .registered(refreshed), actions: &actions)
        if deregisterWhenRegistered { return deregisterIfAsked(now: now, actions: &actions) }
        if registration.registersWhenUpdateEnds { register(now: now, actions: &actions) }
    }
}
