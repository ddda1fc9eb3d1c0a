import CoAP
import LwM2M

/// An LwM2M operation, by interface, as metrics and violation reports name it.
public enum LwM2MOperation: String, Hashable, Sendable, CaseIterable {
    /// A whole bootstrap, from Bootstrap-Request (or the first write) to Bootstrap-Finish.
    case bootstrap
    /// A whole bootstrap that a server-initiated device asked for itself, as its ClientHoldOffTime
    /// ran out before the Bootstrap-Server wrote (TS Core 6.1.4): measured apart from `bootstrap`.
    case bootstrapFallback = "bootstrap-fallback"
    // Bootstrap interface (LwM2M 1.1 TS Core 6.1)
    case bootstrapRequest = "bootstrap-request"
    case bootstrapWrite = "bootstrap-write"
    case bootstrapRead = "bootstrap-read"
    case bootstrapDiscover = "bootstrap-discover"
    case bootstrapDelete = "bootstrap-delete"
    case bootstrapFinish = "bootstrap-finish"
    // Client registration interface (6.2)
    case register, update, deregister
    // Device management and service enablement interface (6.3)
    case read, discover, write
    case writeAttributes = "write-attributes"
    case execute, create, delete
    // Information reporting interface (6.4)
    case observe
    case cancelObservation = "cancel-observation"
    case notify
    /// A DTLS handshake of a `coaps://` connection, which the fleet's driver runs below CoAP.
    case handshake
    /// A DTLS handshake that resumed the device's last session with the server (RFC 5077): the
    /// abbreviated handshake, measured apart from the full ones. A resumption that fails or
    /// falls back to a full handshake counts as `handshake`.
    case handshakeResumed = "handshake-resumed"

    /// How a request from an LwM2M Server maps to an operation (TS Core 8.2.x, the CoAP column):
    /// GET with Accept link-format is Discover, GET with Observe 0/1 is Observe/Cancel, PUT
    /// without payload but with a query is Write-Attributes, POST on an object is Create, POST on
    /// a resource is Execute, POST on an instance is a partial Write.
    public static func deviceManagement(_ request: CoAPMessage, path: LwM2MPath) -> LwM2MOperation? {
        switch request.code {
        case .get, .fetch:
            if request.accept == LwM2MContentFormat.linkFormat.rawValue { return .discover }
            switch request.observe {
            case 0: return .observe
            case 1: return .cancelObservation
            default: return .read
            }
        case .put:
            return request.payload.isEmpty && !request.uriQuery.isEmpty ? .writeAttributes : .write
        case .post:
            switch path.level {
            case .object: return .create
            case .resource: return .execute
            case .objectInstance: return .write
            default: return nil
            }
        case .iPatch:
            return .write
        case .delete:
            return .delete
        default:
            return nil
        }
    }

    /// Whether the change request this project started from forbids a server to send it before
    /// the registration is acknowledged (the DM and information reporting interfaces).
    public var isForbiddenBeforeRegistration: Bool {
        switch self {
        case .read, .discover, .write, .writeAttributes, .execute, .create, .delete, .observe, .cancelObservation: true
        default: false
        }
    }
}
