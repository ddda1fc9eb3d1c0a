/// A DTLS pre-shared key as the Security object holds it: the PSK identity (`/0/x/3`) and the
/// secret key (`/0/x/5`), raw bytes.
public struct PreSharedKeyMaterial: Hashable, Sendable {
    public var identity: [UInt8]
    public var key: [UInt8]

    public init(identity: [UInt8], key: [UInt8]) {
        self.identity = identity
        self.key = key
    }
}

/// Gives an endpoint the pre-shared key of its LwM2M Server account: the Bootstrap-Server writes
/// it, and the LwM2M Server finds the same key by the identity, so neither keeps a table of
/// 100,000 keys when the source derives them.
public typealias PreSharedKeySource = @Sendable (_ endpointName: String) -> PreSharedKeyMaterial?
