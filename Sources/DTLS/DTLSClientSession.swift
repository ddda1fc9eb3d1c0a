import CoAP

/// The client side of a DTLS 1.2 PSK session, sans I/O: `start` sends the ClientHello, then
/// `receive`, `handleDeadline`, `send` and `close` as on every `DTLSSession`.
///
/// Each client session has an mbedTLS config of its own, because mbedTLS 2.28 keeps the
/// client's PSK identity and key in the config, not in the context; a parked session frees it
/// and keeps the key, the parameters and the generator's state to build it again.
public final class DTLSClientSession: DTLSSession {
    /// A session that will authenticate with `key`. Its random bytes (Hello random, IVs) come
    /// from `seed`, so a run replays; that makes it a load tester's session, not a secure one.
    /// Throws when mbedTLS could not take the key or the parameters.
    ///
    /// With `resuming`, a `resumableSession` of an earlier session with the same server, the
    /// handshake offers its ticket: a server that can read it resumes the session in an
    /// abbreviated handshake (`DTLSEvent.established(_, resumed: true)`); one that cannot, or a
    /// blob mbedTLS cannot load, gets a full handshake.
    public init(
        key: PreSharedKey, parameters: DTLSParameters = DTLSParameters(), seed: UInt64, resuming saved: [UInt8]? = nil
    ) throws(DTLSConfigurationError) {
        if let problem = parameters.problem { throw DTLSConfigurationError(problem) }
        if let problem = key.problem { throw DTLSConfigurationError(problem) }
        super.init(source: .own(key, parameters, random: SeededRandom(seed: seed)), transportID: nil)
        if let saved { _ = offer(savedSession: saved) }
    }

    /// What a later session resumes this one from (`init(key:parameters:seed:resuming:)`): the
    /// session state and the server's ticket, a few hundred bytes. Nil unless established with
    /// `DTLSParameters.requestsSessionTicket` and not parked; take it on `established`.
    public var resumableSession: [UInt8]? {
        savedSession()
    }

    /// Sends the first ClientHello and sets the retransmission timer; once only.
    public func start(now: Timestamp, output: inout DTLSOutput) {
        startHandshake(now: now, output: &output)
    }
}
