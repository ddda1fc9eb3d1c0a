/// Base64 (RFC 4648) for opaque values in the JSON formats: SenML `vd` is base64url without
/// padding (RFC 8428 4.3), LwM2M JSON `sv` of an Opaque resource is standard base64 with padding.
enum Base64 {
    enum Alphabet {
        /// RFC 4648 section 5, no padding (SenML).
        case urlUnpadded
        /// RFC 4648 section 4, padded with "=" (LwM2M JSON).
        case standardPadded
    }

    private static let standardDigits: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    private static let urlDigits: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    /// Appends the encoding of `data` to `output`.
    static func encode(_ data: [UInt8], as alphabet: Alphabet, into output: inout [UInt8]) {
        let digits = alphabet == .urlUnpadded ? urlDigits.utf8Start : standardDigits.utf8Start
        var index = 0
        while index + 3 <= data.count {
            let group = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
            output.append(digits[Int(group >> 18)])
            output.append(digits[Int(group >> 12 & 0x3F)])
            output.append(digits[Int(group >> 6 & 0x3F)])
            output.append(digits[Int(group & 0x3F)])
            index += 3
        }
        let remaining = data.count - index
        guard remaining > 0 else { return }
        let group = UInt32(data[index]) << 16 | (remaining == 2 ? UInt32(data[index + 1]) << 8 : 0)
        output.append(digits[Int(group >> 18)])
        output.append(digits[Int(group >> 12 & 0x3F)])
        if remaining == 2 { output.append(digits[Int(group >> 6 & 0x3F)]) }
        if alphabet == .standardPadded {
            output.append(contentsOf: repeatElement(UInt8(ascii: "="), count: 3 - remaining))
        }
    }

    /// The length of `encode` output for `count` bytes.
    static func encodedCount(_ count: Int, as alphabet: Alphabet) -> Int {
        alphabet == .standardPadded ? (count + 2) / 3 * 4 : (count * 4 + 2) / 3
    }

    /// Decodes either alphabet, padded or not (implementations differ: wakaama pads SenML `vd`);
    /// nil for anything else, including bits left over in the last digit.
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var length = text.count
        if length % 4 == 0, length > 0, text[length - 1] == UInt8(ascii: "=") {
            length -= text[length - 2] == UInt8(ascii: "=") ? 2 : 1
        }
        guard length % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(length * 3 / 4)
        var group: UInt32 = 0
        var digitsInGroup = 0
        for index in 0..<length {
            guard let value = sextet(text[index]) else { return nil }
            group = group << 6 | value
            digitsInGroup += 1
            if digitsInGroup == 4 {
                output.append(UInt8(truncatingIfNeeded: group >> 16))
                output.append(UInt8(truncatingIfNeeded: group >> 8))
                output.append(UInt8(truncatingIfNeeded: group))
                group = 0
                digitsInGroup = 0
            }
        }
        switch digitsInGroup {
        case 2:
            guard group & 0x0F == 0 else { return nil }
            output.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:
            guard group & 0x03 == 0 else { return nil }
            output.append(UInt8(truncatingIfNeeded: group >> 10))
            output.append(UInt8(truncatingIfNeeded: group >> 2))
        default:
            break
        }
        return output
    }

    @inline(__always)
    private static func sextet(_ digit: UInt8) -> UInt32? {
        switch digit {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(digit - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(digit - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(digit - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"), UInt8(ascii: "-"): 62
        case UInt8(ascii: "/"), UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
