/// One stripe of a fleet's devices, `index/count`: the devices whose global index divided by
/// `count` leaves `index`. A shard (`run --shard I/N`) and each worker process run one stripe.
///
/// Stripes compose: worker `w` of `W` inside shard `I/N` runs stripe `(I + N*w)/(N*W)`, and the
/// workers' stripes together are exactly the shard's.
public struct ShardStripe: Sendable, Hashable, CustomStringConvertible {
    /// From 0, below `count`.
    public let index: Int
    /// How many stripes the fleet was split into.
    public let count: Int

    /// Every device of the fleet.
    public static let whole = ShardStripe(index: 0, count: 1)

    public init(index: Int, count: Int) {
        precondition(count > 0 && (0..<count).contains(index), "stripe \(index)/\(count) needs 0 <= index < count")
        self.index = index
        self.count = count
    }

    /// Reads `I/N` as a user writes it (`--shard 1/4`).
    public init(parsing text: String) throws(ShardStripeError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count > 0, (0..<count).contains(index) else {
            throw ShardStripeError(text: text)
        }
        self.init(index: index, count: count)
    }

    /// `I/N`, as `init(parsing:)` reads it.
    public var description: String { "\(index)/\(count)" }

    /// Whether every device of `other` is in this stripe: its split refines this one (its count is
    /// a multiple of ours) and its devices leave our index when divided by our count.
    public func contains(_ other: ShardStripe) -> Bool {
        other.count % count == 0 && other.index % count == index
    }

    /// The stripes of the fleet's split into `splitCount` that make up this one, by index:
    /// `0/2` is made of `0/4` and `2/4`. `splitCount` must be a multiple of `count`.
    public func stripes(inSplitInto splitCount: Int) -> [ShardStripe] {
        precondition(splitCount % count == 0, "a split into \(splitCount) does not refine \(self)")
        return stride(from: index, to: splitCount, by: count).map { ShardStripe(index: $0, count: splitCount) }
    }
}

extension ShardStripe: Codable {
    private enum CodingKeys: String, CodingKey {
        case index, count
    }

    /// Refuses a stripe that cannot be, so a damaged result file is not merged as some other stripe.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let index = try container.decode(Int.self, forKey: .index)
        let count = try container.decode(Int.self, forKey: .count)
        guard count > 0, (0..<count).contains(index) else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: "stripe \(index)/\(count) needs 0 <= index < count"))
        }
        self.init(index: index, count: count)
    }
}

/// Text that is not a stripe `I/N`.
public struct ShardStripeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// As the user wrote it.
    public var text: String

    public init(text: String) {
        self.text = text
    }

    public var description: String {
        "'\(text)' is not a stripe: write I/N with 0 <= I < N, e.g. 0/4 for the first of four"
    }
}
