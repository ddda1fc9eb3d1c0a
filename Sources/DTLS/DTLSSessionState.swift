/// Where a DTLS session stands.
public enum DTLSSessionState: Hashable, Sendable {
    /// A client session before `start`.
    case notStarted
    /// Flights are being exchanged; `nextDeadline` is the retransmission timer.
    case handshaking
    /// Application data flows both ways, protected by this suite.
    case established(DTLSCipherSuite)
    /// Closed by `close` or by the peer's close_notify.
    case closed
    /// Ended by a failure, which `DTLSEvent.failed` reported.
    case failed(DTLSFailure)
}
