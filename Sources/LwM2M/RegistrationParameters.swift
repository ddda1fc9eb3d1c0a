/// The Uri-Query parameters of a Register request (LwM2M 1.1 TS Core 6.2.1): `ep`, `lt`, `lwm2m`,
/// `b`, `sms`, `Q`, plus any others the client adds.
///
/// `queryItems` writes one Uri-Query option per parameter. Parameters read with
/// `init(queryItems:)` are written back in the order they came; equality ignores that order, as
/// servers must not depend on it (RFC 9176 5.3).
public struct RegistrationParameters: Sendable {
    /// `ep`: the endpoint client name, unique per server.
    public var endpointName: String
    /// `lt`: registration lifetime in seconds; nil when not sent (the server then assumes 86400).
    public var lifetimeSeconds: UInt32?
    /// `lwm2m`: the enabler version; nil when not sent, which means 1.0.
    public var lwm2mVersion: LwM2MVersion?
    /// `b`: the binding; nil when not sent (the server then assumes U).
    public var binding: LwM2MBinding?
    /// `sms`: the MSISDN the client is reachable at over SMS.
    public var smsNumber: String?
    /// `Q`: the client uses queue mode (a valueless parameter, LwM2M 1.1 and later).
    public var queueMode: Bool
    /// Parameters LwM2M does not define, in the order sent.
    public var additionalParameters: [LwM2MQueryParameter]
    private var receivedOrder: [String] = []

    public init(
        endpointName: String, lifetimeSeconds: UInt32? = nil, lwm2mVersion: LwM2MVersion? = nil,
        binding: LwM2MBinding? = nil, smsNumber: String? = nil, queueMode: Bool = false,
        additionalParameters: [LwM2MQueryParameter] = []
    ) {
        self.endpointName = endpointName
        self.lifetimeSeconds = lifetimeSeconds
        self.lwm2mVersion = lwm2mVersion
        self.binding = binding
        self.smsNumber = smsNumber
        self.queueMode = queueMode
        self.additionalParameters = additionalParameters
    }

    /// The enabler version the client speaks: `lwm2m`, or 1.0 when absent (LwM2M 1.0 TS 5.3.1).
    public var effectiveLwM2MVersion: LwM2MVersion { lwm2mVersion ?? .v1_0 }

    /// Reads the Uri-Query options of a Register request, refusing what a server answers 4.00 Bad
    /// Request to: no `ep`, a repeated parameter, `lt` that is not a number of seconds, `lwm2m` that
    /// is not MAJOR.MINOR, a binding the version does not have, `Q` with a value or before 1.1.
    public init(queryItems: [String]) throws(LwM2MQueryError) {
        let parameters = try QueryParameterList(queryItems)
        var endpointName: String?
        self.init(endpointName: "")
        for parameter in parameters.items {
            switch parameter.name {
            case "ep": endpointName = try parameter.requiredValue()
            case "lt": lifetimeSeconds = try parameter.lifetimeSeconds()
            case "lwm2m":
                let text = try parameter.requiredValue()
                guard let version = LwM2MVersion(text) else {
                    throw parameter.error("lwm2m must be the enabler version as MAJOR.MINOR (\"1.1\"), not '\(text)'")
                }
                lwm2mVersion = version
            case "b": binding = try parameter.binding()
            case "sms": smsNumber = try parameter.requiredValue()
            case "Q": queueMode = try parameter.queueMode()
            default: additionalParameters.append(parameter)
            }
        }
        guard let endpointName else {
            throw LwM2MQueryError(
                queryItem: nil, reason: "Register needs the endpoint client name 'ep' (LwM2M 1.1 TS Core 6.2.1)")
        }
        self.endpointName = endpointName
        try Self.check(binding: binding, queueMode: queueMode, version: effectiveLwM2MVersion)
        receivedOrder = parameters.items.map(\.name)
    }

    /// One Uri-Query option value per parameter (`ep=dev1`, `lt=300`, `Q`): in the order they were
    /// read, else ep, lt, lwm2m, b, sms, Q, then the additional ones.
    public var queryItems: [String] {
        var parameters = [LwM2MQueryParameter(name: "ep", value: endpointName)]
        if let lifetimeSeconds { parameters.append(LwM2MQueryParameter(name: "lt", value: String(lifetimeSeconds))) }
        if let lwm2mVersion { parameters.append(LwM2MQueryParameter(name: "lwm2m", value: lwm2mVersion.description)) }
        if let binding { parameters.append(LwM2MQueryParameter(name: "b", value: binding.description)) }
        if let smsNumber { parameters.append(LwM2MQueryParameter(name: "sms", value: smsNumber)) }
        if queueMode { parameters.append(LwM2MQueryParameter(name: "Q", value: nil)) }
        return QueryParameterList.queryItems(parameters + additionalParameters, order: receivedOrder)
    }

    /// Why `binding` and `queueMode` do not fit `version`, shared with Update, which has no version of its own.
    static func check(binding: LwM2MBinding?, queueMode: Bool, version: LwM2MVersion) throws(LwM2MQueryError) {
        if let binding, let problem = binding.problem(forLwM2MVersion: version) {
            throw LwM2MQueryError(queryItem: "b=\(binding)", reason: problem)
        }
        if queueMode, version < .v1_1 {
            throw LwM2MQueryError(
                queryItem: "Q",
                reason: "the Q parameter exists since LwM2M 1.1; a 1.0 client puts Q in the binding (b=UQ)")
        }
    }
}

extension RegistrationParameters: Hashable {
    public static func == (lhs: RegistrationParameters, rhs: RegistrationParameters) -> Bool {
        lhs.endpointName == rhs.endpointName && lhs.lifetimeSeconds == rhs.lifetimeSeconds
            && lhs.lwm2mVersion == rhs.lwm2mVersion && lhs.binding == rhs.binding && lhs.smsNumber == rhs.smsNumber
            && lhs.queueMode == rhs.queueMode
            && QueryParameterList.unordered(lhs.additionalParameters) == QueryParameterList.unordered(rhs.additionalParameters)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(endpointName)
        hasher.combine(lifetimeSeconds)
        hasher.combine(lwm2mVersion)
        hasher.combine(binding)
        hasher.combine(smsNumber)
        hasher.combine(queueMode)
        hasher.combine(QueryParameterList.unordered(additionalParameters))
    }
}
