import CoAP
import LwM2M

/// One device's registration as the embedded LwM2M Server holds it (LwM2M 1.1 TS Core 6.2.1).
public struct ServerRegistration: Hashable, Sendable {
    /// `ep`, unique among the registrations: a new Register with the same name replaces this one.
    public var endpointName: String
    /// The last segment of the location the server gave (`/rd/<id>`), short base-36 text.
    public var registrationID: String
    /// `lt`, 86400 when the device sent none (LwM2M 1.1 TS Core 6.2.1).
    public var lifetimeSeconds: UInt32
    /// `lwm2m`, 1.0 when the device sent none.
    public var lwm2mVersion: LwM2MVersion
    /// `b`, U when the device sent none.
    public var binding: LwM2MBinding
    public var smsNumber: String?
    public var queueMode: Bool
    /// The objects and instances the device last listed (Register, or an Update with a payload).
    public var objects: RegistrationPayload
    /// Query parameters LwM2M does not define, as last sent.
    public var additionalParameters: [LwM2MQueryParameter]
    public var registeredAt: Timestamp
    /// When the Register or the last Update arrived.
    public var refreshedAt: Timestamp

    /// The lifetime a device gets when its Register has no `lt` (LwM2M 1.1 TS Core 6.2.1).
    public static let defaultLifetimeSeconds: UInt32 = 86400

    /// The Uri-Path of Update and De-register: `/rd/<id>`.
    public var location: String { "/rd/" + registrationID }

    /// When the lifetime runs out unless an Update comes first.
    public var expiresAt: Timestamp { refreshedAt.adding(milliseconds: UInt64(lifetimeSeconds) * 1000) }
}
