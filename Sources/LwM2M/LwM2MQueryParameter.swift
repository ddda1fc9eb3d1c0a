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
        // Parameters a client builds have no received order: every Register takes this path.
        if order.isEmpty { return parameters.map(\.queryItem) }
        let rank = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let sorted = parameters.enumerated().sorted { lhs, rhs in
            (rank[lhs.element.name] ?? order.count + lhs.offset, lhs.offset)
                < (rank[rhs.element.name] ?? order.count + rhs.offset, rhs.offset)
        }
        return sorted.map(\.element.queryItem)
    }
}
