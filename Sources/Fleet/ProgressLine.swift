import Foundation

/// The live progress of a whole run at the end of one interval, combined from every worker's
/// report by `FleetProgress`: rates over the last interval and over the stage so far, each beside
/// its target, devices by state now, and counts since the start.
public struct ProgressLine: Sendable, Equatable {
    public var elapsedSeconds = 0.0
    /// `stage 2/3`: the stage most of the interval fell in; empty without stages.
    public var stage = ""
    /// Devices started per second in the interval, and the rate the schedule asked for over it.
    public var arrivalRate = 0.0
    public var targetRate = 0.0
    /// Devices started per second in the stage so far, and the rate the schedule asked for over
    /// the same time (all of it once the stage is over).
    public var stageMeanRate = 0.0
    public var stageTargetMeanRate = 0.0
    public var registeredDevices = 0
    public var bootstrappingDevices = 0
    /// Devices waiting to try again after a failed bootstrap or registration.
    public var waitingDevices = 0
    /// Operations that ended and requests answered per second in the interval.
    public var operationRate = 0.0
    /// Operations that failed since the start.
    public var operationsFailed: UInt64 = 0
    public var violations: UInt64 = 0
    public var retransmissions: UInt64 = 0
    /// Register latency percentiles of the interval; nil when no registration ended in it.
    public var registerLatencyP50Nanoseconds: UInt64?
    public var registerLatencyP99Nanoseconds: UInt64?
    /// The worst worker's event-loop lag p99 over its run so far.
    public var loopLagP99Nanoseconds: UInt64 = 0

    public init() {}

    /// The line as the user reads it.
    public var text: String {
        func rate(_ value: Double) -> String { String(format: "%.0f/s", value) }
        func milliseconds(_ nanoseconds: UInt64?, _ digits: Int) -> String {
            nanoseconds.map { String(format: "%.\(digits)fms", Double($0) / 1e6) } ?? "-"
        }
        var text = String(format: "%.0fs", elapsedSeconds)
        if !stage.isEmpty { text += " \(stage)" }
        text += " arrivals \(rate(arrivalRate)) (target \(rate(targetRate)))"
        // A hold asks for no arrivals: a mean of none against none says nothing.
        if stageMeanRate > 0 || stageTargetMeanRate > 0 {
            text += " stage mean \(rate(stageMeanRate)) (target \(rate(stageTargetMeanRate)))"
        }
        text += " registered \(registeredDevices) bootstrapping \(bootstrappingDevices) waiting \(waitingDevices)"
        text += " operations \(rate(operationRate)) errors \(operationsFailed) retransmissions \(retransmissions) violations \(violations)"
        text += " register p50 \(milliseconds(registerLatencyP50Nanoseconds, 1)) p99 \(milliseconds(registerLatencyP99Nanoseconds, 1))"
        text += " loop-lag p99 \(milliseconds(loopLagP99Nanoseconds, 2))"
        return text
    }
}
