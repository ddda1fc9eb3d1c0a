import CoAP
import LwM2M

extension BootstrapInterface {
    /// Bootstrap-Read (LwM2M 1.1 TS Core 6.1.7): GET on /1, /1/x, /2 or /2/x, answered in the Accept
    /// format or SenML CBOR.
    ///
    /// The operation is new in 1.1: a 1.0 client answers 4.05. The TS limits it to the Server and
    /// Access Control objects; any other target is 4.01 Unauthorized, the code the TS response table
    /// gives for "access right permission denied" (Leshan answers 4.00). A resource path is 4.00, as
    /// the operation takes an object and an optional instance only.
    static func read(
        _ request: CoAPMessage, path: LwM2MPath, store: ObjectStore, lwm2mVersion: LwM2MVersion, now: Timestamp
    ) -> BootstrapResult {
        guard lwm2mVersion >= .v1_1 else {
            return .answer(.methodNotAllowed, .bootstrapRead, reason: "Bootstrap-Read is an LwM2M 1.1 operation")
        }
        guard path.objectID == ServerResource.object || path.objectID == accessControlObject else {
            return .answer(.unauthorized, .bootstrapRead, reason: "Bootstrap-Read reads the Server (/1) and Access Control (/2) objects only")
        }
        guard path.level <= .objectInstance else {
            return .answer(.badRequest, .bootstrapRead, reason: "Bootstrap-Read targets an object or an instance, not \(path)")
        }
        guard let records = store.records(at: path, now: now) else {
            return .answer(.notFound, .bootstrapRead, reason: "\(path) does not exist")
        }
        let format = request.accept.map(LwM2MContentFormat.init(rawValue:)) ?? .senmlCBOR
        guard carriesValues(format, lwm2mVersion: lwm2mVersion),
              case .success(let payload) = LwM2MPayloadCodec.encode(records, format: format, requestPath: path)
        else {
            return .answer(.notAcceptable, .bootstrapRead, reason: "\(path) cannot be answered in \(format)")
        }
        return .content(payload, format: format, .bootstrapRead)
    }

    private static let accessControlObject: UInt16 = 2
}
