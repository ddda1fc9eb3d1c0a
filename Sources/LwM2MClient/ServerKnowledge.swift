import CoAP

/// What the LwM2M Server can know of the device over its current connection to it: what tells a
/// request it sent against the rule (no Device Management or Information Reporting request during
/// a bootstrap or before the Registration is acknowledged, LwM2M 1.1 TS Core 6.1, 6.2.1) from one
/// a conformant server may send, with its 2.01 lost on the way or before it learnt that the device
/// de-registers or bootstraps.
///
/// One byte and a second count, so that it packs into the padding of the device.
enum ServerKnowledge: Hashable, Sendable {
    /// No Register sent on this connection can have been accepted: the server holds no
    /// registration of the device that it could reach it through.
    case noRegistration
    /// The server may hold a registration of the device reachable here: a Register was answered
    /// 2.01, or went unanswered (its 2.01 may have been lost).
    case mayHoldRegistration
    /// The device answered the server's Bootstrap-Request Trigger (Execute /1/x/9) with a success
    /// in this second of the clock (its seconds modulo 2^32).
    case toldOfBootstrap(answeredAtSecond: UInt32)

    /// The second of the clock `now` falls in, modulo 2^32, as `toldOfBootstrap` counts it.
    static func second(of now: Timestamp) -> UInt32 {
        UInt32(truncatingIfNeeded: now.nanoseconds / 1_000_000_000)
    }
}
