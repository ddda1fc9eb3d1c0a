import Foundation

/// Combines the results of the stripes of one fleet run (shards, worker processes) into the
/// result of the stripe they cover, once they are shown to be exactly its parts.
///
/// The parts must come from one run (same fleet file text, seed and tool version) and one split
/// of the fleet (same stripe count), each stripe once; together they must cover the target unless
/// a partial result is allowed, and then the result names what is missing. Histograms and counters
/// are merged exactly and the thresholds evaluated again on the merged metrics: percentiles come
/// from the merged histograms, never averaged.
public enum ResultMerge {
    /// Merges `parts` (each with the path it was read from, for messages) into the result of
    /// `target`. A part without a shard covers the whole fleet. With `allowPartial`, parts that
    /// leave stripes of `target` out (or are partial themselves) still merge, into a result whose
    /// `missingStripes` lists them; duplicates and mismatches are refused either way.
    public static func merge(
        _ parts: [(path: String, result: ResultFile)], covering target: ShardStripe = .whole, allowPartial: Bool = false
    ) throws(ResultMergeError) -> ResultFile {
        guard let first = parts.first else { throw .noParts }
        try checkOneRun(parts)
        let missing = try missingStripes(of: target, in: parts)
        if !missing.isEmpty, !allowPartial { throw .missingStripes(missing, target: target) }

        var metrics = first.result.metrics
        for part in parts.dropFirst() { metrics.merge(part.result.metrics) }
        let spec: FleetSpec
        do {
            spec = try FleetSpec(yaml: first.result.spec.text, source: first.result.spec.path)
        } catch {
            throw .invalidFleetFile(error)
        }
        let formatter = ISO8601DateFormatter()
        let started = parts.compactMap { formatter.date(from: $0.result.startedAt) }.min()
        let finished = parts.compactMap { formatter.date(from: $0.result.finishedAt) }.max()
        return ResultFile(
            toolVersion: first.result.toolVersion, seed: first.result.seed,
            spec: ResultFile.Spec(path: first.result.spec.path, text: first.result.spec.text, fleet: ParsedFleet(spec)),
            startedAt: started.map(formatter.string(from:)) ?? first.result.startedAt,
            finishedAt: finished.map(formatter.string(from:)) ?? first.result.finishedAt,
            interrupted: parts.contains { $0.result.interrupted }, metrics: metrics,
            thresholds: spec.thresholdResults(for: metrics),
            workers: parts.reduce(0) { $0 + ($1.result.workers ?? 1) },
            shard: target == .whole ? nil : target, missingStripes: missing.isEmpty ? nil : missing)
    }

    /// Refuses a part that ran another fleet file, seed or tool version than the first part.
    private static func checkOneRun(_ parts: [(path: String, result: ResultFile)]) throws(ResultMergeError) {
        guard let first = parts.first else { return }
        for part in parts.dropFirst() {
            if part.result.spec.text != first.result.spec.text {
                throw .differentFleetFile(path: part.path, firstPath: first.path)
            }
            if part.result.seed != first.result.seed {
                throw .differentSeed(path: part.path, seed: part.result.seed, firstPath: first.path, firstSeed: first.result.seed)
            }
            if part.result.toolVersion != first.result.toolVersion {
                throw .differentToolVersion(
                    path: part.path, toolVersion: part.result.toolVersion, firstPath: first.path, firstToolVersion: first.result.toolVersion)
            }
        }
    }

    /// The stripes of `target` the parts leave out, by split and index: those of the parts' split
    /// that no part holds, and those the parts themselves were merged without. Refuses parts of
    /// different splits, parts outside `target` and a stripe held twice.
    private static func missingStripes(
        of target: ShardStripe, in parts: [(path: String, result: ResultFile)]
    ) throws(ResultMergeError) -> [ShardStripe] {
        let stripes = parts.map { (path: $0.path, stripe: $0.result.shard ?? .whole) }
        let pathsByCount = Dictionary(grouping: stripes, by: \.stripe.count).mapValues { $0.map(\.path) }
        // Within one split, stripes are disjoint or equal, so a set of them is checked stripe by
        // stripe; parts of two splits are combined a split at a time (each shard's workers first).
        guard pathsByCount.count == 1, let splitCount = pathsByCount.keys.first else { throw .differentSplits(pathsByCount: pathsByCount) }
        if let outside = stripes.first(where: { !target.contains($0.stripe) }) {
            throw .stripeOutsideTarget(path: outside.path, stripe: outside.stripe, target: target)
        }
        var pathsByStripe: [ShardStripe: [String]] = [:]
        for (path, stripe) in stripes { pathsByStripe[stripe, default: []].append(path) }
        if let duplicate = stripes.first(where: { pathsByStripe[$0.stripe, default: []].count > 1 }) {
            throw .duplicateStripe(duplicate.stripe, paths: pathsByStripe[duplicate.stripe, default: []])
        }
        let absent = target.stripes(inSplitInto: splitCount).filter { pathsByStripe[$0] == nil }
        let missingInParts = parts.flatMap { $0.result.missingStripes ?? [] }
        return Set(absent + missingInParts).sorted { ($0.count, $0.index) < ($1.count, $1.index) }
    }
}
