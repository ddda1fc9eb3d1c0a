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
