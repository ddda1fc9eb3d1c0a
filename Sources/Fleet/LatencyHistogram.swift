import Histogram

/// An HdrHistogram of durations in nanoseconds (1 µs to 1 h), Codable without loss and merged
/// exactly, bucket by bucket.
///
/// Values above one hour are recorded as one hour, so every sample is counted. In the result file
/// a histogram is its layout, its exact smallest non-zero and largest values, and the non-empty
/// buckets as `[lowest value in the bucket, count]` pairs: decoding replays them, so the decoded
/// histogram has the same counts, minimum, maximum and percentiles as the one encoded.
public struct LatencyHistogram: Sendable, Equatable {
    /// The smallest duration told apart from zero (HdrHistogram rounds it down to 512 ns).
    public static let lowestDiscernibleNanoseconds: UInt64 = 1_000
    /// The largest duration kept as such; longer ones are recorded as this.
    public static let highestTrackableNanoseconds: UInt64 = 3_600 * 1_000_000_000

    private var histogram: Histogram<UInt64>
    /// The smallest non-zero value recorded, exactly: the histogram keeps it too, but shows it
    /// only while no value under 512 ns was recorded, and decoding must restore it.
    private var smallestNonZero: UInt64?

    /// Decimal digits of precision: a bucket is narrower than 10^-digits of the values in it.
    public let significantDigits: Int

    /// An empty histogram; `significantDigits` is 1 to 5 (3 for run totals: 0.1 %).
    public init(significantDigits: Int = 3) {
        precondition((1...5).contains(significantDigits), "significantDigits must be 1 to 5")
        self.significantDigits = significantDigits
        // Starts small and grows to the largest value recorded: most runs never need the counts
        // for minutes, and a histogram for one hour at three digits is about 200 KB.
        histogram = Histogram(
            lowestDiscernibleValue: Self.lowestDiscernibleNanoseconds,
            highestTrackableValue: 2 * Self.lowestDiscernibleNanoseconds,
            numberOfSignificantValueDigits: SignificantDigits(rawValue: Int8(significantDigits))!)
        histogram.autoResize = true
    }

    /// Records one duration (clamped to `highestTrackableNanoseconds`).
    public mutating func record(_ nanoseconds: UInt64) {
        let value = Swift.min(nanoseconds, Self.highestTrackableNanoseconds)
        histogram.record(value)
        if value != 0, value < smallestNonZero ?? .max { smallestNonZero = value }
    }

    /// Adds `other`'s samples: bucket by bucket, so the result is the histogram of all values
    /// recorded into either. A histogram of another precision (only a hand-edited file has
    /// one where this tool merges) is replayed at its bucket values instead.
    public mutating func merge(_ other: LatencyHistogram) {
        if other.significantDigits == significantDigits {
            histogram.add(other.histogram)
        } else {
            Self.replay(other.buckets, smallestNonZero: other.smallestNonZero, largest: other.max, layout: other.histogram, into: &histogram)
        }
        if let value = other.smallestNonZero, value < smallestNonZero ?? .max { smallestNonZero = value }
    }

    /// Empties the histogram, keeping its precision.
    public mutating func reset() {
        histogram.reset()
        smallestNonZero = nil
    }

    /// Samples recorded.
    public var count: UInt64 { histogram.totalCount }

    public var isEmpty: Bool { histogram.totalCount == 0 }

    /// The smallest value recorded, exact unless values under 512 ns were recorded (then 0); 0
    /// when empty.
    public var min: UInt64 { histogram.min }

    /// The largest value recorded, exact; 0 when empty.
    public var max: UInt64 { histogram.maxRecorded }

    /// The mean, from each bucket's middle value; 0 when empty.
    public var mean: Double { histogram.mean }

    /// The value at `percentile` (0 to 100, such as 99.9): at most one bucket's width above the
    /// true value, never above `max`; 0 when empty.
    public func value(atPercentile percentile: Double) -> UInt64 {
        histogram.valueAtPercentile(percentile)
    }

    /// One bucket that holds samples: its lowest value and how many samples it holds.
    public struct Bucket: Hashable, Sendable {
        public var lowestNanoseconds: UInt64
        public var count: UInt64
    }

    /// The buckets that hold samples, lowest first.
    public var buckets: [Bucket] {
        histogram.recordedValues().map { Bucket(lowestNanoseconds: histogram.lowestEquivalentForValue($0.value), count: $0.count) }
    }

    /// Records `buckets` of a histogram with the layout of `layout` into `target`, with the exact
    /// smallest non-zero and largest values in the buckets that hold them, so `target`'s minimum
    /// and maximum (which bound its percentiles) come out exact.
    private static func replay(
        _ buckets: [Bucket], smallestNonZero: UInt64?, largest: UInt64, layout: Histogram<UInt64>, into target: inout Histogram<UInt64>
    ) {
        for bucket in buckets {
            var remaining = bucket.count
            if largest != 0, layout.lowestEquivalentForValue(largest) == bucket.lowestNanoseconds {
                target.record(largest)
                remaining -= 1
            }
            guard remaining > 0 else { continue }
            if let smallestNonZero, layout.lowestEquivalentForValue(smallestNonZero) == bucket.lowestNanoseconds {
                target.record(smallestNonZero, count: remaining)
            } else {
                target.record(bucket.lowestNanoseconds, count: remaining)
            }
        }
    }
}

extension LatencyHistogram {
    /// The percentiles metric names use, by the suffix that names them.
    static let namedPercentiles: [(suffix: String, percentile: Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)]

    /// `p50`, `p90`, `p99`, `p999`, `max` or `mean`, in nanoseconds; nil for another name.
    func value(forStatistic statistic: Substring) -> Double? {
        // No samples, no value: a percentile of nothing must not pass a threshold as 0.
        guard !isEmpty else { return nil }
        switch statistic {
        case "max": return Double(max)
        case "mean": return mean
        default:
            guard let named = Self.namedPercentiles.first(where: { $0.suffix == statistic }) else { return nil }
            return Double(value(atPercentile: named.percentile))
        }
    }
}

extension LatencyHistogram {
    /// A histogram as the result file and time series points keep it: its non-empty buckets,
    /// and its exact smallest non-zero and largest values.
    ///
    /// A time series keeps one per second of a run, so the buckets are packed: per bucket two
    /// LEB128 varints, the distance from the previous bucket's lowest value (before the first: 0)
    /// in widths of the previous bucket (before the first: the narrowest), then the count. Bucket
    /// widths are powers of two that never shrink and a bucket's lowest value is a multiple of its
    /// width, so the distance is a whole number of widths: exact, and 1 between neighbours, so a
    /// bucket mostly takes 2 bytes where a `Bucket` takes 16.
    public struct Sparse: Sendable, Equatable {
        public let significantDigits: Int
        public let minNonZeroNanoseconds: UInt64?
        public let maxNanoseconds: UInt64
        private let packedBuckets: [UInt8]

        /// `buckets` must be non-empty buckets of the layout of `significantDigits`, lowest first.
        fileprivate init(significantDigits: Int, minNonZeroNanoseconds: UInt64?, maxNanoseconds: UInt64, buckets: some Sequence<Bucket>) {
            self.significantDigits = significantDigits
            self.minNonZeroNanoseconds = minNonZeroNanoseconds
            self.maxNanoseconds = maxNanoseconds
            let layout = LatencyHistogram.layout(significantDigits: significantDigits)
            var bytes: [UInt8] = []
            var previous: UInt64 = 0
            var width = layout.sizeOfEquivalentRangeForValue(0)
            for bucket in buckets {
                let distance = bucket.lowestNanoseconds - previous
                assert(distance.isMultiple(of: width), "\(bucket.lowestNanoseconds) is not the lowest value of a bucket")
                Self.appendVarint(distance / width, to: &bytes)
                Self.appendVarint(bucket.count, to: &bytes)
                previous = bucket.lowestNanoseconds
                width = layout.sizeOfEquivalentRangeForValue(previous)
            }
            // A copy of exactly the bytes written: the array grown by appending has up to twice
            // the capacity, and this one is kept for the rest of the run.
            packedBuckets = bytes.withUnsafeBufferPointer { Array($0) }
        }

        /// Non-empty buckets, lowest first.
        public var buckets: [Bucket] {
            var decoded: [Bucket] = []
            forEachBucket { decoded.append($0) }
            return decoded
        }

        /// Samples in all buckets.
        public var count: UInt64 {
            var count: UInt64 = 0
            forEachBucket { count += $0.count }
            return count
        }

        /// Bytes the packed buckets take (their array's header and allocation aside).
        var packedByteCount: Int { packedBuckets.count }

        private func forEachBucket(_ body: (Bucket) -> Void) {
            let layout = LatencyHistogram.layout(significantDigits: significantDigits)
            var offset = 0
            var previous: UInt64 = 0
            var width = layout.sizeOfEquivalentRangeForValue(0)
            while offset < packedBuckets.count {
                let lowest = previous + readVarint(at: &offset) * width
                body(Bucket(lowestNanoseconds: lowest, count: readVarint(at: &offset)))
                previous = lowest
                width = layout.sizeOfEquivalentRangeForValue(lowest)
            }
        }

        private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
            var value = value
            while value >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
                value >>= 7
            }
            bytes.append(UInt8(value))
        }

        private func readVarint(at offset: inout Int) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let byte = packedBuckets[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
    }

    /// The same samples, without the empty buckets.
    public var sparse: Sparse {
        let recorded = histogram.recordedValues().lazy.map { [histogram] in
            Bucket(lowestNanoseconds: histogram.lowestEquivalentForValue($0.value), count: $0.count)
        }
        return Sparse(significantDigits: significantDigits, minNonZeroNanoseconds: smallestNonZero, maxNanoseconds: max, buckets: recorded)
    }

    /// The histogram `sparse` was made from: same counts, minimum, maximum and percentiles.
    public init(_ sparse: Sparse) {
        self.init(significantDigits: sparse.significantDigits)
        let layout = histogram
        Self.replay(sparse.buckets, smallestNonZero: sparse.minNonZeroNanoseconds, largest: sparse.maxNanoseconds, layout: layout, into: &histogram)
        smallestNonZero = sparse.minNonZeroNanoseconds
    }

    /// An empty histogram of each precision, for bucket arithmetic (which needs no counts).
    private static let layouts = (1...5).map { LatencyHistogram(significantDigits: $0).histogram }

    fileprivate static func layout(significantDigits: Int) -> Histogram<UInt64> {
        layouts[significantDigits - 1]
    }
}

/// Encoded as its `Sparse` form.
extension LatencyHistogram: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try Sparse(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try sparse.encode(to: encoder, percentiles: LatencyPercentiles(self))
    }

    /// The percentiles written beside the buckets.
    public var percentiles: LatencyPercentiles { LatencyPercentiles(self) }
}

/// Decoding checks what replaying the buckets relies on, so a damaged file fails to decode
/// instead of yielding other numbers. The percentiles are written for readers and not read back:
/// the buckets give them again.
extension LatencyHistogram.Sparse: Codable {
    private enum CodingKeys: String, CodingKey {
        case significantDigits, lowestDiscernibleNanoseconds, highestTrackableNanoseconds
        case count, minNonZeroNanoseconds, maxNanoseconds, percentiles, buckets
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func corrupted(_ key: CodingKeys, _ message: String) -> DecodingError {
            DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: message)
        }
        let significantDigits = try container.decode(Int.self, forKey: .significantDigits)
        guard (1...5).contains(significantDigits) else { throw corrupted(.significantDigits, "must be 1 to 5") }
        // Schema version 1 has one layout; the bounds are written so a reader sees the units.
        guard try container.decode(UInt64.self, forKey: .lowestDiscernibleNanoseconds) == LatencyHistogram.lowestDiscernibleNanoseconds
        else { throw corrupted(.lowestDiscernibleNanoseconds, "must be \(LatencyHistogram.lowestDiscernibleNanoseconds)") }
        guard try container.decode(UInt64.self, forKey: .highestTrackableNanoseconds) == LatencyHistogram.highestTrackableNanoseconds
        else { throw corrupted(.highestTrackableNanoseconds, "must be \(LatencyHistogram.highestTrackableNanoseconds)") }
        let minNonZeroNanoseconds = try container.decodeIfPresent(UInt64.self, forKey: .minNonZeroNanoseconds)
        let maxNanoseconds = try container.decode(UInt64.self, forKey: .maxNanoseconds)
        guard maxNanoseconds <= LatencyHistogram.highestTrackableNanoseconds else {
            throw corrupted(.maxNanoseconds, "must be at most \(LatencyHistogram.highestTrackableNanoseconds)")
        }
        guard (minNonZeroNanoseconds ?? 1) != 0, (minNonZeroNanoseconds ?? 0) <= maxNanoseconds else {
            throw corrupted(.minNonZeroNanoseconds, "must be above 0 and at most maxNanoseconds")
        }
        let buckets = try container.decode([LatencyHistogram.Bucket].self, forKey: .buckets)
        let layout = LatencyHistogram.layout(significantDigits: significantDigits)
        var total: UInt64 = 0
        var previous: UInt64?
        for bucket in buckets {
            let value = bucket.lowestNanoseconds
            guard bucket.count > 0, value <= maxNanoseconds, previous.map({ value > $0 }) ?? true, layout.lowestEquivalentForValue(value) == value
            else { throw corrupted(.buckets, "need counts above 0 at rising bucket values up to maxNanoseconds") }
            let (sum, overflow) = total.addingReportingOverflow(bucket.count)
            guard !overflow else { throw corrupted(.buckets, "counts overflow") }
            total = sum
            previous = value
        }
        let count = try container.decode(UInt64.self, forKey: .count)
        guard total == count else { throw corrupted(.count, "is \(count) but the buckets hold \(total)") }
        self.init(significantDigits: significantDigits, minNonZeroNanoseconds: minNonZeroNanoseconds, maxNanoseconds: maxNanoseconds, buckets: buckets)
    }

    public func encode(to encoder: any Encoder) throws {
        try encode(to: encoder, percentiles: LatencyPercentiles(LatencyHistogram(self)))
    }

    /// Writes the histogram with `percentiles`, which must be its own.
    func encode(to encoder: any Encoder, percentiles: LatencyPercentiles) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(significantDigits, forKey: .significantDigits)
        try container.encode(LatencyHistogram.lowestDiscernibleNanoseconds, forKey: .lowestDiscernibleNanoseconds)
        try container.encode(LatencyHistogram.highestTrackableNanoseconds, forKey: .highestTrackableNanoseconds)
        try container.encode(count, forKey: .count)
        try container.encodeIfPresent(minNonZeroNanoseconds, forKey: .minNonZeroNanoseconds)
        try container.encode(maxNanoseconds, forKey: .maxNanoseconds)
        try container.encode(percentiles, forKey: .percentiles)
        try container.encode(buckets, forKey: .buckets)
    }
}

/// A bucket is written as `[lowestNanoseconds, count]`, to keep large histograms readable.
extension LatencyHistogram.Bucket: Codable {
    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        lowestNanoseconds = try container.decode(UInt64.self)
        count = try container.decode(UInt64.self)
        guard container.isAtEnd else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a bucket is [lowestNanoseconds, count]")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(lowestNanoseconds)
        try container.encode(count)
    }
}
