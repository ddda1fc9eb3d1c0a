import CoAP

/// How a network link between devices and a server mistreats datagrams: loss (each way apart),
/// duplication, reordering, delay with jitter, and NAT rebinding. A fleet file gives one per
/// device group (`faults:`) and one for the embedded servers (`server.embedded.faults`).
///
/// The fate of a datagram is a pure function of the link's seed, its direction and its number
/// on the link (the first datagram a device sends is number 0 up), so a run replays: the same
/// seed drops the same datagrams of the same devices, whatever the other devices and the
/// timing of the loop did. No state is kept per link beyond the two counters the caller owns.
public struct LinkImpairment: Hashable, Sendable, Codable {
    /// The share of datagrams lost from devices to the server, 0...1.
    public var lossUp: Double
    /// The share of datagrams lost from the server to devices, 0...1.
    public var lossDown: Double
    /// The share of datagrams that arrive twice, 0...1: the copy comes up to
    /// `duplicateSpreadNanoseconds` after the datagram, with a delay of its own.
    public var duplicate: Double
    /// The share of datagrams held back until a later one of their link has passed them, 0...1.
    public var reorder: Double
    /// Time each datagram spends on the way.
    public var delayNanoseconds: UInt64
    /// The delay varies by up to this much either way (at most `delayNanoseconds`), uniformly.
    public var jitterNanoseconds: UInt64
    /// Devices only: about this often a device's NAT mapping changes, so its next datagram leaves
    /// from a new source port (each device at a phase of its own); 0: never.
    public var rebindEveryNanoseconds: UInt64

    public init(
        lossUp: Double = 0, lossDown: Double = 0, duplicate: Double = 0, reorder: Double = 0, delayNanoseconds: UInt64 = 0,
        jitterNanoseconds: UInt64 = 0, rebindEveryNanoseconds: UInt64 = 0
    ) {
        self.lossUp = lossUp
        self.lossDown = lossDown
        self.duplicate = duplicate
        self.reorder = reorder
        self.delayNanoseconds = delayNanoseconds
        self.jitterNanoseconds = jitterNanoseconds
        self.rebindEveryNanoseconds = rebindEveryNanoseconds
    }

    /// A perfect link.
    public static let none = LinkImpairment()

    /// Whether the link does nothing to datagrams.
    public var isNone: Bool { self == .none }

    /// The longest a datagram waits to be overtaken: long enough for the datagrams a peer sends
    /// back to back (an ACK and a request), far below CoAP's 2 s ACK_TIMEOUT so waiting alone never
    /// makes a retransmission.
    public static let reorderWaitNanoseconds: UInt64 = 100_000_000
    /// A duplicate arrives up to this long after its datagram (beyond its delay).
    public static let duplicateSpreadNanoseconds: UInt64 = 100_000_000

    /// The share of datagrams lost in `direction`.
    public func loss(_ direction: LinkDirection) -> Double {
        direction == .up ? lossUp : lossDown
    }

    /// What happens to datagram `number` (counted from 0 per link and direction) of the link
    /// whose randomness is `linkSeed`. Every draw is made whatever the settings, in a fixed order,
    /// so the same seed loses the same datagrams whether or not duplication or delay are set too.
    public func fate(ofDatagram number: UInt64, direction: LinkDirection, linkSeed: UInt64) -> DatagramFate {
        // Hashed twice, so that neighbouring numbers and links get unrelated draws (SplitMix64
        // streams of seeds that differ by its increment overlap).
        var random = SeededRandom(seed: Self.mix(linkSeed ^ Self.mix(number << 1 | UInt64(direction.rawValue))))
        let lossDraw = Self.unit(random.next())
        let reorderDraw = Self.unit(random.next())
        let duplicateDraw = Self.unit(random.next())
        let delay = jittered(random.next())
        let copyDelay = jittered(random.next()) + random.next() % (Self.duplicateSpreadNanoseconds + 1)
        guard lossDraw >= loss(direction) else { return DatagramFate(isDropped: true) }
        return DatagramFate(
            delayNanoseconds: delay, waitsToBeOvertaken: reorderDraw < reorder,
            duplicateDelayNanoseconds: duplicateDraw < duplicate ? copyDelay : nil)
    }

    /// The delay moved by a uniform draw within the jitter.
    private func jittered(_ draw: UInt64) -> UInt64 {
        let jitter = min(jitterNanoseconds, delayNanoseconds)
        guard jitter > 0 else { return delayNanoseconds }
        return delayNanoseconds - jitter + draw % (2 * jitter + 1)
    }

    /// Which NAT mapping a device is on at `now`: it changes every `rebindEveryNanoseconds` from
    /// `origin`, at a phase drawn from `linkSeed`; always 0 without rebinding.
    public func bindingEpoch(at now: Timestamp, since origin: Timestamp, linkSeed: UInt64) -> UInt32 {
        guard rebindEveryNanoseconds > 0 else { return 0 }
        let phase = Self.mix(linkSeed ^ 0x5245_4249_4E44) % rebindEveryNanoseconds
        return UInt32(truncatingIfNeeded: (now.nanoseconds(since: origin) + phase) / rebindEveryNanoseconds)
    }

    /// `value` hashed (SplitMix64's first output for it as the seed): unrelated outputs for neighbouring inputs.
    static func mix(_ value: UInt64) -> UInt64 {
        var random = SeededRandom(seed: value)
        return random.next()
    }

    /// A draw as a fraction in [0, 1), from its top 53 bits.
    private static func unit(_ draw: UInt64) -> Double {
        Double(draw >> 11) * 0x1p-53
    }
}
