import CoAP
import DTLS
import EventLoop
import LwM2MClient

/// A device's DTLS session with one of its servers, between its CoAP endpoint and its socket, and
/// the CoAP datagrams that wait for the handshake.
final class DeviceDTLSLink {
    let session: DTLSClientSession
    /// CoAP datagrams the device sent before the handshake ended, sent once it has.
    var waiting: [[UInt8]] = []
    /// An exchange over this session went unanswered to its end: the server may have lost the
    /// session (a restart), and records of it would be dropped there for good, so the next
    /// datagram starts a new handshake.
    var isSuspect = false
    /// The server answered in plain CoAP: the session is dead, whatever mbedTLS still waits for.
    var answeredInPlainCoAP = false

    /// Whether a datagram to send needs a new handshake first.
    var isUnusable: Bool { isSuspect || answeredInPlainCoAP || session.hasEnded }
    let handshakeStartedAt: Timestamp
    /// Bytes of the handshake's datagrams so far, each way; nil once the handshake ended and
    /// they were counted (`DeviceDriver.handshakeBytes`).
    var handshakeBytes: (sent: UInt64, received: UInt64)? = (0, 0)

    init(session: DTLSClientSession, handshakeStartedAt: Timestamp) {
        self.session = session
        self.handshakeStartedAt = handshakeStartedAt
    }
}

// DTLS between the devices and their `coaps://` servers (issue 15): the machines never know of
// it; the driver seals what they send and opens what reaches them.
extension DeviceDriver {
    /// The device's link for `role`, if that connection is over DTLS.
    func dtlsLink(_ role: ServerRole, of device: Int) -> DeviceDTLSLink? {
        dtlsLinks.isEmpty ? nil : dtlsLinks[Self.tag(of: device, role)]
    }

    /// The `security:` of the device's group; nil for a group without it.
    func security(of device: Int) -> DeviceSecurity? {
        security.first { $0.devices.contains(device) }?.security
    }

    /// Starts the handshake of a `coaps://` connection just opened: the key is what the
    /// Bootstrap-Server wrote to the device, else its group's (`security`).
    func startDTLS(_ role: ServerRole, of device: Int, uri: String, now: Timestamp) {
        let written = devices[device].preSharedKey(for: role).map { PreSharedKey(identity: $0.identity, key: $0.key) }
        let given = security(of: device)?.credentials(forDevice: devices[device].index)?.preSharedKey
        guard let key = written ?? given else {
            return dtlsConnectionFailed(role, of: device, uri: uri, reason: "no pre-shared key for \(uri)", now: now)
        }
        let resumes = security(of: device)?.resume == true
        var parameters = dtlsParameters
        parameters.requestsSessionTicket = resumes
        let session: DTLSClientSession
        do {
            session = try DTLSClientSession(
                key: key, parameters: parameters, seed: dtlsSeed ^ (UInt64(devices[device].index) &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(now.nanoseconds),
                resuming: resumes ? resumableDTLSSessions[Self.tag(of: device, role)] : nil)
        } catch {
            return dtlsConnectionFailed(role, of: device, uri: uri, reason: error.description, now: now)
        }
        let link = DeviceDTLSLink(session: session, handshakeStartedAt: now)
        dtlsLinks[Self.tag(of: device, role)] = link
        var output = DTLSOutput()
        session.start(now: now, output: &output)
        handle(output, of: link, role, device: device, now: now)
    }

    /// A datagram from the device's CoAP endpoint: sealed when its connection is over DTLS, held
    /// while the handshake runs.
    func sendFromDevice(_ datagram: [UInt8], role: ServerRole, device: Int, now: Timestamp) {
        guard var link = dtlsLink(role, of: device) else { return transmit(datagram, role: role, device: device, now: now) }
        if link.isUnusable || handshakesAgain(before: role, of: device, since: link.handshakeStartedAt) {
            // Something to send over a session that ended or that the server may have lost, or an
            // Update of a device that handshakes before each: a new handshake on the same socket,
            // as a device does (to where its contact went last).
            guard let uri = connectedURI(role, of: device) else { return }
            startDTLS(role, of: device, uri: uri, now: now)
            guard let fresh = dtlsLink(role, of: device) else { return }
            link = fresh
        }
        guard case .established = link.session.state else {
            // Bounded: CoAP keeps one request in flight (NSTART = 1) and retransmits it.
            if link.waiting.count < 16 { link.waiting.append(datagram) }
            return
        }
        var output = DTLSOutput()
        link.session.send(datagram, now: now, output: &output)
        handle(output, of: link, role, device: device, now: now)
    }

    /// A datagram that reached the device's socket for `role`: opened first on a DTLS connection.
    func receiveAtDevice(_ bytes: [UInt8], role: ServerRole, device: Int, now: Timestamp) {
        guard let link = dtlsLink(role, of: device) else {
            devices[device].receive(bytes, from: role, now: now, actions: &actions)
            return carryOut(device: device, now: now)
        }
        guard !link.answeredInPlainCoAP else { return }
        if case .handshaking = link.session.state, let first = bytes.first, first >> 6 == 1 {
            // CoAP version 1 in the first two bits, where a DTLS record has its content type
            // (20 to 25): the server speaks plain CoAP on this port.
            return plainCoAPAnswered(link, role, of: device, now: now)
        }
        link.handshakeBytes?.received += UInt64(bytes.count)
        var output = DTLSOutput()
        link.session.receive(bytes, now: now, output: &output)
        handle(output, of: link, role, device: device, now: now)
        carryOut(device: device, now: now)
    }

    /// The server answered the handshake in plain CoAP: a failure of its own kind, not a timeout.
    private func plainCoAPAnswered(_ link: DeviceDTLSLink, _ role: ServerRole, of device: Int, now: Timestamp) {
        countHandshakeBytes(of: link, as: .handshake)
        observer?(device, .operationFinished(.handshake, .failed, code: nil, startedAt: link.handshakeStartedAt), now)
        connectionFailures.append((connectedURI(role, of: device) ?? "coaps://", "the server answered in plain CoAP, not DTLS"))
        link.answeredInPlainCoAP = true
        devices[device].connectionFailed(role, now: now, actions: &actions)
        carryOut(device: device, now: now)
    }

    /// Handshake retransmissions and timeouts of the device's links that are due.
    func handleDTLSDeadlines(of device: Int, now: Timestamp) {
        for role in [ServerRole.bootstrapServer, .server] {
            guard let link = dtlsLink(role, of: device), !link.answeredInPlainCoAP, let deadline = link.session.nextDeadline,
                  deadline <= now
            else { continue }
            var output = DTLSOutput()
            link.session.handleDeadline(now: now, output: &output)
            handle(output, of: link, role, device: device, now: now)
        }
    }

    /// Whether the device's next datagram to its server is an Update that its group handshakes
    /// anew for (`handshake: every-update`), and that session is older than the Update.
    private func handshakesAgain(before role: ServerRole, of device: Int, since handshakeStartedAt: Timestamp) -> Bool {
        guard role == .server, security(of: device)?.handshake == .everyUpdate,
              let (operation, startedAt) = devices[device].operationInFlight, operation == .update
        else { return false }
        return handshakeStartedAt < startedAt
    }

    /// An operation of the device timed out: the session it went over becomes suspect.
    func exchangeTimedOut(_ operation: LwM2MOperation, of device: Int) {
        guard !dtlsLinks.isEmpty else { return }
        let role: ServerRole = operation == .bootstrap || operation == .bootstrapFallback ? .bootstrapServer : .server
        guard let link = dtlsLink(role, of: device), case .established = link.session.state else { return }
        link.isSuspect = true
    }

    /// Parks the established sessions of a device that waits for no answer: an idle session
    /// then keeps a few hundred bytes instead of mbedTLS's 35 KB context, and the next datagram
    /// either way loads it again (DESIGN.md, DTLS). A fleet of 100,000 idle devices fits in
    /// memory only so.
    func parkIdleDTLS(of device: Int) {
        guard !dtlsLinks.isEmpty, devices[device].operationInFlight == nil else { return }
        for role in [ServerRole.bootstrapServer, .server] {
            guard let link = dtlsLink(role, of: device), link.waiting.isEmpty, case .established = link.session.state else { continue }
            link.session.park()
        }
    }

    /// The earliest deadline of the device's links.
    func dtlsDeadline(of device: Int) -> Timestamp? {
        guard !dtlsLinks.isEmpty else { return nil }
        return [ServerRole.bootstrapServer, .server].compactMap { role in
            dtlsLink(role, of: device).flatMap { $0.answeredInPlainCoAP ? nil : $0.session.nextDeadline }
        }.min()
    }

    /// Drops the link of a connection the device closed; a handshake still running then counts
    /// as timed out, with its latency so far, so a silent server cannot pass on nothing.
    func closeDTLS(_ role: ServerRole, of device: Int, now: Timestamp) {
        guard !dtlsLinks.isEmpty, let link = dtlsLinks.removeValue(forKey: Self.tag(of: device, role)) else { return }
        if case .handshaking = link.session.state, !link.answeredInPlainCoAP {
            countHandshakeBytes(of: link, as: .handshake)
            observer?(device, .operationFinished(.handshake, .timedOut, code: nil, startedAt: link.handshakeStartedAt), now)
        }
    }

    /// Sends what the session produced, gives the device what it opened, and ends the handshake.
    private func handle(_ output: DTLSOutput, of link: DeviceDTLSLink, _ role: ServerRole, device: Int, now: Timestamp) {
        for datagram in output.datagrams { transmit(datagram, role: role, device: device, now: now) }
        link.handshakeBytes?.sent += UInt64(output.datagrams.reduce(0) { $0 + $1.count })
        for event in output.events {
            switch event {
            case .established(_, let resumed):
                countHandshakeBytes(of: link, as: resumed ? .handshakeResumed : .handshake)
                observer?(device, .operationFinished(resumed ? .handshakeResumed : .handshake, .succeeded, code: nil, startedAt: link.handshakeStartedAt), now)
                if security(of: device)?.resume == true { resumableDTLSSessions[Self.tag(of: device, role)] = link.session.resumableSession }
                let waiting = link.waiting
                link.waiting = []
                var sealed = DTLSOutput()
                for datagram in waiting { link.session.send(datagram, now: now, output: &sealed) }
                for datagram in sealed.datagrams { transmit(datagram, role: role, device: device, now: now) }
            case .failed(let failure):
                countHandshakeBytes(of: link, as: .handshake)
                let outcome: OperationOutcome = failure == .timeout ? .timedOut : .failed
                observer?(device, .operationFinished(.handshake, outcome, code: nil, startedAt: link.handshakeStartedAt), now)
                // By server and alert in the summary and the result (`connectionFailures`).
                connectionFailures.append((connectedURI(role, of: device) ?? "coaps://", "DTLS handshake failed: \(failure)"))
                // The failed link stays: what still arrives is no CoAP, and the device's next
                // datagram starts a new handshake (`sendFromDevice`).
                devices[device].connectionFailed(role, now: now, actions: &actions)
            case .closedByPeer, .restartedByPeer:
                break
            }
        }
        for plaintext in output.applicationData {
            devices[device].receive(plaintext, from: role, now: now, actions: &actions)
        }
    }

    /// Adds the bytes of the link's handshake, which just ended, to those of `operation`.
    private func countHandshakeBytes(of link: DeviceDTLSLink, as operation: LwM2MOperation) {
        guard let bytes = link.handshakeBytes else { return }
        link.handshakeBytes = nil
        let counted = handshakeBytes[operation] ?? (0, 0)
        handshakeBytes[operation] = (counted.sent + bytes.sent, counted.received + bytes.received)
    }

    private func dtlsConnectionFailed(_ role: ServerRole, of device: Int, uri: String, reason: String, now: Timestamp) {
        connectionFailures.append((uri, reason))
        devices[device].connectionFailed(role, now: now, actions: &actions)
    }
}

extension DTLSClientSession {
    /// Failed or closed: it carries nothing any more.
    var hasEnded: Bool {
        switch state {
        case .failed, .closed: true
        default: false
        }
    }
}
