/// A point on a monotonic clock in nanoseconds; the driver supplies it, tests use a manual clock.
///
/// Protocol code never reads a clock itself: every method that cares about time takes a
/// `Timestamp`, which is what makes it deterministic and testable in lockstep.
public struct Timestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since an arbitrary origin (for the libuv driver: `uv_hrtime`).
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    public static let zero = Timestamp(nanoseconds: 0)

    public static func milliseconds(_ value: UInt64) -> Timestamp {
        Timestamp(nanoseconds: value &* 1_000_000)
    }

    public static func seconds(_ value: UInt64) -> Timestamp {
        Timestamp(nanoseconds: value &* 1_000_000_000)
    }

    /// This time moved forward by `nanoseconds`, saturating instead of wrapping.
    public func adding(nanoseconds delta: UInt64) -> Timestamp {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(delta)
        return Timestamp(nanoseconds: overflow ? .max : sum)
    }

    public func adding(milliseconds delta: UInt64) -> Timestamp {
        adding(nanoseconds: delta.multipliedReportingOverflow(by: 1_000_000).overflow ? .max : delta * 1_000_000)
    }

    /// Nanoseconds from `earlier` to this time, or 0 when `earlier` is later.
    public func nanoseconds(since earlier: Timestamp) -> UInt64 {
        nanoseconds >= earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public var description: String {
        "\(nanoseconds / 1_000_000).\(String(nanoseconds / 1_000 % 1_000 + 1_000).dropFirst())ms"
    }
}
