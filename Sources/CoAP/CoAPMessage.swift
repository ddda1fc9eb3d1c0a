/// One CoAP message (RFC 7252 section 3): header, token, options and payload.
public struct CoAPMessage: Hashable, Sendable {
    public var type: CoAPMessageType
    public var code: CoAPCode
    public var messageID: UInt16
    public var token: CoAPToken
    public var options: CoAPOptions
    /// A view of the payload; for a decoded message it shares the datagram's storage.
    public var payload: ArraySlice<UInt8>

    public init(
        type: CoAPMessageType,
        code: CoAPCode,
        messageID: UInt16 = 0,
        token: CoAPToken = .empty,
        options: CoAPOptions = CoAPOptions(),
        payload: ArraySlice<UInt8> = []
    ) {
        self.type = type
        self.code = code
        self.messageID = messageID
        self.token = token
        self.options = options
        self.payload = payload
    }

    /// An Empty message (code 0.00): an ACK or RST with no token, or a CON "ping".
    public static func empty(_ type: CoAPMessageType, messageID: UInt16) -> CoAPMessage {
        CoAPMessage(type: type, code: .empty, messageID: messageID)
    }

    // MARK: Typed options used by LwM2M

    public var uriPath: [String] { options.strings(.uriPath) }
    public var uriQuery: [String] { options.strings(.uriQuery) }
    public var locationPath: [String] { options.strings(.locationPath) }
    public var locationQuery: [String] { options.strings(.locationQuery) }
    public var uriHost: String? { options.first(.uriHost).map { String(decoding: $0, as: UTF8.self) } }
    public var uriPort: UInt16? { definedUInt(.uriPort).flatMap { UInt16(exactly: $0) } }
    public var contentFormat: UInt16? { definedUInt(.contentFormat).flatMap { UInt16(exactly: $0) } }
    public var accept: UInt16? { definedUInt(.accept).flatMap { UInt16(exactly: $0) } }
    public var observe: UInt32? { definedUInt(.observe).flatMap { UInt32(exactly: $0) } }
    public var maxAge: UInt32? { definedUInt(.maxAge).flatMap { UInt32(exactly: $0) } }
    public var size1: UInt32? { definedUInt(.size1).flatMap { UInt32(exactly: $0) } }
    public var size2: UInt32? { definedUInt(.size2).flatMap { UInt32(exactly: $0) } }
    public var eTag: ArraySlice<UInt8>? { options.first(.eTag) }
    public var block1: CoAPBlockOption? { definedUInt(.block1).flatMap(CoAPBlockOption.init(value:)) }
    public var block2: CoAPBlockOption? { definedUInt(.block2).flatMap(CoAPBlockOption.init(value:)) }

    /// A known uint option's value, or nil when its length is outside the option's definition,
    /// which RFC 7252 5.4.3 says to treat like an option that is not there.
    private func definedUInt(_ number: CoAPOptionNumber) -> UInt64? {
        guard let value = options.first(number),
              number.definition.map({ $0.lengths.contains(value.count) }) ?? true
        else { return nil }
        return CoAPOptions.uint(from: value)
    }

    /// The Uri-Path joined with "/" and a leading "/", as a log line or a router wants it.
    public var path: String { "/" + uriPath.joined(separator: "/") }

    /// Replaces the Uri-Path with the segments of `path` ("/rd/5a3f" or "rd/5a3f").
    public mutating func setPath(_ path: String) {
        options.remove(.uriPath)
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            options.append(.uriPath, string: String(segment))
        }
    }

    public mutating func setBlock1(_ block: CoAPBlockOption) { options.set(.block1, uint: block.value) }
    public mutating func setBlock2(_ block: CoAPBlockOption) { options.set(.block2, uint: block.value) }
}

extension CoAPMessage: CustomStringConvertible {
    public var description: String {
        var text = "\(type) \(code) mid=\(messageID)"
        if token.length > 0 { text += " token=\(token)" }
        for option in options {
            let value: String = switch option.number.definition?.format {
            case .string: "\"\(option.stringValue)\""
            case .uint: option.uintValue.map(String.init) ?? "?"
            default: option.value.map { String($0, radix: 16) }.joined()
            }
            text += " \(option.number)=\(value)"
        }
        if !payload.isEmpty { text += " payload=\(payload.count)B" }
        return text
    }
}
