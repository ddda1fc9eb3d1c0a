/// Identifies a request sent through an endpoint until its final outcome is delivered.
public struct CoAPRequestID: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public var description: String { "#\(rawValue)" }
}

/// A request received from the peer, held by the application until it responds.
public struct CoAPIncomingRequest: Hashable, Sendable {
    /// The request; with Block1 it carries the whole reassembled payload.
    public var message: CoAPMessage
    /// The Block1 option to echo in the final response when the payload came in blocks.
    var block1Echo: CoAPBlockOption?
    /// A retransmission of a request the application ignored (`CoAPEndpoint.ignore`), delivered
    /// again so that it can be answered now.
    public internal(set) var repeatsIgnoredRequest = false
}

/// Why a request we sent ended without a response.
public enum CoAPRequestFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// No ACK after MAX_RETRANSMIT retransmissions, or no response within the response timeout.
    case timeout
    /// The peer answered with a Reset message.
    case reset
    /// A block-wise transfer broke off: the peer sent a block we did not ask for.
    case blockwiseMismatch

    public var description: String {
        switch self {
        case .timeout: "timeout"
        case .reset: "reset by peer"
        case .blockwiseMismatch: "block-wise transfer out of sequence"
        }
    }
}

/// Something the endpoint hands to the application after a datagram or a deadline.
public enum CoAPEndpointEvent: Hashable, Sendable {
    /// A new request from the peer; answer it with `respond(to:with:now:output:)`.
    case request(CoAPIncomingRequest)
    /// The final response to a request we sent (block-wise bodies reassembled).
    case response(CoAPRequestID, CoAPMessage)
    /// A request we sent ended without a response.
    case failed(CoAPRequestID, CoAPRequestFailure)
    /// A CON notification was answered with Reset or never acknowledged: the observer is gone
    /// (RFC 7641 3.6, 4.5).
    case notificationFailed(CoAPToken, CoAPRequestFailure)
    /// A datagram that is not valid CoAP, or a message we had to refuse; counted, never fatal.
    case rejected(CoAPRejection)
}

/// A message the endpoint refused, with the reason, for counters and logs.
public enum CoAPRejection: Hashable, Sendable, CustomStringConvertible {
    case malformed(CoAPDecodingError)
    case badOption(CoAPOptionProblem)
    /// A response or ACK that matches nothing we sent (late, duplicated, or stray).
    case unexpected(CoAPMessageType, CoAPCode)

    public var description: String {
        switch self {
        case .malformed(let error): "malformed: \(error)"
        case .badOption(let problem): "bad option: \(problem)"
        case .unexpected(let type, let code): "unexpected \(type) \(code)"
        }
    }
}

/// What one call into an endpoint produced; the driver sends the datagrams and handles the events.
///
/// The driver keeps one output per loop and clears it after each call, so steady-state
/// operation reuses its storage instead of allocating per datagram.
public struct CoAPEndpointOutput: Sendable {
    public var datagrams: [[UInt8]] = []
    public var events: [CoAPEndpointEvent] = []
    /// CON messages sent again because their ACK did not come in time.
    public var retransmissions = 0
    /// Retransmitted requests of the peer answered again from the duplicate cache: the peer had
    /// not heard our answer until now.
    public var repliesRepeated = 0

    public init() {}

    public mutating func removeAll() {
        datagrams.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
        retransmissions = 0
        repliesRepeated = 0
    }
}
