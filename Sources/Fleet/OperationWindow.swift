import LwM2MClient

/// What one operation did in a stretch of a run, a second of the time series or a stage: how
/// many ended, failed, timed out and were sent again, and their latencies.
///
/// Latencies are kept at `FleetMetrics.intervalSignificantDigits` (1 %): enough for a plotted
/// line or a stage's p99, small enough for a window per operation and second of an hour's run,
/// and merged exactly all the same (bucket by bucket). The run-wide totals, at full precision,
/// are in `OperationMetrics`.
public struct OperationWindow: Sendable, Codable, Equatable {
    /// Operations that ended (started by a device) or requests answered (started by a server).
    public private(set) var count: UInt64 = 0
    /// Of `count`, the ones that failed (timeouts included), as `OperationMetrics.failed`.
    public private(set) var failed: UInt64 = 0
    /// Of `failed`, those that got no response.
    public private(set) var timeouts: UInt64 = 0
    /// CON messages of the operation sent again.
    public private(set) var retransmissions: UInt64 = 0
    /// From the intended start to the end, in nanoseconds; empty for requests answered.
    public private(set) var latency = LatencyHistogram(significantDigits: FleetMetrics.intervalSignificantDigits)

    public init() {}

    /// An operation a device started that ended.
    mutating func record(outcome: OperationOutcome, latencyNanoseconds: UInt64) {
        count += 1
        if outcome != .succeeded { failed += 1 }
        if outcome == .timedOut { timeouts += 1 }
        latency.record(latencyNanoseconds)
    }

    /// A request of a server the device answered.
    mutating func recordAnswer(succeeded: Bool) {
        count += 1
        if !succeeded { failed += 1 }
    }

    mutating func recordRetransmissions(_ count: Int) {
        retransmissions += UInt64(count)
    }

    /// Adds `other`'s counts and latencies exactly.
    public mutating func merge(_ other: OperationWindow) {
        count += other.count
        failed += other.failed
        timeouts += other.timeouts
        retransmissions += other.retransmissions
        latency.merge(other.latency)
    }

    /// The same window with its latencies packed (`LatencyHistogram.Sparse`), as a time series
    /// point keeps it for the rest of the run; it encodes to the same JSON.
    public struct Packed: Sendable, Codable, Equatable {
        public let count: UInt64
        public let failed: UInt64
        public let timeouts: UInt64
        public let retransmissions: UInt64
        public let latency: LatencyHistogram.Sparse
    }

    public var packed: Packed {
        Packed(count: count, failed: failed, timeouts: timeouts, retransmissions: retransmissions, latency: latency.sparse)
    }

    /// The window `packed` was made from.
    public init(_ packed: Packed) {
        count = packed.count
        failed = packed.failed
        timeouts = packed.timeouts
        retransmissions = packed.retransmissions
        latency = LatencyHistogram(packed.latency)
    }
}
