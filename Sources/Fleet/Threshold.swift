/// A condition a run must meet, `metric comparator value` (`register.latency.p99 < 200ms`); a run
/// that misses one exits with status 99 (DESIGN.md, "Exit codes").
///
/// The metric is one of `MetricCatalog`. A duration metric's value takes a unit (`ns`, `us`,
/// `ms`, `s`, `m`, `h`; a bare `0` needs none) and is kept in nanoseconds, as the result file
/// stores latencies; a `.rate` may be written as a percentage (`0.1%`); a count is a plain number.
public struct Threshold: Hashable, Sendable, CustomStringConvertible {
    /// How the observed value is compared with the limit.
    public enum Comparator: String, Hashable, Sendable, CaseIterable {
        case lessThan = "<"
        case lessThanOrEqual = "<="
        case greaterThan = ">"
        case greaterThanOrEqual = ">="
        case equal = "=="
        case notEqual = "!="

        public func holds(_ observed: Double, against limit: Double) -> Bool {
            switch self {
            case .lessThan: observed < limit
            case .lessThanOrEqual: observed <= limit
            case .greaterThan: observed > limit
            case .greaterThanOrEqual: observed >= limit
            case .equal: observed == limit
            case .notEqual: observed != limit
            }
        }
    }

    /// Why a threshold text is not valid, and where in it.
    public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
        /// 0-based offset in Unicode scalars of the part at fault, so a caller can turn it into a column.
        public var offset: Int
        public var message: String

        public var description: String { message }
    }

    /// As written, for reports and the result file.
    public let text: String
    public let metric: String
    public let comparator: Comparator
    /// In the metric's unit: nanoseconds for durations, a fraction for rates.
    public let limit: Double

    /// Parses `metric comparator value`; spaces around the comparator are optional.
    public init(_ text: String) throws(SyntaxError) {
        self.text = text
        func offset(_ index: String.Index) -> Int { text.unicodeScalars.distance(from: text.startIndex, to: index) }
        func skipSpaces(_ index: inout String.Index) {
            while index < text.endIndex, text[index] == " " || text[index] == "\t" { index = text.index(after: index) }
        }
        var index = text.startIndex
        skipSpaces(&index)
        let metricStart = index
        while index < text.endIndex, text[index].isLetter || text[index].isNumber || "._-".contains(text[index]) {
            index = text.index(after: index)
        }
        metric = String(text[metricStart..<index])
        guard !metric.isEmpty else {
            throw SyntaxError(offset: offset(metricStart), message: "expected a metric name such as register.latency.p99 at the start of '\(text)'")
        }
        skipSpaces(&index)
        let comparatorStart = index
        let rest = text[index...]
        // Longest first, so "<=" is not read as "<".
        guard let comparator = Comparator.allCases.sorted(by: { $0.rawValue.count > $1.rawValue.count })
            .first(where: { rest.hasPrefix($0.rawValue) })
        else {
            let found = rest.hasPrefix("=") ? "'='; write == to compare for equality" : rest.isEmpty ? "nothing" : "'\(rest)'"
            throw SyntaxError(
                offset: offset(comparatorStart),
                message: "expected a comparator (<, <=, >, >=, == or !=) after '\(metric)', found \(found)")
        }
        self.comparator = comparator
        index = text.index(index, offsetBy: comparator.rawValue.count)
        skipSpaces(&index)
        let valueStart = index
        let value = String(text[index...]).trimmingTrailingSpaces
        guard !value.isEmpty else {
            throw SyntaxError(offset: offset(valueStart), message: "expected a value after '\(metric) \(comparator.rawValue)'")
        }
        guard MetricCatalog.allNames.contains(metric) else {
            throw SyntaxError(offset: offset(metricStart), message: Self.unknownMetricMessage(metric))
        }
        do {
            limit = try Self.limit(value, metric: metric)
        } catch {
            throw SyntaxError(offset: offset(valueStart), message: error.message)
        }
    }

    /// Compares the run's value of the metric with the limit. A metric the run has no value for
    /// fails: a threshold on something that was not measured must not pass unnoticed.
    public func evaluate(using lookup: (String) -> Double?) -> ThresholdOutcome {
        let observed = lookup(metric)
        return ThresholdOutcome(threshold: text, observed: observed, passed: observed.map { comparator.holds($0, against: limit) } ?? false)
    }

    public var description: String { text }

    /// Whether the metric is a duration (nanoseconds), so its value takes a time unit.
    public var isDuration: Bool { MetricCatalog.isDuration(Self.field(of: metric)) }

    // MARK: Parsing

    /// The field of `<operation>.<field>`, or the run-wide field itself.
    private static func field(of metric: String) -> String {
        for operation in MetricCatalog.operations where metric.hasPrefix(operation + ".") {
            return String(metric.dropFirst(operation.count + 1))
        }
        return metric
    }

    private struct ValueError: Error {
        var message: String
    }

    private static func limit(_ value: String, metric: String) throws(ValueError) -> Double {
        guard let (number, unit) = FleetSpec.splitQuantity(value) else {
            throw ValueError(message: "'\(value)' is not a number; \(expectation(for: metric))")
        }
        let field = field(of: metric)
        if MetricCatalog.isDuration(field) {
            if unit.isEmpty, number == 0 { return 0 }
            guard let seconds = FleetSpec.durationUnits[String(unit)] else {
                let found = unit.isEmpty ? "has no time unit" : "has unit '\(unit)'"
                throw ValueError(message: "'\(value)' \(found); \(expectation(for: metric))")
            }
            return number * seconds * 1e9
        }
        if MetricCatalog.isFraction(field) {
            switch unit {
            case "": return number
            case "%": return number / 100
            default: throw ValueError(message: "'\(value)' has unit '\(unit)'; \(expectation(for: metric))")
            }
        }
        guard unit.isEmpty else {
            throw ValueError(message: "'\(value)' has unit '\(unit)'; \(expectation(for: metric))")
        }
        return number
    }

    private static func expectation(for metric: String) -> String {
        let field = field(of: metric)
        if MetricCatalog.isDuration(field) {
            return "\(metric) is a duration: give a number with ns, us, ms, s, m or h, such as 200ms"
        }
        if MetricCatalog.isFraction(field) { return "\(metric) is a fraction: give a number such as 0.001 or a percentage such as 0.1%" }
        return "\(metric) is a count: give a plain number such as 0"
    }

    private static func unknownMetricMessage(_ metric: String) -> String {
        let suggestion = MetricCatalog.allNames.suggestion(for: metric)
        return "unknown metric '\(metric)'; \(suggestion)a metric is OPERATION.FIELD with OPERATION one of "
            + MetricCatalog.operations.joined(separator: ", ") + " and FIELD one of " + MetricCatalog.operationFields.joined(separator: ", ")
            + " (for handshake and handshake-resumed also " + MetricCatalog.handshakeFields.joined(separator: ", ") + ")"
            + ", or one of " + MetricCatalog.runFields.joined(separator: ", ")
            + "; with server: embedded also " + MetricCatalog.embeddedServerFields.joined(separator: ", ")
    }
}

/// A threshold checked against a run: what was asked, what was seen, and whether it held.
public struct ThresholdOutcome: Hashable, Sendable, Codable {
    /// The threshold as written.
    public var threshold: String
    /// The metric's value in the run (nanoseconds for durations); nil when the run has none.
    public var observed: Double?
    public var passed: Bool

    public init(threshold: String, observed: Double?, passed: Bool) {
        self.threshold = threshold
        self.observed = observed
        self.passed = passed
    }
}

extension String {
    /// The text without trailing spaces and tabs.
    var trimmingTrailingSpaces: String {
        String(reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension FleetSpec {
    /// Every threshold of the fleet evaluated on `metrics`, as the result file records them; a
    /// metric the run has no value for fails its threshold and shows as NaN.
    public func thresholdResults(for metrics: FleetMetrics) -> [ThresholdResult] {
        thresholds.map { threshold in
            let outcome = threshold.evaluate { metrics.value(for: $0) }
            return ThresholdResult(expression: threshold.text, metric: threshold.metric, observed: outcome.observed ?? .nan, passed: outcome.passed)
        }
    }
}
