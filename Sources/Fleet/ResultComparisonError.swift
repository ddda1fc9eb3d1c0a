/// Why two results are not compared: one of them does not cover a whole run, so its counts and
/// rates are not the run's (`compare --allow-partial` compares them anyway).
public enum ResultComparisonError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `path` is a merge that left these stripes out (`merge --allow-partial`).
    case partial(path: String, missing: [ShardStripe])
    /// `path` is a run that ended before its stages were done, and how (`interrupted`,
    /// `duration-limit`, or `unknown` when the result does not say).
    case endedEarly(path: String, reason: String)

    public var description: String {
        switch self {
        case .partial(let path, let missing):
            return "\(path) is a PARTIAL merge (missing shards \(missing.map(\.description).joined(separator: ", "))): its counts "
                + "and rates are not a whole run's; merge every part, or pass --allow-partial to compare it anyway"
        case .endedEarly(let path, let reason):
            return "\(path) is a run that ended before its stages were done (\(reason)): its counts and rates are not a whole "
                + "run's; run it to the end, or pass --allow-partial to compare it anyway"
        }
    }
}
