/// The percentiles of a `LatencyHistogram` as the result file writes them beside its buckets, so a
/// reader needs no HdrHistogram to read a p99: nanoseconds, each nil (JSON null) when the
/// histogram is empty, since a percentile of nothing is not 0.
public struct LatencyPercentiles: Sendable, Equatable {
    public var p50: UInt64?
    public var p90: UInt64?
    public var p99: UInt64?
    public var p999: UInt64?
    /// The largest value recorded, exact.
    public var max: UInt64?
    /// From each bucket's middle value.
    public var mean: Double?

    /// The percentiles of `histogram`, as `LatencyHistogram.value(atPercentile:)` gives them.
    public init(_ histogram: LatencyHistogram) {
        guard !histogram.isEmpty else { return }
        p50 = histogram.value(atPercentile: 50)
        p90 = histogram.value(atPercentile: 90)
        p99 = histogram.value(atPercentile: 99)
        p999 = histogram.value(atPercentile: 99.9)
        max = histogram.max
        mean = histogram.mean
    }
}

/// Every key is written, null when empty: a reader (and the JSON Schema) finds the same keys in
/// every histogram.
extension LatencyPercentiles: Codable {
    private enum CodingKeys: String, CodingKey {
        case p50, p90, p99, p999, max, mean
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        p50 = try container.decodeIfPresent(UInt64.self, forKey: .p50)
        p90 = try container.decodeIfPresent(UInt64.self, forKey: .p90)
        p99 = try container.decodeIfPresent(UInt64.self, forKey: .p99)
        p999 = try container.decodeIfPresent(UInt64.self, forKey: .p999)
        max = try container.decodeIfPresent(UInt64.self, forKey: .max)
        mean = try container.decodeIfPresent(Double.self, forKey: .mean)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(p50, forKey: .p50)
        try container.encode(p90, forKey: .p90)
        try container.encode(p99, forKey: .p99)
        try container.encode(p999, forKey: .p999)
        try container.encode(max, forKey: .max)
        try container.encode(mean, forKey: .mean)
    }
}
