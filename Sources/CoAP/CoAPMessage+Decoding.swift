extension CoAPMessage {
    /// Decodes one datagram; malformed bytes give an error value, never a trap.
    ///
    /// The message keeps `datagram` as the storage of its options and payload, so decoding
    /// allocates nothing but the option entries.
    public static func decode(_ datagram: [UInt8]) -> Result<CoAPMessage, CoAPDecodingError> {
        datagram.withUnsafeBufferPointer { bytes in
            decode(bytes, storage: datagram)
        }
    }

    private static func decode(
        _ bytes: UnsafeBufferPointer<UInt8>,
        storage datagram: [UInt8]
    ) -> Result<CoAPMessage, CoAPDecodingError> {
        guard bytes.count >= 4 else { return .failure(.init(.shorterThanHeader, at: bytes.count)) }
        let first = bytes[0]
        let version = first >> 6
        guard version == 1 else { return .failure(.init(.unsupportedVersion(version), at: 0)) }
        let type = CoAPMessageType(rawValue: (first >> 4) & 0x3)!
        let tokenLength = Int(first & 0x0F)
        let code = CoAPCode(rawValue: bytes[1])
        let messageID = UInt16(bytes[2]) << 8 | UInt16(bytes[3])

        // RFC 7252 12.1: classes 1, 6 and 7 are reserved; 2.00-5.31 are responses (3.xx is
        // unassigned but well-formed, and libcoap and Californium accept it).
        switch code.codeClass {
        case 0, 2, 3, 4, 5: break
        default: return .failure(.init(.reservedCodeClass(code.codeClass), at: 1))
        }
        if code.isEmpty {
            // RFC 7252 4.1: an Empty message has TKL 0 and nothing after the Message ID.
            guard tokenLength == 0, bytes.count == 4 else {
                return .failure(.init(.emptyMessageWithContent, at: 4))
            }
            return .success(CoAPMessage(type: type, code: code, messageID: messageID))
        }
        if type == .reset { return .failure(.init(.resetWithCode, at: 1)) }
        guard tokenLength <= 8 else { return .failure(.init(.reservedTokenLength(UInt8(tokenLength)), at: 0)) }
        guard bytes.count >= 4 + tokenLength else { return .failure(.init(.truncatedToken, at: bytes.count)) }
        var tokenValue: UInt64 = 0
        for index in 4..<(4 + tokenLength) { tokenValue = tokenValue << 8 | UInt64(bytes[index]) }
        let token = CoAPToken(value: tokenValue, length: UInt8(tokenLength))

        var entries: [CoAPOptions.Entry] = []
        var position = 4 + tokenLength
        var optionNumber = 0
        var payloadStart = bytes.count
        while position < bytes.count {
            let header = bytes[position]
            if header == 0xFF {
                guard position + 1 < bytes.count else {
                    return .failure(.init(.payloadMarkerWithoutPayload, at: position))
                }
                payloadStart = position + 1
                break
            }
            let headerOffset = position
            position += 1
            guard let delta = extendedValue(header >> 4, bytes, &position) else {
                return .failure(.init(header >> 4 == 15 ? .reservedOptionDelta : .truncatedOption, at: headerOffset))
            }
            guard let length = extendedValue(header & 0x0F, bytes, &position) else {
                return .failure(.init(header & 0x0F == 15 ? .reservedOptionLength : .truncatedOption, at: headerOffset))
            }
            optionNumber += delta
            guard optionNumber <= Int(UInt16.max) else {
                return .failure(.init(.optionNumberTooLarge, at: headerOffset))
            }
            guard length <= bytes.count - position else {
                return .failure(.init(.truncatedOption, at: headerOffset))
            }
            if entries.isEmpty { entries.reserveCapacity(8) }
            entries.append(CoAPOptions.Entry(
                number: UInt16(optionNumber), start: UInt32(position), length: UInt32(length)))
            position += length
        }
        return .success(CoAPMessage(
            type: type,
            code: code,
            messageID: messageID,
            token: token,
            options: CoAPOptions(storage: entries.isEmpty ? [] : datagram, entries: entries),
            payload: datagram[payloadStart...]
        ))
    }

    /// Reads an option delta or length nibble with its 1- or 2-byte extension (RFC 7252 3.1).
    private static func extendedValue(
        _ nibble: UInt8,
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ position: inout Int
    ) -> Int? {
        switch nibble {
        case 13:
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return Int(bytes[position]) + 13
        case 14:
            guard position + 1 < bytes.count else { return nil }
            defer { position += 2 }
            return (Int(bytes[position]) << 8 | Int(bytes[position + 1])) + 269
        case 15:
            return nil
        default:
            return Int(nibble)
        }
    }
}
