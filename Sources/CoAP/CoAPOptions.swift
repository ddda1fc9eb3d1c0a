/// One option of a message: its number and a view of its value bytes.
public struct CoAPOption: Hashable, Sendable {
    public var number: CoAPOptionNumber
    public var value: ArraySlice<UInt8>

    public init(number: CoAPOptionNumber, value: ArraySlice<UInt8>) {
        self.number = number
        self.value = value
    }

    public var stringValue: String { String(decoding: value, as: UTF8.self) }

    /// The value read as an RFC 7252 uint (big-endian, any length up to 8 bytes); nil when longer.
    public var uintValue: UInt64? { CoAPOptions.uint(from: value) }
}

/// The options of a message, kept sorted by option number as the wire format needs them.
///
/// Values live in one byte buffer and the options are (number, range) entries into it. A decoded
/// message's buffer is the datagram itself, so decoding copies no option bytes and allocates at
/// most the entry array; a built message appends its values to its own buffer.
public struct CoAPOptions: RandomAccessCollection, Hashable, Sendable {
    struct Entry: Hashable, Sendable {
        var number: UInt16
        var start: UInt32
        var length: UInt32
    }

    var storage: [UInt8]
    var entries: [Entry]

    public init() {
        storage = []
        entries = []
    }

    init(storage: [UInt8], entries: [Entry]) {
        self.storage = storage
        self.entries = entries
    }

    public init(_ options: [CoAPOption]) {
        self.init()
        for option in options { append(option.number, bytes: option.value) }
    }

    // MARK: Collection

    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }

    public subscript(position: Int) -> CoAPOption {
        let entry = entries[position]
        let start = Int(entry.start)
        return CoAPOption(
            number: CoAPOptionNumber(entry.number),
            value: storage[start..<start + Int(entry.length)]
        )
    }

    // MARK: Reading

    /// Whether at least one option has this number.
    public func contains(_ number: CoAPOptionNumber) -> Bool {
        entries.contains { $0.number == number.rawValue }
    }

    /// The value of the first option with this number.
    public func first(_ number: CoAPOptionNumber) -> ArraySlice<UInt8>? {
        guard let entry = entries.first(where: { $0.number == number.rawValue }) else { return nil }
        let start = Int(entry.start)
        return storage[start..<start + Int(entry.length)]
    }

    /// The value of the first option with this number read as a uint.
    public func uint(_ number: CoAPOptionNumber) -> UInt64? {
        first(number).flatMap(Self.uint(from:))
    }

    /// Every value of a repeatable option as text, in order (Uri-Path segments, say).
    public func strings(_ number: CoAPOptionNumber) -> [String] {
        entries.lazy.filter { $0.number == number.rawValue }.map { entry in
            let start = Int(entry.start)
            return String(decoding: self.storage[start..<start + Int(entry.length)], as: UTF8.self)
        }
    }

    // MARK: Writing

    /// Makes room for `options` options of `bytes` bytes in all, so building a request of known
    /// shape grows each buffer once instead of doubling it option by option.
    public mutating func reserveCapacity(options: Int, bytes: Int) {
        entries.reserveCapacity(options)
        storage.reserveCapacity(bytes)
    }

    /// Adds an option after any others with the same number, keeping the list sorted.
    public mutating func append(_ number: CoAPOptionNumber, bytes: some Collection<UInt8>) {
        // Longer values cannot be expressed by the option header (RFC 7252 3.1); a caller bug.
        precondition(bytes.count <= 65_804, "a CoAP option value has at most 65804 bytes")
        let start = UInt32(storage.count)
        storage.append(contentsOf: bytes)
        let entry = Entry(number: number.rawValue, start: start, length: UInt32(storage.count) - start)
        // Requests are mostly built in option order: appending skips the general insert.
        guard let last = entries.last, last.number > number.rawValue else { return entries.append(entry) }
        var index = entries.endIndex
        while index > 0, entries[index - 1].number > number.rawValue { index -= 1 }
        entries.insert(entry, at: index)
    }

    public mutating func append(_ number: CoAPOptionNumber, string: String) {
        var string = string
        string.withUTF8 { append(number, bytes: $0) }
    }

    /// Adds a uint option in its minimal big-endian form (0 is the empty value).
    public mutating func append(_ number: CoAPOptionNumber, uint value: UInt64) {
        let length = (64 - value.leadingZeroBitCount + 7) / 8
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { buffer in
            for index in 0..<length {
                buffer[index] = UInt8(truncatingIfNeeded: value >> UInt64((length - 1 - index) * 8))
            }
            append(number, bytes: UnsafeBufferPointer(rebasing: buffer[0..<length]))
        }
    }

    /// Removes every option with this number (their bytes stay in the buffer until it is rebuilt).
    public mutating func remove(_ number: CoAPOptionNumber) {
        entries.removeAll { $0.number == number.rawValue }
    }

    /// Replaces every option with this number by one uint option.
    public mutating func set(_ number: CoAPOptionNumber, uint value: UInt64) {
        remove(number)
        append(number, uint: value)
    }

    // MARK: Equality by content, not by buffer layout

    public static func == (lhs: CoAPOptions, rhs: CoAPOptions) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        for option in self { hasher.combine(option) }
    }

    static func uint(from bytes: ArraySlice<UInt8>) -> UInt64? {
        guard bytes.count <= 8 else { return nil }
        var value: UInt64 = 0
        for byte in bytes { value = value << 8 | UInt64(byte) }
        return value
    }
}
