/// The value of a Block1 or Block2 option (RFC 7959 section 2.2): block number, more flag, size.
public struct CoAPBlockOption: Hashable, Sendable, CustomStringConvertible {
    /// The block number, 0 to 2^20 - 1.
    public var number: UInt32
    /// Whether more blocks follow this one.
    public var more: Bool
    /// SZX: the block size is 2^(SZX + 4) bytes; 7 is reserved.
    public var sizeExponent: UInt8

    public init(number: UInt32, more: Bool, sizeExponent: UInt8) {
        self.number = number
        self.more = more
        self.sizeExponent = sizeExponent
    }

    /// A block option for `size` bytes (a power of two from 16 to 1024); nil for any other size.
    public init?(number: UInt32, more: Bool, size: Int) {
        guard let exponent = (0...6).first(where: { 16 << $0 == size }) else { return nil }
        self.init(number: number, more: more, sizeExponent: UInt8(exponent))
    }

    /// Decodes the option's uint value; nil when it has more than 20 bits of block number.
    public init?(value: UInt64) {
        guard value <= 0xFF_FFFF else { return nil }
        number = UInt32(value >> 4)
        more = value & 0x8 != 0
        sizeExponent = UInt8(value & 0x7)
    }

    public var value: UInt64 {
        UInt64(number) << 4 | (more ? 0x8 : 0) | UInt64(sizeExponent & 0x7)
    }

    /// Block size in bytes; only meaningful when `isReservedSize` is false.
    public var size: Int { 16 << Int(min(sizeExponent, 6)) }

    /// SZX 7 is reserved (BERT over TCP only), so a request carrying it gets 4.00 (RFC 7959 2.2).
    public var isReservedSize: Bool { sizeExponent == 7 }

    /// The byte offset of this block in the whole body.
    public var offset: Int { Int(number) * size }

    public var description: String { "\(number)/\(more ? 1 : 0)/\(size)" }
}
