import CoAP
import LwM2M

/// What a client does with one request on the Bootstrap interface: the answer, the operation it
/// was, and whether it was an accepted Bootstrap-Finish.
public struct BootstrapResult: Sendable {
    /// Code, options and payload of the answer; the CoAP endpoint sets type, message ID and token.
    public var response: CoAPMessage
    /// The operation the request was; nil when it is none of the Bootstrap interface.
    public var operation: LwM2MOperation?
    /// A Bootstrap-Finish was accepted: bootstrap is over and the client registers.
    public var finished: Bool

    public init(response: CoAPMessage, operation: LwM2MOperation?, finished: Bool = false) {
        self.response = response
        self.operation = operation
        self.finished = finished
    }

    /// An answer with `code` and, for an error, the reason as its diagnostic payload (RFC 7252 5.5.2).
    static func answer(_ code: CoAPCode, _ operation: LwM2MOperation?, reason: String? = nil) -> BootstrapResult {
        var response = CoAPMessage(type: .acknowledgement, code: code)
        if let reason { response.payload = ArraySlice(reason.utf8) }
        return BootstrapResult(response: response, operation: operation)
    }

    /// A 2.05 Content answer carrying `payload` in `format`.
    static func content(_ payload: [UInt8], format: LwM2MContentFormat, _ operation: LwM2MOperation) -> BootstrapResult {
        var response = CoAPMessage(type: .acknowledgement, code: .content, payload: payload[...])
        response.options.append(.contentFormat, uint: UInt64(format.rawValue))
        return BootstrapResult(response: response, operation: operation)
    }
}

/// The client side of the Bootstrap interface (LwM2M 1.1 TS Core 6.1.7, 1.0 TS 5.2) as pure
/// functions: a request from the Bootstrap-Server and the object store in, the answer out.
///
/// Which request is which (the CoAP column of the TS): `POST /bs` is Bootstrap-Finish, PUT is
/// Bootstrap-Write, DELETE is Bootstrap-Delete, GET with Accept link-format is Bootstrap-Discover,
/// any other GET is Bootstrap-Read. Error codes follow the TS table of response codes per
/// bootstrap operation (1.1 TS Transport 6.7): a bootstrap method on a path its operation does not
/// take is 4.00 Bad Request, the one code every operation lists for a bad URI; a method the
/// interface does not use (POST elsewhere than /bs, FETCH, PATCH, iPATCH) is 4.05 Method Not
/// Allowed; a Uri-Path that is no LwM2M path is 4.04 Not Found, except for Bootstrap-Write,
/// which has no 4.04 and answers any path it cannot write with 4.00.
public enum BootstrapInterface {
    public static func handle(
        _ request: CoAPMessage, store: inout ObjectStore, lwm2mVersion: LwM2MVersion, now: Timestamp
    ) -> BootstrapResult {
        // Some CoAP stacks send the root as one empty Uri-Path option rather than none.
        let segments = request.uriPath == [""] ? [] : request.uriPath
        let operation: LwM2MOperation
        switch request.code {
        case .post where segments == ["bs"]:
            return finish(store)
        case .put: operation = .bootstrapWrite
        case .delete: operation = .bootstrapDelete
        case .get: operation = request.accept == LwM2MContentFormat.linkFormat.rawValue ? .bootstrapDiscover : .bootstrapRead
        default:
            return .answer(.methodNotAllowed, nil, reason: "\(request.code) \(request.path) is no Bootstrap interface operation")
        }
        let path: LwM2MPath
        do {
            path = try LwM2MPath(segments: segments)
        } catch {
            // Bootstrap-Write (2.04, 4.00, 4.15) and Bootstrap-Delete (2.02, 4.00) have no 4.04
            // (1.1 TS Transport 6.7).
            let code: CoAPCode = operation == .bootstrapWrite || operation == .bootstrapDelete ? .badRequest : .notFound
            return .answer(code, operation, reason: error.description)
        }
        switch operation {
        case .bootstrapWrite: return write(request, path: path, store: &store, lwm2mVersion: lwm2mVersion)
        case .bootstrapDelete: return delete(path, store: &store)
        case .bootstrapDiscover: return discover(path, store: store, lwm2mVersion: lwm2mVersion)
        default: return read(request, path: path, store: store, lwm2mVersion: lwm2mVersion, now: now)
        }
    }

    /// Bootstrap-Finish (LwM2M 1.1 TS Core 6.1.7): accepted only when the configuration holds at
    /// least one usable LwM2M Server account; otherwise 4.06 Not Acceptable saying why not.
    static func finish(_ store: ObjectStore) -> BootstrapResult {
        let survey = store.serverAccountSurvey()
        guard survey.accounts.isEmpty else {
            var result = BootstrapResult.answer(.changed, .bootstrapFinish)
            result.finished = true
            return result
        }
        let reason = "no LwM2M Server account: " + survey.problems.joined(separator: "; ")
        return .answer(.notAcceptable, .bootstrapFinish, reason: reason)
    }

    /// Whether a client of `lwm2mVersion` reads and writes LwM2M values in `format`: SenML came with
    /// LwM2M 1.1, so a 1.0 client refuses it as a real one would.
    static func carriesValues(_ format: LwM2MContentFormat, lwm2mVersion: LwM2MVersion) -> Bool {
        switch format {
        case .senmlJSON, .senmlCBOR: lwm2mVersion >= .v1_1
        default: LwM2MPayloadCodec.supportedFormats.contains(format)
        }
    }
}
