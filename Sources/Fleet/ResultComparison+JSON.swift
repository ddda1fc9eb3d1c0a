import Foundation

/// `compare --format json`: every row with its numbers (in `ComparisonMetric.unit`: nanoseconds,
/// fractions, per second) and verdict, the operations' counts, the warnings, and whether B
/// regressed. A value a side lacks is `null`, never 0.
extension ResultComparison: Encodable {
    private enum Keys: String, CodingKey {
        case a, b, regressed, regressions, warnings, operations, rows
        case path, fleet, seed, toolVersion, startedAt, finishedAt, shard, partial, endReason
        case name, presence, count, succeeded, failed, timeouts, unfinished, retransmissions
        case operation, metric, unit, better, difference, relativeChange, tolerance, relative, absolute, verdict, regression
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try Self.encode(a, in: &container, forKey: .a)
        try Self.encode(b, in: &container, forKey: .b)
        try container.encode(!regressions.isEmpty, forKey: .regressed)
        try container.encode(regressions.count, forKey: .regressions)
        try container.encode(warnings, forKey: .warnings)
        var operationsContainer = container.nestedUnkeyedContainer(forKey: .operations)
        for operation in operations {
            var nested = operationsContainer.nestedContainer(keyedBy: Keys.self)
            try nested.encode(operation.name, forKey: .name)
            try nested.encode(operation.presence.rawValue, forKey: .presence)
            try Self.encode(operation.a, in: &nested, forKey: .a)
            try Self.encode(operation.b, in: &nested, forKey: .b)
        }
        var rowsContainer = container.nestedUnkeyedContainer(forKey: .rows)
        for row in rows {
            var nested = rowsContainer.nestedContainer(keyedBy: Keys.self)
            try nested.encode(row.operation, forKey: .operation)
            try nested.encode(row.metric.rawValue, forKey: .metric)
            try nested.encode(row.metric.unit, forKey: .unit)
            try nested.encode(row.better.rawValue, forKey: .better)
            try nested.encode(row.a, forKey: .a)
            try nested.encode(row.b, forKey: .b)
            try nested.encode(row.difference, forKey: .difference)
            try nested.encode(row.relativeChange, forKey: .relativeChange)
            var tolerance = nested.nestedContainer(keyedBy: Keys.self, forKey: .tolerance)
            try tolerance.encode(row.tolerance.relative, forKey: .relative)
            try tolerance.encode(row.tolerance.absolute, forKey: .absolute)
            try nested.encode(row.verdict.rawValue, forKey: .verdict)
            try nested.encode(row.verdict == .worse, forKey: .regression)
        }
    }

    /// The document as indented JSON with sorted keys.
    public func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    private static func encode(_ side: Side, in container: inout KeyedEncodingContainer<Keys>, forKey key: Keys) throws {
        var nested = container.nestedContainer(keyedBy: Keys.self, forKey: key)
        try nested.encode(side.path, forKey: .path)
        try nested.encode(side.result.spec.path, forKey: .fleet)
        try nested.encode(side.result.seed, forKey: .seed)
        try nested.encode(side.result.toolVersion, forKey: .toolVersion)
        try nested.encode(side.result.startedAt, forKey: .startedAt)
        try nested.encode(side.result.finishedAt, forKey: .finishedAt)
        try nested.encode(side.result.shard?.description, forKey: .shard)
        try nested.encode(side.result.isPartial, forKey: .partial)
        try nested.encode(side.result.metrics.endReason?.rawValue, forKey: .endReason)
    }

    /// An operation's counts in one result, `null` when it does not have the operation.
    private static func encode(_ metrics: OperationMetrics?, in container: inout KeyedEncodingContainer<Keys>, forKey key: Keys) throws {
        guard let metrics else { return try container.encodeNil(forKey: key) }
        var nested = container.nestedContainer(keyedBy: Keys.self, forKey: key)
        try nested.encode(metrics.count, forKey: .count)
        try nested.encode(metrics.succeeded, forKey: .succeeded)
        try nested.encode(metrics.failed, forKey: .failed)
        try nested.encode(metrics.timeouts, forKey: .timeouts)
        try nested.encode(metrics.unfinished, forKey: .unfinished)
        try nested.encode(metrics.retransmissions, forKey: .retransmissions)
    }
}
