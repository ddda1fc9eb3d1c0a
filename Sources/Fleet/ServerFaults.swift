import CoAP
import EventLoop

/// The fault injection of the embedded servers' sockets (`server.embedded.faults`), as the
/// `ServerDriver` applies it where datagrams enter and leave them.
///
/// The servers talk to every device from one socket each, so their decisions come from one
/// numbered stream per direction under the run's seed; a datagram waits to be overtaken only by
/// the next one of the same peer and way.
struct ServerFaults {
    /// One way of one peer's traffic on one of the two sockets.
    struct Link: Hashable {
        var socketTag: UInt64
        var peer: SocketAddress
        var direction: LinkDirection
    }

    /// One datagram on its way, held by the injector.
    struct Datagram {
        var socketTag: UInt64
        var peer: SocketAddress
        var direction: LinkDirection
        var bytes: [UInt8]

        var link: Link { Link(socketTag: socketTag, peer: peer, direction: direction) }
    }

    let impairment: LinkImpairment
    let linkSeed: UInt64
    private var datagramsUp: UInt64 = 0
    private var datagramsDown: UInt64 = 0
    var injector = FaultInjector<Link, Datagram>()

    init(impairment: LinkImpairment, seed: UInt64) {
        self.impairment = impairment
        linkSeed = LinkImpairment.mix(seed ^ 0x5E4F_E45E_4FE5)
    }

    /// The fate of the servers' next datagram going `direction`, which it numbers.
    mutating func fateOfNextDatagram(_ direction: LinkDirection) -> DatagramFate {
        let number: UInt64
        if direction == .up {
            number = datagramsUp
            datagramsUp += 1
        } else {
            number = datagramsDown
            datagramsDown += 1
        }
        return impairment.fate(ofDatagram: number, direction: direction, linkSeed: linkSeed)
    }
}
