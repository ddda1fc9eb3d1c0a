/// The Uri-Query parameters of a Bootstrap-Request (`POST /bs`, LwM2M 1.1 TS Core 6.1.7): `ep` and the
/// preferred content format `pct`, plus any others the client adds.
///
/// Parameters read with `init(queryItems:)` are written back in the order they came; equality
/// ignores that order.
public struct BootstrapRequestParameters: Sendable {
    /// `ep`: the endpoint client name.
    public var endpointName: String
    /// `pct`: the content format the client prefers for Bootstrap-Write (LwM2M 1.1).
    public var preferredContentFormat: LwM2MContentFormat?
    /// Parameters LwM2M does not define, in the order sent.
    public var additionalParameters: [LwM2MQueryParameter]
    private var receivedOrder: [String] = []

    public init(
        endpointName: String, preferredContentFormat: LwM2MContentFormat? = nil, additionalParameters: [LwM2MQueryParameter] = []
    ) {
        self.endpointName = endpointName
        self.preferredContentFormat = preferredContentFormat
        self.additionalParameters = additionalParameters
    }

    /// Reads the Uri-Query options of a Bootstrap-Request: `ep` is required, `pct` must be a
    /// content-format number, and no parameter may repeat.
    public init(queryItems: [String]) throws(LwM2MQueryError) {
        let parameters = try QueryParameterList(queryItems)
        var endpointName: String?
        self.init(endpointName: "")
        for parameter in parameters.items {
            switch parameter.name {
            case "ep": endpointName = try parameter.requiredValue()
            case "pct":
                let text = try parameter.requiredValue()
                guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let code = UInt16(text) else {
                    throw parameter.error("pct must be a content-format number, 0-65535, not '\(text)'")
                }
                preferredContentFormat = LwM2MContentFormat(rawValue: code)
            default: additionalParameters.append(parameter)
            }
        }
        guard let endpointName else {
            throw LwM2MQueryError(queryItem: nil, reason: "Bootstrap-Request needs the endpoint client name 'ep'")
        }
        self.endpointName = endpointName
        receivedOrder = parameters.items.map(\.name)
    }

    /// One Uri-Query option value per parameter, in the order read, else ep, pct, then the additional ones.
    public var queryItems: [String] {
        var parameters = [LwM2MQueryParameter(name: "ep", value: endpointName)]
        if let preferredContentFormat {
            parameters.append(LwM2MQueryParameter(name: "pct", value: String(preferredContentFormat.rawValue)))
        }
        return QueryParameterList.queryItems(parameters + additionalParameters, order: receivedOrder)
    }
}

extension BootstrapRequestParameters: Hashable {
    public static func == (lhs: BootstrapRequestParameters, rhs: BootstrapRequestParameters) -> Bool {
        lhs.endpointName == rhs.endpointName && lhs.preferredContentFormat == rhs.preferredContentFormat
            && QueryParameterList.unordered(lhs.additionalParameters) == QueryParameterList.unordered(rhs.additionalParameters)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(endpointName)
        hasher.combine(preferredContentFormat)
        hasher.combine(QueryParameterList.unordered(additionalParameters))
    }
}
