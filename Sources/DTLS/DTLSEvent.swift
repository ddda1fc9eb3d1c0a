/// Something a DTLS session tells the application after a datagram, a deadline or a call.
public enum DTLSEvent: Hashable, Sendable {
    /// The handshake completed: application data can flow, protected by this suite. `resumed`
    /// when it was the abbreviated handshake of a session resumed from a ticket (RFC 5077 3.1).
    case established(DTLSCipherSuite, resumed: Bool)
    /// The session is over; it sends and accepts nothing more.
    case failed(DTLSFailure)
    /// The peer closed an established session with close_notify.
    case closedByPeer
    /// Server only: the peer began a new handshake from the same transport address with a valid
    /// cookie (RFC 6347 4.2.8, a client that restarted). The old session is gone; the peer's
    /// identity must be taken again from the `established` that follows.
    case restartedByPeer
}
