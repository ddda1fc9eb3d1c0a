import CoAP
import LwM2M

// Requests from servers, and the rule this project was started for.
extension LwM2MClient {
    mutating func handleRequest(_ request: CoAPIncomingRequest, from role: ServerRole, now: Timestamp, actions: inout [ClientAction]) {
        if role == .bootstrapServer {
            return handleBootstrapServerRequest(request, now: now, actions: &actions)
        }
        guard case .registered = state else {
            // During a bootstrap and until the Registration acknowledgement, DM and information
            // reporting requests from an LwM2M Server are neither applied nor answered; each is
            // reported once (the endpoint drops retransmissions of the same message ID).
            let path = try? LwM2MPath(segments: request.message.uriPath)
            let operation = path.flatMap { LwM2MOperation.deviceManagement(request.message, path: $0) }
            actions.append(.violation(ServerViolation(operation: operation, path: request.message.path, state: deviceState)))
            return
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
            // The old server's connection stays open: what it sends now is a violation.
            requestBootstrap(now: now, actions: &actions)
        case nil:
            break
        }
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
