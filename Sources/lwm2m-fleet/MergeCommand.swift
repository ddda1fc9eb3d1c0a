import ArgumentParser
import Fleet
import Foundation

/// `lwm2m-fleet merge`: one result from the results of a fleet's shards or workers.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the result files of one run's shards or workers: histograms and counters merged exactly, thresholds evaluated again.",
        discussion: """
            The files must be the parts of one run: the same fleet file, seed and lwm2m-fleet version; stripes of one \
            split of the fleet (the same N of `run --shard I/N`; a result without a shard is the whole fleet), each \
            stripe once (the same file twice is a duplicate); and together all of the stripe they cover: the whole fleet, or --shard. With \
            --allow-partial, stripes may be missing: the merged result lists them (missingStripes) and the output \
            says PARTIAL; duplicates and mismatches are still refused. Exit 0, or 99 when a threshold of the merged \
            result fails, 104 when the files are not exactly the parts of one run, 105 when the merged result \
            does not cover a whole run (a part ended early, or --allow-partial left parts out).
            """
    )

    @Argument(help: "Result files written by `run --shard I/N` (or by workers).")
    var results: [String]

    @Option(name: .long, help: "Where to write the merged result JSON.")
    var out: String = "merged-result.json"

    @Option(
        name: .long,
        help: "The stripe I/N the results cover together, when they are the parts of one shard (e.g. its workers' results); default: the whole fleet.",
        transform: { text in try ShardStripe(parsing: text) })
    var shard: ShardStripe = .whole

    @Flag(name: .long, help: "Merge even when stripes are missing; the result is marked partial and names them.")
    var allowPartial = false

    func validate() throws {
        guard !results.isEmpty else { throw ValidationError("give at least one result file") }
    }

    func run() throws {
        let merged = try Self.merge(results.map { path in
            do {
                return try ResultFile.read(from: path)
            } catch {
                throw ValidationError("\(error)")
            }
        }, paths: results, covering: shard, allowPartial: allowPartial)
        try merged.result.write(to: out)
        print(SummaryTable.render(merged.result.metrics, thresholds: merged.result.thresholds, elapsedSeconds: merged.elapsedSeconds))
        let covered = merged.result.shard.map { " into shard \($0)" } ?? ""
        if let missing = merged.result.missingStripes, merged.result.isPartial {
            print("PARTIAL: missing shards \(missing.map(\.description).joined(separator: ", ")); the counts are not the whole run's")
            print("merged \(results.count) results\(covered): \(out) (PARTIAL)")
        } else {
            print("merged \(results.count) results\(covered): \(out)")
        }
        if merged.result.metrics.endReason.map({ $0 != .completed }) ?? false {
            print("the run ended before its stages were done (\(merged.result.metrics.endReason?.rawValue ?? ""))")
        }
        let status = merged.result.exitStatus
        if status != .passed { throw ExitCode(status.rawValue) }
    }

    /// `ResultMerge.merge` of the results read from `paths`, for the commands: a merge it refuses is
    /// invalid input (exit 104).
    static func merge(
        _ parts: [ResultFile], paths: [String], covering stripe: ShardStripe = .whole, allowPartial: Bool = false
    ) throws -> (result: ResultFile, elapsedSeconds: Double) {
        do {
            let result = try ResultMerge.merge(
                zip(paths, parts).map { (path: $0, result: $1) }, covering: stripe, allowPartial: allowPartial)
            return (result, result.elapsedSeconds)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
