/// A number read from a SenML or LwM2M JSON payload, kept exact for as long as it can be.
///
/// JSON text, CBOR integers and CBOR decimal fractions (tag 4) are decimals, so integers up to
/// UInt64.max survive and `bt + t` (RFC 8428 4.6) of 1699877805.766 and 0.101 is exactly
/// 1699877805.867; CBOR floats, and decimals too long to hold, are binary doubles.
enum SenMLNumber: Sendable {
    /// `(negative ? -1 : 1) * magnitude * 10^exponent`, built by `decimal(negative:significand:exponent:)`.
    case decimal(negative: Bool, magnitude: UInt64, exponent: Int)
    case binary(Double)

    static func integer(_ value: Int64) -> SenMLNumber {
        .decimal(negative: value < 0, magnitude: value.magnitude, exponent: 0)
    }

    static func unsigned(_ value: UInt64) -> SenMLNumber {
        .decimal(negative: false, magnitude: value, exponent: 0)
    }

    /// A normalized decimal: no trailing zeros below the point, whole numbers with exponent 0
    /// when they fit, and no negative zero.
    static func decimal(negative: Bool, significand: UInt64, exponent: Int) -> SenMLNumber {
        guard significand != 0 else { return .decimal(negative: false, magnitude: 0, exponent: 0) }
        var magnitude = significand
        var exponent = exponent
        while exponent < 0, magnitude % 10 == 0 {
            magnitude /= 10
            exponent += 1
        }
        while exponent > 0 {
            let (scaled, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            if overflow { break }
            magnitude = scaled
            exponent -= 1
        }
        return .decimal(negative: negative, magnitude: magnitude, exponent: exponent)
    }

    /// Exact powers of ten as doubles (10^22 is the largest a double holds exactly).
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    private static let powersOfTen: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
        10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000,
        1_000_000_000_000_000, 10_000_000_000_000_000, 100_000_000_000_000_000,
        1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ]

    /// The nearest double (correctly rounded for decimals).
    var doubleValue: Double {
        switch self {
        case .binary(let value):
            return value
        case .decimal(let negative, let magnitude, let exponent):
            let value: Double
            if exponent == 0 {
                value = Double(magnitude)
            } else if magnitude <= 1 << 53, (-22...22).contains(exponent) {
                // Both operands are exact, so one IEEE operation rounds correctly (Clinger's fast path).
                let scale = Self.exactPowersOfTen[abs(exponent)]
                value = exponent < 0 ? Double(magnitude) / scale : Double(magnitude) * scale
            } else {
                // Rare (more than 15 digits with a fraction, or a huge exponent): the standard library's
                // parser rounds correctly.
                value = Double("\(magnitude)e\(exponent)") ?? .nan
            }
            return negative ? -value : value
        }
    }

    /// The value as a sign and magnitude when it is a whole number within 64 bits.
    private var integerParts: (negative: Bool, magnitude: UInt64)? {
        switch self {
        case .decimal(let negative, let magnitude, let exponent):
            return exponent == 0 ? (negative, magnitude) : nil
        case .binary(let value):
            if let unsigned = UInt64(exactly: value) { return (false, unsigned) }
            if let signed = Int64(exactly: value) { return (signed < 0, signed.magnitude) }
            return nil
        }
    }

    /// `.integer` when the number is whole and fits Int64, `.unsignedInteger` when it is whole,
    /// positive and fits only UInt64; nil otherwise.
    var integerValue: LwM2MValue? {
        guard let (negative, magnitude) = integerParts else { return nil }
        if negative {
            guard magnitude <= Int64.min.magnitude else { return nil }
            return .integer(magnitude == Int64.min.magnitude ? .min : -Int64(magnitude))
        }
        return magnitude <= UInt64(Int64.max) ? .integer(Int64(magnitude)) : .unsignedInteger(magnitude)
    }

    /// The value for a resource of unknown type: an integer when whole and within 64 bits, else a float.
    var untypedValue: LwM2MValue {
        integerValue ?? .float(doubleValue)
    }

    /// The value as a resource of `type`: floats take the nearest double, integers and times only
    /// exact whole numbers; nil for a type that is not a number, or a number out of its range.
    func value(as type: LwM2MResourceType) -> LwM2MValue? {
        switch type {
        case .float: .float(doubleValue)
        case .integer, .unsignedInteger, .time: integerValue?.converted(to: type)
        default: nil
        }
    }

    /// Whether a decimal is beyond what a double holds (a binary value is whatever it is).
    var overflowsDouble: Bool {
        if case .decimal = self { return !doubleValue.isFinite }
        return false
    }

    /// `self + other`, exact when both are decimals and the sum fits, else in double arithmetic.
    func adding(_ other: SenMLNumber) -> SenMLNumber {
        if case .decimal(let leftNegative, let leftMagnitude, let leftExponent) = self,
           case .decimal(let rightNegative, let rightMagnitude, let rightExponent) = other {
            let exponent = min(leftExponent, rightExponent)
            if let left = Self.scaled(leftMagnitude, by: leftExponent - exponent),
               let right = Self.scaled(rightMagnitude, by: rightExponent - exponent) {
                if leftNegative == rightNegative {
                    let (sum, overflow) = left.addingReportingOverflow(right)
                    if !overflow { return .decimal(negative: leftNegative, significand: sum, exponent: exponent) }
                } else if left >= right {
                    return .decimal(negative: leftNegative, significand: left - right, exponent: exponent)
                } else {
                    return .decimal(negative: rightNegative, significand: right - left, exponent: exponent)
                }
            }
        }
        return .binary(doubleValue + other.doubleValue)
    }

    private static func scaled(_ magnitude: UInt64, by digits: Int) -> UInt64? {
        if magnitude == 0 { return 0 }
        guard digits < powersOfTen.count else { return nil }
        let (product, overflow) = magnitude.multipliedReportingOverflow(by: powersOfTen[digits])
        return overflow ? nil : product
    }
}
