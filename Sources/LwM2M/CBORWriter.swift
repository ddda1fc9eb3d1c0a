/// Writes CBOR (RFC 8949) into a byte buffer in preferred serialization (4.1): definite lengths,
/// the shortest argument, and each float in the shortest of half, single or double that keeps it.
struct CBORWriter {
    var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// An item head: major type and argument, in the shortest form.
    mutating func appendHead(major: UInt8, _ argument: UInt64) {
        let type = major << 5
        switch argument {
        case 0..<24:
            bytes.append(type | UInt8(argument))
        case 24...0xFF:
            bytes.append(contentsOf: [type | 24, UInt8(argument)])
        case 0x100...0xFFFF:
            bytes.append(contentsOf: [type | 25, UInt8(argument >> 8), UInt8(truncatingIfNeeded: argument)])
        case 0x1_0000...0xFFFF_FFFF:
            bytes.append(type | 26)
            appendBigEndian(argument, count: 4)
        default:
            bytes.append(type | 27)
            appendBigEndian(argument, count: 8)
        }
    }

    private mutating func appendBigEndian(_ value: UInt64, count: Int) {
        for index in stride(from: count - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
        }
    }

    mutating func append(integer value: Int64) {
        if value < 0 {
            appendHead(major: 1, UInt64(-1 - value))
        } else {
            appendHead(major: 0, UInt64(value))
        }
    }

    mutating func append(unsigned value: UInt64) {
        appendHead(major: 0, value)
    }

    mutating func append(boolean value: Bool) {
        bytes.append(value ? 0xF5 : 0xF4)
    }

    mutating func append(text: String) {
        var text = text
        text.withUTF8 { utf8 in
            appendHead(major: 3, UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func append(data: [UInt8]) {
        appendHead(major: 2, UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    /// A float in the shortest IEEE 754 form that holds it exactly (RFC 8949 4.2.2).
    mutating func append(double value: Double) {
        if let half = Self.exactHalf(value) {
            bytes.append(contentsOf: [0xF9, UInt8(half >> 8), UInt8(truncatingIfNeeded: half)])
        } else if let single = Float(exactly: value) {
            bytes.append(0xFA)
            appendBigEndian(UInt64(single.bitPattern), count: 4)
        } else if value.isNaN {
            bytes.append(contentsOf: [0xF9, 0x7E, 0x00])
        } else {
            bytes.append(0xFB)
            appendBigEndian(value.bitPattern, count: 8)
        }
    }

    /// A number of seconds: an integer when whole, else the shortest float.
    mutating func append(seconds value: Double) {
        if let whole = Int64(exactly: value) {
            append(integer: whole)
        } else {
            append(double: value)
        }
    }

    /// The binary16 bits of `value` when binary16 holds it exactly (infinities too; NaN is left to
    /// the caller), else nil. Built by hand: `Float16` is missing on some platforms.
    static func exactHalf(_ value: Double) -> UInt16? {
        let sign: UInt16 = value.sign == .minus ? 0x8000 : 0
        if value.isInfinite { return sign | 0x7C00 }
        if value == 0 { return sign }
        guard value.isFinite, let single = Float(exactly: value) else { return nil }
        let bits = single.bitPattern
        let exponent = Int(bits >> 23 & 0xFF) - 127
        let mantissa = bits & 0x7F_FFFF
        switch exponent {
        case -14...15:
            guard mantissa & 0x1FFF == 0 else { return nil }
            return sign | UInt16(exponent + 15) << 10 | UInt16(mantissa >> 13)
        case -24 ..< -14:
            // Subnormal half: the value is m * 2^-24 with m < 1024.
            let significand = mantissa | 0x80_0000
            let shift = UInt32(-exponent - 1)
            guard significand & ((1 << shift) - 1) == 0 else { return nil }
            return sign | UInt16(significand >> shift)
        default:
            return nil
        }
    }
}
