/// Writes unsigned integers as ASCII decimal digits into byte buffers, without going through String.
enum DecimalDigits {
    /// How many digits `value` has in decimal.
    static func count(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        if value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        let digits = count(value)
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(0, count: digits))
        var rest = value
        var index = end
        while index > end - digits {
            index -= 1
            bytes[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }
}
