import CoAP
import LwM2MClient

/// Everything a fleet run measures: per operation outcomes and latency histograms, run-wide
/// counters, the generator's own health (loop lag, dropped arrivals), devices by state, what
/// happened in each stage, and a time series of intervals with every operation in each.
///
/// Merging is exact (histograms bucket by bucket, counters added, stages and intervals by index),
/// so the metrics of worker processes and shards combine into the metrics one process would have had.
public struct FleetMetrics: Sendable, Equatable {
    /// Precision of the per-interval and per-stage latency histograms: 1 % is enough for a
    /// plotted line and keeps an hour of one-second points of every operation to a few MB.
    public static let intervalSignificantDigits = 2

    /// By operation name (`MetricCatalog.operations`, and the bootstrap interface's requests).
    public private(set) var operations: [String: OperationMetrics] = [:]
    /// Requests a server provably sent against the rule: during a bootstrap it knew of, or before
    /// it acknowledged the device's registration (see `ServerViolation.isProven`). Devices ignored them.
    public private(set) var violations: UInt64 = 0
    /// By operation and the device's state: "read while registering".
    public private(set) var violationsByKind: [String: UInt64] = [:]
    /// Devices that caught at least one violation: how many devices a rule-breaking server was
    /// caught on, which loss can lower (a request lost on the way is not seen).
    public private(set) var devicesWithViolations: UInt64 = 0
    /// Requests devices ignored under the same rule that a conformant server may have sent: its
    /// 2.01 may have been lost on the way, it still held an earlier registration, or it could not
    /// know the device had started to bootstrap or de-register. Not a fault of the server.
    public private(set) var ignoredUnproven: UInt64 = 0
    /// By operation and the device's state, as `violationsByKind`.
    public private(set) var ignoredUnprovenByKind: [String: UInt64] = [:]
    /// CON messages devices had to send again.
    public private(set) var retransmissions: UInt64 = 0
    public private(set) var bytesSent: UInt64 = 0
    public private(set) var bytesReceived: UInt64 = 0
    /// Devices started on schedule.
    public private(set) var arrivals: UInt64 = 0
    /// Churned devices that deregistered and started again, as rebooted devices do.
    public private(set) var returns: UInt64 = 0
    /// Devices the generator could not start when due (it was the bottleneck).
    public private(set) var droppedArrivals: UInt64 = 0
    /// When the last scheduled arrival started, from the start of the run.
    public private(set) var lastArrivalNanoseconds: UInt64 = 0
    /// How late the event loop ran its timers, in nanoseconds.
    public private(set) var loopLag = LatencyHistogram()
    /// How long after its intended arrival time each scheduled device started, in nanoseconds.
    public private(set) var arrivalLateness = LatencyHistogram()
    /// By stage (the index of the fleet file's stage; one past the last for the time after the
    /// stages): scheduled arrivals intended in it and started in it, and the operations that ended in it.
    public private(set) var stages: [StageResult] = []
    /// Devices in each state now (`DeviceState.name`); states with none are left out.
    public private(set) var devicesByState: [String: Int] = [:]
    /// Devices that did not get where their profile aims when the run ended, by the state they
    /// stopped in (`DeviceState.name`, or `not-started` / `dropped` for devices that never started).
    public private(set) var unfinishedDevices: [String: Int] = [:]
    /// Per server URI: devices whose last connection to it never got a datagram back.
    public private(set) var unansweredDevicesByServer: [String: Int] = [:]
    /// Sockets that could not be opened, by server URI and reason.
    public private(set) var connectionFailures: [String: Int] = [:]
    /// How the run ended; nil until it did.
    public var endReason: RunScheduler.EndReason?
    /// The end of the run: how its De-registers were paced and what they could not reach.
    public private(set) var endOfRun: EndOfRunReport?
    /// The De-registers of the end of the run alone (also counted in `deregister`): a flood at
    /// the end shows here, apart from the sessions' and churn's De-registers during the run.
    public private(set) var endOfRunDeregisters = OperationMetrics()
    /// One point per closed interval, oldest first.
    public private(set) var timeSeries: [TimeSeriesPoint] = []
    /// The embedded servers' own counts, once the run stopped them; nil against other servers.
    public var embeddedServer: EmbeddedServerCounts?
    /// What fault injection did to the devices' datagrams (`faults:` of the device groups); nil
    /// when no group has faults.
    public private(set) var faults: FaultCounts?
    /// The embedded LwM2M Server's restart as the devices lived it; nil without one.
    public private(set) var restartStorm: RestartStormReport?
    /// What happened since the last closed interval; not written: a run closes its last
    /// interval before its result is.
    private(set) var openInterval = OpenInterval()

    public init() {}

    // MARK: Recording

    /// Records an operation a device started (a `MetricCatalog.operations` name, such as
    /// `LwM2MOperation.rawValue`) that ended during `stage`: latency from its intended start,
    /// service time from its real start.
    public mutating func recordOperation(
        _ operation: String, outcome: OperationOutcome, code: CoAPCode?, latencyNanoseconds: UInt64, serviceNanoseconds: UInt64,
        stage: Int = 0
    ) {
        operations[operation, default: OperationMetrics()]
            .record(outcome: outcome, code: code, latencyNanoseconds: latencyNanoseconds, serviceNanoseconds: serviceNanoseconds)
        openInterval.operations[operation, default: OperationWindow()].record(outcome: outcome, latencyNanoseconds: latencyNanoseconds)
        beginStage(stage)
        stages[stage].operations[operation, default: OperationWindow()].record(outcome: outcome, latencyNanoseconds: latencyNanoseconds)
    }

    /// Records a request from a server (read, write, execute, observe...) the device answered during `stage`.
    public mutating func recordRequestHandled(_ operation: String, code: CoAPCode, stage: Int = 0) {
        operations[operation, default: OperationMetrics()].recordAnswer(code: code)
        openInterval.operations[operation, default: OperationWindow()].recordAnswer(succeeded: code.isSuccess)
        beginStage(stage)
        stages[stage].operations[operation, default: OperationWindow()].recordAnswer(succeeded: code.isSuccess)
    }

    /// A request a device ignored under the rule: a violation when proven, otherwise counted apart.
    public mutating func recordViolation(_ violation: ServerViolation) {
        let kind = "\(violation.operation?.rawValue ?? "request") while \(violation.state)"
        guard violation.isProven else {
            ignoredUnproven += 1
            ignoredUnprovenByKind[kind, default: 0] += 1
            return
        }
        violations += 1
        violationsByKind[kind, default: 0] += 1
        openInterval.violations += 1
    }

    /// A device caught its first violation (the runner tells each device once).
    public mutating func recordDeviceWithViolation() {
        devicesWithViolations += 1
    }

    /// CON messages of `operation` sent again during `stage`.
    public mutating func recordRetransmissions(_ count: Int, of operation: String, stage: Int = 0) {
        retransmissions += UInt64(count)
        operations[operation, default: OperationMetrics()].recordRetransmissions(count)
        openInterval.operations[operation, default: OperationWindow()].recordRetransmissions(count)
        beginStage(stage)
        stages[stage].operations[operation, default: OperationWindow()].recordRetransmissions(count)
    }

    /// Lists stage `index` (one past the last stage: the time after the stages) and every one
    /// before it, with or without anything in them. The runner calls it as its clock crosses into
    /// each stage, so a stage in which nothing ended is there too.
    public mutating func beginStage(_ index: Int) {
        while stages.count <= index { stages.append(StageResult(index: stages.count)) }
    }

    /// A device that did not get where its profile aims, in `state`; `pendingOperation` is the
    /// operation it still needed when no failure of it is counted yet.
    public mutating func recordUnfinishedDevice(state: String, pendingOperation: String?) {
        unfinishedDevices[state, default: 0] += 1
        if let pendingOperation { operations[pendingOperation, default: OperationMetrics()].recordUnfinished() }
    }

    /// Devices whose last connection to `server` never got an answer.
    public mutating func recordUnanswered(server: String, devices: Int) {
        unansweredDevicesByServer[server, default: 0] += devices
    }

    /// A socket that could not be opened for `server`, and why.
    public mutating func recordConnectionFailure(server: String, reason: String) {
        connectionFailures["\(server): \(reason)", default: 0] += 1
    }

    /// A De-register the end of the run asked for ended (it is recorded as `deregister` too).
    public mutating func recordEndOfRunDeregister(outcome: OperationOutcome, code: CoAPCode?, latencyNanoseconds: UInt64) {
        endOfRunDeregisters.record(outcome: outcome, code: code, latencyNanoseconds: latencyNanoseconds, serviceNanoseconds: latencyNanoseconds)
    }

    /// Retransmissions of the end of the run's De-registers (recorded as `deregister`'s too).
    public mutating func recordEndOfRunRetransmissions(_ count: Int) {
        endOfRunDeregisters.recordRetransmissions(count)
    }

    /// What the end of the run did.
    public mutating func recordEndOfRun(_ report: EndOfRunReport) {
        endOfRun = report
    }

    /// What fault injection did to the devices' datagrams.
    public mutating func recordFaults(_ counts: FaultCounts) {
        faults = counts
    }

    /// How the devices lived through the embedded server's restart.
    public mutating func recordRestartStorm(_ report: RestartStormReport) {
        restartStorm = report
    }

    public mutating func recordBytes(sent: Int, received: Int) {
        bytesSent += UInt64(sent)
        bytesReceived += UInt64(received)
    }

    /// Bytes the datagrams of one kind of operation carried (DTLS handshakes).
    public mutating func recordBytes(of operation: LwM2MOperation, sent: UInt64, received: UInt64) {
        operations[operation.rawValue, default: OperationMetrics()].recordBytes(sent: sent, received: received)
    }

    public mutating func recordArrival() {
        arrivals += 1
        openInterval.arrivals += 1
    }

    /// A device started by the arrival schedule: `recordArrival`, plus where it fell in the stages
    /// and how late it started.
    public mutating func recordScheduledArrival(intendedStage: Int, startedStage: Int, latenessNanoseconds: UInt64, atNanoseconds: UInt64 = 0) {
        recordArrival()
        lastArrivalNanoseconds = max(lastArrivalNanoseconds, atNanoseconds)
        beginStage(max(intendedStage, startedStage))
        stages[intendedStage].arrivalsIntended += 1
        stages[startedStage].arrivalsStarted += 1
        arrivalLateness.record(latenessNanoseconds)
        openInterval.arrivalLateness.record(latenessNanoseconds)
    }

    /// The largest `arrivalRateError` of any stage with scheduled arrivals: 0.01 means some
    /// stage's achieved arrival rate was 1 % off its target.
    public var arrivalRateError: Double { stages.map(\.arrivalRateError).max() ?? 0 }

    /// A churned device started again.
    public mutating func recordReturn() {
        returns += 1
    }

    public mutating func recordDroppedArrival() {
        droppedArrivals += 1
        openInterval.droppedArrivals += 1
    }

    public mutating func recordLoopLag(nanoseconds: UInt64) {
        loopLag.record(nanoseconds)
        openInterval.loopLag.record(nanoseconds)
    }

    /// Moves a device from one state to another. A device enters the counts with its first
    /// change: the state it left then (`idle`, never announced) has none to take away.
    public mutating func recordStateChange(from: DeviceState, to: DeviceState) {
        if let count = devicesByState[from.name] { devicesByState[from.name] = count > 1 ? count - 1 : nil }
        devicesByState[to.name, default: 0] += 1
    }

    /// Ends the current interval: appends what happened in it and the devices by state now to
    /// `timeSeries`, and starts the next.
    public mutating func closeInterval(elapsedNanoseconds: UInt64) {
        timeSeries.append(TimeSeriesPoint(
            elapsedNanoseconds: elapsedNanoseconds, interval: openInterval, registeredDevices: registeredDevices,
            devicesByState: devicesByState))
        openInterval = OpenInterval()
    }

    // MARK: Reading

    /// Devices registered now: `registered`, and `updating` (registered, with an Update in flight).
    public var registeredDevices: Int {
        devicesByState[DeviceState.registered.name, default: 0] + devicesByState[DeviceState.updating.name, default: 0]
    }

    /// Devices waiting to try again after a failed bootstrap or registration.
    public var failedDevices: Int {
        devicesByState[DeviceState.waitingToBootstrap.name, default: 0] + devicesByState[DeviceState.waitingToRegister.name, default: 0]
    }

    /// Devices that did not get where their profile aims.
    public var unfinishedDeviceCount: Int { unfinishedDevices.values.reduce(0, +) }

    /// The value of a `MetricCatalog.allNames` metric (durations in nanoseconds), or nil for a
    /// name not in the catalog. An operation that never happened reads 0 in every field.
    public func value(for metric: String) -> Double? {
        switch metric {
        case "violations": return Double(violations)
        case "devices.with_violations": return Double(devicesWithViolations)
        case "ignored_unproven": return Double(ignoredUnproven)
        case "dropped": return Double(droppedArrivals)
        case "retransmissions": return Double(retransmissions)
        case "arrivals": return Double(arrivals)
        case "returns": return Double(returns)
        case "devices.registered": return Double(registeredDevices)
        case "devices.failed": return Double(failedDevices)
        case "devices.unfinished": return Double(unfinishedDeviceCount)
        case "bytes.sent": return Double(bytesSent)
        case "bytes.received": return Double(bytesReceived)
        case "arrivals.rate_error": return arrivalRateError
        case _ where metric.hasPrefix(MetricCatalog.embeddedServerPrefix):
            return embeddedServer?.value(for: metric.dropFirst(MetricCatalog.embeddedServerPrefix.count)).map(Double.init)
        case _ where metric.hasPrefix("loop_lag.") && MetricCatalog.runFields.contains(metric):
            return loopLag.value(forStatistic: metric.dropFirst("loop_lag.".count))
        case _ where metric.hasPrefix("arrival_lateness.") && MetricCatalog.runFields.contains(metric):
            return arrivalLateness.value(forStatistic: metric.dropFirst("arrival_lateness.".count))
        default:
            guard let (operation, field) = Self.operationAndField(of: metric) else { return nil }
            return (operations[operation] ?? Self.noOperations).value(for: field)
        }
    }

    private static let noOperations = OperationMetrics()

    /// Splits a per-operation metric name (`write-attributes.latency.p99`) into the operation and
    /// the field; nil when it is not one.
    static func operationAndField(of metric: String) -> (operation: String, field: String)? {
        for operation in MetricCatalog.operations where metric.hasPrefix(operation + ".") {
            let field = String(metric.dropFirst(operation.count + 1))
            if MetricCatalog.fields(of: operation).contains(field) { return (operation, field) }
        }
        return nil
    }

    // MARK: Merging

    /// Adds `other` into these metrics exactly: histograms bucket by bucket, counters and devices
    /// by state added, time series points added by interval index.
    public mutating func merge(_ other: FleetMetrics) {
        operations.merge(other.operations) { mine, theirs in
            var merged = mine
            merged.merge(theirs)
            return merged
        }
        violations += other.violations
        devicesWithViolations += other.devicesWithViolations
        violationsByKind.merge(other.violationsByKind, uniquingKeysWith: +)
        ignoredUnproven += other.ignoredUnproven
        ignoredUnprovenByKind.merge(other.ignoredUnprovenByKind, uniquingKeysWith: +)
        retransmissions += other.retransmissions
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        arrivals += other.arrivals
        returns += other.returns
        droppedArrivals += other.droppedArrivals
        lastArrivalNanoseconds = max(lastArrivalNanoseconds, other.lastArrivalNanoseconds)
        loopLag.merge(other.loopLag)
        arrivalLateness.merge(other.arrivalLateness)
        for stage in other.stages {
            beginStage(stage.index)
            stages[stage.index].merge(stage)
        }
        devicesByState = Self.adding(devicesByState, other.devicesByState)
        unfinishedDevices.merge(other.unfinishedDevices, uniquingKeysWith: +)
        unansweredDevicesByServer.merge(other.unansweredDevicesByServer, uniquingKeysWith: +)
        connectionFailures.merge(other.connectionFailures, uniquingKeysWith: +)
        endReason = Self.earlier(endReason, other.endReason)
        if let theirs = other.endOfRun { endOfRun = endOfRun.map { $0.merged(with: theirs) } ?? theirs }
        endOfRunDeregisters.merge(other.endOfRunDeregisters)
        if let theirs = other.faults {
            var counts = faults ?? FaultCounts()
            counts.add(theirs)
            faults = counts
        }
        if let theirs = other.restartStorm {
            var storm = restartStorm ?? RestartStormReport(restartAtSeconds: theirs.restartAtSeconds, downSeconds: theirs.downSeconds)
            storm.merge(theirs)
            restartStorm = storm
        }
        // Workers close their last interval at different ticks. Past the end of one's series, its
        // devices are still there, in the states its last point saw: without them a plot of the
        // end shows devices vanishing that in fact stopped.
        let myLast = timeSeries.last
        for (index, point) in other.timeSeries.enumerated() {
            if index < timeSeries.count {
                timeSeries[index].merge(point)
            } else {
                var extended = point
                if let myLast { extended.addDevices(of: myLast) }
                timeSeries.append(extended)
            }
        }
        if let theirLast = other.timeSeries.last {
            for index in other.timeSeries.count..<timeSeries.count { timeSeries[index].addDevices(of: theirLast) }
        }
        openInterval.merge(other.openInterval)
        if let theirs = other.embeddedServer {
            // Shards on several machines each ran their own embedded server.
            var counts = embeddedServer ?? EmbeddedServerCounts()
            counts.add(theirs)
            embeddedServer = counts
        }
    }

    /// Of two parts' end reasons, the one that says the run was cut short, if either does.
    private static func earlier(_ mine: RunScheduler.EndReason?, _ theirs: RunScheduler.EndReason?) -> RunScheduler.EndReason? {
        guard let mine else { return theirs }
        guard let theirs else { return mine }
        return mine == .completed ? theirs : mine
    }

    /// Device counts added state by state, leaving out states with none.
    static func adding(_ counts: [String: Int], _ others: [String: Int]) -> [String: Int] {
        counts.merging(others, uniquingKeysWith: +).filter { $0.value != 0 }
    }
}

/// What a run measured, without the interval still open: a run closes it before writing.
extension FleetMetrics: Codable {
    private enum CodingKeys: String, CodingKey {
        case operations, violations, violationsByKind, devicesWithViolations, ignoredUnproven, ignoredUnprovenByKind
        case retransmissions, bytesSent, bytesReceived, arrivals, returns, droppedArrivals, lastArrivalNanoseconds
        case loopLag, arrivalLateness, stages, devicesByState, unfinishedDevices, unansweredDevicesByServer, connectionFailures
        case endReason, endOfRun, endOfRunDeregisters, timeSeries, embeddedServer, faults, restartStorm
    }
}

extension FleetMetrics {
    /// Seconds from the first to the last one-second interval in which `operation` completed; nil
    /// without a time series. "per s" of the summary and `compare`'s rate count over them, not
    /// over the holds around them.
    public func activeSeconds(of operation: String) -> Double? {
        guard let first = timeSeries.firstIndex(where: { $0.completed(operation) > 0 }),
              let last = timeSeries.lastIndex(where: { $0.completed(operation) > 0 })
        else { return nil }
        return Double(last - first + 1)
    }
}
