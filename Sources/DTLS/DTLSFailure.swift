import CMbedTLS

/// Why a DTLS session ended in failure: an alert we sent or received, a timeout, or another
/// mbedTLS error, named so that counters and logs say what went wrong.
public enum DTLSFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// The peers share no cipher suite, or the handshake broke off (alert handshake_failure, 40).
    case handshakeFailure
    /// The server knows no key for the client's PSK identity (alert unknown_psk_identity, 115).
    case unknownPSKIdentity
    /// A record of the handshake failed authentication: with PSK, almost always a wrong key
    /// (alert bad_record_mac, 20).
    case badRecordMAC
    /// The Finished message did not verify (alert decrypt_error, 51, RFC 5246 7.4.9).
    case decryptError
    /// No answer after the last handshake retransmission (`handshakeTimeoutMaximumMilliseconds`).
    case timeout
    /// The peer sent close_notify before the handshake was done.
    case peerClosed
    /// Another fatal alert from the peer, by its number (RFC 5246 7.2).
    case alert(UInt8)
    /// An mbedTLS error that is not an alert, by its code (negative, as mbedTLS returns it).
    case other(Int32)

    /// The failure an mbedTLS error code stands for; `receivedAlert` is the description byte of
    /// the alert record mbedTLS just read, used when `code` says a fatal alert arrived.
    init(code: Int32, receivedAlert: UInt8) {
        switch code {
        case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: self = Self(alert: receivedAlert)
        case MBEDTLS_ERR_SSL_TIMEOUT: self = .timeout
        case MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY: self = .unknownPSKIdentity
        case MBEDTLS_ERR_SSL_INVALID_MAC: self = .badRecordMAC
        case MBEDTLS_ERR_SSL_BAD_HS_FINISHED: self = .decryptError
        case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN, MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE: self = .handshakeFailure
        case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY: self = .peerClosed
        default: self = .other(code)
        }
    }

    /// The failure a fatal alert from the peer stands for.
    init(alert: UInt8) {
        switch Int32(alert) {
        case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE: self = .handshakeFailure
        case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_PSK_IDENTITY: self = .unknownPSKIdentity
        case MBEDTLS_SSL_ALERT_MSG_BAD_RECORD_MAC: self = .badRecordMAC
        case MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR: self = .decryptError
        default: self = .alert(alert)
        }
    }

    public var description: String {
        switch self {
        case .handshakeFailure: "handshake_failure (alert 40)"
        case .unknownPSKIdentity: "unknown_psk_identity (alert 115)"
        case .badRecordMAC: "bad_record_mac (alert 20): wrong pre-shared key?"
        case .decryptError: "decrypt_error (alert 51)"
        case .timeout: "handshake timeout: no answer after the last retransmission"
        case .peerClosed: "close_notify from the peer during the handshake"
        case .alert(let number): "fatal alert \(number)"
        case .other(let code): "mbedTLS error -0x\(String(-Int(code), radix: 16, uppercase: true)): \(Self.text(of: code))"
        }
    }

    /// mbedTLS's own words for an error code.
    private static func text(of code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 160)
        mbedtls_strerror(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
