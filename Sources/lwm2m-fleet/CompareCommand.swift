import ArgumentParser
import Fleet
import Foundation

/// `lwm2m-fleet compare`: two results side by side, with a verdict per metric and an exit status
/// a CI job can guard a server release with.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare result B with result A per operation and metric; exit 99 when B is worse beyond a tolerance.",
        discussion: """
            Per operation: rate (operations ended per second over the seconds from its first to its last completion; \
            higher is better), latency p50, p90, p99 and p999 (from the operation's histogram; lower is better), failure \
            rate (failed and unfinished over attempts; lower is better) and retransmissions per attempt (lower is better); \
            run-wide: violations (lower is better). Each is better, the same (within its tolerance) or worse; a value only \
            one side has is shown as "only A" or "only B" and not judged, and so is a percentile of too few samples to be more \
            than the largest one ("few samples": under 10 for p90, 100 for p99, 1,000 for p999); `-` stands for no samples.

            An operation only one result has counts in the other as never done (rate 0, no failures, no retransmissions): \
            one that disappears is worse in rate (better for bootstrap-fallback, which only happens when something went \
            wrong), and one that appears with failures is worse.

            Tolerances (--tolerance, repeatable; the most specific wins): a bare 5% sets rate and every latency \
            percentile, a bare 1ms an absolute latency bound (a change within either bound is the same); \
            [OPERATION.]METRIC=VALUE sets one metric, METRIC one of rate, p50, p90, p99, p999, latency (all four), \
            failure-rate (an absolute difference of shares: 0.1% is 0.1 percentage points), retransmissions (per attempt, \
            absolute), violations (count). Defaults: rate 5%, p50 5%, p90 5%, p99 10%, p999 20%, failure-rate 0.1%, \
            retransmissions 0.01, violations 0.

            Refused (exit 104): a file that is not a result of this lwm2m-fleet's schema, and a result that does not cover \
            a whole run (a partial merge, a run that ended early) unless --allow-partial. Results of different fleet \
            files, tool versions or shards are compared with a warning.

            Exit status: 0 when no metric is worse beyond its tolerance; 99 when one is (B regresses); 104 for invalid \
            input.
            """
    )

    /// How the comparison is printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, markdown, json
    }

    @Argument(help: "The baseline result file (such as the last release's run).")
    var a: String

    @Argument(help: "The result file judged against it (the candidate).")
    var b: String

    @Option(name: .long, help: "A tolerance: 5%, 1ms, p99=10%, register.p99=2ms, failure-rate=0.1%, retransmissions=0.01, violations=0 (repeatable).")
    var tolerance: [String] = []

    @Option(name: .long, help: "Output: table (aligned text), markdown (a GitHub table) or json.")
    var format: Format = .table

    @Flag(name: .long, help: "Compare a partial merge or a run that ended early too, with a warning.")
    var allowPartial = false

    func validate() throws {
        _ = try tolerances()
    }

    func run() throws {
        let tolerances = try tolerances()
        let comparison: ResultComparison
        do {
            comparison = try ResultComparison(
                a: ResultComparison.Side(path: a, result: try ResultFile.read(from: a)),
                b: ResultComparison.Side(path: b, result: try ResultFile.read(from: b)),
                tolerances: tolerances, allowPartial: allowPartial)
        } catch {
            throw ValidationError("\(error)")
        }
        switch format {
        case .table:
            print(ComparisonTable.render(comparison), terminator: "")
        case .markdown:
            warnOnStandardError(comparison.warnings)
            print(ComparisonTable.markdown(comparison), terminator: "")
        case .json:
            warnOnStandardError(comparison.warnings)
            print(try comparison.jsonText(), terminator: "")
        }
        if !comparison.regressions.isEmpty { throw ExitCode(RunExitStatus.thresholdFailed.rawValue) }
    }

    private func tolerances() throws -> ComparisonTolerances {
        do {
            return try ComparisonTolerances(parsing: tolerance)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Warnings are in the document too; standard error shows them in a CI log that saves the document.
    private func warnOnStandardError(_ warnings: [String]) {
        for warning in warnings { FileHandle.standardError.write(Data("lwm2m-fleet compare: warning: \(warning)\n".utf8)) }
    }
}
