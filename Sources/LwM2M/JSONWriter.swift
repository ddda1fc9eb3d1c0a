/// Writes compact JSON (RFC 8259, no white space) into a byte buffer, for the JSON content formats.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends ASCII punctuation or a member name written out, such as `{"bn":`.
    @inline(__always)
    mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        bytes.append(byte)
    }

    mutating func append(integer value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        DecimalDigits.append(value.magnitude, to: &bytes)
    }

    mutating func append(unsigned value: UInt64) {
        DecimalDigits.append(value, to: &bytes)
    }

    /// Appends a finite double in the shortest form that reads back as the same double
    /// (Swift's description: "22.4", "300.0", "1e-05", "1e+16" are all JSON numbers).
    mutating func append(double value: Double) {
        bytes.append(contentsOf: value.description.utf8)
    }

    /// Appends a number of seconds: an integer when whole, else the shortest double.
    mutating func append(seconds value: Double) {
        if let whole = Int64(exactly: value) {
            append(integer: whole)
        } else {
            append(double: value)
        }
    }

    private static let hexDigits: StaticString = "0123456789ABCDEF"

    /// Appends `text` as a quoted string: `"` and `\` escaped, control characters as the short
    /// escapes RFC 8259 7 has (\b \f \n \r \t) or \u00XX; "/" and non-ASCII are written as they are.
    mutating func append(string text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), byte])
                case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
                case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
                case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    bytes.append(contentsOf: [
                        UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        Self.hexDigits.utf8Start[Int(byte >> 4)], Self.hexDigits.utf8Start[Int(byte & 0x0F)],
                    ])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
