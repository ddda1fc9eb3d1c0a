import CMbedTLS

/// A DTLS pre-shared key: the identity the client announces and the secret key bytes.
public struct PreSharedKey: Hashable, Sendable, CustomStringConvertible {
    /// Sent in clear in the ClientKeyExchange; LwM2M uses the device's PSK Identity (/0/x/3).
    public var identity: [UInt8]
    /// The shared secret; mbedTLS takes 1 to 32 bytes.
    public var key: [UInt8]

    /// The longest key mbedTLS 2.28 accepts (MBEDTLS_PSK_MAX_LEN in Debian's build).
    public static let maximumKeyLength = 32

    public init(identity: [UInt8], key: [UInt8]) {
        self.identity = identity
        self.key = key
    }

    public init(identity: String, key: [UInt8]) {
        self.init(identity: Array(identity.utf8), key: key)
    }

    /// The key of `identity` derived from one `secret`: HMAC-SHA256(secret, identity) cut to 16
    /// bytes. A fleet of 100,000 devices and the server that checks them then store one secret
    /// instead of a key table, and any device's key can be recomputed from its identity.
    public static func derived(secret: [UInt8], identity: [UInt8]) -> PreSharedKey {
        PreSharedKey(identity: identity, key: derivedKey(secret: secret, identity: identity))
    }

    static func derivedKey(secret: [UInt8], identity: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        let result = secret.withUnsafeBufferPointer { secret in
            identity.withUnsafeBufferPointer { identity in
                mbedtls_md_hmac(
                    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
                    secret.baseAddress, secret.count, identity.baseAddress, identity.count, &digest)
            }
        }
        // SHA-256 is compiled into every mbedTLS that has TLS 1.2; the call fails only without it.
        precondition(result == 0, "mbedtls_md_hmac(SHA-256) failed: \(result)")
        return Array(digest.prefix(16))
    }

    /// Why mbedTLS would refuse this key, or nil.
    var problem: String? {
        if identity.isEmpty { return "the PSK identity is empty" }
        if key.isEmpty || key.count > Self.maximumKeyLength {
            return "the pre-shared key has \(key.count) bytes; mbedTLS takes 1 to \(Self.maximumKeyLength)"
        }
        return nil
    }

    /// The identity as text when it is UTF-8; never the key, so a key cannot leak into a log.
    public var description: String {
        let text = String(decoding: identity, as: UTF8.self)
        return Array(text.utf8) == identity ? "PSK \"\(text)\"" : "PSK identity \(identity.count) bytes"
    }
}
