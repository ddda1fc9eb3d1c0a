import CoAP
import LwM2M

/// How the embedded LwM2M Server behaves: its CoAP settings, how long it keeps a registration past
/// its lifetime, what it asks of each device once registered, and an optional misbehaving mode.
public struct RegistrationServerConfiguration: Hashable, Sendable, Codable {
    public var transmission: CoAPTransmissionParameters
    /// A registration is removed this long after its lifetime ran out without an Update, so an
    /// Update sent just in time but delayed on the way still finds it.
    public var expiryGraceSeconds: UInt32
    /// Requests sent to every matching device right after its 2.01 Created, in this order.
    public var afterRegistration: [AfterRegistrationAction]
    /// Breaks the rule "no request before the Registration acknowledgement" on purpose; nil for a
    /// well-behaved server. A test aid, see `ViolationMode`.
    public var violation: ViolationMode?
    /// In `.beforeAcknowledgement` mode, how long after the empty ACK the 2.01 Created follows.
    public var violationAcknowledgementDelayMilliseconds: UInt32
    /// Whether error responses carry a diagnostic payload saying why (RFC 7252 5.5.2); off gives
    /// the bare responses some servers send (Wakaama).
    public var diagnosticPayloads: Bool

    public init(
        transmission: CoAPTransmissionParameters = CoAPTransmissionParameters(), expiryGraceSeconds: UInt32 = 5,
        afterRegistration: [AfterRegistrationAction] = [], violation: ViolationMode? = nil,
        violationAcknowledgementDelayMilliseconds: UInt32 = 100, diagnosticPayloads: Bool = true
    ) {
        self.transmission = transmission
        self.expiryGraceSeconds = expiryGraceSeconds
        self.afterRegistration = afterRegistration
        self.violation = violation
        self.violationAcknowledgementDelayMilliseconds = violationAcknowledgementDelayMilliseconds
        self.diagnosticPayloads = diagnosticPayloads
    }
}

/// A request the server sends to a device once its registration is acknowledged (LwM2M 1.1 TS
/// Core 6.3, 6.4), to devices whose endpoint name starts with `endpointPrefix` (all when nil).
public struct AfterRegistrationAction: Hashable, Sendable, Codable {
    /// The Device Management or Information Reporting request to send.
    public enum Request: Hashable, Sendable, Codable {
        /// GET the path, asking for `accept` when set (the device picks its default otherwise).
        case read(LwM2MPath, accept: LwM2MContentFormat? = nil)
        /// GET with Observe 0 (RFC 7641): the device answers with the value, then notifies.
        case observe(LwM2MPath, accept: LwM2MContentFormat? = nil)
        /// PUT with the attributes as Uri-Query options (`pmin=10`, `pmax=60`) and no payload.
        case writeAttributes(LwM2MPath, queryItems: [String])
        /// POST to a resource, with the arguments as payload when given. `/1/0/9` is the
        /// Bootstrap-Request Trigger: every device that gets it bootstraps again.
        case execute(LwM2MPath, arguments: String? = nil)

        // The path is coded as `path`, not the unlabelled `_0`: `{"read": {"path": "/3/0"}}`.
        enum ReadCodingKeys: String, CodingKey { case _0 = "path", accept }
        enum ObserveCodingKeys: String, CodingKey { case _0 = "path", accept }
        enum WriteAttributesCodingKeys: String, CodingKey { case _0 = "path", queryItems }
        enum ExecuteCodingKeys: String, CodingKey { case _0 = "path", arguments }
    }

    public var request: Request
    /// Only devices whose endpoint name starts with this get the request.
    public var endpointPrefix: String?
    /// Skip devices that register again while the server still holds their registration, so that
    /// an Execute of the Bootstrap-Request Trigger starts one bootstrap storm, not an endless loop.
    public var firstRegistrationOnly: Bool

    public init(_ request: Request, endpointPrefix: String? = nil, firstRegistrationOnly: Bool = false) {
        self.request = request
        self.endpointPrefix = endpointPrefix
        self.firstRegistrationOnly = firstRegistrationOnly
    }

    /// Whether a device that just registered as `endpointName` gets this request.
    public func applies(to endpointName: String, isFirstRegistration: Bool) -> Bool {
        (isFirstRegistration || !firstRegistrationOnly) && endpointPrefix.map(endpointName.hasPrefix) ?? true
    }

    /// The operation's name in events and metrics, as the client names it (`LwM2MOperation`).
    public var operationName: String {
        switch request {
        case .read: "read"
        case .observe: "observe"
        case .writeAttributes: "write-attributes"
        case .execute: "execute"
        }
    }

    /// The CoAP request, a CON without token (the server picks one) (LwM2M 1.1 TS Core 8.2.4, 8.2.5).
    public var message: CoAPMessage {
        switch request {
        case .read(let path, let accept): Self.get(path, accept: accept, observe: false)
        case .observe(let path, let accept): Self.get(path, accept: accept, observe: true)
        case .writeAttributes(let path, let queryItems):
            Self.message(.put, path) { message in
                for item in queryItems { message.options.append(.uriQuery, string: item) }
            }
        case .execute(let path, let arguments):
            Self.message(.post, path) { message in message.payload = ArraySlice((arguments ?? "").utf8) }
        }
    }

    private static func get(_ path: LwM2MPath, accept: LwM2MContentFormat?, observe: Bool) -> CoAPMessage {
        message(.get, path) { message in
            if observe { message.options.append(.observe, uint: 0) }
            if let accept { message.options.append(.accept, uint: UInt64(accept.rawValue)) }
        }
    }

    private static func message(_ code: CoAPCode, _ path: LwM2MPath, _ build: (inout CoAPMessage) -> Void) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: code)
        for segment in path.segments { message.options.append(.uriPath, string: segment) }
        build(&message)
        return message
    }
}

/// How the server breaks, on purpose, the rule that no Device Management or Information Reporting
/// request reaches a device before its Registration is acknowledged or while it bootstraps.
///
/// A test aid: it lets the fleet's violation reports be checked against a server known to break
/// the rule. Each request sent against the rule is reported as `ServerEvent.violationSent`; a
/// compliant device neither answers nor applies it, so those requests normally time out.
public enum ViolationMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// On Register: an empty ACK at once, then Read /3/0 and Observe /3/0/9 to the device, and
    /// only `violationAcknowledgementDelayMilliseconds` later the 2.01 Created as a separate response.
    case beforeAcknowledgement = "before-acknowledgement"
    /// After the 2.01 Created of a device's first registration: Execute /1/0/9 (Bootstrap-Request
    /// Trigger, itself allowed), and once the device answered it, so is bootstrapping, Read /3/0
    /// and Observe /3/0/9.
    case duringBootstrap = "during-bootstrap"
}
