import Foundation

/// Combines the result files of one fleet run's stripes (workers or shards) into one.
public enum ResultMerging {
    /// Merges results of one fleet run (same spec and seed) and evaluates the thresholds again
    /// on the merged metrics: percentiles come from the merged histograms, never averaged.
    public static func merge(_ parts: [ResultFile], paths: [String]) throws -> (result: ResultFile, elapsedSeconds: Double) {
        guard let first = parts.first else { throw FleetRunError("no result to merge") }
        for (part, path) in zip(parts, paths) where part.spec.text != first.spec.text || part.seed != first.seed {
            throw FleetRunError("\(path) is not from the same fleet run as \(paths[0]) (its fleet file or seed differs)")
        }
        var metrics = first.metrics
        for part in parts.dropFirst() { metrics.merge(part.metrics) }
        let spec = try FleetSpec(yaml: first.spec.text, source: first.spec.path)
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
