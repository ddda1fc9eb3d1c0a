/// Opaque, content format 42: the raw bytes of one opaque resource or resource instance (LwM2M 1.1 TS Core 7.4.2).
public enum OpaqueFormat {
    /// The name errors carry in `format`.
    static let name = "opaque"

    /// Decodes the value at `requestPath`; refused when the model types the resource as anything but opaque.
    public static func decode(
        _ payload: [UInt8], requestPath: LwM2MPath, model: LwM2MModel
    ) -> Result<[LwM2MRecord], LwM2MDecodingError> {
        // LwM2M 1.1 TS Core 7.4.2: a single resource or one resource instance, never a whole multiple resource.
        let definition = model.resource(at: requestPath)
        guard requestPath.level == .resourceInstance || requestPath.level == .resource && definition?.isMultipleInstance != true else {
            return .failure(LwM2MDecodingError(
                format: name, reason: "carries one single resource or resource instance, not \(requestPath)", offset: nil))
        }
        if let type = definition?.type, type != .opaque {
            let what = type == .none ? "executable" : type.rawValue
            return .failure(LwM2MDecodingError(
                format: name, reason: "\(requestPath) is \(what), only opaque resources take this format", offset: nil))
        }
        return .success([LwM2MRecord(path: requestPath, value: .opaque(payload))])
    }

    /// Encodes exactly one opaque record, whose path must be the request path.
    public static func encode(_ records: [LwM2MRecord], requestPath: LwM2MPath) -> Result<[UInt8], LwM2MEncodingError> {
        let record: LwM2MRecord
        switch LwM2MRecord.single(in: records, at: requestPath, format: name) {
        case .success(let only): record = only
        case .failure(let error): return .failure(error)
        }
        guard case .opaque(let bytes) = record.value else {
            return .failure(LwM2MEncodingError(
                format: name, reason: "\(record.path) is \(record.value.type.rawValue), only opaque values take this format"))
        }
        return .success(bytes)
    }
}
