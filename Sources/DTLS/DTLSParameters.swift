/// What a DTLS session is configured with on either side: the suites and the handshake timer.
public struct DTLSParameters: Hashable, Sendable {
    /// Offered (client) or accepted (server) in this order of preference.
    public var cipherSuites: [DTLSCipherSuite] = DTLSCipherSuite.allCases
    /// The first handshake retransmission timeout; it doubles after each retransmission
    /// (RFC 6347 4.2.4.1 suggests 1 s). Raise it to pace a handshake storm.
    public var handshakeTimeoutMinimumMilliseconds: UInt32 = 1_000
    /// The doubling stops here (RFC 6347 4.2.4.1: 60 s), and a wait this long that runs out ends
    /// the handshake with `DTLSFailure.timeout`: with the defaults a flight goes at 0, 1, 3, 7,
    /// 15, 31 and 63 s, and an unanswered handshake fails at 123 s.
    public var handshakeTimeoutMaximumMilliseconds: UInt32 = 60_000
    /// Client: ask the server for a session ticket (RFC 5077), so the session can be saved
    /// (`DTLSClientSession.resumableSession`) and resumed by a later one. Off by default: a
    /// ticket is heap the client keeps for the session's life. A server always issues one when
    /// asked, and ignores this.
    public var requestsSessionTicket = false

    public init() {}

    /// The first mistake in these parameters, in words, or nil when mbedTLS can take them.
    var problem: String? {
        if cipherSuites.isEmpty { return "no cipher suite: list at least one" }
        if handshakeTimeoutMinimumMilliseconds == 0 { return "the minimum handshake timeout must be above 0 ms" }
        if handshakeTimeoutMaximumMilliseconds < handshakeTimeoutMinimumMilliseconds {
            return "the maximum handshake timeout (\(handshakeTimeoutMaximumMilliseconds) ms) is below the minimum (\(handshakeTimeoutMinimumMilliseconds) ms)"
        }
        return nil
    }
}
