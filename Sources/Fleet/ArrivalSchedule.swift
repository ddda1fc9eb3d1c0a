/// When each device of an open-model fleet is meant to arrive, from piecewise-linear rates.
///
/// Arrival k (0-based) is due at the time t where the integral of the rate from 0 to t reaches
/// k + 1/2, so a constant 100/s starts devices 10 ms apart beginning at 5 ms. The schedule is
/// fixed before the run; latencies are measured from these intended times, so a generator
/// that falls behind shows up as latency, not as a slower offered load (coordinated omission).
public struct ArrivalSchedule: Sendable {
    /// A stretch of time during which the arrival rate moves linearly from `startRate` to `endRate`.
    public struct Segment: Hashable, Sendable {
        public var durationSeconds: Double
        public var startRate: Double
        public var endRate: Double

        public init(durationSeconds: Double, startRate: Double, endRate: Double) {
            self.durationSeconds = durationSeconds
            self.startRate = startRate
            self.endRate = endRate
        }

        /// Arrivals in the whole segment.
        var arrivals: Double { (startRate + endRate) / 2 * durationSeconds }
    }

    public let segments: [Segment]
    /// Arrivals due at the start of each segment.
    private let cumulative: [Double]
    public let deviceCount: Int

    public init(segments: [Segment], deviceCount: Int) {
        self.segments = segments
        var total = 0.0
        var cumulative: [Double] = []
        for segment in segments {
            cumulative.append(total)
            total += segment.arrivals
        }
        self.cumulative = cumulative
        self.deviceCount = deviceCount
    }

    /// The highest arrival rate of any segment, per second.
    public var peakRate: Double { segments.map { max($0.startRate, $0.endRate) }.max() ?? 0 }

    /// How many arrivals the segments can hold (a fleet larger than this never fully arrives).
    public var capacity: Double { segments.reduce(0) { $0 + $1.arrivals } }

    /// Seconds from the start of the run until arrival `index` is due; nil when the stages end first.
    public func intendedStart(of index: Int) -> Double? {
        guard index < deviceCount else { return nil }
        let target = Double(index) + 0.5
        var offset = 0.0
        for (segment, before) in zip(segments, cumulative) {
            let inSegment = target - before
            if inSegment <= segment.arrivals, segment.arrivals > 0 {
                return offset + Self.time(toReach: inSegment, in: segment)
            }
            offset += segment.durationSeconds
        }
        return nil
    }

    /// The rate the schedule asks for at `seconds` into the run (0 after the last segment).
    public func rate(at seconds: Double) -> Double {
        var offset = 0.0
        for segment in segments {
            if seconds < offset + segment.durationSeconds {
                let fraction = segment.durationSeconds > 0 ? (seconds - offset) / segment.durationSeconds : 0
                return segment.startRate + (segment.endRate - segment.startRate) * fraction
            }
            offset += segment.durationSeconds
        }
        return 0
    }

    /// Which segment `seconds` falls in (the last one after the end).
    public func segmentIndex(at seconds: Double) -> Int {
        var offset = 0.0
        for (index, segment) in segments.enumerated() {
            offset += segment.durationSeconds
            if seconds < offset { return index }
        }
        return max(segments.count - 1, 0)
    }

    /// Seconds from the start of the run to the start of segment `index`.
    public func startSeconds(ofSegment index: Int) -> Double {
        segments.prefix(index).reduce(0) { $0 + $1.durationSeconds }
    }

    /// Arrivals due by `seconds` into the run: those whose intended start is at most `seconds`
    /// (see `intendedStart(of:)`), so at most `deviceCount`.
    public func arrivalsDue(by seconds: Double) -> Int {
        var integral = 0.0
        var offset = 0.0
        for segment in segments {
            let inSegment = min(max(seconds - offset, 0), segment.durationSeconds)
            let slope = segment.durationSeconds > 0 ? (segment.endRate - segment.startRate) / segment.durationSeconds : 0
            integral += segment.startRate * inSegment + slope / 2 * inSegment * inSegment
            offset += segment.durationSeconds
        }
        // Arrival k is due where the integral reaches k + 1/2.
        return min(Int((integral + 0.5).rounded(.down)), deviceCount)
    }

    /// Total seconds of all segments.
    public var durationSeconds: Double { segments.reduce(0) { $0 + $1.durationSeconds } }

    /// Solves r0·τ + (r1 - r0)/(2D)·τ² = n for τ in [0, D].
    private static func time(toReach arrivals: Double, in segment: Segment) -> Double {
        let slope = (segment.endRate - segment.startRate) / segment.durationSeconds
        if abs(slope) < 1e-12 { return arrivals / segment.startRate }
        let a = slope / 2
        let b = segment.startRate
        let discriminant = max(b * b + 4 * a * arrivals, 0)
        return min(max((-b + discriminant.squareRoot()) / (2 * a), 0), segment.durationSeconds)
    }
}
