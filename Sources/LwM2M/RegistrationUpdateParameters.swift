/// The Uri-Query parameters of an Update request (LwM2M 1.1 TS Core 6.2.2): only `lt`, `b`, `sms`
/// and `Q` may change; `ep` and `lwm2m` are fixed at Register.
public struct RegistrationUpdateParameters: Sendable {
    /// `lt`: the new lifetime in seconds.
    public var lifetimeSeconds: UInt32?
    /// `b`: the new binding.
    public var binding: LwM2MBinding?
    /// `sms`: the new MSISDN.
    public var smsNumber: String?
    /// `Q`: the client now uses queue mode.
    public var queueMode: Bool
    /// Parameters LwM2M does not define (RFC 9176 `base`, say), in the order sent.
    public var additionalParameters: [LwM2MQueryParameter]
    private var receivedOrder: [String] = []

    public init(
        lifetimeSeconds: UInt32? = nil, binding: LwM2MBinding? = nil, smsNumber: String? = nil, queueMode: Bool = false,
        additionalParameters: [LwM2MQueryParameter] = []
    ) {
        self.lifetimeSeconds = lifetimeSeconds
        self.binding = binding
        self.smsNumber = smsNumber
        self.queueMode = queueMode
        self.additionalParameters = additionalParameters
    }

    /// Reads the Uri-Query options of an Update; `lwm2mVersion` is the version the client
    /// registered with, which decides the bindings it may name.
    public init(queryItems: [String], lwm2mVersion: LwM2MVersion) throws(LwM2MQueryError) {
        let parameters = try QueryParameterList(queryItems)
        self.init()
        for parameter in parameters.items {
            switch parameter.name {
            case "lt": lifetimeSeconds = try parameter.lifetimeSeconds()
            case "b": binding = try parameter.binding()
            case "sms": smsNumber = try parameter.requiredValue()
            case "Q": queueMode = try parameter.queueMode()
            case "ep", "lwm2m":
                throw parameter.error("\(parameter.name) is sent only with Register; an Update cannot change it")
            default: additionalParameters.append(parameter)
            }
        }
        try RegistrationParameters.check(binding: binding, queueMode: queueMode, version: lwm2mVersion)
        receivedOrder = parameters.items.map(\.name)
    }

    /// The Uri-Query option values, in the order read, else lt, b, sms, Q, then the additional ones;
    /// empty for an Update that only refreshes the registration.
    public var queryItems: [String] {
        var parameters: [LwM2MQueryParameter] = []
        if let lifetimeSeconds { parameters.append(LwM2MQueryParameter(name: "lt", value: String(lifetimeSeconds))) }
        if let binding { parameters.append(LwM2MQueryParameter(name: "b", value: binding.description)) }
        if let smsNumber { parameters.append(LwM2MQueryParameter(name: "sms", value: smsNumber)) }
        if queueMode { parameters.append(LwM2MQueryParameter(name: "Q", value: nil)) }
        return QueryParameterList.queryItems(parameters + additionalParameters, order: receivedOrder)
    }
}

extension RegistrationUpdateParameters: Hashable {
    public static func == (lhs: RegistrationUpdateParameters, rhs: RegistrationUpdateParameters) -> Bool {
        lhs.lifetimeSeconds == rhs.lifetimeSeconds && lhs.binding == rhs.binding && lhs.smsNumber == rhs.smsNumber
            && lhs.queueMode == rhs.queueMode
            && QueryParameterList.unordered(lhs.additionalParameters) == QueryParameterList.unordered(rhs.additionalParameters)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(lifetimeSeconds)
        hasher.combine(binding)
        hasher.combine(smsNumber)
        hasher.combine(queueMode)
        hasher.combine(QueryParameterList.unordered(additionalParameters))
    }
}
