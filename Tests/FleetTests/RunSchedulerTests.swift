@testable import Fleet
import LwM2MClient
import XCTest

/// The run's rules on a manual clock: arrivals, the in-flight cap, the end's pace and grace,
/// interrupts, the duration limit, churn, and the accounting of devices that did not get where
/// their profile aims.
final class RunSchedulerTests: XCTestCase {
    private static let second: UInt64 = 1_000_000_000
    private static let start: UInt64 = 1_000 * second

    /// A scheduler with its clock and the actions it produced so far.
    private struct Harness {
        var scheduler: RunScheduler
        var now = RunSchedulerTests.start
        var actions: [RunScheduler.Action] = []

        init(_ configuration: RunScheduler.Configuration) {
            scheduler = RunScheduler(configuration: configuration)
            scheduler.start(now: now, actions: &actions)
        }

        /// Runs every deadline up to `seconds` after the start, in order.
        mutating func advance(to seconds: Double) {
            let target = RunSchedulerTests.start + UInt64(seconds * 1e9)
            while let deadline = scheduler.nextDeadline, deadline <= target {
                now = max(now, deadline)
                scheduler.handleDeadline(now: now, actions: &actions)
            }
            now = max(now, target)
        }

        mutating func change(_ device: Int, _ from: DeviceState, _ to: DeviceState) {
            scheduler.deviceChanged(device, from: from, to: to, now: now, actions: &actions)
        }

        /// Takes the actions produced so far.
        mutating func take() -> [RunScheduler.Action] {
            defer { actions = [] }
            return actions
        }

        var started: [Int] { actions.compactMap { if case .start(let device, _) = $0 { device } else { nil } } }
        var stops: [(device: Int, deregister: Bool)] {
            actions.compactMap { if case .stop(let device, let deregister) = $0 { (device, deregister) } else { nil } }
        }
        var finished: Bool { actions.contains(.finish) }
    }

    private func configuration(
        devices: Int, ratePerSecond: Double = 10, arrivalSeconds: Double = 1, holdSeconds: Double = 0, end: EndOfRun = EndOfRun(),
        inFlightLimit: Int? = nil, durationLimitSeconds: Double? = nil, churnPerSecond: [Double] = []
    ) -> RunScheduler.Configuration {
        var segments = [ArrivalSchedule.Segment(durationSeconds: arrivalSeconds, startRate: ratePerSecond, endRate: ratePerSecond)]
        if holdSeconds > 0 { segments.append(ArrivalSchedule.Segment(durationSeconds: holdSeconds, startRate: 0, endRate: 0)) }
        return RunScheduler.Configuration(
            schedule: ArrivalSchedule(segments: segments, deviceCount: devices), deviceCount: devices, inFlightLimit: inFlightLimit,
            durationLimitSeconds: durationLimitSeconds, churnPerSecond: churnPerSecond, end: end,
            firstOperation: { $0 % 2 == 0 ? .bootstrap : .register })
    }

    /// Devices that started register at once and stay registered.
    private func registerStarted(_ harness: inout Harness) {
        for device in harness.started where harness.scheduler.state(of: device) == .idle {
            harness.change(device, .idle, .registering)
            harness.change(device, .registering, .registered)
        }
    }

    func testDevicesStartAtTheirIntendedTimesAndTheRunEndsWhenTheStagesAreDone() {
        var harness = Harness(configuration(devices: 10, ratePerSecond: 10, arrivalSeconds: 1, holdSeconds: 1, end: EndOfRun(mode: .drop)))
        harness.advance(to: 0.5)
        // 10/s: due at 50 ms, 150 ms, ...; by 0.5 s five have started, each on time.
        XCTAssertEqual(harness.started, [0, 1, 2, 3, 4])
        XCTAssertEqual(harness.actions.first, .arrival(intendedStage: 0, startedStage: 0, latenessNanoseconds: 0))
        registerStarted(&harness)
        harness.advance(to: 1.5)
        XCTAssertEqual(harness.started.count, 10)
        registerStarted(&harness)
        XCTAssertFalse(harness.actions.contains(.ending(.completed)), "the hold stage still runs")
        harness.advance(to: 2)
        XCTAssertTrue(harness.actions.contains(.ending(.completed)))
        // end: drop stops every device at once, without a De-register.
        XCTAssertEqual(harness.stops.count, 10)
        XCTAssertTrue(harness.stops.allSatisfy { !$0.deregister })
        for device in 0..<10 { harness.change(device, .registered, .stopped) }
        XCTAssertTrue(harness.finished)
        XCTAssertFalse(harness.scheduler.endedEarly)
        XCTAssertEqual(harness.scheduler.unfinishedDevices(), [], "registered devices dropped at the end got where they aim")
    }

    func testABacklogOfArrivalsIsWorkedOffInBatchesOfLaterTurns() {
        var harness = Harness(configuration(devices: 1_000, ratePerSecond: 10_000, arrivalSeconds: 0.1, end: EndOfRun(mode: .drop)))
        let late = Self.start + Self.second / 10
        harness.now = late
        harness.scheduler.handleDeadline(now: late, actions: &harness.actions)
        XCTAssertEqual(harness.started.count, RunScheduler.arrivalsPerTurn)
        XCTAssertEqual(harness.scheduler.nextDeadline, late + 1, "the rest in the next loop turn")
        harness.advance(to: 0.1000001)
        XCTAssertEqual(harness.started.count, 1_000)
    }

    func testArrivalsOverTheInFlightCapAreDroppedCountedAndUnfinished() {
        var harness = Harness(configuration(devices: 4, ratePerSecond: 4, arrivalSeconds: 1, end: EndOfRun(mode: .drop), inFlightLimit: 2))
        // Devices start bootstrapping and none finishes: two fill the cap.
        for step in 1...10 {
            harness.advance(to: Double(step) / 10)
            for device in harness.started where harness.scheduler.state(of: device) == .idle { harness.change(device, .idle, .bootstrapping) }
        }
        XCTAssertEqual(harness.started, [0, 1])
        XCTAssertEqual(harness.actions.filter { if case .droppedArrival = $0 { true } else { false } }.count, 2)
        let unfinished = harness.scheduler.unfinishedDevices()
        XCTAssertEqual(unfinished.filter { $0.state == "dropped" }.map(\.device), [2, 3])
        // Device 2 would have bootstrapped first, device 3 registered: each counts against that.
        XCTAssertEqual(unfinished.filter { $0.state == "dropped" }.map(\.pendingOperation), [.bootstrap, .register])
    }

    func testTheEndDeregistersAtItsPaceAndGivesUpAfterTheGrace() {
        let end = EndOfRun(mode: .deregister, deregistersPerSecond: 5, graceSeconds: 2)
        var harness = Harness(configuration(devices: 10, ratePerSecond: 10, arrivalSeconds: 1, holdSeconds: 1, end: end))
        harness.advance(to: 1)
        registerStarted(&harness)
        _ = harness.take()
        harness.advance(to: 2.0)
        XCTAssertEqual(harness.stops.count, 1, "the first De-register at once")
        harness.advance(to: 2.19)
        XCTAssertEqual(harness.stops.count, 1)
        harness.advance(to: 2.2)
        XCTAssertEqual(harness.stops.count, 2, "then one each 200 ms: 5/s")
        harness.advance(to: 3.0)
        XCTAssertEqual(harness.stops.count, 6)
        XCTAssertTrue(harness.stops.allSatisfy(\.deregister))
        // The server answers some of them.
        for stop in harness.stops.prefix(4) {
            harness.change(stop.device, .registered, .deregistering)
            harness.scheduler.operationFinished(stop.device, .deregister, .succeeded)
            harness.change(stop.device, .deregistering, .stopped)
        }
        let silent = harness.stops[4].device
        harness.change(silent, .registered, .deregistering)
        // Ten De-registers at 5/s take 1.8 s, then the grace of 2 s: the end gives up at 5.8 s.
        harness.advance(to: 5.79)
        XCTAssertFalse(harness.finished)
        harness.advance(to: 5.8)
        XCTAssertTrue(harness.finished)
        let unfinished = harness.scheduler.unfinishedDevices()
        XCTAssertEqual(unfinished.count, 6, "all but the four that De-registered")
        XCTAssertEqual(unfinished.first { $0.device == silent }?.state, "deregistering")
        XCTAssertNil(unfinished.first { $0.device == silent }?.pendingOperation, "its De-register counts as a timeout when cut off")
        XCTAssertEqual(unfinished.filter { $0.device != silent }.map(\.state), Array(repeating: "registered", count: 5))
        XCTAssertEqual(unfinished.filter { $0.device != silent }.map(\.pendingOperation), Array(repeating: .deregister, count: 5))
        let report = harness.scheduler.endOfRunReport()
        XCTAssertEqual(report?.deregistersSent, 10)
        XCTAssertEqual(report?.sendingSeconds ?? 0, 1.8, accuracy: 0.001)
        XCTAssertEqual(report?.unreached, 0, "every device was told; five never left registered")
    }

    func testDevicesTheEndNeverReachedAreCountedUnreached() {
        let end = EndOfRun(mode: .deregister, deregistersPerSecond: 1, graceSeconds: 0)
        var harness = Harness(configuration(devices: 10, ratePerSecond: 10, arrivalSeconds: 1, holdSeconds: 1, end: end))
        harness.advance(to: 1)
        registerStarted(&harness)
        harness.advance(to: 2.5)
        var actions: [RunScheduler.Action] = []
        // An interrupt during the end stops at once: nine devices never got their turn.
        harness.scheduler.interrupt(now: harness.now, actions: &actions)
        XCTAssertTrue(actions.contains(.finish))
        XCTAssertEqual(harness.scheduler.endOfRunReport()?.unreached, 9)
        XCTAssertEqual(harness.scheduler.endReason, .interrupted)
        XCTAssertTrue(harness.scheduler.endedEarly)
    }

    func testAFirstInterruptEndsTheRunWithDeRegistersAndASecondStopsAtOnce() {
        var harness = Harness(configuration(devices: 10, ratePerSecond: 10, arrivalSeconds: 1, holdSeconds: 60))
        harness.advance(to: 0.5)
        registerStarted(&harness)
        _ = harness.take()
        harness.scheduler.interrupt(now: harness.now, actions: &harness.actions)
        XCTAssertTrue(harness.actions.contains(.ending(.interrupted)))
        XCTAssertFalse(harness.finished)
        XCTAssertTrue(harness.stops.allSatisfy(\.deregister))
        harness.advance(to: 2)
        XCTAssertTrue(harness.started.isEmpty, "no arrival after the interrupt")
        harness.scheduler.interrupt(now: harness.now, actions: &harness.actions)
        XCTAssertTrue(harness.finished)
        XCTAssertTrue(harness.scheduler.endedEarly)
        let notStarted = harness.scheduler.unfinishedDevices().filter { $0.state == "not-started" }
        XCTAssertEqual(notStarted.map(\.device), [5, 6, 7, 8, 9], "devices that never arrived are counted")
    }

    func testTheDurationLimitEndsARunEarlyAndItsStoppedDevicesAreUnfinished() {
        var harness = Harness(configuration(devices: 100, ratePerSecond: 10, arrivalSeconds: 10, durationLimitSeconds: 3))
        harness.advance(to: 2.99)
        for device in harness.started {
            harness.change(device, .idle, .bootstrapping)
        }
        harness.advance(to: 3)
        XCTAssertTrue(harness.actions.contains(.ending(.durationLimit)))
        XCTAssertEqual(harness.scheduler.endReason, .durationLimit)
        XCTAssertTrue(harness.scheduler.endedEarly)
        // Bootstrapping devices have nothing to De-register: stopped at once.
        let stopped = harness.stops.map(\.device)
        XCTAssertEqual(stopped.count, 30)
        for device in stopped { harness.change(device, .bootstrapping, .stopped) }
        XCTAssertTrue(harness.finished, "every started device stopped")
        let unfinished = harness.scheduler.unfinishedDevices()
        XCTAssertEqual(unfinished.count, 100)
        XCTAssertEqual(unfinished.filter { $0.state == "bootstrapping" }.count, 30)
        XCTAssertTrue(unfinished.filter { $0.state == "bootstrapping" }.allSatisfy { $0.pendingOperation == nil })
        XCTAssertEqual(unfinished.filter { $0.state == "not-started" }.count, 70)
    }

    func testDevicesThatStoppedShortOfTheirAimAreUnfinishedByTheStateTheyStoppedIn() {
        var harness = Harness(configuration(
            devices: 5, ratePerSecond: 5, arrivalSeconds: 1, holdSeconds: 1, end: EndOfRun(mode: .deregister, deregistersPerSecond: 100)))
        harness.advance(to: 1)
        // 0: De-registered. 1: waits to register again. 2: waits to bootstrap again. 3: its De-register failed. 4: registered, then lost.
        harness.change(0, .idle, .registering)
        harness.change(0, .registering, .registered)
        harness.change(1, .idle, .registering)
        harness.change(1, .registering, .waitingToRegister)
        harness.change(2, .idle, .bootstrapping)
        harness.change(2, .bootstrapping, .waitingToBootstrap)
        harness.change(3, .idle, .registering)
        harness.change(3, .registering, .registered)
        harness.change(4, .idle, .registering)
        harness.change(4, .registering, .registered)
        _ = harness.take()
        harness.advance(to: 2.1)
        for stop in harness.stops {
            switch stop.device {
            case 0, 3, 4:
                harness.change(stop.device, .registered, .deregistering)
                harness.scheduler.operationFinished(stop.device, .deregister, stop.device == 0 ? .succeeded : .timedOut)
                harness.change(stop.device, .deregistering, .stopped)
            default:
                harness.change(stop.device, harness.scheduler.state(of: stop.device), .stopped)
            }
        }
        XCTAssertTrue(harness.finished)
        let unfinished = Dictionary(uniqueKeysWithValues: harness.scheduler.unfinishedDevices().map { ($0.device, $0) })
        XCTAssertNil(unfinished[0])
        XCTAssertEqual(unfinished[1]?.state, "waiting-to-register")
        XCTAssertEqual(unfinished[1]?.pendingOperation, .register)
        XCTAssertEqual(unfinished[2]?.state, "waiting-to-bootstrap")
        XCTAssertEqual(unfinished[2]?.pendingOperation, .bootstrap)
        XCTAssertEqual(unfinished[3]?.state, "deregistering")
        XCTAssertNil(unfinished[3]?.pendingOperation, "its failed De-register is counted already")
    }

    func testChurnedDevicesDeregisterAndComeBackWhileTheStagesRun() {
        var harness = Harness(configuration(devices: 10, ratePerSecond: 10, arrivalSeconds: 1, holdSeconds: 5, churnPerSecond: [0, 0.5]))
        harness.advance(to: 1)
        registerStarted(&harness)
        _ = harness.take()
        harness.advance(to: 2.0)
        // Half of the ten registered devices leave within the second after the tick that chose them.
        harness.advance(to: 2.999)
        let leaving = harness.stops
        XCTAssertEqual(leaving.count, 5)
        XCTAssertTrue(leaving.allSatisfy(\.deregister))
        for stop in leaving {
            harness.change(stop.device, .registered, .deregistering)
            harness.change(stop.device, .deregistering, .stopped)
        }
        harness.advance(to: 3.0)
        let restarted = harness.actions.compactMap { if case .restart(let device) = $0 { device } else { nil } }
        XCTAssertEqual(Set(restarted), Set(leaving.map(\.device)), "each comes back once stopped")
    }

    func testAChurnedDeviceWhoseReturnFallsDueWithTheEndOfTheStagesDoesNotComeBack() {
        // A late timer can make a churned device's return and the end of the stages due in one
        // call: restarted then, it would bootstrap and register after the end had drawn the
        // devices to De-register, stay registered, and make the end wait out its grace.
        var harness = Harness(configuration(devices: 10, ratePerSecond: 10, arrivalSeconds: 1, holdSeconds: 5, churnPerSecond: [0, 0.1]))
        harness.advance(to: 1)
        registerStarted(&harness)
        harness.advance(to: 4.999)
        _ = harness.take()
        harness.advance(to: 5.999999999)
        let leaving = try! XCTUnwrap(harness.stops.first, "a device leaves in the last second of the stages")
        harness.change(leaving.device, .registered, .deregistering)
        harness.change(leaving.device, .deregistering, .stopped)
        harness.advance(to: 6.0)
        XCTAssertFalse(harness.actions.contains { if case .restart = $0 { true } else { false } }, "\(harness.actions)")
    }

    func testAnInterruptBeforeTheStartFinishesWithEveryDeviceUnfinished() {
        var scheduler = RunScheduler(configuration: configuration(devices: 3))
        var actions: [RunScheduler.Action] = []
        scheduler.interrupt(now: Self.start, actions: &actions)
        XCTAssertEqual(actions, [.finish])
        XCTAssertEqual(scheduler.unfinishedDevices().map(\.state), ["not-started", "not-started", "not-started"])
    }
}
