/// Why result files cannot be merged into one result: which files are at fault, what differs,
/// and what to do.
public enum ResultMergeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing was given to merge.
    case noParts
    /// `path` ran another fleet file (its stored text differs) than `firstPath`.
    case differentFleetFile(path: String, firstPath: String)
    /// `path` ran with another seed than `firstPath`.
    case differentSeed(path: String, seed: UInt64, firstPath: String, firstSeed: UInt64)
    /// `path` was written by another version of lwm2m-fleet than `firstPath`.
    case differentToolVersion(path: String, toolVersion: String, firstPath: String, firstToolVersion: String)
    /// The parts are stripes of splits into different counts (each count with its files).
    case differentSplits(pathsByCount: [Int: [String]])
    /// `path` holds a stripe that is not part of the stripe the merge covers.
    case stripeOutsideTarget(path: String, stripe: ShardStripe, target: ShardStripe)
    /// More than one of `paths` (perhaps one file given twice) holds `stripe`.
    case duplicateStripe(ShardStripe, paths: [String])
    /// The parts leave these stripes of `target` out (and a partial merge was not allowed).
    case missingStripes([ShardStripe], target: ShardStripe)
    /// The fleet file stored in the parts does not read, so their thresholds cannot be evaluated.
    case invalidFleetFile(FleetSpecError)

    public var description: String {
        switch self {
        case .noParts:
            return "no result file to merge"
        case .differentFleetFile(let path, let firstPath):
            return "\(path) ran a different fleet file than \(firstPath) (the fleet texts stored in them differ): "
                + "merge only the results of one run of one fleet file"
        case .differentSeed(let path, let seed, let firstPath, let firstSeed):
            return "\(path) ran with seed \(seed) but \(firstPath) with seed \(firstSeed): the parts of one run share "
                + "its seed; run every shard with the same --seed"
        case .differentToolVersion(let path, let toolVersion, let firstPath, let firstToolVersion):
            return "\(path) was written by lwm2m-fleet \(toolVersion) but \(firstPath) by \(firstToolVersion): "
                + "run every shard with the same version"
        case .differentSplits(let pathsByCount):
            let splits = pathsByCount.sorted { $0.key < $1.key }.map { count, paths in
                "\(paths.joined(separator: ", ")): " + (count == 1 ? "the whole fleet" : "stripes of \(count)")
            }
            return "the parts come from different splits of the fleet (\(splits.joined(separator: "; "))): merge the "
                + "parts of one split at a time, e.g. first each shard's worker results into that shard (merge --shard I/N)"
        case .stripeOutsideTarget(let path, let stripe, let target):
            return "\(path) holds stripe \(stripe), which is not part of \(Self.name(target)) (stripe j/M is part of "
                + "i/N when M is a multiple of N and j % N == i): merge only the parts of \(Self.name(target))"
        case .duplicateStripe(let stripe, let paths):
            let distinct = paths.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            let files = distinct.count == 1 ? "\(distinct[0]) is given \(paths.count) times" : "\(distinct.joined(separator: ", ")) each hold it"
            let what = stripe == .whole ? "the whole fleet (0/1)" : "stripe \(stripe)"
            return "\(what) is in more than one part: \(files); give each part once"
        case .missingStripes(let stripes, let target):
            return "the parts do not cover \(Self.name(target)): missing shards \(stripes.map(\.description).joined(separator: ", ")); "
                + "add their result files, or pass --allow-partial to merge what is there into a result marked partial"
        case .invalidFleetFile(let error):
            return "the fleet file stored in the results is not valid for this lwm2m-fleet, so its thresholds cannot be "
                + "evaluated; merge with the version that ran it:\n\(error)"
        }
    }

    private static func name(_ stripe: ShardStripe) -> String {
        stripe == .whole ? "the whole fleet" : "shard \(stripe)"
    }
}
