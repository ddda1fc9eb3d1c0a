import CoAP
import LwM2M

// Bootstrap, client- and server-initiated (LwM2M 1.1 TS Core 6.1.3, 6.1.4).
extension LwM2MClient {
    /// Sends `POST /bs?ep=NAME[&pct=]` to the Bootstrap-Server of the Security object.
    mutating func requestBootstrap(now: Timestamp, actions: inout [ClientAction]) {
        guard let bootstrap = store.bootstrapAccount else {
            // Nothing to bootstrap from: the device cannot go on.
            actions.append(.operationFinished(.bootstrap, .failed, code: nil, startedAt: now))
            return finish(actions: &actions)
        }
        connect(.bootstrapServer, uri: bootstrap.serverURI, actions: &actions)
        var request = CoAPMessage(type: .confirmable, code: .post)
        request.options.append(.uriPath, string: "bs")
        let parameters = BootstrapRequestParameters(
            endpointName: endpointName, preferredContentFormat: configuration.preferredContentFormat)
        for item in parameters.queryItems { request.options.append(.uriQuery, string: item) }
        let id = send(request, to: .bootstrapServer, now: now, actions: &actions)
        transition(
            to: .bootstrapping(startedAt: now, deadline: bootstrapDeadline(from: now), request: id, askedByDevice: true),
            actions: &actions)
    }

    /// What a bootstrap is measured as: `bootstrap-fallback` when a device that waits for its
    /// Bootstrap-Server (server-initiated) had to ask for it itself, so that the server-initiated
    /// path and its fallback are measured apart; `bootstrap` otherwise.
    func bootstrapOperation(askedByDevice: Bool) -> LwM2MOperation {
        askedByDevice && configuration.bootstrapMode == .serverInitiated ? .bootstrapFallback : .bootstrap
    }

    /// When a bootstrap fails if the Bootstrap-Server sends nothing more after `now`: the TS
    /// measures inactivity, not the bootstrap's length (no message for EXCHANGE_LIFETIME, TS Core
    /// 6.1), so every message of the Bootstrap-Server moves it on.
    func bootstrapDeadline(from now: Timestamp) -> Timestamp {
        now.adding(milliseconds: UInt64(configuration.bootstrapTimeoutSeconds) * 1000)
    }

    /// The Bootstrap-Server answered Bootstrap-Request: 2.04 means its writes follow.
    mutating func bootstrapRequestAnswered(
        startedAt: Timestamp, outcome: OperationOutcome, code: CoAPCode?, now: Timestamp, actions: inout [ClientAction]
    ) {
        guard outcome == .succeeded else {
            return bootstrapFailed(startedAt: startedAt, outcome: outcome, code: code, now: now, actions: &actions)
        }
        state = .bootstrapping(startedAt: startedAt, deadline: bootstrapDeadline(from: now), request: nil, askedByDevice: true)
    }

    /// A bootstrap that was refused or did not finish in time: retry after a doubling back-off.
    mutating func bootstrapFailed(
        startedAt: Timestamp, outcome: OperationOutcome, code: CoAPCode?, now: Timestamp, actions: inout [ClientAction]
    ) {
        actions.append(.operationFinished(operationInFlight?.operation ?? .bootstrap, outcome, code: code, startedAt: startedAt))
        bootstrapFailures = bootstrapFailures < 16 ? bootstrapFailures + 1 : bootstrapFailures
        let delay = min(
            UInt64(configuration.bootstrapRetryBaseSeconds) << UInt64(bootstrapFailures - 1),
            UInt64(configuration.bootstrapRetryMaximumSeconds))
        disconnect(.bootstrapServer, actions: &actions)
        transition(to: .waiting(until: now.adding(milliseconds: delay * 1000), then: .bootstrap), actions: &actions)
    }

    /// A request from the Bootstrap-Server. During a bootstrap it is answered and moves the
    /// inactivity deadline on. Outside one, it starts a server-initiated bootstrap (TS Core 6.1.4)
    /// only when it really begins one: a device holding off waits for exactly this server, so any
    /// request it accepts does; a registered (or registering, or waiting) device is taken off the
    /// air only by an accepted Bootstrap-Write, Bootstrap-Delete or Bootstrap-Finish, the requests
    /// that change the configuration it works with. Bootstrap-Discover and Bootstrap-Read only look
    /// (TS Core 6.1.7), and a refused request changes nothing: both are answered, and the device
    /// carries on where it was.
    mutating func handleBootstrapServerRequest(_ request: CoAPIncomingRequest, now: Timestamp, actions: inout [ClientAction]) {
        var startedAt = now
        var isHoldingOff = false
        var operation = LwM2MOperation.bootstrap
        var bootstrapRequest: CoAPRequestID?
        switch state {
        case .bootstrapping(let started, _, let request, let askedByDevice):
            startedAt = started
            bootstrapRequest = request
            operation = bootstrapOperation(askedByDevice: askedByDevice)
            state = .bootstrapping(
                startedAt: started, deadline: bootstrapDeadline(from: now), request: request, askedByDevice: askedByDevice)
        case .deregistering, .stopped:
            return
        case .holdingOff:
            isHoldingOff = true
        case .idle, .registering, .registered, .waiting:
            break
        }
        let result = BootstrapInterface.handle(request.message, store: &store, lwm2mVersion: configuration.lwm2mVersion, now: now)
        respond(to: request, with: result.response, from: .bootstrapServer, now: now, actions: &actions)
        actions.append(.requestHandled(result.operation, .bootstrapServer, code: result.response.code))
        guard result.response.code.isSuccess else {
            // A refused Finish (4.06: what was written leaves no usable account) ends the bootstrap
            // as failed: the Bootstrap-Server sends nothing after it, and the device asks again
            // after its back-off instead of waiting out the inactivity deadline.
            if result.operation == .bootstrapFinish, case .bootstrapping = state {
                bootstrapFailed(startedAt: startedAt, outcome: .rejected, code: result.response.code, now: now, actions: &actions)
            }
            return
        }
        if deviceState != .bootstrapping {
            guard isHoldingOff || result.operation.map(Self.changesConfiguration) ?? false else { return }
            // A connection kept open after the last Finish serves this bootstrap now.
            bootstrapConnection?.value.closesAt = nil
            transition(
                to: .bootstrapping(startedAt: now, deadline: bootstrapDeadline(from: now), request: nil, askedByDevice: false),
                actions: &actions)
        }
        // The Bootstrap-Server may have rewritten the accounts: read them again at the next Register.
        accountSource = []
        if result.finished {
            actions.append(.operationFinished(operation, .succeeded, code: result.response.code, startedAt: startedAt))
            bootstrapFailures = 0
            registrationAttempt = 0
            registrationSequence = 0
            // In server-initiated mode the Bootstrap-Server may come back to a registered device,
            // so its socket stays; otherwise it closes once a retransmitted Finish can no longer come.
            if configuration.bootstrapMode != .serverInitiated {
                let lifetime = configuration.transmission.exchangeLifetimeNanoseconds
                bootstrapConnection?.value.closesAt = now.adding(nanoseconds: lifetime)
            }
            // Its answer lost, the Bootstrap-Request would still be retransmitted on the connection
            // kept open, and reach a Bootstrap-Server done with this device as a new request: a
            // second bootstrap of a device that just finished one. The bootstrap is over; so is it.
            if let bootstrapRequest { bootstrapConnection?.value.endpoint.cancel(bootstrapRequest) }
            register(now: now, actions: &actions)
        }
    }

    /// Bootstrap-Write, Bootstrap-Delete and Bootstrap-Finish: the requests that change what a
    /// device works with, and so start a bootstrap of a device that was not waiting for one.
    static func changesConfiguration(_ operation: LwM2MOperation) -> Bool {
        operation == .bootstrapWrite || operation == .bootstrapDelete || operation == .bootstrapFinish
    }
}
