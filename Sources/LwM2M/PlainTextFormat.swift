/// Plain text, content format 0: the value of one resource or resource instance (LwM2M 1.1 TS Core 7.4.1).
///
/// Numbers and times are ASCII decimal, booleans "0" or "1", an objlnk "65:0", opaque base64
/// (RFC 4648 section 4, padded; unpadded and base64url are read too). A resource the model does not
/// define is read as a string.
public enum PlainTextFormat {
    /// The name errors carry in `format`.
    static let name = "plain text"

    /// Decodes the value at `requestPath`, a single-instance resource or a resource instance.
    public static func decode(
        _ payload: [UInt8], requestPath: LwM2MPath, model: LwM2MModel
    ) -> Result<[LwM2MRecord], LwM2MDecodingError> {
        // LwM2M 1.1 TS Core 7.4.1: a single resource or one resource instance, never a whole multiple resource.
        guard requestPath.level == .resourceInstance
            || requestPath.level == .resource && model.resource(at: requestPath)?.isMultipleInstance != true
        else {
            return .failure(error("carries one single resource or resource instance, not \(requestPath)", at: nil))
        }
        return Result { () throws(LwM2MDecodingError) in
            [LwM2MRecord(path: requestPath, value: try value(payload, type: model.resourceType(at: requestPath) ?? .string))]
        }
    }

    /// Encodes exactly one record, whose path must be the request path.
    public static func encode(_ records: [LwM2MRecord], requestPath: LwM2MPath) -> Result<[UInt8], LwM2MEncodingError> {
        let record: LwM2MRecord
        switch LwM2MRecord.single(in: records, at: requestPath, format: name) {
        case .success(let only): record = only
        case .failure(let error): return .failure(error)
        }
        switch record.value {
        case .string(let text), .coreLink(let text): return .success(Array(text.utf8))
        case .integer(let number), .time(let number): return .success(Array(String(number).utf8))
        case .unsignedInteger(let number): return .success(Array(String(number).utf8))
        case .float(let number):
            guard number.isFinite else {
                return .failure(LwM2MEncodingError(format: name, reason: "\(record.path): float \(number) has no decimal form"))
            }
            // Swift prints the shortest text that reads back to the same Double ("0.1", "1e-05").
            return .success(Array(number.description.utf8))
        case .boolean(let flag): return .success([flag ? UInt8(ascii: "1") : UInt8(ascii: "0")])
        case .opaque(let bytes):
            var text: [UInt8] = []
            text.reserveCapacity(Base64.encodedCount(bytes.count, as: .standardPadded))
            Base64.encode(bytes, as: .standardPadded, into: &text)
            return .success(text)
        case .objectLink(let link): return .success(Array(link.description.utf8))
        }
    }

    private static func error(_ reason: String, at offset: Int?) -> LwM2MDecodingError {
        LwM2MDecodingError(format: name, reason: reason, offset: offset)
    }

    private static func value(_ payload: [UInt8], type: LwM2MResourceType) throws(LwM2MDecodingError) -> LwM2MValue {
        // Number grammars are checked first, so the text they parse is ASCII.
        let ascii = { String(decoding: payload, as: UTF8.self) }
        switch type {
        case .string, .coreLink:
            guard let text = String(validating: payload, as: UTF8.self) else {
                throw error("\(type.rawValue) value is not valid UTF-8", at: nil)
            }
            return type == .string ? .string(text) : .coreLink(text)
        case .integer, .time:
            try checkDigits(payload, allowingMinus: true, type: type)
            guard let number = Int64(ascii()) else { throw error("\(type.rawValue) \(ascii()) is out of range", at: 0) }
            return type == .integer ? .integer(number) : .time(number)
        case .unsignedInteger:
            try checkDigits(payload, allowingMinus: false, type: type)
            guard let number = UInt64(ascii()) else { throw error("unsigned integer \(ascii()) is out of range", at: 0) }
            return .unsignedInteger(number)
        case .float:
            try checkDecimal(payload)
            guard let number = Double(ascii()), number.isFinite else { throw error("float \(ascii()) is out of range", at: 0) }
            return .float(number)
        case .boolean:
            switch payload {
            case [UInt8(ascii: "0")]: return .boolean(false)
            case [UInt8(ascii: "1")]: return .boolean(true)
            default: throw error("boolean must be \"0\" or \"1\"", at: 0)
            }
        case .objectLink:
            let parts = payload.split(separator: UInt8(ascii: ":"), maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(isDigit) }),
                  let link = LwM2MObjectLink(ascii())
            else {
                throw error("objlnk must be \"object:instance\" with ids 0-65535", at: 0)
            }
            return .objectLink(link)
        case .opaque:
            guard let bytes = payload.withUnsafeBufferPointer(Base64.decode) else {
                throw error("opaque value is not base64 (RFC 4648 section 4)", at: nil)
            }
            return .opaque(bytes)
        case .none:
            throw error("an executable resource carries no value", at: nil)
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// `-?[0-9]+`: Swift's integer parsing would also take a leading "+".
    private static func checkDigits(_ payload: [UInt8], allowingMinus: Bool, type: LwM2MResourceType) throws(LwM2MDecodingError) {
        let start = allowingMinus && payload.first == UInt8(ascii: "-") ? 1 : 0
        guard start < payload.count else { throw error("\(type.rawValue) needs at least one digit", at: payload.count) }
        if let bad = payload[start...].firstIndex(where: { !isDigit($0) }) {
            throw error("\(type.rawValue) has a character that is not a decimal digit", at: bad)
        }
    }

    /// `-?(digits[.digits*] | .digits)([eE][+-]?digits)?`: Swift's Double parsing would also take
    /// "nan", "inf" and hexadecimal floats.
    private static func checkDecimal(_ payload: [UInt8]) throws(LwM2MDecodingError) {
        var position = payload.first == UInt8(ascii: "-") ? 1 : 0
        func digits() -> Int {
            let start = position
            while position < payload.count, isDigit(payload[position]) { position += 1 }
            return position - start
        }
        var mantissaDigits = digits()
        if position < payload.count, payload[position] == UInt8(ascii: ".") {
            position += 1
            mantissaDigits += digits()
        }
        guard mantissaDigits > 0 else { throw error("float needs at least one digit", at: position) }
        if position < payload.count, payload[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < payload.count, payload[position] == UInt8(ascii: "+") || payload[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digits() > 0 else { throw error("float exponent needs at least one digit", at: position) }
        }
        guard position == payload.count else { throw error("float has an unexpected character", at: position) }
    }
}
