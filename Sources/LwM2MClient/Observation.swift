import CoAP
import LwM2M

/// An Observe a server holds on one of the device's paths (LwM2M 1.1 TS Core 6.4.1, RFC 7641).
struct Observation: Sendable {
    var token: CoAPToken
    var path: LwM2MPath
    var format: LwM2MContentFormat
    var lastNotifiedAt: Timestamp
    /// When the last confirmable notification went (or the observation started): RFC 7641 4.5
    /// asks for one at least every 24 hours, to learn whether the observer is still there.
    var lastConfirmableAt: Timestamp
    /// When values were last compared, so a wake-up that found no change is not repeated.
    var checkedAt: Timestamp
    /// The payload last sent: a notification goes out when the new one differs.
    var lastPayload: [UInt8]
}
