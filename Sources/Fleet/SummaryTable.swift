import Foundation

/// The table printed at the end of a run: one row per operation, the generator's health, and
/// the threshold outcomes.
public enum SummaryTable {
    /// Renders `metrics` as fixed-width text. Latencies are from the intended start, in
    /// milliseconds; `-` where an operation has none (requests the devices answered).
    public static func render(_ metrics: FleetMetrics, thresholds: [ThresholdResult], elapsedSeconds: Double) -> String {
        var lines = [
            "\(metrics.arrivals) devices started in \(fixed(elapsedSeconds, decimals: 1)) s"
                + " (\(fixed(rate(metrics.arrivals, elapsedSeconds), decimals: 1))/s)"
                + (metrics.returns > 0 ? ", \(metrics.returns) returns after churn" : ""),
            "",
        ]

        let names = orderedOperations(metrics.operations.keys)
        let nameWidth = max("operation".count, names.map(\.count).max() ?? 0)
        // "per s" is over the whole run, arrivals and the end included; "peak/s" is the busiest
        // one-second interval of the time series, the rate a server was really asked to take.
        let header = ["count", "per s", "peak/s", "ok", "failed", "timeouts", "p50 ms", "p90 ms", "p99 ms", "p999 ms", "max ms"]
        let widths = [9, 9, 9, 9, 8, 8, 10, 10, 10, 10, 10]
        func row(_ name: String, _ cells: [String]) -> String {
            pad(name, nameWidth, left: true) + zip(cells, widths).map { " " + pad($0, $1) }.joined()
        }
        lines.append(row("operation", header))
        for name in names {
            guard let operation = metrics.operations[name], operation.count > 0 else { continue }
            let latency = operation.latency
            let durations = LatencyHistogram.namedPercentiles.map { latency.value(atPercentile: $0.percentile) } + [latency.max]
            lines.append(row(name, [
                "\(operation.count)", fixed(rate(operation.count, elapsedSeconds), decimals: 1),
                metrics.timeSeries.isEmpty ? "-" : "\(metrics.timeSeries.lazy.map { $0.counts.completed(name) }.max() ?? 0)",
                "\(operation.succeeded)",
                "\(operation.failed)", "\(operation.timeouts)",
            ] + durations.map { latency.isEmpty ? "-" : milliseconds($0) }))
        }
        if names.isEmpty { lines.append("(no operations)") }

        lines.append("")
        let labelWidth = max(24, (metrics.violationsByKind.keys.map(\.count).max() ?? 0) + 3)
        lines.append(pad("violations", labelWidth, left: true) + " \(metrics.violations)")
        for (kind, count) in metrics.violationsByKind.sorted(by: { $0.key < $1.key }) {
            lines.append(pad("  " + kind, labelWidth, left: true) + " \(count)")
        }
        lines.append(pad("dropped arrivals", labelWidth, left: true) + " \(metrics.droppedArrivals)")
        lines.append(pad("retransmissions", labelWidth, left: true) + " \(metrics.retransmissions)")
        let lag = metrics.loopLag.isEmpty ? "-" : milliseconds(metrics.loopLag.value(atPercentile: 99)) + " ms"
        lines.append(pad("loop lag p99", labelWidth, left: true) + " " + lag)
        if !metrics.arrivalLateness.isEmpty {
            lines.append(pad("arrival lateness p99", labelWidth, left: true)
                + " \(milliseconds(metrics.arrivalLateness.value(atPercentile: 99))) ms")
            lines.append(pad("arrival rate error", labelWidth, left: true)
                + " \(fixed(metrics.arrivalRateError * 100, decimals: 2)) % (worst stage: achieved vs target)")
        }

        if !thresholds.isEmpty {
            lines.append("")
            lines.append("thresholds")
            for threshold in thresholds {
                lines.append("  \(threshold.passed ? "PASS" : "FAIL")  \(threshold.expression)  (observed \(observed(threshold)))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Catalog operations in catalog order, then any other (bootstrap interface requests) by name.
    private static func orderedOperations(_ names: Dictionary<String, OperationMetrics>.Keys) -> [String] {
        MetricCatalog.operations.filter(names.contains) + names.filter { !MetricCatalog.operations.contains($0) }.sorted()
    }

    private static func observed(_ threshold: ThresholdResult) -> String {
        let field = FleetMetrics.operationAndField(of: threshold.metric)?.field ?? threshold.metric
        if MetricCatalog.isDuration(field), threshold.observed.isFinite { return milliseconds(threshold.observed) + " ms" }
        if threshold.observed.isFinite, threshold.observed == threshold.observed.rounded(), abs(threshold.observed) < 1e15 {
            return "\(Int64(threshold.observed))"
        }
        return String(format: "%.4g", threshold.observed)
    }

    private static func rate(_ count: UInt64, _ seconds: Double) -> Double {
        seconds > 0 ? Double(count) / seconds : 0
    }

    private static func milliseconds(_ nanoseconds: some BinaryInteger) -> String {
        milliseconds(Double(nanoseconds))
    }

    private static func milliseconds(_ nanoseconds: Double) -> String {
        fixed(nanoseconds / 1_000_000, decimals: 3)
    }

    private static func fixed(_ value: Double, decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    private static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return left ? text + padding : padding + text
    }
}
