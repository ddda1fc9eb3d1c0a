/// Picks the codec for a Content-Format, so callers handle every LwM2M format through one door.
public enum LwM2MPayloadCodec {
    /// The formats that carry LwM2M values (link-format is read with `LinkFormat`).
    public static let supportedFormats: [LwM2MContentFormat] = [
        .plainText, .opaque, .tlv, .legacyTLV, .senmlJSON, .senmlCBOR, .lwm2mJSON, .legacyLwM2MJSON,
    ]

    /// Decodes a payload of `format` received for `requestPath`.
    public static func decode(
        _ payload: [UInt8], format: LwM2MContentFormat, requestPath: LwM2MPath, model: LwM2MModel
    ) -> Result<[LwM2MRecord], LwM2MDecodingError> {
        switch format {
        case .plainText: PlainTextFormat.decode(payload, requestPath: requestPath, model: model)
        case .opaque: OpaqueFormat.decode(payload, requestPath: requestPath, model: model)
        case .tlv, .legacyTLV: TLVFormat.decode(payload, requestPath: requestPath, model: model)
        case .senmlJSON: SenMLJSONFormat.decode(payload, requestPath: requestPath, model: model)
        case .senmlCBOR: SenMLCBORFormat.decode(payload, requestPath: requestPath, model: model)
        case .lwm2mJSON, .legacyLwM2MJSON: LwM2MJSONFormat.decode(payload, requestPath: requestPath, model: model)
        default:
            .failure(LwM2MDecodingError(format: "\(format)", reason: "content format \(format.rawValue) carries no LwM2M values", offset: nil))
        }
    }

    /// Encodes records for a response or request on `requestPath` in `format`.
    public static func encode(
        _ records: [LwM2MRecord], format: LwM2MContentFormat, requestPath: LwM2MPath
    ) -> Result<[UInt8], LwM2MEncodingError> {
        switch format {
        case .plainText: PlainTextFormat.encode(records, requestPath: requestPath)
        case .opaque: OpaqueFormat.encode(records, requestPath: requestPath)
        case .tlv, .legacyTLV: TLVFormat.encode(records, requestPath: requestPath)
        case .senmlJSON: SenMLJSONFormat.encode(records, requestPath: requestPath)
        case .senmlCBOR: SenMLCBORFormat.encode(records, requestPath: requestPath)
        case .lwm2mJSON, .legacyLwM2MJSON: LwM2MJSONFormat.encode(records, requestPath: requestPath)
        default:
            .failure(LwM2MEncodingError(format: "\(format)", reason: "content format \(format.rawValue) carries no LwM2M values"))
        }
    }
}
