import CoAP
import HeapModule

/// Carries out the fates a `LinkImpairment` gives datagrams, sans I/O: it holds back the
/// datagrams that are delayed, wait to be overtaken, or arrive twice, and hands each back when
/// its time comes. `Link` names one way of one peer's traffic (a device's server socket, up), so
/// a datagram waits to be overtaken only by its own link's.
///
/// The driver admits every datagram with its fate and `now` and delivers what comes back at once,
/// in order; once `nextDeadline` has passed it calls `releaseDue`. Nothing is kept for a link
/// that holds nothing, and `counts` says what was done.
public struct FaultInjector<Link: Hashable, Datagram> {
    /// A datagram held back.
    private struct Held {
        var datagram: Datagram
        var link: Link
        var direction: LinkDirection
        /// Its place in the order of admission: a datagram admitted later that is delivered
        /// first overtakes it. A copy has its original's.
        var admission: UInt64
        var delivery: Delivery
    }

    /// How a held datagram is counted when it is delivered.
    private enum Delivery {
        /// It kept its place: nothing to count.
        case onTime
        /// Delayed, in order: `delayed`.
        case late
        /// A duplicate, counted when it was made.
        case copy
    }

    /// An entry of the release queue, ordered by deadline and then by the order of queueing.
    private struct Due: Comparable {
        enum Work {
            case deliver(Held)
            /// The wait of the datagram admitted as `admission` on `link` to be overtaken ends.
            case endWait(Link, admission: UInt64)
        }

        var deadline: Timestamp
        var order: UInt64
        var work: Work

        static func < (lhs: Due, rhs: Due) -> Bool {
            (lhs.deadline, lhs.order) < (rhs.deadline, rhs.order)
        }

        static func == (lhs: Due, rhs: Due) -> Bool {
            lhs.deadline == rhs.deadline && lhs.order == rhs.order
        }
    }

    private var queue = Heap<Due>()
    /// Per link, the one datagram waiting to be overtaken.
    private var waiting: [Link: Held] = [:]
    private var admissions: UInt64 = 0
    private var queued: UInt64 = 0
    /// What was done so far (without `rebound`, which the driver counts).
    public private(set) var counts = FaultCounts()

    public init() {}

    /// When `releaseDue` next has something to do (possibly nothing, once a wait ended early).
    public var nextDeadline: Timestamp? { queue.min?.deadline }

    /// Applies `fate` to a datagram of `link` going `direction` at `now`, and appends to
    /// `deliveries` what arrives at once, in order: the datagram unless held back, its copy when
    /// that comes at once, and the datagram it overtook, if one of its link was waiting.
    public mutating func admit(
        _ datagram: Datagram, on link: Link, direction: LinkDirection, fate: DatagramFate, now: Timestamp, deliveries: inout [Datagram]
    ) {
        admissions += 1
        counts[direction].datagrams += 1
        guard !fate.isDropped else {
            counts[direction].dropped += 1
            return
        }
        let held = Held(datagram: datagram, link: link, direction: direction, admission: admissions, delivery: .onTime)
        if fate.waitsToBeOvertaken, waiting[link] == nil {
            // A second datagram that should wait while one already does simply goes on, and
            // overtakes the first: one waiting datagram per link is enough to reorder.
            waiting[link] = held
            enqueue(.endWait(link, admission: held.admission), at: now.adding(nanoseconds: fate.delayNanoseconds + LinkImpairment.reorderWaitNanoseconds))
        } else if fate.delayNanoseconds > 0 {
            var late = held
            late.delivery = .late
            enqueue(.deliver(late), at: now.adding(nanoseconds: fate.delayNanoseconds))
        } else {
            deliver(held, into: &deliveries)
        }
        if let copyDelay = fate.duplicateDelayNanoseconds {
            counts[direction].duplicated += 1
            var copy = held
            copy.delivery = .copy
            if copyDelay == 0 { deliver(copy, into: &deliveries) } else { enqueue(.deliver(copy), at: now.adding(nanoseconds: copyDelay)) }
        }
    }

    /// Appends to `deliveries` every held datagram due by `now`, in the order they are due.
    public mutating func releaseDue(now: Timestamp, deliveries: inout [Datagram]) {
        while let first = queue.min, first.deadline <= now {
            queue.removeMin()
            switch first.work {
            case .deliver(let held):
                deliver(held, into: &deliveries)
            case .endWait(let link, let admission):
                // Nothing overtook it: it was only late.
                guard let held = waiting[link], held.admission == admission else { continue }
                waiting[link] = nil
                counts[held.direction].delayed += 1
                deliveries.append(held.datagram)
            }
        }
    }

    private mutating func enqueue(_ work: Due.Work, at deadline: Timestamp) {
        queued += 1
        queue.insert(Due(deadline: deadline, order: queued, work: work))
    }

    /// Delivers a datagram, and behind it the one of its link it overtook.
    private mutating func deliver(_ held: Held, into deliveries: inout [Datagram]) {
        deliveries.append(held.datagram)
        if held.delivery == .late { counts[held.direction].delayed += 1 }
        guard let overtaken = waiting[held.link], overtaken.admission < held.admission else { return }
        waiting[held.link] = nil
        counts[overtaken.direction].reordered += 1
        deliveries.append(overtaken.datagram)
    }
}
