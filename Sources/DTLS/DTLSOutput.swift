/// What one call into a DTLS session produced: the driver sends the datagrams, hands the
/// application data to CoAP and acts on the events.
///
/// As with `CoAPEndpointOutput`, the driver keeps one per loop and clears it after each call.
public struct DTLSOutput: Sendable {
    /// Datagrams for the peer, each ready for one `send`.
    public var datagrams: [[UInt8]] = []
    /// Decrypted application data, one element per record, in the order received.
    public var applicationData: [[UInt8]] = []
    public var events: [DTLSEvent] = []
    /// Handshake flights sent again because the retransmission timer ran out (RFC 6347 4.2.4).
    public var flightsRetransmitted = 0

    public init() {}

    public mutating func removeAll() {
        datagrams.removeAll(keepingCapacity: true)
        applicationData.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
        flightsRetransmitted = 0
    }
}
