import CoAP
import EventLoop
import Foundation
import LwM2MClient

/// Runs a fleet on one event loop: devices start at their intended arrival times, their
/// outcomes go into `FleetMetrics`, progress goes to stderr every second, and the run ends by
/// deregistering (or dropping) the devices. A first SIGINT/SIGTERM ends the run early within
/// a grace period; a second ends it at once. Either way the metrics are returned, whole.
public final class FleetRunner {
    /// What the runner needs to know, built from a fleet file.
    public struct Plan {
        public var devices: [LwM2MClient]
        public var schedule: ArrivalSchedule
        public var stageNames: [String]
        public var deregisterAtEnd: Bool
        public var inFlightLimit: Int?
        public var durationLimitSeconds: Double?
        public var localAddress: SocketAddress
        /// How long devices get to deregister at the end or after an interrupt.
        public var endGraceSeconds: Double
        /// This process runs fleet arrivals `shardIndex`, `shardIndex + shardCount`, ...: device k of
        /// `devices` is arrival `shardIndex + k * shardCount` of the whole fleet's schedule.
        public var shardIndex = 0
        public var shardCount = 1
        /// Per stage: the fraction of registered devices that deregister and come back each second.
        public var churnPerSecond: [Double] = []
        /// Builds a device afresh from the one it replaces, for its `incarnation`-th return after
        /// churn (1, 2, ...): a rebooted device, whose CoAP message IDs and tokens must not repeat
        /// the last ones'.
        public var makeDevice: (@Sendable (_ replacing: LwM2MClient, _ incarnation: UInt32) -> LwM2MClient)?
        /// Source addresses, and which one each device binds to (empty: `localAddress` for all).
        public var sourceAddresses: [SocketAddress] = []
        public var sourceAddressOfDevice: [UInt8] = []

        public init(
            devices: [LwM2MClient], schedule: ArrivalSchedule, stageNames: [String], deregisterAtEnd: Bool,
            inFlightLimit: Int?, durationLimitSeconds: Double?, localAddress: SocketAddress, endGraceSeconds: Double = 15
        ) {
            self.devices = devices
            self.schedule = schedule
            self.stageNames = stageNames
            self.deregisterAtEnd = deregisterAtEnd
            self.inFlightLimit = inFlightLimit
            self.durationLimitSeconds = durationLimitSeconds
            self.localAddress = localAddress
            self.endGraceSeconds = endGraceSeconds
        }
    }

    /// How a run ended.
    public struct Outcome {
        public var metrics: FleetMetrics
        public var interrupted: Bool
        public var elapsedSeconds: Double
    }

    private enum Phase {
        case arriving
        case ending(deadline: UInt64)
        case finished
    }

    /// The plan without its devices, which the driver owns: a second array of them would keep
    /// a copy of every device alive once the driver changes one.
    private let plan: Plan
    private let deviceCount: Int
    private let loop: EventLoop
    private let driver: DeviceDriver
    private var metrics = FleetMetrics()
    private var phase = Phase.arriving
    private var start: UInt64 = 0
    private var nextArrival = 0
    /// Each device's intended arrival (loop nanoseconds) until its first operation ends.
    private var intendedStart: [UInt64]
    private var devicesInState: [String: Int] = [:]
    private var interrupts = 0
    /// Devices deregistering for churn, to be started again once stopped.
    private var churning: Set<Int> = []
    private var churnCarry = 0.0
    /// Churned devices that will deregister, by when, soonest last; spread over the second after
    /// the tick that chose them, so churn is a steady trickle rather than a storm at each tick.
    private var departures: [(at: UInt64, device: Int)] = []
    private var returning: [Int] = []
    private var incarnations: [Int: UInt32] = [:]
    private var churnRandom = SeededRandom(seed: 0xC4_0124)
    private var lastProgress = ProgressSnapshot()
    private let progress: ProgressPrinter

    private static let arrivalTag = DeviceDriver.firstOwnerTag
    private static let tickTag = DeviceDriver.firstOwnerTag + 1
    private static let lagProbeTag = DeviceDriver.firstOwnerTag + 2
    private static let departureTag = DeviceDriver.firstOwnerTag + 3
    private static let returnTag = DeviceDriver.firstOwnerTag + 4
    /// Arrivals started in one loop turn at most: a generator that fell behind still reads its
    /// sockets, signals and end of run between batches.
    private static let arrivalsPerTurn = 256
    /// De-registers in flight at once at the end, for the whole fleet: 100,000 sent together would
    /// overflow the server's receive buffer and come back as retransmissions past the grace period.
    /// Each worker (or shard) keeps its share, so 12 workers do not send 12 times as many.
    static func endingDeregistersInFlight(shards: Int) -> Int {
        max(16, 1_000 / max(shards, 1))
    }
    /// Started devices not yet told to stop, once the run is ending; the next is at the end.
    private var stillToStop: [Int] = []
    private static let lagProbeNanoseconds: UInt64 = 10_000_000
    private var lagProbeDue: UInt64 = 0

    public init(plan: Plan, progress: ProgressPrinter = ProgressPrinter()) throws {
        self.progress = progress
        loop = try EventLoop()
        var plan = plan
        driver = DeviceDriver(loop: loop, devices: plan.devices, localAddress: plan.localAddress)
        deviceCount = plan.devices.count
        plan.devices = []
        self.plan = plan
        driver.sourceAddresses = plan.sourceAddresses
        driver.sourceAddressOfDevice = plan.sourceAddressOfDevice
        intendedStart = Array(repeating: 0, count: deviceCount)
    }

    /// Runs the fleet to its end (or an interrupt) and returns what was measured.
    public func run() throws -> Outcome {
        driver.observer = { [unowned self] device, action, now in observe(device: device, action: action, now: now) }
        driver.install { [unowned self] tag, now in ownerTimer(tag: tag, now: now) }
        try loop.watchSignals([SIGINT, SIGTERM])
        loop.signalReceived = { [unowned self] _ in interrupted() }
        start = loop.now
        devicesInState["idle"] = deviceCount
        scheduleNextArrival()
        _ = loop.schedule(at: start + 1_000_000_000, tag: Self.tickTag)
        lagProbeDue = start + Self.lagProbeNanoseconds
        _ = loop.schedule(at: lagProbeDue, tag: Self.lagProbeTag)
        loop.run()
        let elapsed = Double(loop.now - start) / 1e9
        metrics.recordBytes(sent: driver.bytesSent, received: driver.bytesReceived)
        metrics.closeInterval(elapsedNanoseconds: loop.now - start)
        progress.finish()
        return Outcome(metrics: metrics, interrupted: interrupts > 0, elapsedSeconds: elapsed)
    }

    // MARK: Arrivals

    /// When this process's next device is due, in seconds from the start; nil when none is left.
    private func intendedStart(ofLocal device: Int) -> Double? {
        guard device < deviceCount else { return nil }
        return plan.schedule.intendedStart(of: plan.shardIndex + device * plan.shardCount)
    }

    /// Schedules the arrival timer for the next device, but after `now` (a later loop turn) when
    /// it is already due, so a backlog is worked off in turns.
    private func scheduleNextArrival(after now: UInt64? = nil) {
        guard case .arriving = phase else { return }
        guard let seconds = intendedStart(ofLocal: nextArrival) else { return }
        let due = start + UInt64(seconds * 1e9)
        _ = loop.schedule(at: now.map { max(due, $0 + 1) } ?? due, tag: Self.arrivalTag)
    }

    private func startDueArrivals(now: UInt64) {
        var startedThisTurn = 0
        while case .arriving = phase, startedThisTurn < Self.arrivalsPerTurn, let seconds = intendedStart(ofLocal: nextArrival) {
            let due = start + UInt64(seconds * 1e9)
            guard due <= now else { break }
            let device = nextArrival
            nextArrival += 1
            startedThisTurn += 1
            let startedSeconds = Double(now - start) / 1e9
            metrics.recordScheduledArrival(
                intendedStage: plan.schedule.segmentIndex(at: seconds),
                startedStage: startedSeconds < plan.schedule.durationSeconds
                    ? plan.schedule.segmentIndex(at: startedSeconds) : plan.schedule.segments.count,
                latenessNanoseconds: now - due)
            let inFlight = (devicesInState["bootstrapping"] ?? 0) + (devicesInState["registering"] ?? 0)
            if let limit = plan.inFlightLimit, inFlight >= limit {
                // Over the cap: counted, never silently skipped.
                metrics.recordDroppedArrival()
                continue
            }
            intendedStart[device] = due
            driver.start(device: device, now: Timestamp(nanoseconds: now))
        }
        scheduleNextArrival(after: now)
    }

    // MARK: Timers

    private func ownerTimer(tag: UInt64, now: UInt64) {
        switch tag {
        case Self.arrivalTag:
            startDueArrivals(now: now)
        case Self.lagProbeTag:
            // How late the loop ran this timer: the generator's own lag.
            metrics.recordLoopLag(nanoseconds: now > lagProbeDue ? now - lagProbeDue : 0)
            lagProbeDue = now + Self.lagProbeNanoseconds
            _ = loop.schedule(at: lagProbeDue, tag: Self.lagProbeTag)
        case Self.tickTag:
            tick(now: now)
            _ = loop.schedule(at: now + 1_000_000_000, tag: Self.tickTag)
        case Self.departureTag:
            departDue(now: now)
        case Self.returnTag:
            let due = returning
            returning.removeAll()
            for device in due { comeBack(device, now: Timestamp(nanoseconds: now)) }
        default:
            break
        }
    }

    /// Once a second: interval metrics, progress, and the end of the run when it is due.
    private func tick(now: UInt64) {
        let elapsed = Double(now - start) / 1e9
        metrics.closeInterval(elapsedNanoseconds: now - start)
        let snapshot = ProgressSnapshot(
            elapsedSeconds: elapsed, arrivals: nextArrival,
            stage: plan.stageNames.isEmpty ? "" : plan.stageNames[min(plan.schedule.segmentIndex(at: elapsed), plan.stageNames.count - 1)],
            targetRate: plan.schedule.rate(at: elapsed),
            registered: (devicesInState["registered"] ?? 0) + (devicesInState["updating"] ?? 0),
            bootstrapping: devicesInState["bootstrapping"] ?? 0,
            failed: Int(metrics.value(for: "devices.failed") ?? 0),
            registerP50: metrics.value(for: "register.latency.p50") ?? 0,
            registerP99: metrics.value(for: "register.latency.p99") ?? 0,
            errors: Int(MetricCatalog.operations.reduce(0) { $0 + (metrics.value(for: "\($1).failed") ?? 0) }),
            violations: Int(metrics.value(for: "violations") ?? 0),
            loopLagP99: metrics.value(for: "loop_lag.p99") ?? 0)
        progress.show(snapshot, since: lastProgress)
        lastProgress = snapshot
        if case .arriving = phase { churn(elapsed: elapsed, now: now) }
        switch phase {
        case .arriving:
            let arrivalsDone = intendedStart(ofLocal: nextArrival) == nil
            let pastStages = elapsed >= plan.schedule.durationSeconds
            let pastLimit = plan.durationLimitSeconds.map { elapsed >= $0 } ?? false
            if (arrivalsDone && pastStages) || pastLimit { beginEnding(now: now) }
        case .ending(let deadline):
            stopMore(now: now)
            if now >= deadline || allStopped { finish() }
        case .finished:
            break
        }
    }

    /// Picks the stage's share of registered devices for the coming second; each deregisters at
    /// a random moment of that second and comes back once deregistered.
    private func churn(elapsed: Double, now: UInt64) {
        let stage = plan.schedule.segmentIndex(at: elapsed)
        guard stage < plan.churnPerSecond.count, plan.churnPerSecond[stage] > 0, plan.makeDevice != nil else { return }
        var candidates = (0..<nextArrival).filter { $0 < deviceCount && driver.devices[$0].isRegistered && !churning.contains($0) }
        churnCarry += Double(candidates.count) * plan.churnPerSecond[stage]
        var leaving = Int(churnCarry)
        churnCarry -= Double(leaving)
        while leaving > 0, !candidates.isEmpty {
            // Swap-remove: picking stays linear in the leavers however many devices run.
            let pick = Int(churnRandom.next() % UInt64(candidates.count))
            candidates.swapAt(pick, candidates.count - 1)
            let device = candidates.removeLast()
            churning.insert(device)
            departures.append((now + churnRandom.next() % 1_000_000_000, device))
            leaving -= 1
        }
        departures.sort { $0.at > $1.at }
        if let next = departures.last { _ = loop.schedule(at: next.at, tag: Self.departureTag) }
    }

    /// Deregisters the churned devices whose moment came.
    private func departDue(now: UInt64) {
        while let next = departures.last, next.at <= now {
            departures.removeLast()
            guard case .arriving = phase else { continue }
            driver.stop(device: next.device, deregister: true, now: Timestamp(nanoseconds: now))
        }
        if let next = departures.last { _ = loop.schedule(at: next.at, tag: Self.departureTag) }
    }

    /// A churned device that finished deregistering comes back as a rebooted device, at once.
    private func comeBack(_ device: Int, now: Timestamp) {
        guard churning.remove(device) != nil, case .arriving = phase, let makeDevice = plan.makeDevice else { return }
        let incarnation = incarnations[device, default: 0] + 1
        incarnations[device] = incarnation
        driver.replace(device: device, with: makeDevice(driver.devices[device], incarnation))
        devicesInState["stopped", default: 0] -= 1
        devicesInState["idle", default: 0] += 1
        metrics.recordStateChange(from: "stopped", to: "idle")
        metrics.recordReturn()
        intendedStart[device] = now.nanoseconds
        driver.start(device: device, now: now)
    }

    private var allStopped: Bool {
        (devicesInState["stopped"] ?? 0) + (devicesInState["idle"] ?? 0) >= deviceCount
    }

    /// Stops arrivals; deregisters (at most `endingDeregistersInFlight` at a time) or drops every started device.
    private func beginEnding(now: UInt64) {
        guard case .arriving = phase else { return }
        phase = .ending(deadline: now + UInt64(plan.endGraceSeconds * 1e9))
        departures.removeAll()
        stillToStop = Array((0..<nextArrival).reversed())
        stopMore(now: now)
        if allStopped { finish() }
    }

    /// Tells more devices to stop while fewer than the window are deregistering.
    private func stopMore(now: UInt64) {
        while let device = stillToStop.last {
            if plan.deregisterAtEnd, devicesInState["deregistering", default: 0] >= Self.endingDeregistersInFlight(shards: plan.shardCount) {
                return
            }
            stillToStop.removeLast()
            driver.stop(device: device, deregister: plan.deregisterAtEnd, now: Timestamp(nanoseconds: now))
        }
    }

    private func finish() {
        guard !isFinished else { return }
        recordOperationsCutOff(now: loop.now)
        phase = .finished
        loop.stop()
    }

    private var isFinished: Bool {
        if case .finished = phase { true } else { false }
    }

    /// Operations still unanswered when the run stops (the end grace ran out, or a second
    /// interrupt) count as timeouts: a De-register cut off must not pass `deregister.failed == 0`.
    private func recordOperationsCutOff(now: UInt64) {
        for device in 0..<min(nextArrival, driver.devices.count) {
            let cutOff: (LwM2MOperation, Timestamp)? = switch driver.devices[device].state {
            case .bootstrapping(let startedAt, _, _): (.bootstrap, startedAt)
            case .registering(let startedAt, _): (.register, startedAt)
            case .deregistering(let startedAt, _): (.deregister, startedAt)
            case .registered(let registration): registration.update.map { (.update, $0.startedAt) }
            default: nil
            }
            guard let (operation, startedAt) = cutOff else { continue }
            let elapsed = now - min(startedAt.nanoseconds, now)
            metrics.recordOperation(operation.rawValue, outcome: .timedOut, code: nil, latencyNanoseconds: elapsed, serviceNanoseconds: elapsed)
        }
    }

    private func interrupted() {
        interrupts += 1
        if interrupts == 1 {
            progress.note("interrupted: stopping arrivals, deregistering (a second interrupt stops at once)")
            beginEnding(now: loop.now)
        } else {
            finish()
        }
    }

    // MARK: Device reports

    private func observe(device: Int, action: ClientAction, now: Timestamp) {
        switch action {
        case .operationFinished(let operation, let outcome, let code, let startedAt):
            let intended = intendedStart[device]
            let from = intended > 0 ? min(intended, startedAt.nanoseconds) : startedAt.nanoseconds
            if intended > 0 { intendedStart[device] = 0 }
            metrics.recordOperation(
                operation.rawValue, outcome: outcome, code: code,
                latencyNanoseconds: now.nanoseconds - min(from, now.nanoseconds),
                serviceNanoseconds: now.nanoseconds - min(startedAt.nanoseconds, now.nanoseconds))
        case .requestHandled(let operation?, _, let code):
            metrics.recordRequestHandled(operation.rawValue, code: code)
        case .violation(let violation):
            metrics.recordViolation(violation)
        case .retransmissions(let count):
            metrics.recordRetransmissions(count)
        case .stateChanged(let from, let to):
            devicesInState[from, default: 0] -= 1
            devicesInState[to, default: 0] += 1
            metrics.recordStateChange(from: from, to: to)
            // Started again in the next loop turn, outside the driver's handling of this device's actions.
            if to == "stopped", churning.contains(device) {
                if returning.isEmpty { _ = loop.schedule(at: now.nanoseconds + 1, tag: Self.returnTag) }
                return returning.append(device)
            }
            if case .ending = phase {
                if from == "deregistering" { stopMore(now: now.nanoseconds) }
                if allStopped { finish() }
            }
        case .notificationSent:
            metrics.recordRequestHandled(LwM2MOperation.notify.rawValue, code: .content)
        default:
            break
        }
    }
}
