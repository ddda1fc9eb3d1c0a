/// A CoAP token of 0 to 8 bytes, stored inline so that matching responses costs no allocation.
public struct CoAPToken: Hashable, Sendable, CustomStringConvertible {
    /// The token bytes as a big-endian number (the first byte is the most significant).
    public private(set) var value: UInt64
    /// How many bytes the token has on the wire, 0 to 8.
    public private(set) var length: UInt8

    public static let empty = CoAPToken(value: 0, length: 0)

    /// A token of `length` bytes holding the low bytes of `value`.
    public init(value: UInt64, length: UInt8) {
        precondition(length <= 8, "a CoAP token has at most 8 bytes")
        self.length = length
        self.value = length == 8 ? value : value & ((1 << (UInt64(length) * 8)) - 1)
    }

    /// A token made of `bytes`, or nil when there are more than 8.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count <= 8 else { return nil }
        var value: UInt64 = 0
        for byte in bytes { value = value << 8 | UInt64(byte) }
        self.value = value
        length = UInt8(bytes.count)
    }

    public var bytes: [UInt8] {
        (0..<Int(length)).map { UInt8(truncatingIfNeeded: value >> (UInt64(Int(length) - 1 - $0) * 8)) }
    }

    public var description: String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
