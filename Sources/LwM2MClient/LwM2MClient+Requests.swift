import CoAP
import LwM2M

// Requests from servers, and the rule this project was started for.
extension LwM2MClient {
    mutating func handleRequest(_ request: CoAPIncomingRequest, from role: ServerRole, now: Timestamp, actions: inout [ClientAction]) {
        if role == .bootstrapServer {
            return handleBootstrapServerRequest(request, now: now, actions: &actions)
        }
        guard case .registered = state else {
            return ignore(request, now: now, actions: &actions)
        }
        let context = DeviceManagementContext(
            lwm2mVersion: configuration.lwm2mVersion, now: now, shortServerID: account?.shortServerID ?? 0,
            defaultFormat: configuration.defaultContentFormat, attributes: attributes)
        let result = DeviceManagement.handle(request.message, store: &store, context: context)
        var response = result.response
        var afterResponse: RetryStep?
        switch result.effect {
        case .observe(let path):
            response.options.set(.observe, uint: UInt64(startObservation(request.message, path: path, response: response, now: now)))
        case .cancelObservation:
            observations.removeAll { $0.token == request.message.token }
        case .attributesWritten(let path, let written):
            attributes[path] = written
        case .reboot:
            afterResponse = .register
        case .bootstrapRequestTrigger:
            afterResponse = .bootstrap
        case .registrationUpdateTrigger, .instanceCreated:
            requestUpdate()
        case .instanceDeleted(let path):
            observations.removeAll { path.contains($0.path) }
            attributes.removeAll(under: path)
            requestUpdate()
        case .written(let path) where path.objectID == 1:
            // A new Lifetime or Binding (/1/x/1, /1/x/7) goes to the server in an Update (TS Core 6.2.2).
            refreshAccount()
        case .written, .executed, .none:
            break
        }
        respond(to: request, with: response, from: .server, now: now, actions: &actions)
        actions.append(.requestHandled(result.operation, .server, code: response.code))
        switch afterResponse {
        case .register?:
            // A reboot forgets the observations and registers anew (TS Core E.4, resource 4).
            register(now: now, actions: &actions)
        case .bootstrap?:
            // The old server's connection stays open, and the server knows from our answer that
            // the device bootstraps: what it sends now breaks the rule (see `ignore`).
            serverKnowledge = .toldOfBootstrap(answeredAtSecond: ServerKnowledge.second(of: now))
            requestBootstrap(now: now, actions: &actions)
        case nil:
            break
        }
    }

    /// The rule: during a bootstrap and until its Registration acknowledgement, a device neither
    /// applies nor answers Device Management and Information Reporting requests from an LwM2M
    /// Server (TS Core 6.1, 6.2.1), which must not send them then. Each is reported once: its
    /// retransmissions come back marked (`repeatsIgnoredRequest`), to be ignored again or, once
    /// the device is registered, answered, as a request the server sent after its 2.01 deserves.
    ///
    /// It proves a violation only when no conformant server could have sent it, by what the
    /// server can know over this connection (`serverKnowledge`):
    /// - it holds no registration reachable here: while a Register is in flight, that Register's
    ///   outcome decides (`settleIgnoredRequests`); otherwise every Register here was refused;
    /// - it may hold one (a 2.01 came or may have been lost; a De-register or a bootstrap it
    ///   cannot know of is under way): never;
    /// - it was told by our answer to its Bootstrap-Request Trigger that the device bootstraps.
    ///   Keeping NSTART = 1 (RFC 7252 4.7), it started no new request before that Execute ended,
    ///   either with our answer or, had every answer been lost, with it giving up, which is no
    ///   sooner than ACK_TIMEOUT x 2^MAX_RETRANSMIT (32 s) after its last copy, the latest the
    ///   device can have answered (RFC 7252 4.2). Within that time of our answer: proven.
    mutating func ignore(_ request: CoAPIncomingRequest, now: Timestamp, actions: inout [ClientAction]) {
        serverEndpoint?.ignore(request, now: now)
        guard !request.repeatsIgnoredRequest else { return }
        let path = try? LwM2MPath(segments: request.message.uriPath)
        var ignored = ServerViolation(
            operation: path.flatMap { LwM2MOperation.deviceManagement(request.message, path: $0) },
            path: request.message.path, state: deviceState, isProven: false)
        switch serverKnowledge {
        case .noRegistration:
            if case .registering(var register) = state {
                register.ignoredRequests.append(ignored)
                state = .registering(register)
                return
            }
            ignored.isProven = true
        case .mayHoldRegistration:
            break
        case .toldOfBootstrap(let answeredAtSecond):
            let transmission = configuration.transmission
            let giveUpSeconds = (UInt64(transmission.ackTimeoutMilliseconds) << UInt64(transmission.maxRetransmit)) / 1000
            // Whole seconds on both ends: one less keeps the comparison on the safe side.
            ignored.isProven = UInt64(ServerKnowledge.second(of: now) &- answeredAtSecond) + 1 < giveUpSeconds
        }
        actions.append(.violation(ignored))
    }

    /// Reports the requests ignored while a Register was in flight on a connection where the
    /// server held no registration, now that its outcome says what the server did. A 2.01 in a
    /// separate CON response proves them: a server holding an unacknowledged CON starts no request
    /// (RFC 7252 4.7, NSTART = 1), so it sent them before its 2.01. So does a refusal: the server
    /// accepted no Register here. A piggybacked or NON 2.01, or no answer, does not: that 2.01 may
    /// have gone before them and been lost.
    mutating func settleIgnoredRequests(of register: RegisterInFlight, response: CoAPMessage?, actions: inout [ClientAction]) {
        let accepted = response.map(\.code.isSuccess) ?? true
        if !register.ignoredRequests.isEmpty {
            let proven = accepted ? response?.type == .confirmable : true
            for var ignored in register.ignoredRequests {
                ignored.isProven = proven
                actions.append(.violation(ignored))
            }
            var settled = register
            settled.ignoredRequests = []
            state = .registering(settled)
        }
        if accepted { serverKnowledge = .mayHoldRegistration }
    }

    /// Rereads the server account after a Write to the Server object; asks for an Update when
    /// the lifetime or binding now differs from what the server has.
    mutating func refreshAccount() {
        guard let current = account,
              let refreshed = store.serverAccounts.first(where: { $0.shortServerID == current.shortServerID })
        else { return }
        accountSource = [refreshed]
        if case .registered(let registration) = state,
           refreshed.lifetimeSeconds != registration.lifetimeSeconds || configuration.binding(for: refreshed) != registration.binding {
            requestUpdate()
        }
    }

    /// Asks for an Update at the next deadline (trigger, or a changed object list).
    mutating func requestUpdate() {
        guard case .registered(var registration) = state else { return }
        registration.updateRequested = true
        state = .registered(registration)
    }
}
