import CoAP
import EventLoop
import Foundation
import LwM2MClient

/// Runs a fleet on one event loop: the `RunScheduler` decides when devices start and stop, the
/// `DeviceDriver` carries their actions out on sockets and timers, their outcomes go into
/// `FleetMetrics`, and a `ProgressReport` goes to the `ProgressSink` every second. A first
/// SIGINT/SIGTERM ends the run early (De-registers at the end's pace, within its grace); a second
/// ends it at once. Either way the metrics are returned, whole: every device and every operation
/// is accounted for.
public final class FleetRunner {
    /// What the runner needs to know, built from a fleet file.
    public struct Plan {
        public var devices: [LwM2MClient]
        public var scheduling: RunScheduler.Configuration
        public var localAddress: SocketAddress
        /// Builds a device afresh from the one it replaces, for its `incarnation`-th return after
        /// churn (1, 2, ...): a rebooted device, whose CoAP message IDs and tokens must not repeat
        /// the last ones'.
        public var makeDevice: (@Sendable (_ replacing: LwM2MClient, _ incarnation: UInt32) -> LwM2MClient)?
        /// Source addresses, and which one each device binds to (empty: `localAddress` for all).
        public var sourceAddresses: [SocketAddress] = []
        public var sourceAddressOfDevice: [UInt8] = []
        /// The embedded server's control socket: each device that starts to hold off for a
        /// server-initiated bootstrap is announced there, so its Bootstrap-Server writes to it.
        public var embeddedServerControl: SocketAddress?
        /// Fault injection per group of local devices; empty: none, and no device keeps state for it.
        public var faults: [DeviceFaults.Group] = []
        /// The run's seed: fault injection derives its decisions from it.
        public var seed: UInt64 = 0
        /// A restart of the embedded LwM2M Server the run measures the storm of, and the run's
        /// start it counts from (seconds since 1970, `ServerRestart`).
        public var serverRestart: ServerRestart?
        public var runStartedAt: Double = 0
        /// The DTLS credentials of groups of local devices with `security:`; empty: plain CoAP.
        public var security: [(devices: Range<Int>, security: DeviceSecurity)] = []

        public init(devices: [LwM2MClient], scheduling: RunScheduler.Configuration, localAddress: SocketAddress) {
            self.devices = devices
            self.scheduling = scheduling
            self.localAddress = localAddress
        }
    }

    /// How a run ended.
    public struct Outcome {
        public var metrics: FleetMetrics
        public var endReason: RunScheduler.EndReason
        public var elapsedSeconds: Double
    }

    /// The plan without its devices, which the driver owns: a second array of them would keep
    /// a copy of every device alive once the driver changes one.
    private let plan: Plan
    private let loop: EventLoop
    private let driver: DeviceDriver
    private var scheduler: RunScheduler
    private var metrics = FleetMetrics()
    private var start: UInt64 = 0
    /// Each device's intended arrival (loop nanoseconds) until its first operation ends.
    private var intendedStart: [UInt64]
    private var incarnations: [Int: UInt32] = [:]
    /// Devices that caught a violation; empty against a server that keeps the rule.
    private var devicesWithViolations: Set<Int> = []
    private var schedulerTimer = TimerHandle.unscheduled
    private var schedulerDeadline = UInt64.max
    private let progress: any ProgressSink
    /// Connected to `Plan.embeddedServerControl`; nil without one.
    private var serverControlSocket: UDPSocketID?
    /// The embedded server's restart, followed from its instant on; nil without one.
    private var storm: RestartStormTracker?
    /// When each stage of the schedule ends, from the start; the stage operations count in now
    /// (one past the last after the stages).
    private let stageEndNanoseconds: [UInt64]
    private var stage = 0

    private static let schedulerTag = DeviceDriver.firstOwnerTag
    private static let tickTag = DeviceDriver.firstOwnerTag + 1
    private static let lagProbeTag = DeviceDriver.firstOwnerTag + 2
    private static let serverRestartTag = DeviceDriver.firstOwnerTag + 3
    private static let lagProbeNanoseconds: UInt64 = 10_000_000
    private var lagProbeDue: UInt64 = 0
    /// No device socket has this tag (they carry the device index shifted left by one, far below
    /// 2^40), and the server never answers on the control socket.
    private static let serverControlSocketTag = DeviceDriver.firstOwnerTag << 1

    public init(plan: Plan, progress: any ProgressSink) throws {
        self.progress = progress
        loop = try EventLoop()
        var plan = plan
        driver = DeviceDriver(loop: loop, devices: plan.devices, localAddress: plan.localAddress)
        let deviceCount = plan.devices.count
        plan.devices = []
        plan.scheduling.deviceCount = deviceCount
        self.plan = plan
        scheduler = RunScheduler(configuration: plan.scheduling)
        var stageEnd = 0.0
        stageEndNanoseconds = plan.scheduling.schedule.segments.map { segment in
            stageEnd += segment.durationSeconds
            return UInt64(stageEnd * 1e9)
        }
        driver.sourceAddresses = plan.sourceAddresses
        driver.sourceAddressOfDevice = plan.sourceAddressOfDevice
        driver.dtlsSeed = plan.seed
        driver.security = plan.security
        intendedStart = Array(repeating: 0, count: deviceCount)
        if let control = plan.embeddedServerControl {
            let loopback = try SocketAddress(ipAddress: control.isIPv6 ? "::1" : "127.0.0.1", port: 0)
            serverControlSocket = try loop.openUDPSocket(bindTo: loopback, connectTo: control, tag: Self.serverControlSocketTag)
        }
    }

    /// Runs the fleet to its end (or an interrupt) and returns what was measured.
    public func run() throws -> Outcome {
        driver.observer = { [unowned self] device, action, now in observe(device: device, action: action, now: now) }
        driver.install { [unowned self] tag, now in ownerTimer(tag: tag, now: now) }
        try loop.watchSignals([SIGINT, SIGTERM])
        loop.signalReceived = { [unowned self] _ in
            var actions: [RunScheduler.Action] = []
            scheduler.interrupt(now: loop.now, actions: &actions)
            carryOut(actions, now: loop.now)
        }
        start = loop.now
        metrics.beginStage(0)
        if !plan.faults.isEmpty {
            driver.injectFaults(DeviceFaults(
                groups: plan.faults, deviceCount: driver.devices.count, seed: plan.seed, origin: Timestamp(nanoseconds: start)))
        }
        if let restart = plan.serverRestart {
            storm = RestartStormTracker(restart: restart, deviceCount: driver.devices.count)
            let delay = restart.nanosecondsUntilRestart(runStartedAt: plan.runStartedAt, wallClockNow: Date().timeIntervalSince1970)
            _ = loop.schedule(at: start + delay, tag: Self.serverRestartTag)
        }
        _ = loop.schedule(at: start + 1_000_000_000, tag: Self.tickTag)
        lagProbeDue = start + Self.lagProbeNanoseconds
        _ = loop.schedule(at: lagProbeDue, tag: Self.lagProbeTag)
        var actions: [RunScheduler.Action] = []
        scheduler.start(now: start, actions: &actions)
        carryOut(actions, now: start)
        if !scheduler.isFinished { loop.run() }
        let elapsed = Double(loop.now - start) / 1e9
        metrics.recordBytes(sent: driver.bytesSent, received: driver.bytesReceived)
        for (operation, bytes) in driver.handshakeBytes {
            metrics.recordBytes(of: operation, sent: bytes.sent, received: bytes.received)
        }
        if let faults = driver.faultCounts { metrics.recordFaults(faults) }
        metrics.closeInterval(elapsedNanoseconds: loop.now - start)
        progress.finish()
        return Outcome(metrics: metrics, endReason: scheduler.endReason ?? .completed, elapsedSeconds: elapsed)
    }

    // MARK: The scheduler

    /// Carries out what the scheduler decided, then sets its timer for what it decides next.
    private func carryOut(_ actions: [RunScheduler.Action], now: UInt64) {
        for action in actions {
            switch action {
            case .start(let device, let intended):
                intendedStart[device] = intended
                driver.start(device: device, now: Timestamp(nanoseconds: now))
            case .stop(let device, let deregister):
                driver.stop(device: device, deregister: deregister, now: Timestamp(nanoseconds: now))
            case .restart(let device):
                comeBack(device, now: now)
            case .arrival(let intendedStage, let startedStage, let lateness):
                metrics.recordScheduledArrival(
                    intendedStage: intendedStage, startedStage: startedStage, latenessNanoseconds: lateness, atNanoseconds: now - start)
            case .droppedArrival:
                metrics.recordDroppedArrival()
            case .ending(let reason):
                if reason == .interrupted {
                    progress.note("interrupted: stopping arrivals, deregistering (a second interrupt stops at once)")
                } else if reason == .durationLimit {
                    progress.note("duration-limit reached before the stages were done: ending the run")
                }
            case .finish:
                finish(now: now)
            }
        }
        rescheduleScheduler()
    }

    /// Keeps the one loop timer of the scheduler at its next deadline.
    private func rescheduleScheduler() {
        let deadline = scheduler.nextDeadline ?? .max
        guard deadline != schedulerDeadline else { return }
        if schedulerDeadline != .max { loop.cancel(schedulerTimer) }
        schedulerDeadline = deadline
        if deadline != .max { schedulerTimer = loop.schedule(at: deadline, tag: Self.schedulerTag) }
    }

    /// A churned device that finished deregistering comes back as a rebooted device, at once.
    private func comeBack(_ device: Int, now: UInt64) {
        guard let makeDevice = plan.makeDevice else { return }
        let incarnation = incarnations[device, default: 0] + 1
        incarnations[device] = incarnation
        driver.replace(device: device, with: makeDevice(driver.devices[device], incarnation))
        deviceChanged(device, from: .stopped, to: .idle, now: now)
        metrics.recordReturn()
        intendedStart[device] = now
        driver.start(device: device, now: Timestamp(nanoseconds: now))
    }

    // MARK: Timers

    private func ownerTimer(tag: UInt64, now: UInt64) {
        guard !scheduler.isFinished else { return }
        followStage(now: now)
        switch tag {
        case Self.schedulerTag:
            schedulerDeadline = .max
            var actions: [RunScheduler.Action] = []
            scheduler.handleDeadline(now: now, actions: &actions)
            carryOut(actions, now: now)
        case Self.lagProbeTag:
            // How late the loop ran this timer: the generator's own lag.
            metrics.recordLoopLag(nanoseconds: now > lagProbeDue ? now - lagProbeDue : 0)
            lagProbeDue = now + Self.lagProbeNanoseconds
            _ = loop.schedule(at: lagProbeDue, tag: Self.lagProbeTag)
        case Self.serverRestartTag:
            storm?.serverRestarted(at: now, deviceCount: driver.devices.count) { scheduler.state(of: $0).isRegistered }
        case Self.tickTag:
            tick(now: now)
            _ = loop.schedule(at: now + 1_000_000_000, tag: Self.tickTag)
        default:
            break
        }
    }

    /// Moves the metrics on to the stage `now` falls in (one past the last after the stages), as
    /// the scheduler places arrivals.
    private func followStage(now: UInt64) {
        let elapsed = now - start
        guard stage < stageEndNanoseconds.count, elapsed >= stageEndNanoseconds[stage] else { return }
        while stage < stageEndNanoseconds.count, elapsed >= stageEndNanoseconds[stage] { stage += 1 }
        metrics.beginStage(stage)
    }

    /// Once a second: closes the metrics' interval and reports it.
    private func tick(now: UInt64) {
        metrics.closeInterval(elapsedNanoseconds: now - start)
        progress.report(ProgressReport(closedIntervalOf: metrics))
    }

    // MARK: The end

    private func finish(now: UInt64) {
        followStage(now: now)
        recordOperationsCutOff(now: now)
        for unfinished in scheduler.unfinishedDevices() {
            metrics.recordUnfinishedDevice(state: unfinished.state, pendingOperation: unfinished.pendingOperation?.rawValue)
        }
        if let report = scheduler.endOfRunReport() { metrics.recordEndOfRun(report) }
        // A run that ended before the restart saw no storm.
        if let storm, storm.hasBegun { metrics.recordRestartStorm(storm.report) }
        for (server, devices) in driver.unansweredDevicesByServer() { metrics.recordUnanswered(server: server, devices: devices) }
        for failure in driver.connectionFailures { metrics.recordConnectionFailure(server: failure.server, reason: failure.reason) }
        metrics.endReason = scheduler.endReason
        loop.stop()
    }

    /// Operations still unanswered when the run stops (the end grace ran out, or a second
    /// interrupt) count as timeouts: a De-register cut off must not pass `deregister.failed == 0`.
    private func recordOperationsCutOff(now: UInt64) {
        for device in 0..<driver.devices.count {
            guard let (operation, startedAt) = driver.devices[device].operationInFlight else { continue }
            recordOutcome(of: device, operation, .timedOut, code: nil, startedAt: startedAt, now: Timestamp(nanoseconds: now))
        }
    }

    // MARK: Device reports

    private func deviceChanged(_ device: Int, from: DeviceState, to: DeviceState, now: UInt64) {
        metrics.recordStateChange(from: from, to: to)
        var actions: [RunScheduler.Action] = []
        scheduler.deviceChanged(device, from: from, to: to, now: now, actions: &actions)
        carryOut(actions, now: now)
    }

    private func recordOutcome(
        of device: Int, _ operation: LwM2MOperation, _ outcome: OperationOutcome, code: CoAPCode?, startedAt: Timestamp, now: Timestamp
    ) {
        let intended = intendedStart[device]
        let from = intended > 0 ? min(intended, startedAt.nanoseconds) : startedAt.nanoseconds
        if intended > 0 { intendedStart[device] = 0 }
        let latency = now.nanoseconds - min(from, now.nanoseconds)
        metrics.recordOperation(
            operation.rawValue, outcome: outcome, code: code, latencyNanoseconds: latency,
            serviceNanoseconds: now.nanoseconds - min(startedAt.nanoseconds, now.nanoseconds), stage: stage)
        if operation == .deregister, scheduler.isEnding {
            metrics.recordEndOfRunDeregister(outcome: outcome, code: code, latencyNanoseconds: latency)
        }
        if outcome != .succeeded {
            storm?.operationFailed(operation, outcome, code: code)
        } else if operation == .register {
            storm?.registered(device, at: now.nanoseconds)
        }
        scheduler.operationFinished(device, operation, outcome)
    }

    /// Tells the embedded server where a device holds off for its server-initiated bootstrap: the
    /// bootstrap socket the device just opened, and its endpoint name and LwM2M version.
    private func announceWaiting(_ device: Int) {
        guard let serverControlSocket, let address = driver.localAddress(of: device, role: .bootstrapServer) else { return }
        let client = driver.devices[device]
        let message = EmbeddedServerControlMessage.deviceWaiting(
            endpoint: client.endpointName, address: "\(address)", lwm2mVersion: client.configuration.lwm2mVersion)
        loop.send(message.datagram, on: serverControlSocket)
    }

    private func observe(device: Int, action: ClientAction, now: Timestamp) {
        // The loop stops at the end of its turn: an answer in that turn comes after the accounts
        // were closed (its operation is already counted as cut off), and must not count twice.
        guard !scheduler.isFinished else { return }
        followStage(now: now.nanoseconds)
        switch action {
        case .operationFinished(let operation, let outcome, let code, let startedAt):
            recordOutcome(of: device, operation, outcome, code: code, startedAt: startedAt, now: now)
        case .requestHandled(let operation?, _, let code):
            metrics.recordRequestHandled(operation.rawValue, code: code, stage: stage)
        case .violation(let violation):
            metrics.recordViolation(violation)
            if violation.isProven, devicesWithViolations.insert(device).inserted { metrics.recordDeviceWithViolation() }
        case .retransmissions(let count, let operation):
            metrics.recordRetransmissions(count, of: operation.rawValue, stage: stage)
            if operation == .deregister, scheduler.isEnding { metrics.recordEndOfRunRetransmissions(count) }
        case .stateChanged(let from, let to):
            if to == .holdingOff { announceWaiting(device) }
            if to == .bootstrapping { storm?.startedBootstrap(device) }
            deviceChanged(device, from: from, to: to, now: now.nanoseconds)
        case .notificationSent:
            metrics.recordRequestHandled(LwM2MOperation.notify.rawValue, code: .content, stage: stage)
        default:
            break
        }
    }
}
