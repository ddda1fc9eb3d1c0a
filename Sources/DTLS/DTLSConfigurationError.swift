/// A DTLS session or server configuration that cannot be built from what the caller gave.
public struct DTLSConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
