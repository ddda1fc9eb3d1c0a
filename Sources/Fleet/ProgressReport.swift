import LwM2MClient

/// One process's progress at the end of one interval (about a second): counts since the start
/// of its run, which add up across workers, and what each operation did in the interval alone,
/// with latency histograms that merge exactly. A worker sends one a second to its parent; a run in one
/// process shows its own (see `FleetProgress`).
public struct ProgressReport: Sendable, Codable, Equatable {
    /// Which interval of the run ended (1, 2, ...): the reports with the same number, one per
    /// worker, make one line.
    public let interval: Int
    /// From the start of the process's run to the end of the interval.
    public let elapsedNanoseconds: UInt64
    /// Devices started on schedule so far.
    public let arrivals: UInt64
    /// Of `arrivals`, those started in each stage, by the stage's index (one past the last stage
    /// for starts after the stages ended).
    public let arrivalsByStage: [UInt64]
    /// Devices registered now (`registered` and `updating`).
    public let registeredDevices: Int
    public let bootstrappingDevices: Int
    /// Devices waiting to try again after a failed bootstrap or registration.
    public let waitingDevices: Int
    /// Operations that ended and requests answered so far, every operation together.
    public let operationsCompleted: UInt64
    /// Of `operationsCompleted`, the ones that failed.
    public let operationsFailed: UInt64
    public let violations: UInt64
    /// CON messages sent again so far.
    public let retransmissions: UInt64
    /// The event loop's lag p99 over the run so far; 0 before the first sample.
    public let loopLagP99Nanoseconds: UInt64
    /// What each operation did in this interval: the progress line's register latencies, and
    /// the live metrics (`LiveMetrics`).
    public let intervalOperations: [String: OperationWindow.Packed]
    /// Devices by state now (`DeviceState.name`).
    public let devicesByState: [String: Int]

    /// The report of the interval `metrics` just closed (`FleetMetrics.closeInterval`).
    public init(closedIntervalOf metrics: FleetMetrics) {
        guard let closed = metrics.timeSeries.last else { preconditionFailure("a report follows a closed interval") }
        interval = metrics.timeSeries.count
        elapsedNanoseconds = closed.elapsedNanoseconds
        arrivals = metrics.arrivals
        arrivalsByStage = metrics.stages.map(\.arrivalsStarted)
        registeredDevices = metrics.registeredDevices
        bootstrappingDevices = metrics.devicesByState[DeviceState.bootstrapping.name, default: 0]
        waitingDevices = metrics.failedDevices
        operationsCompleted = metrics.operations.values.reduce(0) { $0 + $1.count }
        operationsFailed = metrics.operations.values.reduce(0) { $0 + $1.failed }
        violations = metrics.violations
        retransmissions = metrics.retransmissions
        loopLagP99Nanoseconds = metrics.loopLag.value(atPercentile: 99)
        intervalOperations = closed.operations
        devicesByState = metrics.devicesByState
    }
}
