import CoAP
import LwM2M

// The Client Registration interface (LwM2M 1.1 TS Core 6.2, 8.2.3): Register, Update, De-register.
extension LwM2MRegistrationServer {
    mutating func handleRequest(
        _ request: CoAPIncomingRequest, from peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>
    ) {
        switch Route(request.message) {
        case .register:
            register(request, from: peer, now: now, output: &output)
        case .update(let registrationID):
            update(request, registrationID: registrationID, from: peer, now: now, output: &output)
        case .deregister(let registrationID):
            deregister(request, registrationID: registrationID, from: peer, now: now, output: &output)
        case .refused(let operation, let refusal):
            refuse(request, from: peer, operation: operation, refusal, now: now, output: &output)
        }
    }

    // MARK: Register

    mutating func register(_ request: CoAPIncomingRequest, from peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>) {
        let parameters: RegistrationParameters
        let objects: RegistrationPayload
        switch readRegister(request.message) {
        case .success(let read): (parameters, objects) = read
        case .failure(let refusal): return refuse(request, from: peer, operation: "register", refusal, now: now, output: &output)
        }
        let number = nextRegistrationNumber
        nextRegistrationNumber &+= 1
        // Taken over first, so replacing a registration made from the same address keeps its CoAP state.
        registrationByPeer[peer] = number
        let replaced = registrationByEndpoint[parameters.endpointName]
        if let replaced {
            removeRegistration(replaced, now: now)
            counters.replaced += 1
        }
        let registration = ServerRegistration(
            endpointName: parameters.endpointName, registrationID: String(number, radix: 36),
            lifetimeSeconds: parameters.lifetimeSeconds ?? ServerRegistration.defaultLifetimeSeconds,
            lwm2mVersion: parameters.effectiveLwM2MVersion, binding: parameters.binding ?? .udp,
            smsNumber: parameters.smsNumber, queueMode: parameters.queueMode, objects: objects,
            additionalParameters: parameters.additionalParameters, registeredAt: now, refreshedAt: now)
        let removal = removalDeadline(of: registration)
        registrations[number] = Stored(
            registration: registration, peer: peer, scheduledRemoval: removal, isFirstRegistration: replaced == nil)
        registrationByEndpoint[parameters.endpointName] = number
        expiries.insert(ExpiryEntry(deadline: removal, number: number))
        counters.registered += 1
        output.events.append(.registered(endpoint: parameters.endpointName, location: registration.location))
        if configuration.violation == .beforeAcknowledgement {
            acknowledgeThenViolate(request, registration: number, from: peer, now: now, output: &output)
        } else {
            sendCreated(request, registration: number, to: peer, now: now, output: &output)
        }
    }

    /// The parameters and object links of a Register, or why it is refused: 4.00 for what
    /// Leshan and Wakaama refuse, 4.12 for an enabler version this server does not speak.
    mutating func readRegister(_ message: CoAPMessage) -> Result<(RegistrationParameters, RegistrationPayload), Refusal> {
        guard message.type == .confirmable else {
            return .failure(Refusal(.badRequest, "Register must be a confirmable (CON) request"))
        }
        let parameters: RegistrationParameters
        do throws(LwM2MQueryError) {
            parameters = try RegistrationParameters(queryItems: message.uriQuery)
        } catch {
            return .failure(Refusal(.badRequest, error.description))
        }
        let version = parameters.effectiveLwM2MVersion
        guard version.major == 1, version <= .v1_2 else {
            // LwM2M 1.1 TS Core 6.2.1: 4.12 when the client's and server's versions do not match.
            return .failure(Refusal(.preconditionFailed, "LwM2M \(version) is not supported; this server speaks 1.0 to 1.2"))
        }
        switch readObjectLinks(message, lwm2mVersion: version) {
        case .success(let objects?): return .success((parameters, objects))
        case .success(nil):
            return .failure(Refusal(.badRequest, "Register must carry the object links (LwM2M 1.1 TS Core 6.2.1)"))
        case .failure(let refusal): return .failure(refusal)
        }
    }

    /// The object links of a Register or Update payload; nil when there is no payload. Accepted as
    /// link-format (40), or as text/plain or without Content-Format as older clients send them;
    /// any other format is refused (Wakaama accepts 0 and 40 only).
    mutating func readObjectLinks(_ message: CoAPMessage, lwm2mVersion: LwM2MVersion) -> Result<RegistrationPayload?, Refusal> {
        if let number = message.contentFormat {
            let format = LwM2MContentFormat(rawValue: number)
            guard format == .linkFormat || format == .plainText else {
                let reason = "object links must be application/link-format (40), not \(format) (\(number))"
                return .failure(Refusal(.badRequest, reason))
            }
        }
        guard !message.payload.isEmpty else { return .success(nil) }
        guard let text = String(validating: message.payload, as: UTF8.self) else {
            return .failure(Refusal(.badRequest, "the object links are not UTF-8 text"))
        }
        let key = ObjectLinksKey(text: text, lwm2mVersion: lwm2mVersion)
        if let cached = objectLinksCache[key] { return .success(cached) }
        switch RegistrationPayload.parse(text, lwm2mVersion: lwm2mVersion) {
        case .success(let objects):
            if objectLinksCache.count < Self.objectLinksCacheCapacity { objectLinksCache[key] = objects }
            return .success(objects)
        case .failure(let error):
            return .failure(Refusal(.badRequest, error.description))
        }
    }

    /// Distinct object-link payloads kept parsed; a fleet has a few, and the bound keeps a
    /// fleet of distinct ones from growing the cache.
    static var objectLinksCacheCapacity: Int { 64 }

    // MARK: Update

    mutating func update(
        _ request: CoAPIncomingRequest, registrationID: String, from peer: Peer, now: Timestamp,
        output: inout ServerOutput<Peer>
    ) {
        let number: UInt64
        let parameters: RegistrationUpdateParameters
        let objects: RegistrationPayload?
        switch readUpdate(request.message, registrationID: registrationID) {
        case .success(let read): (number, parameters, objects) = read
        case .failure(let refusal): return refuse(request, from: peer, operation: "update", refusal, now: now, output: &output)
        }
        guard var stored = registrations[number] else { return }
        if let objects { stored.registration.objects = objects }
        // LwM2M 1.1 TS Core 6.2.2: only what the Update carries changes.
        if let lifetime = parameters.lifetimeSeconds { stored.registration.lifetimeSeconds = lifetime }
        if let binding = parameters.binding { stored.registration.binding = binding }
        if let sms = parameters.smsNumber { stored.registration.smsNumber = sms }
        // Q is valueless: it can switch queue mode on; only a new Register switches it off.
        if parameters.queueMode { stored.registration.queueMode = true }
        if !parameters.additionalParameters.isEmpty { stored.registration.additionalParameters = parameters.additionalParameters }
        stored.registration.refreshedAt = now
        if stored.peer != peer { move(&stored, number: number, to: peer, now: now) }
        let removal = removalDeadline(of: stored.registration)
        if removal < stored.scheduledRemoval {
            // A shorter lifetime: the entry already queued would come too late.
            stored.scheduledRemoval = removal
            expiries.insert(ExpiryEntry(deadline: removal, number: number))
        }
        registrations[number] = stored
        counters.updated += 1
        respond(to: request, with: CoAPMessage(type: .acknowledgement, code: .changed), peer: peer, now: now, output: &output)
        output.events.append(.updated(endpoint: stored.registration.endpointName))
    }

    /// The registration an Update refreshes, with what it changes, or why it is refused: 4.04 for
    /// a location this server does not hold, 4.00 for what Leshan refuses.
    mutating func readUpdate(
        _ message: CoAPMessage, registrationID: String
    ) -> Result<(UInt64, RegistrationUpdateParameters, RegistrationPayload?), Refusal> {
        guard message.type == .confirmable else {
            return .failure(Refusal(.badRequest, "Update must be a confirmable (CON) request"))
        }
        guard let number = Self.registrationNumber(registrationID),
              let version = registrations[number]?.registration.lwm2mVersion
        else {
            return .failure(Refusal(.notFound, "no registration at /rd/\(registrationID); register again"))
        }
        let parameters: RegistrationUpdateParameters
        do throws(LwM2MQueryError) {
            parameters = try RegistrationUpdateParameters(queryItems: message.uriQuery, lwm2mVersion: version)
        } catch {
            return .failure(Refusal(.badRequest, error.description))
        }
        return readObjectLinks(message, lwm2mVersion: version).map { (number, parameters, $0) }
    }

    /// The device's address changed (a NAT rebinding, say): requests and observations follow it.
    private mutating func move(_ stored: inout Stored, number: UInt64, to peer: Peer, now: Timestamp) {
        if registrationByPeer[stored.peer] == number {
            registrationByPeer[stored.peer] = nil
            scheduleForgetting(stored.peer, now: now)
        }
        for token in stored.observationTokens {
            let observation = observations.removeValue(forKey: ObservationKey(peer: stored.peer, token: token))
            observations[ObservationKey(peer: peer, token: token)] = observation
        }
        stored.peer = peer
        registrationByPeer[peer] = number
    }

    // MARK: De-register

    mutating func deregister(
        _ request: CoAPIncomingRequest, registrationID: String, from peer: Peer, now: Timestamp, output: inout ServerOutput<Peer>
    ) {
        guard let number = Self.registrationNumber(registrationID), let stored = removeRegistration(number, now: now) else {
            let refusal = Refusal(.notFound, "no registration at /rd/\(registrationID)")
            return refuse(request, from: peer, operation: "deregister", refusal, now: now, output: &output)
        }
        counters.deregistered += 1
        respond(to: request, with: CoAPMessage(type: .acknowledgement, code: .deleted), peer: peer, now: now, output: &output)
        output.events.append(.deregistered(endpoint: stored.registration.endpointName))
    }

    // MARK: Refusals

    /// Answers with an error code, and a diagnostic payload unless configured off (RFC 7252 5.5.2).
    mutating func refuse(
        _ request: CoAPIncomingRequest, from peer: Peer, operation: String, _ refusal: Refusal, now: Timestamp,
        output: inout ServerOutput<Peer>
    ) {
        var response = CoAPMessage(type: .acknowledgement, code: refusal.code)
        // Bounded so that a diagnostic never needs a block-wise transfer.
        if configuration.diagnosticPayloads { response.payload = ArraySlice(refusal.reason.prefix(200).utf8) }
        respond(to: request, with: response, peer: peer, now: now, output: &output)
        counters.refused += 1
        output.events.append(.refused(operation: operation, code: refusal.code, reason: refusal.reason))
        if registrationByPeer[peer] == nil { scheduleForgetting(peer, now: now) }
    }
}

extension LwM2MRegistrationServer {
    /// Why a request is refused: the error code and the reason sent back.
    struct Refusal: Error, Hashable, Sendable {
        var code: CoAPCode
        var reason: String

        init(_ code: CoAPCode, _ reason: String) {
            self.code = code
            self.reason = reason
        }
    }

    /// The registration-interface operation a request is, from its method and Uri-Path (LwM2M 1.1 TS
    /// Core 8.2.3), or how it is refused (as Leshan's RegisterResource does).
    enum Route: Hashable, Sendable {
        case register
        case update(registrationID: String)
        case deregister(registrationID: String)
        case refused(operation: String, Refusal)

        init(_ request: CoAPMessage) {
            let path = request.uriPath
            guard path.first == "rd", path.count <= 2 else {
                let reason = "Bad URI \(request.path): this LwM2M Server serves /rd and /rd/<id>"
                self = .refused(operation: "request", Refusal(.badRequest, reason))
                return
            }
            switch (request.code, path.count) {
            case (.post, 1): self = .register
            case (.post, _): self = .update(registrationID: path[1])
            case (.delete, 2): self = .deregister(registrationID: path[1])
            case (.delete, _): self = .refused(operation: "deregister", Refusal(.badRequest, "De-register is DELETE /rd/<id>"))
            default:
                let reason = "\(request.code) is not allowed on \(request.path): Register and Update are POST, "
                    + "De-register is DELETE"
                self = .refused(operation: "request", Refusal(.methodNotAllowed, reason))
            }
        }
    }
}
