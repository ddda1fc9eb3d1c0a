/// Reads JSON (RFC 8259) from UTF-8 bytes one token at a time, for the JSON content formats.
///
/// Strings without escapes come back as ranges of the payload, numbers as exact decimals; every
/// malformed input is an `LwM2MDecodingError` at a byte offset, which the format turns into a
/// character offset (`characterOffsets`) once, when it fails.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    /// The format named in errors ("SenML JSON", "LwM2M JSON").
    let format: String
    private(set) var offset = 0

    /// Containers deeper than this inside a skipped value are refused rather than recursed into.
    static let maximumSkipDepth = 32

    init(_ bytes: UnsafeBufferPointer<UInt8>, format: String, offset: Int = 0) {
        self.bytes = bytes
        self.format = format
        self.offset = offset
    }

    func error(_ reason: String, at byteOffset: Int) -> LwM2MDecodingError {
        LwM2MDecodingError(format: format, reason: reason, offset: byteOffset)
    }

    /// `error` with its byte offset in `bytes` turned into a character (Unicode scalar) offset.
    static func characterOffsets(_ error: LwM2MDecodingError, in bytes: UnsafeBufferPointer<UInt8>) -> LwM2MDecodingError {
        guard let byteOffset = error.offset else { return error }
        var characters = 0
        for index in 0..<min(byteOffset, bytes.count) where bytes[index] & 0xC0 != 0x80 { characters += 1 }
        var converted = error
        converted.offset = characters
        return converted
    }

    /// Moves past white space (RFC 8259 2) and returns the next byte without consuming it.
    @inline(__always)
    mutating func peek() -> UInt8? {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return bytes[offset]
            }
        }
        return nil
    }

    var isAtEnd: Bool {
        mutating get { peek() == nil }
    }

    /// Consumes `byte` (after white space) if it is next.
    @inline(__always)
    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        offset += 1
        return true
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(LwM2MDecodingError) {
        guard consume(byte) else { throw error("expected \(what)", at: offset) }
    }

    /// After the first member of an object or element of an array: true when another follows
    /// (a comma was consumed), false at the closing `close`.
    mutating func continues(until close: UInt8) throws(LwM2MDecodingError) -> Bool {
        if consume(UInt8(ascii: ",")) { return true }
        if consume(close) { return false }
        throw error(close == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'", at: offset)
    }

    // MARK: Strings

    /// Reads a string; the result is a range of the payload unless it held escapes.
    mutating func readString() throws(LwM2MDecodingError) -> PayloadText {
        guard peek() == UInt8(ascii: "\"") else { throw error("expected a string", at: offset) }
        offset += 1
        let start = offset
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                return .range(start..<(offset - 1))
            } else if byte == UInt8(ascii: "\\") {
                return .rebuilt(try readEscapedString(from: start))
            } else {
                try skipStringByte(byte)
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    /// One byte (or UTF-8 sequence) of string content that is not an escape or the closing quote.
    @inline(__always)
    private mutating func skipStringByte(_ byte: UInt8) throws(LwM2MDecodingError) {
        if byte >= 0x80 {
            guard let length = UTF8Validation.sequenceLength(in: bytes, at: offset) else {
                throw error("string is not valid UTF-8", at: offset)
            }
            offset += length
        } else if byte < 0x20 {
            // RFC 8259 7: control characters must be escaped.
            throw error("unescaped control character in string", at: offset)
        } else {
            offset += 1
        }
    }

    private mutating func readEscapedString(from start: Int) throws(LwM2MDecodingError) -> [UInt8] {
        var text = Array(bytes[start..<offset])
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                return text
            } else if byte == UInt8(ascii: "\\") {
                try readEscape(into: &text)
            } else {
                let from = offset
                try skipStringByte(byte)
                text.append(contentsOf: bytes[from..<offset])
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    private mutating func readEscape(into text: inout [UInt8]) throws(LwM2MDecodingError) {
        let escapeOffset = offset
        guard offset + 1 < bytes.count else { throw error("unterminated escape", at: escapeOffset) }
        let letter = bytes[offset + 1]
        offset += 2
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(letter)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHexQuad(escapeOffset)
            if (0xD800...0xDBFF).contains(scalar) {
                // RFC 8259 7: a character outside the BMP is a surrogate pair of two escapes.
                guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
                else { throw error("unpaired surrogate escape", at: escapeOffset) }
                offset += 2
                let low = try readHexQuad(escapeOffset)
                guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate escape", at: escapeOffset) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired surrogate escape", at: escapeOffset)
            }
            text.append(contentsOf: Unicode.UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            throw error("invalid escape '\\\(Unicode.Scalar(letter))'", at: escapeOffset)
        }
    }

    private mutating func readHexQuad(_ escapeOffset: Int) throws(LwM2MDecodingError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw error("truncated \\u escape", at: escapeOffset) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let digit: UInt32
            switch bytes[offset] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(bytes[offset] - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(bytes[offset] - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(bytes[offset] - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape", at: escapeOffset)
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    // MARK: Numbers, literals

    /// Reads a number (RFC 8259 6) exactly: a decimal unless it has more than 19 significant digits.
    mutating func readNumber() throws(LwM2MDecodingError) -> SenMLNumber {
        _ = peek()
        let start = offset
        let negative = offset < bytes.count && bytes[offset] == UInt8(ascii: "-")
        if negative { offset += 1 }
        var significand: UInt64 = 0
        var exponent = 0
        var lostDigits = false
        // Once a digit did not fit, none after it may be appended either.
        var saturated = false

        let integerStart = offset
        while offset < bytes.count, let digit = Self.digit(bytes[offset]) {
            if saturated || !Self.accumulate(digit, into: &significand) {
                saturated = true
                exponent += 1
                lostDigits = lostDigits || digit != 0
            }
            offset += 1
        }
        let integerDigits = offset - integerStart
        guard integerDigits > 0 else { throw error("expected a value", at: start) }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            throw error("number has a leading zero", at: start)
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            let fractionStart = offset
            while offset < bytes.count, let digit = Self.digit(bytes[offset]) {
                if !saturated, Self.accumulate(digit, into: &significand) {
                    exponent -= 1
                } else {
                    saturated = true
                    lostDigits = lostDigits || digit != 0
                }
                offset += 1
            }
            guard offset > fractionStart else { throw error("number has no digits after '.'", at: start) }
        }
        if offset < bytes.count, bytes[offset] | 0x20 == UInt8(ascii: "e") {
            offset += 1
            var exponentNegative = false
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                exponentNegative = bytes[offset] == UInt8(ascii: "-")
                offset += 1
            }
            let exponentStart = offset
            var written = 0
            while offset < bytes.count, let digit = Self.digit(bytes[offset]) {
                // Saturate: anything past a million is zero or infinity for a double anyway.
                written = min(written * 10 + Int(digit), 1_000_000)
                offset += 1
            }
            guard offset > exponentStart else { throw error("number has no exponent digits", at: start) }
            exponent += exponentNegative ? -written : written
        }
        if lostDigits {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
            return .binary(Double(text) ?? .nan)
        }
        return .decimal(negative: negative, significand: significand, exponent: exponent)
    }

    @inline(__always)
    private static func digit(_ byte: UInt8) -> UInt64? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? UInt64(byte - UInt8(ascii: "0")) : nil
    }

    /// Appends a digit to `significand`; false when it would overflow (the digit is then dropped).
    @inline(__always)
    private static func accumulate(_ digit: UInt64, into significand: inout UInt64) -> Bool {
        let (times10, overflow) = significand.multipliedReportingOverflow(by: 10)
        let (sum, carry) = times10.addingReportingOverflow(digit)
        guard !overflow, !carry else { return false }
        significand = sum
        return true
    }

    /// Reads `true` or `false`.
    mutating func readBoolean() throws(LwM2MDecodingError) -> Bool {
        if readLiteral("true") { return true }
        if readLiteral("false") { return false }
        throw error("expected true or false", at: offset)
    }

    private mutating func readLiteral(_ literal: StaticString) -> Bool {
        _ = peek()
        let count = literal.utf8CodeUnitCount
        guard bytes.count - offset >= count else { return false }
        for index in 0..<count where bytes[offset + index] != literal.utf8Start[index] { return false }
        offset += count
        return true
    }

    /// Skips any value (of an unknown label), refusing nesting deeper than `maximumSkipDepth`.
    mutating func skipValue(depth: Int = 0) throws(LwM2MDecodingError) {
        guard depth < Self.maximumSkipDepth else { throw error("values nested too deeply", at: offset) }
        switch peek() {
        case UInt8(ascii: "\""):
            _ = try readString()
        case UInt8(ascii: "{"):
            offset += 1
            if consume(UInt8(ascii: "}")) { return }
            repeat {
                _ = try readString()
                try expect(UInt8(ascii: ":"), "':'")
                try skipValue(depth: depth + 1)
            } while try continues(until: UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            offset += 1
            if consume(UInt8(ascii: "]")) { return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try continues(until: UInt8(ascii: "]"))
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            _ = try readBoolean()
        case UInt8(ascii: "n"):
            guard readLiteral("null") else { throw error("expected a value", at: offset) }
        default:
            _ = try readNumber()
        }
    }
}
