import CoAP
import LwM2MClient

/// Decides, for one process's stripe of a fleet, when each device starts and stops: arrivals on
/// schedule, the in-flight cap, churn, the end of the run (paced De-registers within a grace
/// period, or a drop), interrupts, and at the end which devices did not get where their profile
/// aims. Sans-I/O: events and `now` (loop nanoseconds) in, `Action`s out, `nextDeadline` for the
/// one timer the runner keeps for it; tested on a manual clock.
public struct RunScheduler: Sendable {
    /// What the scheduler needs to know of the fleet.
    public struct Configuration: Sendable {
        public var schedule: ArrivalSchedule
        /// This process runs arrivals `stripe.index`, `stripe.index + stripe.count`, ...: device k
        /// (local) is arrival `stripe.index + k * stripe.count` of the whole fleet.
        public var stripeIndex: Int
        public var stripeCount: Int
        /// Devices of this stripe.
        public var deviceCount: Int
        /// At most this many devices bootstrapping or registering at once; arrivals over it are dropped.
        public var inFlightLimit: Int?
        public var durationLimitSeconds: Double?
        /// Per stage: the fraction of registered devices that deregister and come back each second.
        public var churnPerSecond: [Double]
        public var end: EndOfRun
        /// The operation a device starts with (bootstrap or register): a device that never started
        /// is counted as unfinished against it.
        public var firstOperation: @Sendable (_ device: Int) -> LwM2MOperation
        public var seed: UInt64

        public init(
            schedule: ArrivalSchedule, stripeIndex: Int = 0, stripeCount: Int = 1, deviceCount: Int, inFlightLimit: Int? = nil,
            durationLimitSeconds: Double? = nil, churnPerSecond: [Double] = [], end: EndOfRun = EndOfRun(),
            firstOperation: @escaping @Sendable (Int) -> LwM2MOperation = { _ in .register }, seed: UInt64 = 0xC4_0124
        ) {
            self.schedule = schedule
            self.stripeIndex = stripeIndex
            self.stripeCount = stripeCount
            self.deviceCount = deviceCount
            self.inFlightLimit = inFlightLimit
            self.durationLimitSeconds = durationLimitSeconds
            self.churnPerSecond = churnPerSecond
            self.end = end
            self.firstOperation = firstOperation
            self.seed = seed
        }
    }

    /// What the runner carries out or records.
    public enum Action: Hashable, Sendable {
        /// Start the device now (its intended arrival time was `intended`, loop nanoseconds).
        case start(device: Int, intended: UInt64)
        /// Stop the device: De-register first when `deregister`, or go silent.
        case stop(device: Int, deregister: Bool)
        /// A churned device comes back as a rebooted one: replace it, then start it.
        case restart(device: Int)
        /// A scheduled arrival: the stage it was meant for, the stage it started in (one past the
        /// last when after the stages), and how late.
        case arrival(intendedStage: Int, startedStage: Int, latenessNanoseconds: UInt64)
        /// An arrival over the in-flight cap: not started, counted.
        case droppedArrival(device: Int)
        /// The run is ending, and why.
        case ending(EndReason)
        /// Stop the loop: every device is stopped, or the end's grace ran out, or a second interrupt.
        case finish
    }

    /// Why a run ended.
    public enum EndReason: String, Hashable, Sendable, Codable {
        /// Every stage ran and every device arrived.
        case completed
        /// `duration-limit` was reached before the stages were done.
        case durationLimit = "duration-limit"
        /// SIGINT or SIGTERM.
        case interrupted
    }

    /// A device that did not get where its profile aims, and the state it stopped in.
    public struct UnfinishedDevice: Hashable, Sendable {
        public var device: Int
        /// A `DeviceState` name, or `not-started` / `dropped` for a device that never started.
        public var state: String
        /// The operation it still needed, when no failure of it is recorded yet (a device waiting
        /// to retry, or never started); nil when its last attempt already counts as failed.
        public var pendingOperation: LwM2MOperation?
    }

    private enum Phase: Sendable {
        case idle
        case arriving
        case ending
        case finished
    }

    /// What the scheduler knows of one device; three bytes, so a fleet's worth stays small.
    private struct DeviceRecord: Sendable {
        var state = DeviceState.idle
        /// The state it was in when it last stopped.
        var stoppedFrom = DeviceState.idle
        var flags: UInt8 = 0

        static let started: UInt8 = 1
        static let dropped: UInt8 = 2
        /// Its last De-register succeeded.
        static let deregistered: UInt8 = 4

        func has(_ flag: UInt8) -> Bool { flags & flag != 0 }
        mutating func set(_ flag: UInt8, _ on: Bool = true) { flags = on ? flags | flag : flags & ~flag }
    }

    public let configuration: Configuration
    private var phase = Phase.idle
    private var startTime: UInt64 = 0
    private var records: [DeviceRecord]
    private var devicesIn: [Int]
    /// The next local device to arrive.
    public private(set) var nextArrival = 0
    private var arrivalWake: UInt64?
    private var nextTick: UInt64 = .max
    /// When the last stage ends; `.max` once passed.
    private var stagesEnd: UInt64 = .max
    private var stagesOver = false
    public private(set) var endReason: EndReason?
    // Churn.
    private var churning: Set<Int> = []
    private var churnCarry = 0.0
    /// Churned devices that will deregister, by when, soonest last.
    private var departures: [(at: UInt64, device: Int)] = []
    private var returning: [Int] = []
    private var returnWake: UInt64?
    private var random: SeededRandom
    // The end.
    private var endStart: UInt64 = 0
    private var endDeadline: UInt64 = .max
    /// Devices to De-register at the pace, the next last.
    private var pacedStops: [Int] = []
    private var pacedStopsSent = 0
    private var lastPacedStop: UInt64 = 0
    private var paceWake: UInt64?

    /// Arrivals started in one call at most: a generator that fell behind still reads its
    /// sockets, signals and end of run between batches.
    public static let arrivalsPerTurn = 256

    public init(configuration: Configuration) {
        self.configuration = configuration
        records = Array(repeating: DeviceRecord(), count: configuration.deviceCount)
        devicesIn = Array(repeating: 0, count: DeviceState.allCases.count)
        devicesIn[Int(DeviceState.idle.rawValue)] = configuration.deviceCount
        random = SeededRandom(seed: configuration.seed)
    }

    // MARK: Reading

    /// Devices of this stripe in `state` now.
    public func devices(in state: DeviceState) -> Int { devicesIn[Int(state.rawValue)] }

    public func state(of device: Int) -> DeviceState { records[device].state }

    /// When `handleDeadline` next has work; nil once finished.
    public var nextDeadline: UInt64? {
        switch phase {
        case .idle, .finished:
            return nil
        case .arriving:
            // Read after every device's state change: no array built here.
            return min(
                min(nextTick, stagesEnd), min(arrivalWake ?? .max, returnWake ?? .max),
                min(departures.last?.at ?? .max, durationLimitDeadline ?? .max))
        case .ending:
            return min(paceWake ?? .max, endDeadline)
        }
    }

    public var isFinished: Bool { if case .finished = phase { true } else { false } }

    /// Whether the run is ending: what devices do now is the end's doing.
    public var isEnding: Bool { if case .ending = phase { true } else { false } }

    /// Whether the run ended before its stages were done (an interrupt, or the duration limit).
    public var endedEarly: Bool { endReason.map { $0 != .completed } ?? false }

    /// Seconds from the start to `now`.
    public func elapsedSeconds(at now: UInt64) -> Double { Double(now - min(startTime, now)) / 1e9 }

    private var durationLimitDeadline: UInt64? {
        configuration.durationLimitSeconds.map { startTime + UInt64($0 * 1e9) }
    }

    /// When local device `device` is due, in seconds from the start; nil past the last.
    private func intendedStart(ofLocal device: Int) -> Double? {
        guard device < configuration.deviceCount else { return nil }
        return configuration.schedule.intendedStart(of: configuration.stripeIndex + device * configuration.stripeCount)
    }

    private func due(_ seconds: Double) -> UInt64 { startTime + UInt64(seconds * 1e9) }

    // MARK: Events

    /// Starts the run at `now`.
    public mutating func start(now: UInt64, actions: inout [Action]) {
        guard case .idle = phase else { return }
        phase = .arriving
        startTime = now
        nextTick = now + 1_000_000_000
        stagesEnd = due(configuration.schedule.durationSeconds)
        arrivalWake = intendedStart(ofLocal: 0).map(due)
        handleDeadline(now: now, actions: &actions)
    }

    /// Does what is due at `now`: returns after churn, churn departures, arrivals, the once-a-second
    /// churn choice, the end of the stages or the duration limit, the end's pace and grace.
    public mutating func handleDeadline(now: UInt64, actions: inout [Action]) {
        if case .arriving = phase {
            departDue(now: now, actions: &actions)
            if let wake = arrivalWake, wake <= now { startDueArrivals(now: now, actions: &actions) }
            if nextTick <= now {
                chooseChurn(now: now)
                nextTick = now + 1_000_000_000
            }
            if now >= stagesEnd {
                stagesOver = true
                stagesEnd = .max
            }
            // A generator that fell behind still starts every device before the run ends.
            if stagesOver, intendedStart(ofLocal: nextArrival) == nil {
                beginEnding(.completed, now: now, actions: &actions)
            } else if let limit = durationLimitDeadline, now >= limit {
                beginEnding(.durationLimit, now: now, actions: &actions)
            }
        }
        // After the end's check: a return due with the end of the stages (a late timer) would
        // otherwise start a device the end has not drawn to stop, which would then register and
        // stay, and the end would wait out its grace for it.
        if case .arriving = phase, let wake = returnWake, wake <= now { comeBack(actions: &actions) }
        if case .ending = phase {
            stopAtPace(now: now, actions: &actions)
            if now >= endDeadline || allStopped { finish(actions: &actions) }
        }
    }

    /// A device moved from one state to another.
    public mutating func deviceChanged(_ device: Int, from: DeviceState, to: DeviceState, now: UInt64, actions: inout [Action]) {
        devicesIn[Int(from.rawValue)] -= 1
        devicesIn[Int(to.rawValue)] += 1
        records[device].state = to
        if to == .stopped {
            records[device].stoppedFrom = from
        } else if to == .bootstrapping || to == .registering {
            // A new attempt: what the last De-register did no longer says how this life ends.
            records[device].set(DeviceRecord.deregistered, false)
        }
        if to == .stopped, churning.contains(device), case .arriving = phase {
            // Started again in a later turn, outside the runner's handling of this device's actions.
            returning.append(device)
            returnWake = returnWake ?? now + 1
            return
        }
        if case .ending = phase, allStopped { finish(actions: &actions) }
    }

    /// An operation a device started ended; the scheduler keeps whether a De-register succeeded.
    public mutating func operationFinished(_ device: Int, _ operation: LwM2MOperation, _ outcome: OperationOutcome) {
        guard operation == .deregister else { return }
        records[device].set(DeviceRecord.deregistered, outcome == .succeeded)
    }

    /// SIGINT or SIGTERM: while devices arrive, the run ends as usual (De-registers at the pace,
    /// within the grace); once it is ending, it stops at once.
    public mutating func interrupt(now: UInt64, actions: inout [Action]) {
        switch phase {
        case .idle, .arriving:
            beginEnding(.interrupted, now: now, actions: &actions)
        case .ending:
            endReason = .interrupted
            finish(actions: &actions)
        case .finished:
            break
        }
    }

    // MARK: Arrivals

    private mutating func startDueArrivals(now: UInt64, actions: inout [Action]) {
        var startedThisTurn = 0
        arrivalWake = nil
        while startedThisTurn < Self.arrivalsPerTurn, let seconds = intendedStart(ofLocal: nextArrival) {
            let due = due(seconds)
            guard due <= now else {
                arrivalWake = due
                return
            }
            let device = nextArrival
            nextArrival += 1
            startedThisTurn += 1
            let schedule = configuration.schedule
            let startedSeconds = elapsedSeconds(at: now)
            actions.append(.arrival(
                intendedStage: schedule.segmentIndex(at: seconds),
                startedStage: startedSeconds < schedule.durationSeconds ? schedule.segmentIndex(at: startedSeconds) : schedule.segments.count,
                latenessNanoseconds: now - due))
            let comingOnline = devices(in: .bootstrapping) + devices(in: .registering)
            if let limit = configuration.inFlightLimit, comingOnline >= limit {
                // Over the cap: counted, never silently skipped.
                records[device].set(DeviceRecord.dropped)
                actions.append(.droppedArrival(device: device))
                continue
            }
            records[device].set(DeviceRecord.started)
            actions.append(.start(device: device, intended: due))
        }
        // A backlog is worked off in later turns.
        if intendedStart(ofLocal: nextArrival) != nil { arrivalWake = now + 1 }
    }

    // MARK: Churn

    /// Picks the stage's share of registered devices for the coming second; each deregisters at
    /// a random moment of that second and comes back once stopped.
    private mutating func chooseChurn(now: UInt64) {
        let stage = configuration.schedule.segmentIndex(at: elapsedSeconds(at: now))
        guard stage < configuration.churnPerSecond.count, configuration.churnPerSecond[stage] > 0 else { return }
        var candidates = (0..<nextArrival).filter { records[$0].state == .registered && !churning.contains($0) }
        churnCarry += Double(candidates.count) * configuration.churnPerSecond[stage]
        var leaving = Int(churnCarry)
        churnCarry -= Double(leaving)
        while leaving > 0, !candidates.isEmpty {
            // Swap-remove: picking stays linear in the leavers however many devices run.
            let pick = Int(random.next() % UInt64(candidates.count))
            candidates.swapAt(pick, candidates.count - 1)
            let device = candidates.removeLast()
            churning.insert(device)
            departures.append((now + random.next() % 1_000_000_000, device))
            leaving -= 1
        }
        departures.sort { $0.at > $1.at }
    }

    private mutating func departDue(now: UInt64, actions: inout [Action]) {
        while let next = departures.last, next.at <= now {
            departures.removeLast()
            actions.append(.stop(device: next.device, deregister: true))
        }
    }

    private mutating func comeBack(actions: inout [Action]) {
        returnWake = nil
        let due = returning
        returning.removeAll()
        for device in due where churning.remove(device) != nil {
            actions.append(.restart(device: device))
        }
    }

    // MARK: The end

    private var allStopped: Bool { devices(in: .stopped) + devices(in: .idle) >= configuration.deviceCount }

    /// Stops arrivals and churn. With `end: drop` every started device stops at once; with
    /// `deregister`, devices with nothing to De-register stop at once and the registered ones are
    /// told to De-register at the end's pace; the grace runs from the last of those.
    private mutating func beginEnding(_ reason: EndReason, now: UInt64, actions: inout [Action]) {
        guard case .arriving = phase else {
            // Interrupted before it started: nothing to stop.
            if case .idle = phase {
                endReason = reason
                finish(actions: &actions)
            }
            return
        }
        phase = .ending
        endReason = reason
        actions.append(.ending(reason))
        departures.removeAll()
        returning.removeAll()
        churning.removeAll()
        endStart = now
        let end = configuration.end
        for device in 0..<nextArrival where records[device].has(DeviceRecord.started) {
            let state = records[device].state
            guard state != .stopped, state != .idle else { continue }
            if end.mode == .deregister, state.isRegistered || state == .registering {
                pacedStops.append(device)
            } else {
                actions.append(.stop(device: device, deregister: end.mode == .deregister))
            }
        }
        pacedStops.reverse()
        // The first goes at once, the last (count - 1) / rate later; the grace runs from there.
        let paceSeconds = end.deregistersPerSecond > 0 ? Double(max(pacedStops.count - 1, 0)) / end.deregistersPerSecond : 0
        endDeadline = now + UInt64((paceSeconds + end.graceSeconds) * 1e9)
        paceWake = pacedStops.isEmpty ? nil : now
        stopAtPace(now: now, actions: &actions)
        if allStopped { finish(actions: &actions) }
    }

    /// Tells the next devices to De-register, as many as the pace allows by `now`.
    private mutating func stopAtPace(now: UInt64, actions: inout [Action]) {
        guard let wake = paceWake, wake <= now else { return }
        let rate = configuration.end.deregistersPerSecond
        let allowed = rate > 0 ? Int(Double(now - endStart) / 1e9 * rate) + 1 : Int.max
        while pacedStopsSent < allowed, let device = pacedStops.popLast() {
            let state = records[device].state
            guard state != .stopped else { continue }
            actions.append(.stop(device: device, deregister: true))
            // A device that stopped registering or began a De-register of its own since sends
            // nothing now: it takes no share of the pace.
            if state.isRegistered || state == .registering {
                pacedStopsSent += 1
                lastPacedStop = now
            }
        }
        paceWake = pacedStops.isEmpty ? nil : endStart + UInt64(Double(pacedStopsSent) / rate * 1e9)
    }

    private mutating func finish(actions: inout [Action]) {
        guard !isFinished else { return }
        phase = .finished
        actions.append(.finish)
    }

    // MARK: Accounting

    /// Once the run ended with De-registers: how many it sent at what pace, and whom it missed.
    public func endOfRunReport() -> EndOfRunReport? {
        guard configuration.end.mode == .deregister, endReason != nil else { return nil }
        let unreached = pacedStops.filter { records[$0].state.isRegistered || records[$0].state == .registering }.count
        return EndOfRunReport(
            deregistersPerSecond: configuration.end.deregistersPerSecond, deregistersSent: pacedStopsSent,
            sendingSeconds: pacedStopsSent == 0 ? 0 : Double(lastPacedStop - endStart) / 1e9, unreached: unreached)
    }

    /// Once finished: every device that did not get where its profile aims (registered, and
    /// De-registered with `end: deregister`), by the state it stopped in.
    public func unfinishedDevices() -> [UnfinishedDevice] {
        var unfinished: [UnfinishedDevice] = []
        for device in 0..<configuration.deviceCount {
            let record = records[device]
            if !record.has(DeviceRecord.started) {
                let state = record.has(DeviceRecord.dropped) ? "dropped" : "not-started"
                unfinished.append(UnfinishedDevice(device: device, state: state, pendingOperation: configuration.firstOperation(device)))
                continue
            }
            let last = record.state == .stopped ? record.stoppedFrom : record.state
            if record.state == .stopped, last == .deregistering, record.has(DeviceRecord.deregistered) { continue }
            if last.isRegistered, configuration.end.mode == .drop { continue }
            unfinished.append(UnfinishedDevice(device: device, state: last.name, pendingOperation: pendingOperation(after: last, device: device)))
        }
        return unfinished
    }

    /// The operation a device that ended in `state` still needed, when its failure is not
    /// counted yet: an operation in flight when the run stopped counts as a timeout already.
    private func pendingOperation(after state: DeviceState, device: Int) -> LwM2MOperation? {
        switch state {
        case .idle: configuration.firstOperation(device)
        case .holdingOff, .waitingToBootstrap: .bootstrap
        case .waitingToRegister: .register
        // Its Update, if one was in flight, counts as a timeout; the De-register it owed does not yet.
        case .registered, .updating: .deregister
        case .bootstrapping, .registering, .deregistering, .stopped: nil
        }
    }
}

/// How a run ends once its stages are done (or it is interrupted).
public struct EndOfRun: Hashable, Sendable {
    public var mode: FleetSpec.EndMode
    /// De-registers sent per second at most; 0 sends them all at once.
    public var deregistersPerSecond: Double
    /// How long after the last De-register was sent the answers may take.
    public var graceSeconds: Double

    public init(mode: FleetSpec.EndMode = .deregister, deregistersPerSecond: Double = 0, graceSeconds: Double = 15) {
        self.mode = mode
        self.deregistersPerSecond = deregistersPerSecond
        self.graceSeconds = graceSeconds
    }
}
