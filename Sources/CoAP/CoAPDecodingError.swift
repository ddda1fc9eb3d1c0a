/// Why a datagram is not a well-formed CoAP message, and at which byte.
public struct CoAPDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The rule of RFC 7252 section 3 that the bytes break.
    public enum Reason: Hashable, Sendable {
        case shorterThanHeader
        case unsupportedVersion(UInt8)
        case reservedTokenLength(UInt8)
        case truncatedToken
        case reservedCodeClass(UInt8)
        case emptyMessageWithContent
        case resetWithCode
        case reservedOptionDelta
        case reservedOptionLength
        case truncatedOption
        case optionNumberTooLarge
        case payloadMarkerWithoutPayload
    }

    public var reason: Reason
    /// Byte offset in the datagram where the problem was found.
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let text: String = switch reason {
        case .shorterThanHeader: "datagram shorter than the 4-byte CoAP header"
        case .unsupportedVersion(let version): "CoAP version \(version), only 1 is defined"
        case .reservedTokenLength(let length): "token length \(length) is reserved (0-8 allowed)"
        case .truncatedToken: "datagram ends inside the token"
        case .reservedCodeClass(let codeClass): "code class \(codeClass) is reserved"
        case .emptyMessageWithContent: "an Empty message (code 0.00) must have no token, options or payload"
        case .resetWithCode: "a Reset message must be Empty (code 0.00)"
        case .reservedOptionDelta: "option delta nibble 15 outside a payload marker"
        case .reservedOptionLength: "option length nibble 15 is reserved"
        case .truncatedOption: "datagram ends inside an option"
        case .optionNumberTooLarge: "option number exceeds 65535"
        case .payloadMarkerWithoutPayload: "payload marker 0xFF followed by no payload"
        }
        return "\(text) (at byte \(offset))"
    }
}
