import CoAP
import LwM2M

/// What the client machine must do beyond sending the response to a DM request.
public enum DeviceManagementEffect: Hashable, Sendable {
    case none
    /// Execute /3/0/4: the device reboots, so the client registers anew.
    case reboot
    /// Execute /1/x/9: the client sends a Bootstrap-Request.
    case bootstrapRequestTrigger
    /// Execute /1/x/8: the client sends a Registration Update.
    case registrationUpdateTrigger
    /// Any other Execute, acknowledged and counted.
    case executed(LwM2MPath)
    /// A Write changed values at this path: observations of it may notify, and a Lifetime or
    /// Binding change (/1/x/1, /1/x/7) calls for an Update (TS Core 6.2.2).
    case written(LwM2MPath)
    /// An observation was registered; the response carries the current value and a placeholder
    /// Observe option of 0, which the client machine replaces by its sequence number.
    case observe(LwM2MPath)
    /// The server cancelled its observation of this path (Observe 1), whatever the response.
    case cancelObservation(LwM2MPath)
    /// The attributes now written on exactly this path (empty when all were removed): the client
    /// machine stores them in its `NotificationAttributeTable` for the server.
    case attributesWritten(LwM2MPath, NotificationAttributes)
    /// Create made this instance: the object list changed, so the client sends an Update.
    case instanceCreated(LwM2MPath)
    /// Delete removed this instance: the client sends an Update, cancels observations below it
    /// and drops its attributes.
    case instanceDeleted(LwM2MPath)

    /// Whether the object list changed, which the client reports with a Registration Update (TS Core 6.2.2).
    public var changesObjectList: Bool {
        switch self {
        case .instanceCreated, .instanceDeleted: true
        default: false
        }
    }
}

/// The answer to one DM request: the response to send, what else to do, and the operation for metrics.
public struct DeviceManagementResult: Hashable, Sendable {
    /// Code, options and payload; the CoAP endpoint sets the type, message ID and token.
    public var response: CoAPMessage
    public var effect: DeviceManagementEffect
    /// The operation the request is, nil when it is none of the interface's (an unknown method).
    public var operation: LwM2MOperation?

    public init(response: CoAPMessage, effect: DeviceManagementEffect = .none, operation: LwM2MOperation? = nil) {
        self.response = response
        self.effect = effect
        self.operation = operation
    }
}

/// What a DM request is answered against, besides the object store.
public struct DeviceManagementContext: Sendable {
    public var lwm2mVersion: LwM2MVersion
    public var now: Timestamp
    /// The Short Server ID of the server that sent the request.
    public var shortServerID: UInt16
    /// The format of object and instance reads without Accept: TLV for 1.0 clients, SenML CBOR for 1.1.
    public var defaultFormat: LwM2MContentFormat
    /// What this server wrote with Write-Attributes.
    public var attributes: NotificationAttributeTable

    public init(
        lwm2mVersion: LwM2MVersion, now: Timestamp, shortServerID: UInt16, defaultFormat: LwM2MContentFormat? = nil,
        attributes: NotificationAttributeTable = NotificationAttributeTable()
    ) {
        self.lwm2mVersion = lwm2mVersion
        self.now = now
        self.shortServerID = shortServerID
        self.defaultFormat = defaultFormat ?? (lwm2mVersion >= .v1_1 ? .senmlCBOR : .tlv)
        self.attributes = attributes
    }

    /// The value formats the client reads and writes: LwM2M 1.0 has plain text, opaque, TLV and
    /// LwM2M JSON (TS 1.0 6.4); 1.1 adds SenML JSON and SenML CBOR (TS 1.1 Core 7.4).
    public var supportedFormats: [LwM2MContentFormat] {
        let formats: [LwM2MContentFormat] = [.plainText, .opaque, .tlv, .legacyTLV, .lwm2mJSON, .legacyLwM2MJSON]
        return lwm2mVersion >= .v1_1 ? formats + [.senmlJSON, .senmlCBOR] : formats
    }
}

/// The Device Management and Service Enablement interface of a simulated client (LwM2M 1.1 TS Core
/// 6.3, and 1.0), with Observe and Cancel of the Information Reporting interface (6.4): one request
/// and the object store in, the response and an effect out. Pure: no I/O, no clock.
///
/// Decisions where the TS leaves room:
/// - A Uri-Path that is not an LwM2M path ("/rd", "/3/x") is 4.04: no such resource on this client.
/// - The root path is 4.05 for every operation: the DM interface targets objects and below.
/// - Security (0) and OSCORE (21) belong to the Bootstrap-Server, not to LwM2M Servers: every DM
///   operation on them is 4.01 Unauthorized, an access right denied (Leshan answers 4.04).
/// - Errors carry a diagnostic payload (RFC 7252 5.5.2) saying why.
/// - Read-Composite, Write-Composite (FETCH, iPATCH) and Discover's `depth` are not supported: 4.05.
public enum DeviceManagement {
    /// Answers one request from the server `context.shortServerID`, changing `store` for Write, Create and Delete.
    public static func handle(
        _ request: CoAPMessage, store: inout ObjectStore, context: DeviceManagementContext
    ) -> DeviceManagementResult {
        let path: LwM2MPath
        do {
            path = try LwM2MPath(segments: request.uriPath)
        } catch {
            return DeviceManagementResult(response: refusalResponse(Refusal(.notFound, error.description)))
        }
        let operation = LwM2MOperation.deviceManagement(request, path: path)
        var result: DeviceManagementResult
        do throws(Refusal) {
            guard let operation, request.code != .fetch, request.code != .iPatch else {
                throw Refusal(.methodNotAllowed, "\(request.code) on \(path) is not an operation of this client")
            }
            guard path.level != .root else {
                throw Refusal(.methodNotAllowed, "\(operation.rawValue) does not apply to the root path")
            }
            if let objectID = path.objectID, serverInaccessibleObjects.contains(objectID) {
                throw Refusal(.unauthorized, "object \(objectID) is accessible to the Bootstrap-Server only")
            }
            switch operation {
            case .read: result = DeviceManagementResult(response: try read(request, at: path, store: store, context: context))
            case .observe:
                result = DeviceManagementResult(
                    response: try read(request, at: path, store: store, context: context), effect: .observe(path))
                result.response.options.set(.observe, uint: 0)
            case .cancelObservation:
                result = DeviceManagementResult(
                    response: try read(request, at: path, store: store, context: context), effect: .cancelObservation(path))
            case .discover: result = DeviceManagementResult(response: try discover(request, at: path, store: store, context: context))
            case .write: result = try write(request, at: path, store: &store, context: context)
            case .writeAttributes: result = try writeAttributes(request, at: path, store: store, context: context)
            case .execute: result = try execute(at: path, store: store)
            case .create: result = try create(request, at: path, store: &store, context: context)
            case .delete: result = try delete(at: path, store: &store)
            default: throw Refusal(.methodNotAllowed, "\(operation.rawValue) is not a device management operation")
            }
        } catch {
            // RFC 7641 3.6: a cancelled observation ends whatever the answer.
            let effect: DeviceManagementEffect = operation == .cancelObservation ? .cancelObservation(path) : .none
            result = DeviceManagementResult(response: refusalResponse(error), effect: effect)
        }
        result.operation = operation
        return result
    }

    /// Objects only the Bootstrap-Server may touch: Security and OSCORE.
    static let serverInaccessibleObjects: Set<UInt16> = [0, 21]

    // MARK: Shared pieces

    /// Why a request is refused: a 4.xx or 5.xx code and a diagnostic for the payload.
    struct Refusal: Error {
        var code: CoAPCode
        var diagnostic: String

        init(_ code: CoAPCode, _ diagnostic: String) {
            self.code = code
            self.diagnostic = diagnostic
        }
    }

    static func refusalResponse(_ refusal: Refusal) -> CoAPMessage {
        response(refusal.code, payload: Array(refusal.diagnostic.utf8))
    }

    /// A response with only code, options and payload meaningful; the type is a placeholder the endpoint replaces.
    static func response(_ code: CoAPCode, format: LwM2MContentFormat? = nil, payload: [UInt8] = []) -> CoAPMessage {
        var options = CoAPOptions()
        if let format { options.append(.contentFormat, uint: UInt64(format.rawValue)) }
        return CoAPMessage(type: .acknowledgement, code: code, options: options, payload: payload[...])
    }

    /// Checks that the object is supported and, for deeper paths, that the instance exists (4.04 otherwise).
    static func requireInstance(of path: LwM2MPath, in store: ObjectStore) throws(Refusal) {
        guard let objectID = path.objectID, store.objectIDs.contains(objectID) else {
            throw Refusal(.notFound, "\(path) is not in an object this client supports")
        }
        if let key = InstanceKey(path), !store.hasInstance(key) {
            throw Refusal(.notFound, "object instance \(key.path) does not exist")
        }
    }

    /// The request's Content-Format as a value format this client reads (4.15 otherwise).
    static func payloadFormat(of request: CoAPMessage, context: DeviceManagementContext) throws(Refusal) -> LwM2MContentFormat {
        guard let number = request.contentFormat else {
            throw Refusal(.unsupportedContentFormat, "the request has no Content-Format")
        }
        let format = LwM2MContentFormat(rawValue: number)
        guard context.supportedFormats.contains(format) else {
            throw Refusal(.unsupportedContentFormat, "\(format) is not a value format of an LwM2M \(context.lwm2mVersion) client")
        }
        return format
    }

    /// The payload's records, all inside `path` (4.00 for a malformed payload or one reaching outside).
    static func decodePayload(
        of request: CoAPMessage, format: LwM2MContentFormat, at path: LwM2MPath, model: LwM2MModel
    ) throws(Refusal) -> [LwM2MRecord] {
        let records: [LwM2MRecord]
        switch LwM2MPayloadCodec.decode(Array(request.payload), format: format, requestPath: path, model: model) {
        case .success(let decoded): records = decoded
        case .failure(let error): throw Refusal(.badRequest, error.description)
        }
        if let outside = records.first(where: { !path.contains($0.path) }) {
            throw Refusal(.badRequest, "record \(outside.path) is outside the request path \(path)")
        }
        return records
    }
}
