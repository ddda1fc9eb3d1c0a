/// OMA TLV, content format 11542 (1542 before LwM2M 1.0 was published): LwM2M 1.1 TS Core 7.4.3.
///
/// TLV carries no types: the model types each value, and a value without a definition is opaque.
public enum TLVFormat {
    /// The name errors carry in `format`.
    static let name = "TLV"

    /// Decodes a payload into records in payload order; the request path says what the top level holds.
    ///
    /// `/o`: Object Instance TLVs (bare resources only for a single-instance object, as instance 0).
    /// `/o/i`: resources, or one Object Instance TLV with id `i`. `/o/i/r`: the resource (a Resource or
    /// Multiple Resource TLV with id `r`), its bare Resource Instance TLVs, or either inside an Object
    /// Instance TLV with id `i`. `/o/i/r/ri`: one Resource Instance TLV with id `ri`.
    public static func decode(
        _ payload: [UInt8], requestPath: LwM2MPath, model: LwM2MModel
    ) -> Result<[LwM2MRecord], LwM2MDecodingError> {
        var decoder = TLVDecoder(payload: payload, model: model)
        return Result { () throws(LwM2MDecodingError) in try decoder.decode(requestPath: requestPath) }
    }

    /// Encodes records below `requestPath` in the minimal TLV form.
    ///
    /// Records are grouped by object instance and resource in order of first appearance; a record at a
    /// resource-instance path makes its resource a Multiple Resource TLV. Identifiers take 8 bits when
    /// below 256, lengths the smallest field, integers and times the fewest of 1/2/4/8 bytes, and floats
    /// always 8 bytes (lossless; Leshan and Zephyr do the same). A record's SenML time is not carried.
    public static func encode(_ records: [LwM2MRecord], requestPath: LwM2MPath) -> Result<[UInt8], LwM2MEncodingError> {
        Result { () throws(LwM2MEncodingError) in try TLVEncoder.encode(records, requestPath: requestPath) }
    }
}

/// What a TLV identifies: bits 7-6 of its type byte (LwM2M 1.1 TS Core Table 7.4.3-1).
enum TLVKind: UInt8, Hashable, Sendable, CustomStringConvertible {
    case objectInstance = 0b00
    case resourceInstance = 0b01
    case multipleResource = 0b10
    case resourceWithValue = 0b11

    var description: String {
        switch self {
        case .objectInstance: "Object Instance TLV"
        case .resourceInstance: "Resource Instance TLV"
        case .multipleResource: "Multiple Resource TLV"
        case .resourceWithValue: "Resource TLV"
        }
    }
}

/// One TLV as found in a payload: its header fields and where its value lies.
struct TLVElement: Hashable, Sendable {
    var kind: TLVKind
    var id: UInt16
    /// Offset of the type byte in the payload.
    var offset: Int
    /// Where the value (or the nested TLVs) lies in the payload.
    var value: Range<Int>

    var headerLength: Int { value.lowerBound - offset }

    /// Reads the header of the TLV at `offset`, whose value must end by `end` (its container's end).
    static func read(_ payload: [UInt8], at offset: Int, end: Int) throws(LwM2MDecodingError) -> TLVElement {
        precondition(offset >= 0 && offset < end && end <= payload.count, "callers read inside the payload")
        let type = payload[offset]
        let kind: TLVKind = switch type >> 6 {
        case 0b00: .objectInstance
        case 0b01: .resourceInstance
        case 0b10: .multipleResource
        default: .resourceWithValue
        }
        // Bit 5: 16-bit identifier; bits 4-3: length in bits 2-0, or in an 8/16/24-bit field.
        let idLength = type & 0x20 == 0 ? 1 : 2
        let lengthFieldLength = Int(type >> 3 & 0x03)
        guard end - offset > idLength else {
            throw TLVDecoder.error("truncated \(kind) header: the \(idLength * 8)-bit identifier is cut off", at: offset)
        }
        guard end - offset >= 1 + idLength + lengthFieldLength else {
            throw TLVDecoder.error(
                "truncated \(kind) header: the \(lengthFieldLength * 8)-bit length field is cut off", at: offset)
        }
        var position = offset + 1
        var id = UInt16(payload[position])
        if idLength == 2 { id = id << 8 | UInt16(payload[position + 1]) }
        position += idLength
        var length = Int(type & 0x07)
        if lengthFieldLength > 0 {
            length = 0
            for _ in 0..<lengthFieldLength {
                length = length << 8 | Int(payload[position])
                position += 1
            }
        }
        guard length <= end - position else {
            throw TLVDecoder.error(
                "truncated \(kind) \(id): its value of \(length) bytes runs past its container (\(end - position) bytes left)",
                at: offset)
        }
        return TLVElement(kind: kind, id: id, offset: offset, value: position..<(position + length))
    }
}
