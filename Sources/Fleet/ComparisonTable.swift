import Foundation

/// A `ResultComparison` as people read it: an aligned terminal table, or a GitHub Markdown table
/// a CI job can post. Latencies in milliseconds, failure rates in percent (their changes in
/// percentage points), `-` where a side has no value.
public enum ComparisonTable {
    /// Fixed-width text: what was compared, warnings, one line per metric, then the verdict.
    public static func render(_ comparison: ResultComparison) -> String {
        var lines = [describe("A", comparison.a), describe("B", comparison.b)]
        lines += comparison.warnings.map { "warning: \($0)" }
        lines.append("")
        let table = [header] + comparison.rows.map(cells)
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        // Names and words to the left, numbers to the right.
        let leftAligned: Set<Int> = [0, 1, 2, 7]
        for cells in table {
            let padded = cells.indices.map { column in
                pad(cells[column], widths[column], left: leftAligned.contains(column))
            }
            lines.append(padded.joined(separator: "  ").trimmingTrailingSpaces)
        }
        lines.append("")
        lines += presenceLines(comparison)
        lines.append(conclusion(comparison))
        return lines.joined(separator: "\n") + "\n"
    }

    /// A GitHub Markdown document: the verdict as a heading, what was compared, warnings, the table.
    public static func markdown(_ comparison: ResultComparison) -> String {
        var lines = ["### lwm2m-fleet compare: " + conclusion(comparison), ""]
        lines.append("- A: " + describeMarkdown(comparison.a))
        lines.append("- B: " + describeMarkdown(comparison.b))
        lines += comparison.warnings.map { "- **warning**: " + escape($0) }
        lines += presenceLines(comparison).map { "- " + escape($0) }
        lines.append("")
        lines.append("| " + header.joined(separator: " | ") + " |")
        lines.append("| --- | --- | --- | ---: | ---: | ---: | ---: | --- |")
        for row in comparison.rows {
            var cells = cells(row).map(escape)
            if row.verdict == .worse { cells[7] = "**\(cells[7])**" }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static let header = ["operation", "metric", "better", "A", "B", "change", "tolerance", "verdict"]

    /// "B regresses: ..." with the rows at fault, or what changed within tolerance.
    static func conclusion(_ comparison: ResultComparison) -> String {
        let regressions = comparison.regressions
        guard regressions.isEmpty else {
            let named = regressions.map { "\(name(of: $0)) \(change(of: $0))" }
            return "B regresses: \(count(regressions.count, "metric")) of \(comparison.rows.count) worse beyond tolerance ("
                + named.joined(separator: ", ") + ")"
        }
        let better = comparison.rows.filter { $0.verdict == .better }.count
        let same = comparison.rows.filter { $0.verdict == .same }.count
        let unjudged = comparison.rows.count - better - same
        return "no regression: \(better) better, \(same) the same within tolerance" + (unjudged > 0 ? ", \(unjudged) not judged" : "")
    }

    private static func presenceLines(_ comparison: ResultComparison) -> [String] {
        var lines: [String] = []
        let onlyA = comparison.operations.filter { $0.presence == .onlyA }.map(\.name)
        let onlyB = comparison.operations.filter { $0.presence == .onlyB }.map(\.name)
        if !onlyA.isEmpty { lines.append("only in A (B never did them): " + onlyA.joined(separator: ", ")) }
        if !onlyB.isEmpty { lines.append("only in B (A never did them): " + onlyB.joined(separator: ", ")) }
        return lines
    }

    private static func describe(_ label: String, _ side: ResultComparison.Side) -> String {
        "\(label): \(side.path) (\(details(side.result)))"
    }

    private static func describeMarkdown(_ side: ResultComparison.Side) -> String {
        "`\(side.path)` (" + escape(details(side.result)) + ")"
    }

    private static func details(_ result: ResultFile) -> String {
        var parts = [result.spec.path, "seed \(result.seed)", "started \(result.startedAt)", "lwm2m-fleet \(result.toolVersion)"]
        if let shard = result.shard { parts.append("shard \(shard)") }
        if result.isPartial { parts.append("PARTIAL") }
        return parts.joined(separator: ", ")
    }

    private static func cells(_ row: ResultComparison.Row) -> [String] {
        [
            row.operation ?? "run", row.metric.label, row.better.rawValue,
            row.a.map { value($0, of: row.metric) } ?? "-", row.b.map { value($0, of: row.metric) } ?? "-",
            change(of: row), tolerance(row.tolerance, of: row.metric), verdict(row.verdict),
        ]
    }

    private static func name(of row: ResultComparison.Row) -> String {
        (row.operation.map { $0 + " " } ?? "") + row.metric.label
    }

    private static func verdict(_ verdict: ResultComparison.Verdict) -> String {
        switch verdict {
        case .better, .same, .worse: verdict.rawValue
        case .onlyA: "only A"
        case .onlyB: "only B"
        case .fewSamples: "few samples"
        }
    }

    /// A value in the unit the metric's label names.
    private static func value(_ value: Double, of metric: ComparisonMetric) -> String {
        switch metric {
        case .rate: fixed(value, decimals: 1)
        case .p50, .p90, .p99, .p999: fixed(value / 1e6, decimals: 3)
        case .failureRate: fixed(value * 100, decimals: 3)
        case .retransmissions: fixed(value, decimals: 4)
        case .violations: fixed(value, decimals: 0)
        }
    }

    /// Relative for rates and latencies when A is not 0, otherwise the difference in the metric's unit.
    private static func change(of row: ResultComparison.Row) -> String {
        guard let difference = row.difference else { return "-" }
        let sign = difference > 0 ? "+" : difference < 0 ? "-" : ""
        if row.metric == .rate || row.metric.isLatency, let relative = row.relativeChange {
            return sign + fixed(abs(relative) * 100, decimals: 1) + "%"
        }
        let magnitude = value(abs(difference), of: row.metric)
        switch row.metric {
        case .rate: return sign + magnitude + "/s"
        case .p50, .p90, .p99, .p999: return sign + magnitude + " ms"
        case .failureRate: return sign + magnitude + " pp"
        case .retransmissions, .violations: return sign + magnitude
        }
    }

    private static func tolerance(_ bounds: ComparisonTolerances.Bounds, of metric: ComparisonMetric) -> String {
        var parts: [String] = []
        if let relative = bounds.relative { parts.append(trimmed(relative * 100) + "%") }
        if let absolute = bounds.absolute {
            switch metric {
            case .p50, .p90, .p99, .p999: parts.append(trimmed(absolute / 1e6) + " ms")
            case .failureRate: parts.append(trimmed(absolute * 100) + " pp")
            case .rate, .retransmissions, .violations: parts.append(trimmed(absolute))
            }
        }
        return parts.isEmpty ? "exact" : parts.joined(separator: " or ")
    }

    private static func count(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    private static func fixed(_ value: Double, decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// Up to six decimals, without trailing zeros: `5`, `0.1`, `0.25`.
    private static func trimmed(_ value: Double) -> String {
        var text = fixed(value, decimals: 6)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    private static func pad(_ text: String, _ width: Int, left: Bool) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return left ? text + padding : padding + text
    }

    /// Text safe in a Markdown table cell.
    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|")
    }
}
