/// The names of everything a fleet run measures, as thresholds and the result file spell them.
///
/// Per operation: `<operation>.<field>` (`register.latency.p99`, `bootstrap.failed.rate`);
/// run-wide: a field alone (`violations`, `loop_lag.p99`). Thresholds may name only these.
public enum MetricCatalog {
    /// Operations measured: the ones devices start, and the server requests devices answer.
    public static let operations = [
        "bootstrap", "bootstrap-fallback", "register", "update", "deregister",
        "read", "discover", "write", "write-attributes", "execute", "create", "delete", "observe", "cancel-observation", "notify",
        "handshake", "handshake-resumed",
    ]

    /// Fields of an operation. Latencies are in nanoseconds in the result file; thresholds may
    /// write them with a unit (`200ms`, `1.5s`, `300us`).
    public static let operationFields = [
        "count", "succeeded", "failed", "timeouts", "unfinished", "retransmissions", "failed.rate",
        "latency.p50", "latency.p90", "latency.p99", "latency.p999", "latency.max", "latency.mean",
        "service.p50", "service.p90", "service.p99", "service.p999", "service.max", "service.mean",
    ]

    /// Fields of the DTLS handshake operations only: the bytes of their datagrams, which the
    /// driver sees apart from the CoAP ones, both ways and per handshake.
    public static let handshakeOperations = ["handshake", "handshake-resumed"]
    public static let handshakeFields = ["bytes.sent", "bytes.received", "bytes.mean"]

    /// The fields `operation` has.
    public static func fields(of operation: String) -> [String] {
        handshakeOperations.contains(operation) ? operationFields + handshakeFields : operationFields
    }

    /// Run-wide fields.
    public static let runFields = [
        "violations", "ignored_unproven", "dropped", "retransmissions", "arrivals", "returns", "devices.registered", "devices.failed", "devices.unfinished",
        "devices.with_violations",
        "bytes.sent", "bytes.received",
        "loop_lag.p50", "loop_lag.p99", "loop_lag.p999", "loop_lag.max",
        "arrivals.rate_error", "arrival_lateness.p50", "arrival_lateness.p99", "arrival_lateness.p999", "arrival_lateness.max",
    ]

    /// The embedded servers' own counts (`server.bootstrap_failures`), kept only in runs with
    /// `server: embedded`.
    public static let embeddedServerPrefix = "server."

    /// Names of the embedded servers' counts.
    public static let embeddedServerFields = EmbeddedServerCounts.fields.map { embeddedServerPrefix + $0.name }

    /// Whether the field is a duration (so a threshold may give it a time unit).
    /// Fractions, which thresholds also take as percentages: failure rates and the arrival rate error.
    public static func isFraction(_ field: String) -> Bool {
        field.hasSuffix("rate") || field.hasSuffix("rate_error")
    }

    public static func isDuration(_ field: String) -> Bool {
        field.hasPrefix("latency.") || field.hasPrefix("service.") || field.hasPrefix("loop_lag.")
            || field.hasPrefix("arrival_lateness.")
    }

    /// `names` in catalog order, then any other operation (bootstrap interface requests) by name:
    /// the order of every table and page that lists operations.
    public static func ordered(_ names: some Collection<String>) -> [String] {
        operations.filter(names.contains) + names.filter { !operations.contains($0) }.sorted()
    }

    /// Every valid metric name, for error messages that list what would be valid.
    public static var allNames: [String] {
        operations.flatMap { operation in fields(of: operation).map { "\(operation).\($0)" } } + runFields + embeddedServerFields
    }
}
