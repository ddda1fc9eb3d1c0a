import CoAP
import EventLoop
import LwM2MClient

/// The fault injection of one process's devices, as the `DeviceDriver` applies it where
/// datagrams enter and leave them: the impairment of each device's group, the few counters that
/// make every decision replayable, and the datagrams held back.
///
/// A driver has one only when some group has faults. Then each device costs 12 bytes: its
/// datagram numbers up and down (the fate of a datagram derives from the run's seed, the
/// device's global index and that number, `LinkImpairment.fate`) and its NAT mapping.
public struct DeviceFaults {
    /// The impairment of a run of local devices (a group's devices in this stripe).
    public struct Group: Sendable {
        /// Local device indices, as in `DeviceDriver.devices`.
        public var devices: Range<Int>
        public var impairment: LinkImpairment

        public init(devices: Range<Int>, impairment: LinkImpairment) {
            self.devices = devices
            self.impairment = impairment
        }
    }

    /// One datagram on its way, held by the injector.
    struct Datagram {
        var device: UInt32
        var role: ServerRole
        var direction: LinkDirection
        /// The device's socket it left from (up) or reached (down).
        var socket: UDPSocketID
        var bytes: [UInt8]

        /// The injector's name for one way of one device's connection of one role.
        var link: UInt64 { UInt64(device) << 2 | (role == .server ? 2 : 0) | UInt64(direction.rawValue) }
    }

    /// What a device's traffic needs to be replayed: 12 bytes.
    private struct DeviceLink {
        var datagramsUp: UInt32 = 0
        var datagramsDown: UInt32 = 0
        /// The NAT mapping its sockets were bound under (`LinkImpairment.bindingEpoch`).
        var bindingEpoch: UInt32 = 0
    }

    public let groups: [Group]
    public let seed: UInt64
    /// The run's start: NAT mappings change at times counted from it.
    public let origin: Timestamp
    private var links: [DeviceLink]
    /// Keyed by `Datagram.link`.
    var injector = FaultInjector<UInt64, Datagram>()
    private var rebound: UInt64 = 0

    /// Faults for `deviceCount` local devices; `seed` is the run's.
    public init(groups: [Group], deviceCount: Int, seed: UInt64, origin: Timestamp) {
        self.groups = groups.filter { !$0.impairment.isNone }
        self.seed = seed
        self.origin = origin
        links = Array(repeating: DeviceLink(), count: deviceCount)
    }

    /// What was injected so far.
    public var counts: FaultCounts {
        var counts = injector.counts
        counts.rebound = rebound
        return counts
    }

    /// The impairment of a local device; `.none` outside every group with faults.
    public func impairment(of device: Int) -> LinkImpairment {
        groups.first { $0.devices.contains(device) }?.impairment ?? .none
    }

    /// The randomness of one device's link, from the run's seed and its global index: the same in
    /// any worker, shard or incarnation.
    static func linkSeed(runSeed: UInt64, globalIndex: UInt32) -> UInt64 {
        LinkImpairment.mix(runSeed ^ 0xFA17_5EED) ^ UInt64(globalIndex)
    }

    /// The fate of the device's next datagram going `direction`, which it numbers.
    mutating func fate(ofNextDatagramOf device: Int, globalIndex: UInt32, direction: LinkDirection) -> DatagramFate {
        let impairment = impairment(of: device)
        guard !impairment.isNone else { return .pass }
        let number: UInt32
        if direction == .up {
            number = links[device].datagramsUp
            links[device].datagramsUp &+= 1
        } else {
            number = links[device].datagramsDown
            links[device].datagramsDown &+= 1
        }
        return impairment.fate(ofDatagram: UInt64(number), direction: direction, linkSeed: Self.linkSeed(runSeed: seed, globalIndex: globalIndex))
    }

    /// Notes that the device's sockets are bound under the NAT mapping of `now`.
    mutating func bound(_ device: Int, globalIndex: UInt32, now: Timestamp) {
        links[device].bindingEpoch = bindingEpoch(of: device, globalIndex: globalIndex, at: now)
    }

    /// Whether the device's NAT mapping changed since its sockets were bound: its next datagram
    /// must leave from a new port. Notes the new mapping.
    mutating func needsRebinding(_ device: Int, globalIndex: UInt32, now: Timestamp) -> Bool {
        let epoch = bindingEpoch(of: device, globalIndex: globalIndex, at: now)
        guard epoch != links[device].bindingEpoch else { return false }
        links[device].bindingEpoch = epoch
        return true
    }

    /// A device's sockets moved to new ports.
    mutating func countRebinding() {
        rebound += 1
    }

    private func bindingEpoch(of device: Int, globalIndex: UInt32, at now: Timestamp) -> UInt32 {
        impairment(of: device).bindingEpoch(at: now, since: origin, linkSeed: Self.linkSeed(runSeed: seed, globalIndex: globalIndex))
    }
}
