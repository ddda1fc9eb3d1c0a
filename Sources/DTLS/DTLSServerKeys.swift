/// How a DTLS server finds the pre-shared key of the identity a client presents.
public enum DTLSServerKeys: Sendable {
    /// Every identity gets this key.
    case fixed([UInt8])
    /// Each identity's key; an identity not in the table is refused (alert unknown_psk_identity).
    case table([[UInt8]: [UInt8]])
    /// Each identity's key is `PreSharedKey.derived(secret:identity:)`: the server needs no table
    /// for a fleet whose keys come from the same secret.
    case derived(secret: [UInt8])
    /// Asks the closure, which returns nil to refuse the identity.
    case lookup(@Sendable (_ identity: [UInt8]) -> [UInt8]?)

    /// The key for `identity`, or nil to refuse it.
    public func key(for identity: [UInt8]) -> [UInt8]? {
        switch self {
        case .fixed(let key): key
        case .table(let keys): keys[identity]
        case .derived(let secret): PreSharedKey.derivedKey(secret: secret, identity: identity)
        case .lookup(let find): find(identity)
        }
    }
}
