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

/// A MAJOR.MINOR version: of the LwM2M enabler (`lwm2m=1.1`) or of an object (`ver=1.1`).
public struct LwM2MVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var major: UInt16
    public var minor: UInt16

    public init(major: UInt16, minor: UInt16) {
        self.major = major
        self.minor = minor
    }

    /// Parses "1.1"; nil for anything else ("1", "1.1.1", "v1.1", "1.01").
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Self.number(parts[0]), let minor = Self.number(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    private static func number(_ text: some StringProtocol) -> UInt16? {
        // No sign and no leading zero, so the text is exactly what `description` writes back.
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              text == "0" || !text.hasPrefix("0")
        else { return nil }
        return UInt16(text)
    }

    public static let v1_0 = LwM2MVersion(major: 1, minor: 0)
    public static let v1_1 = LwM2MVersion(major: 1, minor: 1)
    public static let v1_2 = LwM2MVersion(major: 1, minor: 2)

    public static func < (lhs: LwM2MVersion, rhs: LwM2MVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    public var description: String { "\(major).\(minor)" }
}

/// How a client is reachable, as the `b` parameter writes it ("U", "UQ", "US", "UT"): a list of
/// transport letters, in the order written.
public struct LwM2MBinding: Hashable, Sendable, CustomStringConvertible {
    /// One letter of a binding.
    public enum Mode: Character, Hashable, Sendable, CaseIterable {
        case udp = "U"
        case tcp = "T"
        case sms = "S"
        case nonIP = "N"
        case mqtt = "M"
        case http = "H"
        /// Queue mode, a binding letter only in LwM2M 1.0 ("UQ").
        case queue = "Q"
    }

    public var modes: [Mode]

    public init(_ modes: [Mode]) {
        self.modes = modes
    }

    /// Reads "UQS"; nil for an empty text, an unknown letter or a letter given twice.
    public init?(_ text: String) {
        var modes: [Mode] = []
        for letter in text {
            guard let mode = Mode(rawValue: letter), !modes.contains(mode) else { return nil }
            modes.append(mode)
        }
        guard !modes.isEmpty else { return nil }
        self.init(modes)
    }

    public static let udp = LwM2MBinding([.udp])

    public var description: String { String(modes.map(\.rawValue)) }

    /// Why a client of `version` cannot send this binding, or nil when it can.
    public func problem(forLwM2MVersion version: LwM2MVersion) -> String? {
        if version < .v1_1 {
            // LwM2M 1.0 lists the only valid values, Q meaning queue mode on the transport before it.
            let valid = ["U", "UQ", "S", "SQ", "US", "UQS"]
            return valid.contains(description)
                ? nil : "binding '\(self)' is not one of the LwM2M 1.0 bindings \(valid.joined(separator: ", "))"
        }
        for mode in modes {
            switch mode {
            case .queue:
                return "Q is not a binding since LwM2M 1.1; queue mode is the separate valueless Q parameter"
            case .mqtt, .http:
                if version < .v1_2 { return "\(mode.rawValue) is a binding since LwM2M 1.2, not in \(version)" }
            case .udp, .tcp, .sms, .nonIP:
                continue
            }
        }
        return nil
    }
}

/// One Uri-Query parameter: `name=value`, or a valueless `name`.
public struct LwM2MQueryParameter: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// Everything after the first "=" (which may itself hold "="); nil when there is no "=".
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }

    /// Splits a Uri-Query option value at its first "=".
    public init(queryItem: String) {
        if let equals = queryItem.firstIndex(of: "=") {
            self.init(name: String(queryItem[..<equals]), value: String(queryItem[queryItem.index(after: equals)...]))
        } else {
            self.init(name: queryItem, value: nil)
        }
    }

    /// The Uri-Query option value.
    public var queryItem: String { value.map { name + "=" + $0 } ?? name }

    public var description: String { queryItem }

    func error(_ reason: String) -> LwM2MQueryError {
        LwM2MQueryError(queryItem: queryItem, reason: reason)
    }

    func requiredValue() throws(LwM2MQueryError) -> String {
        guard let value, !value.isEmpty else { throw error("\(name) needs a value (\(name)=...)") }
        return value
    }

    func lifetimeSeconds() throws(LwM2MQueryError) -> UInt32 {
        let text = try requiredValue()
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let seconds = UInt32(text),
              seconds > 0
        else {
            throw error("lt must be the lifetime in whole seconds, 1-\(UInt32.max), not '\(text)'")
        }
        return seconds
    }

    func binding() throws(LwM2MQueryError) -> LwM2MBinding {
        let text = try requiredValue()
        guard let binding = LwM2MBinding(text) else {
            throw error("b must be binding letters U, T, S, N, M, H or Q, each at most once, not '\(text)'")
        }
        return binding
    }

    func queueMode() throws(LwM2MQueryError) -> Bool {
        guard value == nil else { throw error("Q takes no value; send it as a bare 'Q'") }
        return true
    }
}

/// Why Uri-Query parameters were refused; a server answers 4.00 Bad Request with `description`.
public struct LwM2MQueryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The offending Uri-Query option value, or nil when something is missing.
    public var queryItem: String?
    public var reason: String

    public init(queryItem: String?, reason: String) {
        self.queryItem = queryItem
        self.reason = reason
    }

    public var description: String {
        (queryItem.map { "Uri-Query '\($0)': " } ?? "Uri-Query: ") + reason
    }
}

/// Uri-Query option values split into parameters, in the order sent, each name at most once.
struct QueryParameterList {
    var items: [LwM2MQueryParameter]

    init(_ queryItems: [String]) throws(LwM2MQueryError) {
        items = []
        var seen: Set<String> = []
        for queryItem in queryItems {
            let parameter = LwM2MQueryParameter(queryItem: queryItem)
            guard !parameter.name.isEmpty else { throw parameter.error("the parameter has no name") }
            guard seen.insert(parameter.name).inserted else {
                throw parameter.error("\(parameter.name) is given more than once")
            }
            items.append(parameter)
        }
    }

    /// The option values sorted, for equality that ignores the order parameters came in.
    static func unordered(_ parameters: [LwM2MQueryParameter]) -> [String] {
        parameters.map(\.queryItem).sorted()
    }

    /// The parameters' option values: those named in `order` first, in that order, then the rest as given.
    static func queryItems(_ parameters: [LwM2MQueryParameter], order: [String]) -> [String] {
        let rank = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let sorted = parameters.enumerated().sorted { lhs, rhs in
            (rank[lhs.element.name] ?? order.count + lhs.offset, lhs.offset)
                < (rank[rhs.element.name] ?? order.count + rhs.offset, rhs.offset)
        }
        return sorted.map(\.element.queryItem)
    }
}
