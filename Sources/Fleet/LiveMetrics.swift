import Prometheus
import Synchronization

/// What a run or `serve` shows a Prometheus scraper while it runs (`--metrics-port`), kept in
/// swift-prometheus's registry, which writes the exposition format.
///
/// Updated once a second from the progress reports the run already makes (every worker's, in
/// the parent), so the devices' loop pays nothing per operation for it. Per operation: counters
/// of outcomes, timeouts and retransmissions, and a latency histogram fed from each second's
/// latency buckets (1 % wide, at their lowest value: a sample within 1 % above a Prometheus
/// bucket's bound may count in that bucket). Counts are those of the run's result at the same
/// moment: the last scrape after the run's end equals the result file's totals.
public final class LiveMetrics: Sendable {
    /// Prometheus buckets for latencies, in seconds: from a loopback round trip to the longest
    /// CoAP exchange (EXCHANGE_LIFETIME is 247 s; a bootstrap may take minutes).
    public static let latencyBuckets: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
    ]

    private let registry = PrometheusCollectorRegistry()

    // The metrics, named lwm2m_<subsystem>_<name>_<unit> as Prometheus's conventions ask.
    private static var operations: MetricNameDescriptor { descriptor("fleet", "operations", "total", "Operations that ended, by operation and outcome (requests the devices answered included)") }
    private static var timeouts: MetricNameDescriptor { descriptor("fleet", "operation_timeouts", "total", "Operations that got no response, by operation (counted in operations_total as failed)") }
    private static var operationRetransmissions: MetricNameDescriptor { descriptor("fleet", "operation_retransmissions", "total", "CON messages sent again, by operation") }
    private static var latency: MetricNameDescriptor { descriptor("fleet", "operation_latency", "seconds", "Latency from the intended start (no coordinated omission), by operation") }
    private static var devices: MetricNameDescriptor { descriptor("fleet", "devices", "", "Devices by state now") }
    private static var loopLag: MetricNameDescriptor { descriptor("fleet", "loop_lag_p99", "seconds", "The event loop's lag p99 so far, worst worker: the generator's own health") }
    private static var targetRate: MetricNameDescriptor { descriptor("fleet", "arrival_rate_target", "per_second", "Arrivals per second the stages ask for, over the last second") }
    private static var arrivalRate: MetricNameDescriptor { descriptor("fleet", "arrival_rate", "per_second", "Arrivals per second achieved, over the last second") }
    private static var elapsed: MetricNameDescriptor { descriptor("fleet", "elapsed", "seconds", "Time since the run started") }
    private static let fleetTotalHelp = [
        "arrivals": "Devices started on schedule",
        "violations": "Requests a server sent against the registration rule, caught by the devices",
        "retransmissions": "CON messages the devices sent again",
    ]
    private static var registrationsHeld: MetricNameDescriptor { descriptor("server", "registrations_held", "", "Registrations the embedded LwM2M Server holds now") }

    private static func descriptor(_ subsystem: String, _ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "lwm2m", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
    }
    private let state = Mutex(State())

    /// Per worker, what its last report said of the devices now; the gauges add them up.
    private struct State {
        var devicesByWorker: [Int: [String: Int]] = [:]
        var loopLagByWorker: [Int: UInt64] = [:]
        /// Per worker, its run-wide totals so far (arrivals, violations, retransmissions), and
        /// what the counters of their sums already hold.
        var totalsByWorker: [Int: [String: UInt64]] = [:]
        var totalsCounted: [String: UInt64] = [:]
        var serverCounted: [String: Int] = [:]
        /// Every state a gauge was made for: one no device is in any more reads 0, not its last count.
        var statesSeen: Set<String> = []
    }

    public init() {}

    /// The exposition of every metric, as `/metrics` serves it.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    // MARK: A fleet

    /// Takes `worker`'s report of the interval that just ended.
    public func record(_ report: ProgressReport, from worker: Int) {
        for (operation, window) in report.intervalOperations {
            let labels = [("operation", operation)]
            let failed = Int64(window.failed)
            registry.makeCounter(descriptor: Self.operations, labels: labels + [("outcome", "succeeded")])
                .increment(by: Int64(window.count) - failed)
            registry.makeCounter(descriptor: Self.operations, labels: labels + [("outcome", "failed")]).increment(by: failed)
            registry.makeCounter(descriptor: Self.timeouts, labels: labels).increment(by: Int64(window.timeouts))
            registry.makeCounter(descriptor: Self.operationRetransmissions, labels: labels)
                .increment(by: Int64(window.retransmissions))
            let buckets = window.latency.buckets
            guard !buckets.isEmpty else { continue }
            let histogram = registry.makeValueHistogram(descriptor: Self.latency, labels: labels, buckets: Self.latencyBuckets)
            for bucket in buckets {
                let seconds = Double(bucket.lowestNanoseconds) / 1e9
                for _ in 0..<bucket.count { histogram.record(seconds) }
            }
        }
        let totals = ["arrivals": report.arrivals, "violations": report.violations, "retransmissions": report.retransmissions]
        let (devices, lag, deltas) = state.withLock { state in
            state.devicesByWorker[worker] = report.devicesByState
            state.loopLagByWorker[worker] = report.loopLagP99Nanoseconds
            state.totalsByWorker[worker] = totals
            var deltas: [(String, UInt64)] = []
            for name in totals.keys.sorted() {
                let sum = state.totalsByWorker.values.reduce(0) { $0 + ($1[name] ?? 0) }
                deltas.append((name, sum - min(sum, state.totalsCounted[name] ?? 0)))
                state.totalsCounted[name] = sum
            }
            var devices = state.devicesByWorker.values.reduce(into: [String: Int]()) { $0.merge($1, uniquingKeysWith: +) }
            state.statesSeen.formUnion(devices.keys)
            for name in state.statesSeen where devices[name] == nil { devices[name] = 0 }
            return (
                devices,
                state.loopLagByWorker.values.max() ?? 0,
                deltas)
        }
        for (name, count) in devices {
            registry.makeGauge(descriptor: Self.devices, labels: [("state", name)]).set(Double(count))
        }
        for (name, delta) in deltas {
            registry.makeCounter(descriptor: Self.descriptor("fleet", name, "total", Self.fleetTotalHelp[name] ?? name)).increment(by: Int64(delta))
        }
        registry.makeGauge(descriptor: Self.loopLag).set(Double(lag) / 1e9)
    }

    /// Takes the combined line of an interval: the arrival rates asked for and achieved.
    public func record(_ line: ProgressLine) {
        registry.makeGauge(descriptor: Self.targetRate).set(line.targetRate)
        registry.makeGauge(descriptor: Self.arrivalRate).set(line.arrivalRate)
        registry.makeGauge(descriptor: Self.elapsed).set(line.elapsedSeconds)
    }

    // MARK: The embedded servers

    /// Takes the servers' counts so far (`serve`'s status tick), the registrations held now among them.
    public func record(server counts: EmbeddedServerCounts) {
        registry.makeGauge(descriptor: Self.registrationsHeld).set(Double(counts.registrationsHeld))
        let deltas = state.withLock { state in
            EmbeddedServerCounts.fields.filter { $0.name != "registrations_held" }.map { field in
                let value = counts[keyPath: field.field]
                defer { state.serverCounted[field.name] = value }
                return (field.name, value - min(value, state.serverCounted[field.name] ?? 0))
            }
        }
        for (name, delta) in deltas {
            registry.makeCounter(descriptor: Self.descriptor("server", name, "total", "The embedded servers' \(name.replacingOccurrences(of: "_", with: " ")) so far (server.\(name) in the result)")).increment(by: Int64(delta))
        }
    }
}
