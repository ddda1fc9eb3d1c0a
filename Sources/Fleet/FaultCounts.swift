/// What fault injection did, counted where it was done (the devices' driver, or the embedded
/// servers): per direction, and the NAT rebindings. Added exactly across workers and shards.
///
/// Every datagram that met an impairment ends as exactly one of: dropped, delivered on time,
/// `delayed`, or `reordered`; `duplicated` counts the extra copies on top.
public struct FaultCounts: Sendable, Codable, Hashable {
    /// The datagrams of one direction.
    public struct OneWay: Sendable, Codable, Hashable {
        /// Datagrams that met the impairment, dropped ones included (copies not).
        public var datagrams: UInt64 = 0
        /// Lost on the way.
        public var dropped: UInt64 = 0
        /// Extra copies delivered.
        public var duplicated: UInt64 = 0
        /// Held back and overtaken by a later datagram of their link.
        public var reordered: UInt64 = 0
        /// Delivered late but in order: the delay, or a wait to be overtaken that nothing ended.
        public var delayed: UInt64 = 0

        public init() {}

        mutating func add(_ other: OneWay) {
            datagrams += other.datagrams
            dropped += other.dropped
            duplicated += other.duplicated
            reordered += other.reordered
            delayed += other.delayed
        }

        /// `1000 datagrams: 201 dropped, 10 duplicated, 20 reordered, 0 delayed`.
        var summary: String {
            "\(datagrams) datagrams: \(dropped) dropped, \(duplicated) duplicated, \(reordered) reordered, \(delayed) delayed"
        }
    }

    /// From devices to the server.
    public var up = OneWay()
    /// From the server to devices.
    public var down = OneWay()
    /// Times a device's NAT mapping changed: its next datagram left from a new source port.
    public var rebound: UInt64 = 0

    public init() {}

    /// The counts of one direction.
    public subscript(direction: LinkDirection) -> OneWay {
        get { direction == .up ? up : down }
        set { if direction == .up { up = newValue } else { down = newValue } }
    }

    /// Adds the counts of another worker, shard or side.
    public mutating func add(_ other: FaultCounts) {
        up.add(other.up)
        down.add(other.down)
        rebound += other.rebound
    }

    /// One line for people: `up 1000 datagrams: 201 dropped, ...; down ...; 3 rebound`.
    public var summary: String {
        "up \(up.summary); down \(down.summary)" + (rebound > 0 ? "; \(rebound) NAT rebindings" : "")
    }
}
