/// Cuts off the part of a datagram that would make mbedTLS 2.28 end a session over garbage.
///
/// RFC 6347 4.1.2.7: an invalid record is dropped and the session goes on. mbedTLS 2.28.3
/// returns a fatal error instead in two cases that one forged datagram can trigger:
/// - a record cut short: fewer bytes than a record header after a record it read or skipped,
///   or a ClientHello record whose length runs past the datagram: MBEDTLS_ERR_SSL_INTERNAL_ERROR
///   ("should never happen" in mbedtls_ssl_fetch_input);
/// - on an established server, an epoch-0 ClientHello record too malformed for the cookie check
///   of its same-port reconnect path (RFC 6347 4.2.8): MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO.
/// Both are cut off here, with whatever follows them in the datagram, before mbedTLS sees it;
/// a well-formed ClientHello still gets a HelloVerifyRequest, or restarts the session when its
/// cookie is valid.
enum DatagramScreen {
    /// Type, version, epoch, sequence number, length (RFC 6347 4.1).
    static let recordHeaderLength = 13

    static func usablePrefix(of datagram: UnsafeRawBufferPointer, establishedServer: Bool) -> UnsafeRawBufferPointer {
        var offset = 0
        while datagram.count - offset >= recordHeaderLength {
            let end = offset + recordHeaderLength + (Int(datagram[offset + 11]) << 8 | Int(datagram[offset + 12]))
            guard end <= datagram.count else { break }
            let record = UnsafeRawBufferPointer(rebasing: datagram[offset..<end])
            if establishedServer && isClientHelloTooMalformedForTheCookieCheck(record) { break }
            offset = end
        }
        return UnsafeRawBufferPointer(rebasing: datagram[..<offset])
    }

    /// Whether `bytes`, one whole record, is an epoch-0 ClientHello that fails the checks mbedTLS
    /// 2.28 makes on the record before its cookie check (ssl_check_dtls_clihlo_cookie).
    static func isClientHelloTooMalformedForTheCookieCheck(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let handshake: UInt8 = 22, clientHello: UInt8 = 1
        guard bytes.count > recordHeaderLength, bytes[0] == handshake, bytes[3] == 0, bytes[4] == 0,
              bytes[13] == clientHello
        else { return false }
        // Record header (13), handshake header with fragment offset 0 (12), client_version (2),
        // random (32), then the session id and the cookie, each with a length byte.
        guard bytes.count >= 61, bytes[19] == 0, bytes[20] == 0, bytes[21] == 0 else { return true }
        let sessionIDLength = Int(bytes[59])
        guard 61 + sessionIDLength <= bytes.count else { return true }
        let cookieLength = Int(bytes[60 + sessionIDLength])
        return 61 + sessionIDLength + cookieLength > bytes.count
    }
}
