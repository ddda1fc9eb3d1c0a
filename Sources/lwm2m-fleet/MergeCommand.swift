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
        let merged = try Self.merge(results.map { path in
            do {
                return try ResultFile.read(from: path)
            } catch {
                throw ValidationError("\(error)")
            }
        }, paths: results)
        try merged.result.write(to: out)
        print(SummaryTable.render(merged.result.metrics, thresholds: merged.result.thresholds, elapsedSeconds: merged.elapsedSeconds))
        print("merged \(results.count) results: \(out)")
        if merged.result.thresholds.contains(where: { !$0.passed }) { throw ExitCode(99) }
    }

    /// Merges results of one fleet run (same spec and seed) and evaluates the thresholds again
    /// on the merged metrics: percentiles come from the merged histograms, never averaged.
    static func merge(_ parts: [ResultFile], paths: [String]) throws -> (result: ResultFile, elapsedSeconds: Double) {
        guard let first = parts.first else { throw ValidationError("no result to merge") }
        for (part, path) in zip(parts, paths) where part.spec.text != first.spec.text || part.seed != first.seed {
            throw ValidationError("\(path) is not from the same fleet run as \(paths[0]) (its fleet file or seed differs)")
        }
        var metrics = first.metrics
        for part in parts.dropFirst() { metrics.merge(part.metrics) }
        let spec: FleetSpec
        do {
            spec = try FleetSpec(yaml: first.spec.text, source: first.spec.path)
        } catch {
            throw ValidationError("\(error)")
        }
        let thresholds = spec.thresholdResults(for: metrics)
        let formatter = ISO8601DateFormatter()
        let started = parts.compactMap { formatter.date(from: $0.startedAt) }.min() ?? Date()
        let finished = parts.compactMap { formatter.date(from: $0.finishedAt) }.max() ?? Date()
        let result = ResultFile(
            toolVersion: first.toolVersion, seed: first.seed, spec: first.spec,
            startedAt: formatter.string(from: started), finishedAt: formatter.string(from: finished),
            interrupted: parts.contains { $0.interrupted }, metrics: metrics, thresholds: thresholds,
            workers: parts.reduce(0) { $0 + ($1.workers ?? 1) }, shard: nil)
        return (result, finished.timeIntervalSince(started))
    }
}
