import Foundation
import LwM2MClient

/// The table printed at the end of a run: one row per operation, the generator's health, and
/// the threshold outcomes.
public enum SummaryTable {
    /// Renders `metrics` as fixed-width text. Latencies are from the intended start, in
    /// milliseconds; `-` where an operation has none (requests the devices answered).
    public static func render(_ metrics: FleetMetrics, thresholds: [ThresholdResult], elapsedSeconds: Double) -> String {
        // Over the arrivals themselves, not the holds and the end after them.
        let arrivalSeconds = Double(metrics.lastArrivalNanoseconds) / 1e9
        var lines = [
            "\(metrics.arrivals) devices started in \(fixed(arrivalSeconds, decimals: 1)) s"
                + " (\(fixed(rate(metrics.arrivals, arrivalSeconds), decimals: 1))/s), run took \(fixed(elapsedSeconds, decimals: 1)) s"
                + (metrics.returns > 0 ? ", \(metrics.returns) returns after churn" : ""),
            "",
        ]

        let names = MetricCatalog.ordered(metrics.operations.keys)
        let nameWidth = max("operation".count, names.map(\.count).max() ?? 0)
        // "per s" is over the seconds from the operation's first to its last completion, not the
        // holds around them; "peak/s" is the busiest one-second interval of the time series, the
        // rate a server was really asked to take.
        let header = ["count", "per s", "peak/s", "ok", "failed", "timeouts", "retrans", "p50 ms", "p90 ms", "p99 ms", "p999 ms", "max ms"]
        let widths = [9, 9, 9, 9, 8, 8, 8, 10, 10, 10, 10, 10]
        func row(_ name: String, _ cells: [String]) -> String {
            pad(name, nameWidth, left: true) + zip(cells, widths).map { " " + pad($0, $1) }.joined()
        }
        lines.append(row("operation", header))
        var codes: [String] = []
        for name in names {
            guard let operation = metrics.operations[name], operation.count + operation.unfinished > 0 else { continue }
            let latency = operation.latency
            let durations = LatencyHistogram.namedPercentiles.map { latency.value(atPercentile: $0.percentile) } + [latency.max]
            lines.append(row(name, [
                "\(operation.count)", fixed(rate(operation.count, metrics.activeSeconds(of: name) ?? elapsedSeconds), decimals: 1),
                metrics.timeSeries.isEmpty ? "-" : "\(metrics.timeSeries.lazy.map { $0.completed(name) }.max() ?? 0)",
                "\(operation.succeeded)",
                "\(operation.failed)", "\(operation.timeouts)", "\(operation.retransmissions)",
            ] + durations.map { latency.isEmpty ? "-" : milliseconds($0) }))
            var why = operation.responseCodes.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }
            if operation.timeouts > 0 { why.append("no response x\(operation.timeouts)") }
            if operation.unfinished > 0 { why.append("unfinished x\(operation.unfinished)") }
            if let bytes = operation.meanBytes, let sent = operation.bytesSent, let received = operation.bytesReceived {
                why.append("\(fixed(bytes, decimals: 0)) bytes each (\(sent) sent, \(received) received in all)")
            }
            if !why.isEmpty { codes.append(pad(name, nameWidth, left: true) + "  " + why.joined(separator: ", ")) }
        }
        if names.isEmpty { lines.append("(no operations)") }
        if !codes.isEmpty {
            lines.append("")
            lines.append("outcomes")
            lines += codes.map { "  " + $0 }
        }
        lines += accounting(metrics)
        lines += faultsAndRestart(metrics)

        lines.append("")
        let labelWidth = max(24, (metrics.violationsByKind.keys.map(\.count).max() ?? 0) + 3)
        let violated = metrics.embeddedServer?.devicesViolated ?? 0
        let caught = metrics.violations > 0 || violated > 0
            ? " (on \(metrics.devicesWithViolations) device\(metrics.devicesWithViolations == 1 ? "" : "s")"
                + (violated > 0 ? " of the \(violated) the embedded server broke the rule on)" : ")")
            : ""
        lines.append(pad("violations", labelWidth, left: true) + " \(metrics.violations)" + caught)
        for (kind, count) in metrics.violationsByKind.sorted(by: { $0.key < $1.key }) {
            lines.append(pad("  " + kind, labelWidth, left: true) + " \(count)")
        }
        lines.append(pad("ignored, not proven", labelWidth, left: true) + " \(metrics.ignoredUnproven)")
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

    /// Where devices that did not get where their profile aims stopped, servers that never
    /// answered, sockets that could not be opened, and what the end of the run did.
    private static func accounting(_ metrics: FleetMetrics) -> [String] {
        var lines: [String] = []
        if metrics.unfinishedDeviceCount > 0 {
            let states = metrics.unfinishedDevices.sorted { $0.value > $1.value || $0.value == $1.value && $0.key < $1.key }
            lines.append("")
            lines.append("unfinished devices \(metrics.unfinishedDeviceCount): " + states.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        }
        for (server, devices) in metrics.unansweredDevicesByServer.sorted(by: { $0.key < $1.key }) {
            lines.append("no response from \(server): \(devices) device\(devices == 1 ? "" : "s")")
        }
        for (failure, count) in metrics.connectionFailures.sorted(by: { $0.key < $1.key }) {
            lines.append("could not open a socket to \(failure) (x\(count))")
        }
        if let end = metrics.endOfRun, end.deregistersSent + end.unreached > 0 {
            var line = "end of run: \(end.deregistersSent) De-registers sent at \(fixed(end.deregistersPerSecond, decimals: 0))/s"
                + " over \(fixed(end.sendingSeconds, decimals: 1)) s"
            let deregisters = metrics.endOfRunDeregisters
            if !deregisters.latency.isEmpty {
                line += ", \(deregisters.succeeded) answered, p99 \(milliseconds(deregisters.latency.value(atPercentile: 99))) ms, "
                    + "\(deregisters.timeouts) timeouts, \(deregisters.retransmissions) retransmissions"
            }
            if end.unreached > 0 { line += "; \(end.unreached) registered devices not reached before the grace ran out" }
            lines.append(line)
        }
        return lines
    }

    /// What fault injection did, each side on one line, and how the devices came through the
    /// embedded server's restart.
    private static func faultsAndRestart(_ metrics: FleetMetrics) -> [String] {
        var lines: [String] = []
        if let faults = metrics.faults { lines.append("faults injected at the devices: \(faults.summary)") }
        if let faults = metrics.embeddedServer?.faults { lines.append("faults injected at the embedded servers: \(faults.summary)") }
        if let storm = metrics.restartStorm {
            var line = "server restart at \(fixed(storm.restartAtSeconds, decimals: 1)) s, down \(fixed(storm.downSeconds, decimals: 1)) s: "
                + "\(storm.devicesRegistered) registrations lost; "
            let last = fixed(Double(storm.lastRegisteredAgainNanoseconds) / 1e9, decimals: 1)
            if let seconds = storm.secondsUntilAllRegisteredAgain {
                line += "all registered again in \(fixed(seconds, decimals: 1)) s"
            } else {
                line += "\(storm.devicesRegisteredAgain) of them registered again (the last \(last) s after the restart)"
            }
            line += " (peak \(storm.peakRegisteredAgainPerSecond)/s, \(storm.devicesBootstrappedAgain) via bootstrap); "
                + "\(storm.failureCount) failures meanwhile"
            let failures = storm.failures.sorted { $0.value > $1.value || $0.value == $1.value && $0.key < $1.key }
            if !failures.isEmpty { line += ": " + failures.map { "\($0.key) x\($0.value)" }.joined(separator: ", ") }
            lines.append(line)
        }
        return lines.isEmpty ? [] : [""] + lines
    }

    /// Catalog operations in catalog order, then any other (bootstrap interface requests) by name.
    /// A threshold's observed value in the metric's unit: milliseconds for durations, `no samples`.
    static func observed(_ threshold: ThresholdResult) -> String {
        if threshold.observed.isNaN { return "no samples" }
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
