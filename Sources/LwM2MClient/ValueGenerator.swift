import CoAP
import LwM2M

/// How a resource's value changes over time, so observations produce notifications.
///
/// The value is a pure function of the device's seed, the resource path and the time, so it
/// costs no memory per device and a run replays exactly.
public enum ValueGenerator: Hashable, Sendable {
    /// A new value drawn uniformly from `minimum...maximum` every `periodSeconds`.
    case uniform(minimum: Double, maximum: Double, periodSeconds: Double)
    /// `start`, then one `step` more every `periodSeconds` (a counter, an uptime).
    case counter(start: Double, step: Double, periodSeconds: Double)

    /// The value at `now` for a device, converted to `type` (integers are rounded).
    public func value(seed: UInt64, path: LwM2MPath, now: Timestamp, type: LwM2MResourceType) -> LwM2MValue? {
        let seconds = Double(now.nanoseconds) / 1e9
        let number: Double
        switch self {
        case .uniform(let minimum, let maximum, let period):
            let step = UInt64(max(seconds / max(period, 0.001), 0))
            var random = SeededRandom(seed: seed ^ Self.key(path) ^ step &* 0x9E37_79B9_7F4A_7C15)
            number = minimum + (maximum - minimum) * Double(random.next() >> 11) / Double(1 << 53)
        case .counter(let start, let step, let period):
            number = start + step * (seconds / max(period, 0.001)).rounded(.down)
        }
        switch type {
        case .float: return .float(number)
        case .integer: return .integer(Int64(exactly: number.rounded()) ?? 0)
        case .unsignedInteger: return .unsignedInteger(UInt64(exactly: max(number, 0).rounded()) ?? 0)
        case .time: return .time(Int64(exactly: number.rounded()) ?? 0)
        case .boolean: return .boolean(number >= 0.5)
        case .string: return .string(String(number))
        case .opaque, .objectLink, .coreLink, .none: return nil
        }
    }

    /// The moment the value next changes after `now`, for scheduling notifications.
    public func nextChange(after now: Timestamp) -> Timestamp {
        let period: Double = switch self {
        case .uniform(_, _, let period), .counter(_, _, let period): max(period, 0.001)
        }
        let seconds = Double(now.nanoseconds) / 1e9
        let next = ((seconds / period).rounded(.down) + 1) * period
        return Timestamp(nanoseconds: UInt64(next * 1e9))
    }

    private static func key(_ path: LwM2MPath) -> UInt64 {
        path.components.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
