/// The server side of a DTLS 1.2 PSK session with one peer, sans I/O: create it for the first
/// datagram from a new transport address and feed it every datagram from there.
///
/// The first ClientHello is answered with a HelloVerifyRequest (RFC 6347 4.2.1) and the session
/// resets itself for the ClientHello that brings the cookie, so the caller just keeps feeding
/// datagrams. `clientIdentity` says which client it is once the handshake found its key.
///
/// Before the handshake completes, nothing is authenticated: a malformed handshake message,
/// forged or not, fails the session (mbedTLS treats it as fatal). A failed session stays
/// failed, so create a new one for the next datagram from that peer. Once established, only a
/// ClientHello with a cookie still valid for this peer (mbedTLS's, 60 s of wall clock) can
/// end the session: it restarts it (`DTLSEvent.restartedByPeer`), even when it is a replay.
public final class DTLSServerSession: DTLSSession {
    /// A session with the peer that `transportID` names (address and port, in any encoding the
    /// caller keeps stable): the cookie binds the handshake to it.
    public init(configuration: DTLSServerConfiguration, transportID: [UInt8]) {
        super.init(source: .shared(configuration.mbedTLS), transportID: transportID)
    }

    /// The PSK identity the client presented and the server had a key for; nil before, and
    /// again after `DTLSEvent.restartedByPeer` until the new handshake finds a key. Nil after a
    /// resumed handshake too: mbedTLS 2.28's tickets do not carry the identity.
    public var clientIdentity: [UInt8]? { peerIdentity }
}
