/// A CoAP Content-Format number as LwM2M uses it.
public struct LwM2MContentFormat: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let plainText = LwM2MContentFormat(rawValue: 0)
    public static let linkFormat = LwM2MContentFormat(rawValue: 40)
    public static let opaque = LwM2MContentFormat(rawValue: 42)
    public static let cbor = LwM2MContentFormat(rawValue: 60)
    public static let senmlJSON = LwM2MContentFormat(rawValue: 110)
    public static let senmlCBOR = LwM2MContentFormat(rawValue: 112)
    public static let tlv = LwM2MContentFormat(rawValue: 11542)
    public static let lwm2mJSON = LwM2MContentFormat(rawValue: 11543)
    /// The TLV code used before LwM2M 1.0 was published; accepted on input.
    public static let legacyTLV = LwM2MContentFormat(rawValue: 1542)
    /// The LwM2M JSON code used before LwM2M 1.0 was published; accepted on input.
    public static let legacyLwM2MJSON = LwM2MContentFormat(rawValue: 1543)

    public var description: String {
        switch self {
        case .plainText: "text/plain"
        case .linkFormat: "application/link-format"
        case .opaque: "application/octet-stream"
        case .cbor: "application/cbor"
        case .senmlJSON: "application/senml+json"
        case .senmlCBOR: "application/senml+cbor"
        case .tlv, .legacyTLV: "application/vnd.oma.lwm2m+tlv"
        case .lwm2mJSON, .legacyLwM2MJSON: "application/vnd.oma.lwm2m+json"
        default: "content-format \(rawValue)"
        }
    }
}
