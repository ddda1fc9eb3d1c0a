/// A DTLS 1.2 pre-shared-key cipher suite we offer or accept, by its IANA (and mbedTLS) number.
public enum DTLSCipherSuite: Int32, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// The one every LwM2M device must support in PSK mode (RFC 7925 4.2; LwM2M TS Transport).
    case pskWithAES128CCM8 = 0xC0A8
    /// AES-GCM with a full 16-byte tag (RFC 5487).
    case pskWithAES128GCMSHA256 = 0x00A8
    /// AES-CBC with HMAC-SHA256 (RFC 5487): larger records, and its sessions cannot be parked
    /// with `mbedtls_ssl_context_save`.
    case pskWithAES128CBCSHA256 = 0x00AE

    /// The suite's IANA name, as logs and other stacks print it.
    public var description: String {
        switch self {
        case .pskWithAES128CCM8: "TLS_PSK_WITH_AES_128_CCM_8"
        case .pskWithAES128GCMSHA256: "TLS_PSK_WITH_AES_128_GCM_SHA256"
        case .pskWithAES128CBCSHA256: "TLS_PSK_WITH_AES_128_CBC_SHA256"
        }
    }
}
