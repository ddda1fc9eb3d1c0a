/// Reads CBOR (RFC 8949) data items one at a time from bytes, for SenML CBOR.
///
/// Definite and indefinite lengths, all major types, half/single/double floats; tag 4 (decimal
/// fraction, which Leshan writes for times) is read as a number and other tags are skipped
/// (RFC 8949 3.4 lets a decoder ignore tags it does not know). Malformed input is an
/// `LwM2MDecodingError` at the byte offset of the offending item; nothing recurses without bound.
struct CBORReader {
    /// One data item; containers give their size and their contents follow.
    enum Item {
        case unsigned(UInt64)
        /// The integer -1 - n.
        case negative(UInt64)
        case bytes(PayloadText)
        case text(PayloadText)
        /// Count nil: indefinite length, ended by `.break`.
        case array(count: Int?)
        /// Count of pairs; nil: indefinite length, ended by `.break`.
        case map(count: Int?)
        case decimalFraction(SenMLNumber)
        case float(Double)
        case boolean(Bool)
        case null
        case undefined
        case simple(UInt8)
        case `break`
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let format: String
    private(set) var offset = 0
    /// Where the item read last starts.
    private(set) var itemOffset = 0

    /// Containers (and tags) deeper than this are refused rather than recursed into.
    static let maximumDepth = 16

    init(_ bytes: UnsafeBufferPointer<UInt8>, format: String) {
        self.bytes = bytes
        self.format = format
    }

    var isAtEnd: Bool { offset == bytes.count }

    func error(_ reason: String, at offset: Int) -> LwM2MDecodingError {
        LwM2MDecodingError(format: format, reason: reason, offset: offset)
    }

    // MARK: Items

    /// Reads the next item (for containers, only their head).
    mutating func read() throws(LwM2MDecodingError) -> Item {
        itemOffset = offset
        var tags = 0
        while true {
            let start = offset
            let (major, info, argument) = try readHead()
            switch major {
            case 0:
                return .unsigned(argument)
            case 1:
                return .negative(argument)
            case 2, 3:
                let text = try readString(major: major, info: info, length: argument, start: start)
                return major == 2 ? .bytes(text) : .text(text)
            case 4:
                return .array(count: info == 31 ? nil : try count(argument, itemsEach: 1, start: start))
            case 5:
                return .map(count: info == 31 ? nil : try count(argument, itemsEach: 2, start: start))
            case 6:
                tags += 1
                guard tags <= Self.maximumDepth else { throw error("too many nested tags", at: start) }
                if argument == 4 { return .decimalFraction(try readDecimalFraction(start: start)) }
                itemOffset = offset
            default:
                return try simpleOrFloat(info: info, argument: argument, start: start)
            }
        }
    }

    /// The initial byte's major type and additional information, and the argument that follows.
    private mutating func readHead() throws(LwM2MDecodingError) -> (major: UInt8, info: UInt8, argument: UInt64) {
        guard offset < bytes.count else { throw error("unexpected end of data", at: offset) }
        let start = offset
        let initial = bytes[offset]
        offset += 1
        let major = initial >> 5
        let info = initial & 0x1F
        switch info {
        case 0..<24:
            return (major, info, UInt64(info))
        case 24...27:
            let length = 1 << Int(info - 24)
            guard bytes.count - offset >= length else { throw error("truncated item head", at: start) }
            var argument: UInt64 = 0
            for _ in 0..<length {
                argument = argument << 8 | UInt64(bytes[offset])
                offset += 1
            }
            return (major, info, argument)
        case 31:
            // RFC 8949 3.2: indefinite length exists for strings, arrays and maps; 0xFF is "break".
            guard major >= 2, major != 6 else { throw error("indefinite length is not allowed for major type \(major)", at: start) }
            return (major, info, 0)
        default:
            throw error("reserved additional information \(info)", at: start)
        }
    }

    /// A container's count, refused when the payload cannot hold that many items.
    private func count(_ argument: UInt64, itemsEach: UInt64, start: Int) throws(LwM2MDecodingError) -> Int {
        let remaining = UInt64(bytes.count - offset)
        guard argument <= remaining / itemsEach else {
            throw error("container of \(argument) items is longer than the data", at: start)
        }
        return Int(argument)
    }

    private mutating func readString(major: UInt8, info: UInt8, length: UInt64, start: Int) throws(LwM2MDecodingError) -> PayloadText {
        if info != 31 {
            let range = try take(length, start: start)
            if major == 3, !UTF8Validation.isValid(UnsafeBufferPointer(rebasing: bytes[range])) {
                throw error("text string is not valid UTF-8", at: start)
            }
            return .range(range)
        }
        // RFC 8949 3.2.3: chunks are definite-length strings of the same major type.
        var joined: [UInt8] = []
        while true {
            guard offset < bytes.count else { throw error("unterminated indefinite-length string", at: start) }
            if bytes[offset] == 0xFF {
                offset += 1
                return .rebuilt(joined)
            }
            let chunkStart = offset
            let (chunkMajor, chunkInfo, chunkLength) = try readHead()
            guard chunkMajor == major, chunkInfo != 31 else {
                throw error("indefinite-length string has a chunk of another kind", at: chunkStart)
            }
            let range = try take(chunkLength, start: chunkStart)
            if major == 3, !UTF8Validation.isValid(UnsafeBufferPointer(rebasing: bytes[range])) {
                throw error("text string is not valid UTF-8", at: chunkStart)
            }
            joined.append(contentsOf: bytes[range])
        }
    }

    private mutating func take(_ length: UInt64, start: Int) throws(LwM2MDecodingError) -> Range<Int> {
        guard length <= UInt64(bytes.count - offset) else { throw error("string is longer than the data", at: start) }
        let range = offset..<(offset + Int(length))
        offset = range.upperBound
        return range
    }

    private func simpleOrFloat(info: UInt8, argument: UInt64, start: Int) throws(LwM2MDecodingError) -> Item {
        switch info {
        case 20: return .boolean(false)
        case 21: return .boolean(true)
        case 22: return .null
        case 23: return .undefined
        case 24:
            // RFC 8949 3.3: simple values below 32 are never written in the two-byte form.
            guard argument >= 32 else { throw error("simple value \(argument) in two-byte form", at: start) }
            return .simple(UInt8(argument))
        case 25: return .float(Self.halfToDouble(UInt16(argument)))
        case 26: return .float(Double(Float(bitPattern: UInt32(argument))))
        case 27: return .float(Double(bitPattern: argument))
        case 31: return .break
        default: return .simple(info)
        }
    }

    /// IEEE 754 binary16 to double (RFC 8949 Appendix D).
    static func halfToDouble(_ half: UInt16) -> Double {
        let exponent = Int(half >> 10 & 0x1F)
        let mantissa = Double(half & 0x3FF)
        let magnitude: Double
        switch exponent {
        case 0: magnitude = mantissa * 0x1p-24
        case 31: magnitude = mantissa == 0 ? .infinity : .nan
        default: magnitude = (1024 + mantissa) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
        }
        return half & 0x8000 != 0 ? -magnitude : magnitude
    }

    /// RFC 8949 3.4.4: tag 4 holds [exponent, mantissa], the value mantissa * 10^exponent. Read
    /// head by head, with no tags inside, so nested tags cannot recurse.
    private mutating func readDecimalFraction(start: Int) throws(LwM2MDecodingError) -> SenMLNumber {
        let (arrayMajor, arrayInfo, arrayCount) = try readHead()
        guard arrayMajor == 4, arrayInfo != 31, arrayCount == 2 else {
            throw error("decimal fraction (tag 4) is not a two-item array", at: start)
        }
        let exponentOffset = offset
        let (exponentMajor, _, exponentArgument) = try readHead()
        let exponent: Int
        switch exponentMajor {
        case 0: exponent = Int(min(exponentArgument, 1_000_000))
        case 1: exponent = -1 - Int(min(exponentArgument, 1_000_000))
        default: throw error("decimal fraction exponent is not an integer", at: exponentOffset)
        }
        let mantissaOffset = offset
        let (mantissaMajor, _, mantissa) = try readHead()
        switch mantissaMajor {
        case 0:
            return .decimal(negative: false, significand: mantissa, exponent: exponent)
        case 1 where mantissa < UInt64.max:
            return .decimal(negative: true, significand: mantissa + 1, exponent: exponent)
        default:
            throw error("decimal fraction mantissa is not an integer within 64 bits", at: mantissaOffset)
        }
    }

    /// Skips the contents of a container just read (its items, to any permitted depth).
    mutating func skipContents(of item: Item, depth: Int = 0) throws(LwM2MDecodingError) {
        let items: Int?
        switch item {
        case .array(let count): items = count
        case .map(let count): items = count.map { $0 * 2 }
        case .break: throw error("unexpected break", at: itemOffset)
        default: return
        }
        guard depth < Self.maximumDepth else { throw error("items nested too deeply", at: itemOffset) }
        if let items {
            for _ in 0..<items {
                let inner = try read()
                if case .break = inner { throw error("unexpected break in a definite-length container", at: itemOffset) }
                try skipContents(of: inner, depth: depth + 1)
            }
        } else {
            while true {
                let inner = try read()
                if case .break = inner { return }
                try skipContents(of: inner, depth: depth + 1)
            }
        }
    }
}
