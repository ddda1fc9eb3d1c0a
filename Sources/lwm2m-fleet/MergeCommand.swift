import ArgumentParser
import Fleet
import Foundation

/// `lwm2m-fleet merge`: one result from the results of a fleet's shards or workers.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine result files of shards of one fleet: histograms and counters merged exactly, thresholds evaluated again.",
        discussion: "Exit 0, or 99 when a threshold of the merged result fails, 104 when the files are not shards of one fleet run."
    )

    @Argument(help: "Result files written by `run --shard I/N` (or by workers).")
    var results: [String]

    @Option(name: .long, help: "Where to write the merged result JSON.")
    var out: String = "merged-result.json"

    func validate() throws {
        guard !results.isEmpty else { throw ValidationError("give at least one result file") }
    }

    func run() throws {
        let parts = try results.map { path in
            do {
                return try ResultFile.read(from: path)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let merged: (result: ResultFile, elapsedSeconds: Double)
        do {
            merged = try ResultMerging.merge(parts, paths: results)
        } catch {
            throw ValidationError("\(error)")
        }
        try merged.result.write(to: out)
        print(SummaryTable.render(merged.result.metrics, thresholds: merged.result.thresholds, elapsedSeconds: merged.elapsedSeconds))
        print("merged \(results.count) results: \(out)")
        if merged.result.thresholds.contains(where: { !$0.passed }) { throw ExitCode(99) }
    }
}
