/// A measure `compare` puts side by side for two results, with which way is better.
///
/// Every per-operation value is computed from what the result file keeps losslessly: counts, and
/// percentiles from the operation's latency histogram (a merged result's histograms are the exact
/// merge of its parts', so its percentiles are never an average of the parts' percentiles).
public enum ComparisonMetric: String, CaseIterable, Hashable, Sendable {
    /// Operations that ended (or server requests answered) per second, over the seconds from the
    /// operation's first to its last completion, as the run's summary counts "per s".
    case rate
    /// Latency percentiles, from the intended start (no coordinated omission), in nanoseconds.
    case p50, p90, p99, p999
    /// Failed and unfinished over attempts and unfinished devices (`failed.rate`), a fraction.
    case failureRate = "failure-rate"
    /// CON messages sent again per attempt (operations that ended, and devices left needing one).
    case retransmissions
    /// Run-wide: requests a server provably sent against the rule.
    case violations

    /// The metrics compared for each operation, in the order they are shown.
    public static let perOperation: [ComparisonMetric] = [.rate, .p50, .p90, .p99, .p999, .failureRate, .retransmissions]

    /// Which way of a metric is the better one.
    public enum Direction: String, Sendable {
        case higher, lower
    }

    /// Operations that happen only when something went wrong: the fewer, the better, so their rate
    /// is better lower (a device whose ClientHoldOffTime ran out bootstraps on its own).
    public static let operationsBetterFewer: Set<String> = ["bootstrap-fallback"]

    /// The better way for `operation` (nil: run-wide).
    public func better(for operation: String?) -> Direction {
        guard self == .rate else { return .lower }
        return operation.map { Self.operationsBetterFewer.contains($0) } ?? false ? .lower : .higher
    }

    /// The percentile (0 to 100) a latency metric reads; nil for the others.
    public var percentile: Double? {
        switch self {
        case .p50: 50
        case .p90: 90
        case .p99: 99
        case .p999: 99.9
        default: nil
        }
    }

    public var isLatency: Bool { percentile != nil }

    /// Samples each side needs for the metric to be judged: below 1/(1 - q) samples a q-th
    /// percentile is just the largest sample (10 for p90, 100 for p99, 1,000 for p999).
    public var minimumSamples: UInt64 {
        guard let percentile else { return 0 }
        return UInt64((100 / (100 - percentile)).rounded())
    }

    /// Whether a side where the operation is missing counts as zero for the verdict: what was never
    /// done ran at no rate, failed never and sent nothing again. A latency of nothing is not 0.
    var countsAbsentAsZero: Bool { !isLatency }

    /// The unit of the values in JSON output.
    public var unit: String {
        switch self {
        case .rate: "1/s"
        case .p50, .p90, .p99, .p999: "ns"
        case .failureRate: "fraction"
        case .retransmissions: "per attempt"
        case .violations: "count"
        }
    }

    /// The name in tables, with the unit shown.
    public var label: String {
        switch self {
        case .rate: "rate /s"
        case .p50, .p90, .p99, .p999: "latency \(rawValue) ms"
        case .failureRate: "failure rate %"
        case .retransmissions: "retrans/attempt"
        case .violations: "violations"
        }
    }

    /// The metric's value for one operation of a result; nil when it has no samples (a percentile
    /// of nothing), for a rate when the result tells no duration, and for the run-wide `violations`.
    func value(of operation: String, _ metrics: OperationMetrics, in result: ResultFile) -> Double? {
        switch self {
        case .rate:
            guard metrics.count > 0 else { return 0 }
            let seconds = result.metrics.activeSeconds(of: operation) ?? result.elapsedSeconds
            return seconds > 0 ? Double(metrics.count) / seconds : nil
        case .p50, .p90, .p99, .p999:
            guard let percentile, !metrics.latency.isEmpty else { return nil }
            return Double(metrics.latency.value(atPercentile: percentile))
        case .failureRate:
            return metrics.failedRate
        case .retransmissions:
            let attempts = metrics.count + metrics.unfinished
            return attempts == 0 ? nil : Double(metrics.retransmissions) / Double(attempts)
        case .violations:
            return nil
        }
    }
}
