/// The DTLS side of the embedded servers (issue 15): a `coaps://` port for each, and the
/// pre-shared keys they accept. `run` builds it from the groups' `security:`
/// (`FleetSpec.embeddedServerConfiguration(for:)`); `serve --dtls-port` builds it from its options.
public struct EmbeddedDTLSConfiguration: Hashable, Sendable, Codable {
    /// Where one group's devices get their keys, for the servers to find a device's key by the
    /// PSK identity it presents.
    public struct GroupKeys: Hashable, Sendable, Codable {
        /// The group's identity pattern (`security.identity`): an identity it gives has this
        /// prefix and, past it, the device index zero-padded to `identityIndexWidth` digits.
        public var identityPrefix: String
        public var identityIndexWidth: Int
        public var source: KeySource

        public init(identityPrefix: String, identityIndexWidth: Int, source: KeySource) {
            self.identityPrefix = identityPrefix
            self.identityIndexWidth = identityIndexWidth
            self.source = source
        }
    }

    /// A group's keys: one for all, a CSV file (`identity,key-hex` lines, read again by `serve`),
    /// or derived from a secret and the identity (HMAC-SHA256 cut to 16 bytes, `PreSharedKey.derived`).
    public enum KeySource: Hashable, Sendable, Codable {
        case fixed([UInt8])
        case file(path: String)
        case derived(secret: [UInt8])
    }

    /// UDP port of the LwM2M Server's `coaps://` socket; 0 lets the system pick a free one.
    public var serverPort: UInt16 = 0
    /// UDP port of the Bootstrap-Server's `coaps://` socket; 0 lets the system pick a free one.
    public var bootstrapPort: UInt16 = 0
    /// The devices' factory keys, by group, tried in order.
    public var groupKeys: [GroupKeys]
    /// What the LwM2M Server accounts' keys derive from: the Bootstrap-Server writes each device
    /// an account with its endpoint name as identity and `PreSharedKey.derived(secret:identity:)`
    /// as key, and both servers accept an identity no group claims with that key. One secret per
    /// run (from its seed), so no table of keys is kept on either side.
    public var accountSecret: [UInt8]

    public init(groupKeys: [GroupKeys] = [], accountSecret: [UInt8]) {
        self.groupKeys = groupKeys
        self.accountSecret = accountSecret
    }
}
