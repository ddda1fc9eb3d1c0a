/// What a `LinkImpairment` does to one datagram; a `FaultInjector` carries it out.
public struct DatagramFate: Hashable, Sendable {
    /// Lost on the way: never delivered, and no copy either.
    public var isDropped = false
    /// Time on the way beyond the loop's own (the link's delay, moved by its jitter).
    public var delayNanoseconds: UInt64 = 0
    /// Held back until a later datagram of the same link has passed it, or at most
    /// `LinkImpairment.reorderWaitNanoseconds` after its delay.
    public var waitsToBeOvertaken = false
    /// A copy of the datagram arrives this long after the datagram is sent; nil: no copy.
    public var duplicateDelayNanoseconds: UInt64?

    public init(isDropped: Bool = false, delayNanoseconds: UInt64 = 0, waitsToBeOvertaken: Bool = false, duplicateDelayNanoseconds: UInt64? = nil) {
        self.isDropped = isDropped
        self.delayNanoseconds = delayNanoseconds
        self.waitsToBeOvertaken = waitsToBeOvertaken
        self.duplicateDelayNanoseconds = duplicateDelayNanoseconds
    }

    /// Delivered at once, one copy: what a perfect link does.
    public static let pass = DatagramFate()
}
