/// Why a payload could not be decoded, and where: never a crash, always this value.
public struct LwM2MDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The format that refused the input ("TLV", "SenML JSON", ...).
    public var format: String
    public var reason: String
    /// Byte offset for binary formats, character offset for text ones; nil when not tied to a place.
    public var offset: Int?

    public init(format: String, reason: String, offset: Int?) {
        self.format = format
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        "\(format): \(reason)" + (offset.map { " (at \($0))" } ?? "")
    }
}

/// Why records could not be encoded in a format (a value the format cannot carry, say).
public struct LwM2MEncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var format: String
    public var reason: String

    public init(format: String, reason: String) {
        self.format = format
        self.reason = reason
    }

    public var description: String { "\(format): \(reason)" }
}
