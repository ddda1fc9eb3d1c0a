/// The member names a JSON format gives each kind of LwM2M value, and how it writes opaque bytes.
struct JSONValueKeys {
    var string: StaticString
    var number: StaticString
    var boolean: StaticString
    var opaque: StaticString
    var objectLink: StaticString
    var opaqueAlphabet: Base64.Alphabet
    var formatName: String

    /// SenML JSON (RFC 8428, LwM2M 1.1 TS Core 7.4.4): `vs`, `v`, `vb`, `vd` in base64url, `vlo`.
    static let senml = JSONValueKeys(
        string: "vs", number: "v", boolean: "vb", opaque: "vd", objectLink: "vlo",
        opaqueAlphabet: .urlUnpadded, formatName: SenMLJSONFormat.formatName)

    /// LwM2M JSON (LwM2M 1.0 TS 6.4.4): `sv` for text and base64 opaque, `v`, `bv`, `ov`.
    static let lwm2m = JSONValueKeys(
        string: "sv", number: "v", boolean: "bv", opaque: "sv", objectLink: "ov",
        opaqueAlphabet: .standardPadded, formatName: LwM2MJSONFormat.formatName)
}

extension JSONWriter {
    /// Writes `"key":value` for a record's value with the member names of `keys`.
    mutating func appendValue(_ record: LwM2MRecord, keys: JSONValueKeys) throws(LwM2MEncodingError) {
        switch record.value {
        case .string(let text), .coreLink(let text):
            appendKey(keys.string)
            append(string: text)
        case .integer(let value), .time(let value):
            appendKey(keys.number)
            append(integer: value)
        case .unsignedInteger(let value):
            appendKey(keys.number)
            append(unsigned: value)
        case .float(let value):
            guard value.isFinite else {
                throw LwM2MEncodingError(format: keys.formatName, reason: "\(record.path): JSON has no number for \(value)")
            }
            appendKey(keys.number)
            append(double: value)
        case .boolean(let value):
            appendKey(keys.boolean)
            append(value ? "true" : "false")
        case .opaque(let bytes):
            appendKey(keys.opaque)
            append("\"")
            Base64.encode(bytes, as: keys.opaqueAlphabet, into: &self.bytes)
            append("\"")
        case .objectLink(let link):
            appendKey(keys.objectLink)
            append("\"")
            append(unsigned: UInt64(link.objectID))
            append(":")
            append(unsigned: UInt64(link.instanceID))
            append("\"")
        }
    }

    private mutating func appendKey(_ key: StaticString) {
        append("\"")
        append(key)
        append("\":")
    }
}
