/// Two results side by side (`lwm2m-fleet compare A.json B.json`): for each operation and metric,
/// A's value, B's, the change and a verdict, better, same (within a tolerance) or worse. B
/// regresses when any metric is worse, so a CI job can guard a server release with it.
///
/// Values come from the result's counts and histograms (`ComparisonMetric`). An operation that
/// only one result has counts in the other as never done: no rate, no failures, no
/// retransmissions; so one that disappears is worse in rate, and one that appears is judged on
/// its failures and retransmissions. Its latencies, and any other value only one side has, are
/// shown but not judged ("only A", "only B"): a percentile of nothing is not 0; nor is a
/// percentile of too few samples to be more than the largest one ("few samples").
public struct ResultComparison: Sendable {
    /// One of the results compared, with the path it was read from (for messages).
    public struct Side: Sendable {
        public var path: String
        public var result: ResultFile

        public init(path: String, result: ResultFile) {
            self.path = path
            self.result = result
        }
    }

    /// What the change of one metric from A to B amounts to.
    public enum Verdict: String, Sendable {
        case better, same, worse
        /// Only A has a value, which alone cannot be judged (a latency B has no samples of).
        case onlyA = "only-a"
        /// Only B has a value, which alone cannot be judged.
        case onlyB = "only-b"
        /// A side has too few samples for the percentile to be more than its largest one
        /// (`ComparisonMetric.minimumSamples`): shown, not judged.
        case fewSamples = "few-samples"
    }

    /// Which results have an operation (one that ended, or that devices were left needing).
    public enum Presence: String, Sendable {
        case both
        case onlyA = "only-a"
        case onlyB = "only-b"
    }

    /// One operation as each result has it (nil where it has not).
    public struct Operation: Sendable {
        public var name: String
        public var a: OperationMetrics?
        public var b: OperationMetrics?

        public var presence: Presence { a == nil ? .onlyB : b == nil ? .onlyA : .both }
    }

    /// One metric of one operation (nil: run-wide) in A and in B.
    public struct Row: Sendable, Equatable {
        public var operation: String?
        public var metric: ComparisonMetric
        public var better: ComparisonMetric.Direction
        /// In the metric's unit (`ComparisonMetric.unit`); nil without samples.
        public var a: Double?
        public var b: Double?
        /// B - A, a missing operation counting as never done; nil when a side has no value to judge.
        public var difference: Double?
        /// `difference` as a fraction of A; nil when A is 0 and B is not, or with no difference.
        public var relativeChange: Double?
        public var tolerance: ComparisonTolerances.Bounds
        public var verdict: Verdict
    }

    public let a: Side
    public let b: Side
    /// Every operation either result has, in the catalog's order, then others by name.
    public let operations: [Operation]
    /// Per operation, its metrics in `ComparisonMetric.perOperation` order, then `violations`;
    /// a metric neither side has a value for (the latency of requests devices answered) is left out.
    public let rows: [Row]
    /// What makes the two results less alike than a comparison assumes; compared anyway.
    public let warnings: [String]

    /// The rows B is worse in beyond their tolerance.
    public var regressions: [Row] { rows.filter { $0.verdict == .worse } }

    /// Compares `b` with `a`. Refuses a result that does not cover a whole run (a partial merge,
    /// a run that ended early) unless `allowPartial`, when it warns instead.
    public init(a: Side, b: Side, tolerances: ComparisonTolerances = ComparisonTolerances(), allowPartial: Bool = false) throws(ResultComparisonError) {
        var warnings: [String] = []
        for (label, side) in [("A", a), ("B", b)] {
            if let refusal = Self.incompleteness(of: side) {
                guard allowPartial else { throw refusal }
                warnings.append("\(label) (\(side.path)) is \(refusal.reason), compared anyway (--allow-partial): its counts and rates are not a whole run's")
            }
        }
        warnings += Self.differences(a, b)
        let names = MetricCatalog.ordered(Set(a.result.metrics.operations.keys).union(b.result.metrics.operations.keys))
        operations = names.compactMap { name in
            let operation = Operation(name: name, a: Self.present(name, in: a.result), b: Self.present(name, in: b.result))
            return operation.a == nil && operation.b == nil ? nil : operation
        }
        for name in tolerances.namedOperations.sorted() where !names.contains(name) {
            warnings.append("--tolerance names operation '\(name)', which neither result has")
        }
        var rows: [Row] = []
        for operation in operations {
            for metric in ComparisonMetric.perOperation {
                guard var row = Self.row(
                    metric, of: operation.name, tolerance: tolerances.bounds(for: metric, operation: operation.name),
                    a: operation.a.flatMap { metric.value(of: operation.name, $0, in: a.result) }, presentInA: operation.a != nil,
                    b: operation.b.flatMap { metric.value(of: operation.name, $0, in: b.result) }, presentInB: operation.b != nil)
                else { continue }
                let samples = [operation.a, operation.b].map { $0?.latency.count ?? 0 }
                if row.difference != nil, samples.contains(where: { $0 < metric.minimumSamples }) { row.verdict = .fewSamples }
                rows.append(row)
            }
        }
        let violations = Self.row(
            .violations, of: nil, tolerance: tolerances.bounds(for: .violations, operation: nil),
            a: Double(a.result.metrics.violations), presentInA: true, b: Double(b.result.metrics.violations), presentInB: true)
        if let violations { rows.append(violations) }
        self.a = a
        self.b = b
        self.rows = rows
        self.warnings = warnings
    }

    /// The row of one metric; nil when neither side has a value for it.
    private static func row(
        _ metric: ComparisonMetric, of operation: String?, tolerance: ComparisonTolerances.Bounds,
        a: Double?, presentInA: Bool, b: Double?, presentInB: Bool
    ) -> Row? {
        let better = metric.better(for: operation)
        let judgedA = a ?? (!presentInA && metric.countsAbsentAsZero ? 0 : nil)
        let judgedB = b ?? (!presentInB && metric.countsAbsentAsZero ? 0 : nil)
        guard let judgedA, let judgedB else {
            guard a != nil || b != nil else { return nil }
            return Row(
                operation: operation, metric: metric, better: better, a: a, b: b, difference: nil, relativeChange: nil,
                tolerance: tolerance, verdict: a != nil ? .onlyA : .onlyB)
        }
        let difference = judgedB - judgedA
        let verdict: Verdict
        if tolerance.holds(judgedA, judgedB) {
            verdict = .same
        } else {
            verdict = (difference > 0) == (better == .higher) ? .better : .worse
        }
        return Row(
            operation: operation, metric: metric, better: better, a: a, b: b, difference: difference,
            relativeChange: judgedA != 0 ? difference / abs(judgedA) : difference == 0 ? 0 : nil,
            tolerance: tolerance, verdict: verdict)
    }

    /// An operation's metrics when the result has it: one that ended, or that devices were left needing.
    private static func present(_ name: String, in result: ResultFile) -> OperationMetrics? {
        guard let metrics = result.metrics.operations[name], metrics.count + metrics.unfinished > 0 else { return nil }
        return metrics
    }

    /// Why `side` does not cover a whole run; nil when it does.
    private static func incompleteness(of side: Side) -> ResultComparisonError? {
        if side.result.isPartial { return .partial(path: side.path, missing: side.result.missingStripes ?? []) }
        let reason = side.result.metrics.endReason
        if reason != .completed || side.result.interrupted {
            return .endedEarly(path: side.path, reason: side.result.interrupted ? "interrupted" : reason?.rawValue ?? "unknown")
        }
        return nil
    }

    /// What differs between the runs beyond the server under test: the fleet file, the tool, the
    /// devices covered, a generator that could not keep up.
    private static func differences(_ a: Side, _ b: Side) -> [String] {
        var warnings: [String] = []
        if a.result.spec.text != b.result.spec.text {
            warnings.append("A and B ran different fleet files (\(a.result.spec.path), \(b.result.spec.path))"
                + firstDifference(a.result.spec.text, b.result.spec.text) + "; compared anyway")
        }
        if a.result.toolVersion != b.result.toolVersion {
            warnings.append("A was written by lwm2m-fleet \(a.result.toolVersion), B by \(b.result.toolVersion): "
                + "a change of the generator shows as a change too")
        }
        let stripes = [a, b].map { $0.result.shard ?? .whole }
        if stripes[0] != stripes[1] {
            let names = stripes.map { $0 == .whole ? "the whole fleet" : "shard \($0)" }
            warnings.append("A covers \(names[0]), B \(names[1]): their rates and counts are of different devices")
        }
        for (label, side) in [("A", a), ("B", b)] where side.result.metrics.droppedArrivals > 0 {
            warnings.append("\(label): the generator dropped \(side.result.metrics.droppedArrivals) arrivals (it could not start "
                + "them when due), so that run put less load on the server than its fleet file asks")
        }
        return warnings
    }

    /// "; first difference at line N: `a` against `b`", for two texts that differ.
    private static func firstDifference(_ a: String, _ b: String) -> String {
        let linesA = a.split(separator: "\n", omittingEmptySubsequences: false)
        let linesB = b.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(linesA.count, linesB.count) {
            let lineA = index < linesA.count ? "`\(linesA[index])`" : "the end"
            let lineB = index < linesB.count ? "`\(linesB[index])`" : "the end"
            if lineA != lineB { return "; first difference at line \(index + 1): \(lineA) against \(lineB)" }
        }
        return ""
    }
}
