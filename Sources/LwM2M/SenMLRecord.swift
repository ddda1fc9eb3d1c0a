/// One SenML record as a payload spells it (RFC 8428 4.1, the fields LwM2M uses), before the
/// base fields of earlier records are applied. LwM2M JSON entries are read into it too.
struct SenMLRecord {
    /// A record's value field (LwM2M 1.1 TS Core 7.4.4: v, vs, vb, vd, vlo).
    enum Value {
        case number(SenMLNumber)
        case string(String)
        case boolean(Bool)
        case data([UInt8])
        case objectLink(LwM2MObjectLink)

        /// What the value is, for error messages.
        var kindDescription: String {
            switch self {
            case .number: "a number"
            case .string: "a string"
            case .boolean: "a boolean"
            case .data: "opaque data"
            case .objectLink: "an object link"
            }
        }

        /// The LwM2M value for a resource of `type` (nil: the model does not know the resource);
        /// nil when the kinds disagree or a number does not fit the type exactly.
        func lwm2mValue(as type: LwM2MResourceType?) -> LwM2MValue? {
            switch (self, type) {
            case (.number(let number), nil): number.untypedValue
            case (.number(let number), let type?): number.value(as: type)
            case (.string(let text), nil), (.string(let text), .string?): .string(text)
            case (.string(let text), .coreLink?): .coreLink(text)
            case (.boolean(let flag), nil), (.boolean(let flag), .boolean?): .boolean(flag)
            case (.data(let bytes), nil), (.data(let bytes), .opaque?): .opaque(bytes)
            case (.objectLink(let link), nil), (.objectLink(let link), .objectLink?): .objectLink(link)
            default: nil
            }
        }
    }

    /// Where the record starts in the payload, for errors.
    var offset: Int
    var baseName: PayloadText?
    var baseTime: SenMLNumber?
    var baseValue: SenMLNumber?
    var baseVersion: SenMLNumber?
    var name: PayloadText?
    var time: SenMLNumber?
    var value: Value?

    init(offset: Int) {
        self.offset = offset
    }

    /// Reads an object link written "65:0" (LwM2M 1.1 TS Core 7.4.4, `vlo`); nil for anything else.
    static func objectLink(from text: UnsafeBufferPointer<UInt8>) -> LwM2MObjectLink? {
        var parts: (UInt32, UInt32) = (0, 0)
        var digits = (0, 0)
        var inInstance = false
        for byte in text {
            if byte == UInt8(ascii: ":"), !inInstance {
                inInstance = true
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), (inInstance ? digits.1 : digits.0) < 5 {
                let digit = UInt32(byte - UInt8(ascii: "0"))
                if inInstance {
                    parts.1 = parts.1 * 10 + digit
                    digits.1 += 1
                } else {
                    parts.0 = parts.0 * 10 + digit
                    digits.0 += 1
                }
            } else {
                return nil
            }
        }
        guard inInstance, digits.0 > 0, digits.1 > 0, parts.0 <= UInt16.max, parts.1 <= UInt16.max else { return nil }
        return LwM2MObjectLink(objectID: UInt16(parts.0), instanceID: UInt16(parts.1))
    }
}
