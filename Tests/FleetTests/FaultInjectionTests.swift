import CoAP
// DeviceFaults numbers a device's datagrams internally: the driver is its only user.
@testable import Fleet
import XCTest

/// Fault injection without sockets: the fates a `LinkImpairment` deals under a seed, the
/// `FaultInjector` carrying them out on a manual clock, and the devices' share of it.
private let millisecond: UInt64 = 1_000_000

final class FaultInjectionTests: XCTestCase {
    private func at(_ millisecondsFromZero: UInt64) -> Timestamp { .milliseconds(millisecondsFromZero) }

    // MARK: Fates

    func testTheSameSeedLinkAndNumberAlwaysMeetTheSameFate() {
        let impairment = LinkImpairment(
            lossUp: 0.2, lossDown: 0.2, duplicate: 0.05, reorder: 0.05, delayNanoseconds: 50 * millisecond, jitterNanoseconds: 20 * millisecond)
        for number in UInt64(0)..<1_000 {
            for direction in LinkDirection.allCases {
                XCTAssertEqual(
                    impairment.fate(ofDatagram: number, direction: direction, linkSeed: 42),
                    impairment.fate(ofDatagram: number, direction: direction, linkSeed: 42))
            }
        }
        let dropped = { (seed: UInt64) in (UInt64(0)..<1_000).filter { impairment.fate(ofDatagram: $0, direction: .up, linkSeed: seed).isDropped } }
        XCTAssertEqual(dropped(42), dropped(42))
        XCTAssertNotEqual(dropped(42), dropped(43), "another seed loses other datagrams")
    }

    func testLossEachWayIsItsShareOfTheDatagramsAndTheWaysAreIndependent() {
        let impairment = LinkImpairment(lossUp: 0.05, lossDown: 0.2)
        var droppedUp = 0, droppedDown = 0, both = 0
        let count = 100_000
        for number in 0..<UInt64(count) {
            let up = impairment.fate(ofDatagram: number, direction: .up, linkSeed: 7).isDropped
            let down = impairment.fate(ofDatagram: number, direction: .down, linkSeed: 7).isDropped
            droppedUp += up ? 1 : 0
            droppedDown += down ? 1 : 0
            both += up && down ? 1 : 0
        }
        XCTAssertEqual(Double(droppedUp) / Double(count), 0.05, accuracy: 0.005)
        XCTAssertEqual(Double(droppedDown) / Double(count), 0.2, accuracy: 0.005)
        XCTAssertEqual(Double(both) / Double(count), 0.01, accuracy: 0.002, "the two ways draw apart")
        XCTAssertFalse(LinkImpairment(lossUp: 0).fate(ofDatagram: 1, direction: .up, linkSeed: 7).isDropped)
        XCTAssertTrue((0..<100).allSatisfy { LinkImpairment(lossDown: 1).fate(ofDatagram: $0, direction: .down, linkSeed: 7).isDropped })
    }

    func testOtherImpairmentsLoseTheSameDatagramsAsLossAlone() {
        let lossOnly = LinkImpairment(lossUp: 0.2)
        let everything = LinkImpairment(
            lossUp: 0.2, duplicate: 0.5, reorder: 0.5, delayNanoseconds: 10 * millisecond, jitterNanoseconds: 10 * millisecond,
            rebindEveryNanoseconds: 1_000 * millisecond)
        for number in UInt64(0)..<2_000 {
            XCTAssertEqual(
                lossOnly.fate(ofDatagram: number, direction: .up, linkSeed: 9).isDropped,
                everything.fate(ofDatagram: number, direction: .up, linkSeed: 9).isDropped, "datagram \(number)")
        }
    }

    func testDelaysStayWithinTheJitterAroundTheDelayAndCopiesWithinTheSpread() {
        let impairment = LinkImpairment(duplicate: 1, delayNanoseconds: 50 * millisecond, jitterNanoseconds: 20 * millisecond)
        var total: UInt64 = 0
        for number in UInt64(0)..<10_000 {
            let fate = impairment.fate(ofDatagram: number, direction: .down, linkSeed: 3)
            XCTAssertTrue((30 * millisecond...70 * millisecond).contains(fate.delayNanoseconds), "\(fate.delayNanoseconds)")
            let copy = try! XCTUnwrap(fate.duplicateDelayNanoseconds)
            XCTAssertTrue((30 * millisecond...170 * millisecond).contains(copy), "\(copy)")
            total += fate.delayNanoseconds
        }
        XCTAssertEqual(Double(total) / 10_000 / Double(millisecond), 50, accuracy: 1, "the jitter moves the delay both ways")
        XCTAssertEqual(LinkImpairment(delayNanoseconds: 5 * millisecond).fate(ofDatagram: 0, direction: .up, linkSeed: 1).delayNanoseconds,
                       5 * millisecond, "no jitter, the delay itself")
    }

    func testNATMappingsChangeEveryPeriodAtAPhaseOfEachDevice() {
        let impairment = LinkImpairment(rebindEveryNanoseconds: 30_000 * millisecond)
        let origin = at(1_000)
        for seed in UInt64(0)..<20 {
            let epochs = (0..<120).map { impairment.bindingEpoch(at: origin.adding(nanoseconds: UInt64($0) * 1_000 * millisecond), since: origin, linkSeed: seed) }
            let changes = zip(epochs, epochs.dropFirst()).filter { $0 != $1 }.count
            XCTAssertTrue((3...4).contains(changes), "every 30 s over 2 minutes: \(changes)")
            XCTAssertTrue(zip(epochs, epochs.dropFirst()).allSatisfy { $1 == $0 || $1 == $0 + 1 })
        }
        let firstChange = { (seed: UInt64) in
            (0..<30).first { impairment.bindingEpoch(at: origin.adding(nanoseconds: UInt64($0 + 1) * 1_000 * millisecond), since: origin, linkSeed: seed)
                != impairment.bindingEpoch(at: origin, since: origin, linkSeed: seed) }
        }
        XCTAssertGreaterThan(Set((UInt64(0)..<20).map(firstChange)).count, 5, "devices rebind at phases of their own")
        XCTAssertEqual(LinkImpairment.none.bindingEpoch(at: at(99_000), since: origin, linkSeed: 1), 0, "no rebinding, one mapping")
    }

    // MARK: The injector on a manual clock

    func testDroppedDatagramsVanishAndPassingOnesArriveAtOnce() {
        var injector = FaultInjector<Int, String>()
        var deliveries: [String] = []
        injector.admit("a", on: 1, direction: .up, fate: DatagramFate(isDropped: true), now: at(0), deliveries: &deliveries)
        injector.admit("b", on: 1, direction: .up, fate: .pass, now: at(0), deliveries: &deliveries)
        injector.admit("c", on: 1, direction: .down, fate: DatagramFate(isDropped: true), now: at(0), deliveries: &deliveries)
        XCTAssertEqual(deliveries, ["b"])
        XCTAssertNil(injector.nextDeadline, "nothing held")
        XCTAssertEqual(injector.counts.up.datagrams, 2)
        XCTAssertEqual(injector.counts.up.dropped, 1)
        XCTAssertEqual(injector.counts.down.dropped, 1)
    }

    func testDelayedDatagramsArriveWhenDueInTheOrderTheyAreDue() {
        var injector = FaultInjector<Int, String>()
        var deliveries: [String] = []
        injector.admit("slow", on: 1, direction: .down, fate: DatagramFate(delayNanoseconds: 70 * millisecond), now: at(0), deliveries: &deliveries)
        injector.admit("fast", on: 1, direction: .down, fate: DatagramFate(delayNanoseconds: 30 * millisecond), now: at(10), deliveries: &deliveries)
        injector.admit("same", on: 2, direction: .down, fate: DatagramFate(delayNanoseconds: 30 * millisecond), now: at(10), deliveries: &deliveries)
        XCTAssertEqual(deliveries, [])
        XCTAssertEqual(injector.nextDeadline, at(40))
        injector.releaseDue(now: at(39), deliveries: &deliveries)
        XCTAssertEqual(deliveries, [], "not yet")
        injector.releaseDue(now: at(40), deliveries: &deliveries)
        XCTAssertEqual(deliveries, ["fast", "same"], "equal deadlines in the order admitted")
        XCTAssertEqual(injector.nextDeadline, at(70))
        injector.releaseDue(now: at(100), deliveries: &deliveries)
        XCTAssertEqual(deliveries, ["fast", "same", "slow"])
        XCTAssertNil(injector.nextDeadline)
        XCTAssertEqual(injector.counts.down.delayed, 3)
        XCTAssertEqual(injector.counts.down.reordered, 0, "jitter is counted as delay, not as reordering")
    }

    func testAWaitingDatagramIsOvertakenByTheNextOfItsOwnLinkOnly() {
        var injector = FaultInjector<Int, String>()
        var deliveries: [String] = []
        let waits = DatagramFate(waitsToBeOvertaken: true)
        injector.admit("2.01", on: 7, direction: .down, fate: waits, now: at(0), deliveries: &deliveries)
        injector.admit("other device", on: 8, direction: .down, fate: .pass, now: at(1), deliveries: &deliveries)
        XCTAssertEqual(deliveries, ["other device"])
        injector.admit("GET /3/0", on: 7, direction: .down, fate: waits, now: at(2), deliveries: &deliveries)
        XCTAssertEqual(deliveries, ["other device", "GET /3/0", "2.01"], "one waits per link: the second overtakes the first")
        XCTAssertEqual(injector.counts.down.reordered, 1)
        injector.releaseDue(now: at(1_000), deliveries: &deliveries)
        XCTAssertEqual(deliveries.count, 3, "its wait's end finds it gone")
        XCTAssertEqual(injector.counts.down.delayed, 0)
    }

    func testAWaitNothingEndsDeliversTheDatagramLateAfterItsDelay() {
        var injector = FaultInjector<Int, String>()
        var deliveries: [String] = []
        injector.admit("alone", on: 1, direction: .up, fate: DatagramFate(delayNanoseconds: 20 * millisecond, waitsToBeOvertaken: true),
                       now: at(0), deliveries: &deliveries)
        XCTAssertEqual(injector.nextDeadline, at(20).adding(nanoseconds: LinkImpairment.reorderWaitNanoseconds))
        injector.releaseDue(now: at(119), deliveries: &deliveries)
        XCTAssertEqual(deliveries, [])
        injector.releaseDue(now: at(120), deliveries: &deliveries)
        XCTAssertEqual(deliveries, ["alone"])
        XCTAssertEqual(injector.counts.up.delayed, 1)
        XCTAssertEqual(injector.counts.up.reordered, 0)
    }

    func testADelayedDatagramOfTheLinkOvertakesTheWaitingOneWhenItArrives() {
        var injector = FaultInjector<Int, String>()
        var deliveries: [String] = []
        injector.admit("first", on: 1, direction: .up, fate: DatagramFate(delayNanoseconds: 50 * millisecond, waitsToBeOvertaken: true),
                       now: at(0), deliveries: &deliveries)
        injector.admit("second", on: 1, direction: .up, fate: DatagramFate(delayNanoseconds: 50 * millisecond), now: at(5), deliveries: &deliveries)
        injector.releaseDue(now: at(55), deliveries: &deliveries)
        XCTAssertEqual(deliveries, ["second", "first"])
        XCTAssertEqual(injector.counts.up.reordered, 1)
        XCTAssertEqual(injector.counts.up.delayed, 1, "the second was late, and in order")
    }

    func testACopyArrivesAtOnceOrAfterItsDelayAndNeverOvertakesItsOriginal() {
        var injector = FaultInjector<Int, String>()
        var deliveries: [String] = []
        injector.admit("now twice", on: 1, direction: .down, fate: DatagramFate(duplicateDelayNanoseconds: 0), now: at(0), deliveries: &deliveries)
        XCTAssertEqual(deliveries, ["now twice", "now twice"])
        injector.admit("held", on: 2, direction: .down, fate: DatagramFate(waitsToBeOvertaken: true, duplicateDelayNanoseconds: 0),
                       now: at(0), deliveries: &deliveries)
        XCTAssertEqual(deliveries.suffix(1), ["held"], "the copy went on; the original still waits")
        injector.admit("later copy", on: 3, direction: .down, fate: DatagramFate(duplicateDelayNanoseconds: 60 * millisecond), now: at(0),
                       deliveries: &deliveries)
        injector.releaseDue(now: at(60), deliveries: &deliveries)
        XCTAssertEqual(deliveries.suffix(2), ["later copy", "later copy"])
        injector.releaseDue(now: at(100), deliveries: &deliveries)
        XCTAssertEqual(deliveries.last, "held", "its own copy did not overtake it; its wait ended")
        XCTAssertEqual(injector.counts.down.duplicated, 3)
        XCTAssertEqual(injector.counts.down.reordered, 0)
        XCTAssertEqual(injector.counts.down.delayed, 1)
    }

    func testAWholeExchangeReplaysUnderTheSameSeedOnAManualClock() {
        // Two links' traffic through one impairment: what arrives, and when, is the same on
        // every replay with one seed, and differs with another.
        let impairment = LinkImpairment(
            lossUp: 0.2, lossDown: 0.2, duplicate: 0.1, reorder: 0.2, delayNanoseconds: 5 * millisecond, jitterNanoseconds: 5 * millisecond)
        func replay(seed: UInt64) -> ([String], FaultCounts) {
            var injector = FaultInjector<Int, String>()
            var log: [String] = []
            var numbers: [Int: UInt64] = [:]
            for step in UInt64(0)..<400 {
                let now = at(step * 3)
                var deliveries: [String] = []
                injector.releaseDue(now: now, deliveries: &deliveries)
                let link = Int(step % 4)
                let direction: LinkDirection = link < 2 ? .up : .down
                let number = numbers[link, default: 0]
                numbers[link] = number + 1
                let fate = impairment.fate(ofDatagram: number, direction: direction, linkSeed: seed ^ UInt64(link))
                injector.admit("\(link)#\(number)", on: link, direction: direction, fate: fate, now: now, deliveries: &deliveries)
                log += deliveries.map { "\(now) \($0)" }
            }
            return (log, injector.counts)
        }
        let (first, firstCounts) = replay(seed: 11)
        let (again, againCounts) = replay(seed: 11)
        XCTAssertEqual(first, again)
        XCTAssertEqual(firstCounts, againCounts)
        XCTAssertNotEqual(first, replay(seed: 12).0)
        for counts in [firstCounts.up, firstCounts.down] {
            XCTAssertEqual(counts.datagrams, 200)
            XCTAssertTrue((20...60).contains(counts.dropped), "\(counts)")
            XCTAssertGreaterThan(counts.duplicated, 0)
            XCTAssertGreaterThan(counts.reordered, 0)
            XCTAssertGreaterThan(counts.delayed, 0)
        }
    }

    // MARK: Devices

    func testEachDeviceMeetsTheSameFatesWhateverTheOtherDevicesAndTheStripeDo() {
        let impairment = LinkImpairment(lossUp: 0.3, lossDown: 0.3, duplicate: 0.2, reorder: 0.2)
        // One process with devices 0..<4 (global indices 100...103) against a worker of another
        // split holding only global device 102, as its local device 0.
        var whole = DeviceFaults(groups: [.init(devices: 0..<4, impairment: impairment)], deviceCount: 4, seed: 5, origin: at(0))
        var stripe = DeviceFaults(groups: [.init(devices: 0..<1, impairment: impairment)], deviceCount: 1, seed: 5, origin: at(0))
        var wholeFates: [DatagramFate] = []
        for step in 0..<200 {
            // Others' traffic interleaved: it must not move device 102's draws.
            _ = whole.fate(ofNextDatagramOf: step % 4 == 2 ? 0 : 3, globalIndex: step % 4 == 2 ? 100 : 103, direction: .up)
            wholeFates.append(whole.fate(ofNextDatagramOf: 2, globalIndex: 102, direction: step % 3 == 0 ? .down : .up))
        }
        let stripeFates = (0..<200).map { stripe.fate(ofNextDatagramOf: 0, globalIndex: 102, direction: $0 % 3 == 0 ? .down : .up) }
        XCTAssertEqual(wholeFates, stripeFates)
        XCTAssertTrue(wholeFates.contains { $0.isDropped })
        var otherSeed = DeviceFaults(groups: [.init(devices: 0..<1, impairment: impairment)], deviceCount: 1, seed: 6, origin: at(0))
        XCTAssertNotEqual((0..<200).map { otherSeed.fate(ofNextDatagramOf: 0, globalIndex: 102, direction: $0 % 3 == 0 ? .down : .up) }, stripeFates)
    }

    func testDevicesOutsideAFaultyGroupPassAndNeverRebind() {
        var faults = DeviceFaults(
            groups: [.init(devices: 0..<2, impairment: LinkImpairment(lossUp: 1, rebindEveryNanoseconds: 1_000 * millisecond)),
                     .init(devices: 2..<4, impairment: .none)],
            deviceCount: 4, seed: 1, origin: at(0))
        XCTAssertEqual(faults.groups.count, 1, "a group without faults is left out")
        XCTAssertEqual(faults.fate(ofNextDatagramOf: 3, globalIndex: 3, direction: .up), .pass)
        XCTAssertTrue(faults.fate(ofNextDatagramOf: 1, globalIndex: 1, direction: .up).isDropped)
        faults.bound(1, globalIndex: 1, now: at(0))
        faults.bound(3, globalIndex: 3, now: at(0))
        XCTAssertFalse(faults.needsRebinding(1, globalIndex: 1, now: at(0)))
        XCTAssertTrue(faults.needsRebinding(1, globalIndex: 1, now: at(1_000)), "one period later the mapping changed")
        XCTAssertFalse(faults.needsRebinding(1, globalIndex: 1, now: at(1_000)), "once")
        XCTAssertFalse(faults.needsRebinding(3, globalIndex: 3, now: at(60_000)))
        XCTAssertEqual(faults.counts.rebound, 0, "counted once the driver moved the sockets")
        faults.countRebinding()
        XCTAssertEqual(faults.counts.rebound, 1)
    }

    // MARK: Counts

    func testCountsAddAcrossWorkersAndSides() throws {
        var counts = FaultCounts()
        counts.up.datagrams = 10
        counts.up.dropped = 2
        counts.down.reordered = 1
        counts.rebound = 3
        var other = counts
        other.down.duplicated = 4
        counts.add(other)
        XCTAssertEqual(counts.up.datagrams, 20)
        XCTAssertEqual(counts.up.dropped, 4)
        XCTAssertEqual(counts.down.reordered, 2)
        XCTAssertEqual(counts.down.duplicated, 4)
        XCTAssertEqual(counts.rebound, 6)
        XCTAssertEqual(counts.summary, "up 20 datagrams: 4 dropped, 0 duplicated, 0 reordered, 0 delayed; "
            + "down 0 datagrams: 0 dropped, 4 duplicated, 2 reordered, 0 delayed; 6 NAT rebindings")
        XCTAssertEqual(try JSONDecoder().decode(FaultCounts.self, from: JSONEncoder().encode(counts)), counts)
    }
}
