/// A result's time series as the report plots it: at most `maximumPoints` points, so an hour of
/// seconds stays a page of reasonable size. Above that, each point merges a run of neighbouring
/// seconds: counts are added and become rates over the seconds merged, percentiles come from the
/// merged histograms (never averaged), devices by state are those at the last second.
struct ReportTimeline {
    /// What one operation did in a point.
    struct OperationPoint {
        var count: UInt64 = 0
        var failed: UInt64 = 0
        var timeouts: UInt64 = 0
        var retransmissions: UInt64 = 0
        var latency = LatencyPercentiles(LatencyHistogram())
    }

    /// One plotted point.
    struct Point {
        /// From the start of the run to the end of the point's last second.
        var endSeconds: Double
        /// The seconds the point covers (about 1, or the seconds merged).
        var seconds: Double
        var arrivals: UInt64
        var droppedArrivals: UInt64
        var devicesByState: [String: Int]
        var operations: [String: OperationPoint]
        var loopLag: LatencyPercentiles
        var arrivalLateness: LatencyPercentiles
    }

    let points: [Point]
    /// Intervals of the result merged into each point: 1 when not downsampled.
    let intervalsPerPoint: Int
    /// Intervals in the result.
    let intervalCount: Int

    init(_ series: [FleetMetrics.TimeSeriesPoint], maximumPoints: Int) {
        intervalCount = series.count
        intervalsPerPoint = max(1, (series.count + maximumPoints - 1) / max(maximumPoints, 1))
        var points: [Point] = []
        var previousEnd = 0.0
        var start = 0
        while start < series.count {
            let group = series[start..<min(start + intervalsPerPoint, series.count)]
            let point = Self.point(merging: group, after: previousEnd)
            points.append(point)
            previousEnd = point.endSeconds
            start += intervalsPerPoint
        }
        self.points = points
    }

    /// Whether points merge several intervals.
    var isDownsampled: Bool { intervalsPerPoint > 1 }

    /// Said under each chart when downsampled.
    var note: String? {
        isDownsampled
            ? "Downsampled: each point merges \(intervalsPerPoint) one-second intervals of \(intervalCount) (rates over those seconds, percentiles of their merged histograms)."
            : nil
    }

    /// The operations any point has, in the summary's order.
    var operationNames: [String] {
        MetricCatalog.ordered(Set(points.flatMap(\.operations.keys)))
    }

    /// Device states any point has, most devices first.
    var deviceStates: [String] {
        var peaks: [String: Int] = [:]
        for point in points {
            for (state, count) in point.devicesByState { peaks[state] = max(peaks[state] ?? 0, count) }
        }
        return peaks.sorted { $0.value > $1.value || $0.value == $1.value && $0.key < $1.key }.map(\.key)
    }

    private static func point(merging group: ArraySlice<FleetMetrics.TimeSeriesPoint>, after previousEnd: Double) -> Point {
        var windows: [String: OperationWindow] = [:]
        var loopLag = LatencyHistogram(significantDigits: FleetMetrics.intervalSignificantDigits)
        var lateness = LatencyHistogram(significantDigits: FleetMetrics.intervalSignificantDigits)
        var arrivals: UInt64 = 0, dropped: UInt64 = 0
        for interval in group {
            arrivals += interval.arrivals
            dropped += interval.droppedArrivals
            for (name, packed) in interval.operations { windows[name, default: OperationWindow()].merge(OperationWindow(packed)) }
            if interval.loopLag.count > 0 { loopLag.merge(LatencyHistogram(interval.loopLag)) }
            if interval.arrivalLateness.count > 0 { lateness.merge(LatencyHistogram(interval.arrivalLateness)) }
        }
        let end = Double(group.last?.elapsedNanoseconds ?? 0) / 1e9
        return Point(
            endSeconds: end, seconds: max(end - previousEnd, 0), arrivals: arrivals, droppedArrivals: dropped,
            devicesByState: group.last?.devicesByState ?? [:],
            operations: windows.mapValues { window in
                OperationPoint(
                    count: window.count, failed: window.failed, timeouts: window.timeouts, retransmissions: window.retransmissions,
                    latency: window.latency.percentiles)
            },
            loopLag: loopLag.percentiles, arrivalLateness: lateness.percentiles)
    }
}
