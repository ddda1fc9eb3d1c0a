/// How far B may move from A before `compare` calls a metric better or worse, per metric and
/// optionally per operation, from `--tolerance` texts over documented defaults.
///
/// A text is `VALUE` (every rate and latency percentile) or `[OPERATION.]METRIC=VALUE`:
/// - `rate=5%`: a change relative to A.
/// - `p50`, `p90`, `p99`, `p999`, or `latency` for all four: `10%` relative, or a duration
///   (`2ms`) as an absolute bound; give both and a change within either is the same.
/// - `failure-rate=0.1%` (or `0.001`): an absolute difference of the shares, in percentage points:
///   a change relative to a failure rate near 0 says nothing.
/// - `retransmissions=0.01`: an absolute difference in retransmissions per attempt.
/// - `violations=0`: an absolute difference in the count (run-wide; no operation).
/// The most specific setting wins: `register.p99`, `register.latency`, `p99`, `latency`, a bare value.
public struct ComparisonTolerances: Sendable, Equatable {
    /// The bounds of one metric: a change within either one is no change; with neither, only
    /// equal values are the same.
    public struct Bounds: Sendable, Equatable {
        /// A fraction of A's value (0.05: 5 %).
        public var relative: Double?
        /// In the metric's unit (nanoseconds, a fraction, retransmissions per attempt, a count).
        public var absolute: Double?

        public init(relative: Double? = nil, absolute: Double? = nil) {
            self.relative = relative
            self.absolute = absolute
        }

        /// Whether B is within the bounds of A.
        public func holds(_ a: Double, _ b: Double) -> Bool {
            let difference = abs(b - a)
            if difference == 0 { return true }
            if let absolute, difference <= absolute { return true }
            if let relative, difference <= relative * abs(a) { return true }
            return false
        }
    }

    /// A `--tolerance` text that does not read, with what would.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var text: String
        public var message: String

        public var description: String { "--tolerance \(text): \(message)" }
    }

    /// Tails move more than medians from run to run; failure rates and retransmissions are
    /// absolute, violations must not grow at all.
    public static let defaults: [ComparisonMetric: Bounds] = [
        .rate: Bounds(relative: 0.05),
        .p50: Bounds(relative: 0.05), .p90: Bounds(relative: 0.05), .p99: Bounds(relative: 0.10), .p999: Bounds(relative: 0.20),
        .failureRate: Bounds(absolute: 0.001),
        .retransmissions: Bounds(absolute: 0.01),
        .violations: Bounds(absolute: 0),
    ]

    /// What a setting names: every rate and percentile, the four percentiles, or one metric.
    private enum Target: Hashable {
        case everything, latency, metric(ComparisonMetric)
    }

    private struct Key: Hashable {
        var operation: String?
        var target: Target
    }

    private var settings: [Key: Bounds] = [:]

    /// The defaults alone.
    public init() {}

    /// The defaults with `texts` over them, later texts over earlier ones for the same key.
    public init(parsing texts: [String]) throws(ParseError) {
        for text in texts { try add(text) }
    }

    /// Operations the texts name, so a caller can warn of one neither result has.
    public var namedOperations: Set<String> { Set(settings.keys.compactMap(\.operation)) }

    /// The bounds for `metric` of `operation` (nil: run-wide): each bound from the most specific
    /// setting that gives it, else the default.
    public func bounds(for metric: ComparisonMetric, operation: String?) -> Bounds {
        var targets: [Target] = [.metric(metric)]
        if metric.isLatency { targets.append(.latency) }
        if metric.isLatency || metric == .rate { targets.append(.everything) }
        var keys = targets.map { Key(operation: nil, target: $0) }
        if let operation { keys = targets.filter { $0 != .everything }.map { Key(operation: operation, target: $0) } + keys }
        let layers = keys.compactMap { settings[$0] } + [Self.defaults[metric] ?? Bounds()]
        return Bounds(relative: layers.lazy.compactMap(\.relative).first, absolute: layers.lazy.compactMap(\.absolute).first)
    }

    // MARK: Parsing

    private static let metricNames = ComparisonMetric.allCases.map(\.rawValue) + ["latency"]

    private mutating func add(_ text: String) throws(ParseError) {
        func fail(_ message: String) -> ParseError { ParseError(text: text, message: message) }
        let name: Substring?, value: Substring
        if let equals = text.firstIndex(of: "=") {
            name = text[..<equals]
            value = text[text.index(after: equals)...]
        } else {
            name = nil
            value = Substring(text)
        }
        guard let (number, unit) = FleetSpec.splitQuantity(String(value)) else {
            throw fail("'\(value)' is not a number; " + Self.grammar)
        }
        guard let name else {
            // A bare value: a percentage for every rate and percentile, or a duration for the percentiles.
            if unit == "%" { return set(relative: number / 100, for: Key(operation: nil, target: .everything)) }
            if let seconds = FleetSpec.durationUnits[String(unit)] {
                return set(absolute: number * seconds * 1e9, for: Key(operation: nil, target: .latency))
            }
            throw fail("a value without a metric is a percentage (rate and latency, such as 5%) or a duration (latency, such as 1ms); " + Self.grammar)
        }
        let (operation, metricName) = Self.split(name)
        guard operation.map({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } }) ?? true else {
            throw fail("'\(operation ?? "")' is not an operation name; " + Self.grammar)
        }
        let target: Target
        if metricName == "latency" {
            target = .latency
        } else if let metric = ComparisonMetric(rawValue: String(metricName)) {
            target = .metric(metric)
        } else {
            throw fail("unknown metric '\(metricName)'; \(Self.metricNames.suggestion(for: String(metricName)))" + Self.grammar)
        }
        if target == .metric(.violations), operation != nil {
            throw fail("violations are counted for the whole run; write violations=N without an operation")
        }
        let key = Key(operation: operation.map(String.init), target: target)
        switch target {
        case .latency, .metric(.p50), .metric(.p90), .metric(.p99), .metric(.p999):
            if unit == "%" { return set(relative: number / 100, for: key) }
            guard let seconds = FleetSpec.durationUnits[String(unit)] else {
                throw fail("\(metricName) takes a percentage (10%) or a duration (2ms, 500us)")
            }
            set(absolute: number * seconds * 1e9, for: key)
        case .metric(.rate), .everything:
            guard unit == "%" else { throw fail("rate takes a percentage of A's rate, such as 5%") }
            set(relative: number / 100, for: key)
        case .metric(.failureRate):
            switch unit {
            case "%": set(absolute: number / 100, for: key)
            case "": set(absolute: number, for: key)
            default: throw fail("failure-rate takes a share, such as 0.1% or 0.001 (percentage points of difference, not a relative change)")
            }
        case .metric(.retransmissions), .metric(.violations):
            guard unit.isEmpty else {
                throw fail(target == .metric(.violations)
                    ? "violations takes a count, such as 0" : "retransmissions takes retransmissions per attempt, such as 0.01")
            }
            set(absolute: number, for: key)
        }
    }

    /// `register.p99` into `register` and `p99`; `p99` into no operation and `p99`.
    private static func split(_ name: Substring) -> (operation: Substring?, metric: Substring) {
        guard let dot = name.lastIndex(of: ".") else { return (nil, name) }
        return (name[..<dot], name[name.index(after: dot)...])
    }

    private mutating func set(relative: Double, for key: Key) {
        settings[key, default: Bounds()].relative = relative
    }

    private mutating func set(absolute: Double, for key: Key) {
        settings[key, default: Bounds()].absolute = absolute
    }

    private static let grammar = "a tolerance is VALUE or [OPERATION.]METRIC=VALUE, METRIC one of "
        + metricNames.joined(separator: ", ") + " (e.g. 5%, 1ms, p99=10%, register.p99=2ms, failure-rate=0.1%, retransmissions=0.01, violations=0)"
}
