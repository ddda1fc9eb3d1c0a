/// Reliability and block-wise settings of an endpoint (RFC 7252 4.8, RFC 7959).
///
/// Every endpoint carries a copy, so the fields use the smallest types that hold their range.
public struct CoAPTransmissionParameters: Hashable, Sendable, Codable {
    /// ACK_TIMEOUT: the first wait for an ACK before randomization.
    public var ackTimeoutMilliseconds: UInt32 = 2_000
    /// ACK_RANDOM_FACTOR: the first wait is drawn from [ACK_TIMEOUT, ACK_TIMEOUT * factor].
    public var ackRandomFactor: Float = 1.5
    /// How long to wait for a separate response after an empty ACK, or for a NON request's response.
    public var responseTimeoutMilliseconds: UInt32 = 247_000
    /// Requests with a payload above this many bytes are sent with Block1 (RFC 7959).
    public var block1Threshold: UInt16 = 1024
    /// Block size (16-1024, a power of two) used for Block1 requests and for Block2 responses we serve.
    public var preferredBlockSize: UInt16 = 1024
    /// MAX_RETRANSMIT: retransmissions of a CON message before giving up.
    public var maxRetransmit: UInt8 = 4
    /// How many recent incoming messages are remembered for duplicate detection (bounded memory);
    /// requests the application ignored (`CoAPEndpoint.ignore`) are kept until they expire, beyond it.
    public var duplicateCacheCapacity: UInt8 = 8
    /// Bytes of token we put on requests (0-8).
    public var tokenLength: UInt8 = 4

    public init() {}

    var ackTimeoutNanoseconds: UInt64 { UInt64(ackTimeoutMilliseconds) * 1_000_000 }
    var responseTimeoutNanoseconds: UInt64 { UInt64(responseTimeoutMilliseconds) * 1_000_000 }

    /// MAX_TRANSMIT_SPAN (RFC 7252 4.8.2): from first transmission to the last retransmission.
    public var maxTransmitSpanNanoseconds: UInt64 {
        UInt64(Double(ackTimeoutNanoseconds) * Double((1 << UInt64(maxRetransmit)) - 1) * Double(ackRandomFactor))
    }

    /// MAX_TRANSMIT_WAIT (RFC 7252 4.8.2): from first transmission until giving up on the ACK, 93 s by default.
    public var maxTransmitWaitNanoseconds: UInt64 {
        UInt64(Double(ackTimeoutNanoseconds) * Double((2 << UInt64(maxRetransmit)) - 1) * Double(ackRandomFactor))
    }

    /// EXCHANGE_LIFETIME (RFC 7252 4.8.2): how long a message ID stays in use, 247 s by default.
    public var exchangeLifetimeNanoseconds: UInt64 {
        maxTransmitSpanNanoseconds + 2 * 100_000_000_000 + ackTimeoutNanoseconds
    }

    /// NON_LIFETIME (RFC 7252 4.8.2): how long a NON message ID stays in use, 145 s by default.
    public var nonLifetimeNanoseconds: UInt64 {
        maxTransmitSpanNanoseconds + 100_000_000_000
    }
}
