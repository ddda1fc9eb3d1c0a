/// The SenML labels LwM2M reads (RFC 8428 Table 1 and 6, LwM2M 1.1 TS Core 7.4.4 for `vlo`).
enum SenMLLabel {
    case baseName, baseTime, baseValue, baseVersion
    case name, time
    case value, stringValue, booleanValue, dataValue, objectLinkValue
    /// A label this decoder does not know and may ignore (RFC 8428 4.4).
    case unknown
    /// An unknown label ending in "_", which the reader must understand (RFC 8428 4.4).
    case mustUnderstand

    /// The label a JSON member name spells, or a CBOR text key (RFC 8428 6 gives integers for
    /// all but `vlo`, so other text keys in CBOR are unknown ones).
    init(text: UnsafeBufferPointer<UInt8>, isCBOR: Bool) {
        self = Self.known(text, isCBOR: isCBOR)
            ?? (text.last == UInt8(ascii: "_") ? .mustUnderstand : .unknown)
    }

    private static func known(_ text: UnsafeBufferPointer<UInt8>, isCBOR: Bool) -> SenMLLabel? {
        let a = text.count > 0 ? text[0] : 0
        let b = text.count > 1 ? text[1] : 0
        let c = text.count > 2 ? text[2] : 0
        if isCBOR {
            return text.count == 3 && a == UInt8(ascii: "v") && b == UInt8(ascii: "l") && c == UInt8(ascii: "o")
                ? .objectLinkValue : nil
        }
        switch (text.count, a, b) {
        case (1, UInt8(ascii: "n"), _): return .name
        case (1, UInt8(ascii: "t"), _): return .time
        case (1, UInt8(ascii: "v"), _): return .value
        case (2, UInt8(ascii: "b"), UInt8(ascii: "n")): return .baseName
        case (2, UInt8(ascii: "b"), UInt8(ascii: "t")): return .baseTime
        case (2, UInt8(ascii: "b"), UInt8(ascii: "v")): return .baseValue
        case (2, UInt8(ascii: "v"), UInt8(ascii: "s")): return .stringValue
        case (2, UInt8(ascii: "v"), UInt8(ascii: "b")): return .booleanValue
        case (2, UInt8(ascii: "v"), UInt8(ascii: "d")): return .dataValue
        case (3, UInt8(ascii: "v"), UInt8(ascii: "l")): return c == UInt8(ascii: "o") ? .objectLinkValue : nil
        case (4, UInt8(ascii: "b"), UInt8(ascii: "v")):
            return text[2] == UInt8(ascii: "e") && text[3] == UInt8(ascii: "r") ? .baseVersion : nil
        default: return nil
        }
    }

    /// The label a CBOR integer key stands for (RFC 8428 Table 6); labels LwM2M does not use
    /// (units, sums, update time) are `.unknown`.
    init(cborKey: Int64) {
        switch cborKey {
        case -1: self = .baseVersion
        case -2: self = .baseName
        case -3: self = .baseTime
        case -5: self = .baseValue
        case 0: self = .name
        case 2: self = .value
        case 3: self = .stringValue
        case 4: self = .booleanValue
        case 6: self = .time
        case 8: self = .dataValue
        default: self = .unknown
        }
    }
}
