/// The CoAP message type of RFC 7252 section 3: how reliably a message is carried.
public enum CoAPMessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case confirmable = 0
    case nonConfirmable = 1
    case acknowledgement = 2
    case reset = 3

    public var description: String {
        switch self {
        case .confirmable: "CON"
        case .nonConfirmable: "NON"
        case .acknowledgement: "ACK"
        case .reset: "RST"
        }
    }
}
