/// Why two results are not compared: one of them does not cover a whole run, so its counts and
/// rates are not the run's (`compare --allow-partial` compares them anyway).
public enum ResultComparisonError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `path` is a merge that left these stripes out (`merge --allow-partial`).
    case partial(path: String, missing: [ShardStripe])
    /// `path` is a run that ended before its stages were done, and how (`interrupted`,
    /// `duration-limit`, or `unknown` when the result does not say).
    case endedEarly(path: String, reason: String)

    public var path: String {
        switch self {
        case .partial(let path, _), .endedEarly(let path, _): path
        }
    }

    /// What the result is: "a PARTIAL merge (missing shards 1/2)".
    public var reason: String {
        switch self {
        case .partial(_, let missing):
            "a PARTIAL merge (missing shards \(missing.map(\.description).joined(separator: ", ")))"
        case .endedEarly(_, let reason):
            "a run that ended before its stages were done (\(reason))"
        }
    }

    public var description: String {
        let remedy = switch self {
        case .partial: "merge every part"
        case .endedEarly: "run it to the end"
        }
        return "\(path) is \(reason): its counts and rates are not a whole run's; \(remedy), or pass --allow-partial to compare it anyway"
    }
}
