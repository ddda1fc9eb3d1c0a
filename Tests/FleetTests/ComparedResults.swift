import CoAP
import Fleet

/// Result files built in code for the `compare` tests, with known histograms and counts.
enum ComparedResults {
    static let fleet = """
        server: { server: coap://127.0.0.1:5683 }
        devices:
          - count: 100
        stages:
          - { duration: 1s, rate: 100/s }
        """

    /// A complete run of `fleet` whose metrics `record` fills; what it records lands in one
    /// one-second interval of the time series, so an operation's rate is its count per second.
    static func result(
        fleet: String = fleet, toolVersion: String = "0.1.0", missingStripes: [ShardStripe]? = nil,
        endReason: RunScheduler.EndReason = .completed, _ record: (inout FleetMetrics) -> Void
    ) -> ResultFile {
        var metrics = FleetMetrics()
        record(&metrics)
        metrics.closeInterval(elapsedNanoseconds: 1_000_000_000)
        metrics.endReason = endReason
        return ResultFile(
            toolVersion: toolVersion, seed: 3, spec: .init(path: "fleet.yaml", text: fleet),
            startedAt: "2025-03-01T12:00:00Z", finishedAt: "2025-03-01T12:00:02Z", interrupted: endReason == .interrupted,
            metrics: metrics, thresholds: [], missingStripes: missingStripes)
    }

    /// Records `count` operations of `operation` (succeeded, or timed out when `failed`), each
    /// taking `milliseconds`.
    static func record(
        _ operation: String, _ count: Int, milliseconds: Double, failed: Bool = false, into metrics: inout FleetMetrics
    ) {
        let nanoseconds = UInt64(milliseconds * 1_000_000)
        for _ in 0..<count {
            metrics.recordOperation(
                operation, outcome: failed ? .timedOut : .succeeded, code: failed ? nil : .created,
                latencyNanoseconds: nanoseconds, serviceNanoseconds: nanoseconds)
        }
    }

    /// A result with `count` registrations of `milliseconds` each, `failures` of them timed out.
    static func registrations(_ count: Int, milliseconds: Double, failures: Int = 0) -> ResultFile {
        result { metrics in
            record("register", count - failures, milliseconds: milliseconds, into: &metrics)
            record("register", failures, milliseconds: milliseconds, failed: true, into: &metrics)
        }
    }
}
