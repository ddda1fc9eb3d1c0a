import Foundation

/// One step of a capacity search as the search result keeps it: the load, how it went and why,
/// the threshold that broke first and the registry size then, and the generator's own health.
public struct SearchStep: Sendable, Codable, Equatable {
    /// How a step went.
    public enum Verdict: String, Sendable, Codable {
        case passed
        case failed
        case generatorLimited = "generator-limited"
        /// Stopped by an interrupt: it says nothing about the server and the search does not count it.
        case interrupted

        /// The search's view of it; nil for an interrupted step.
        public var searchVerdict: CapacitySearch.Verdict? {
            switch self {
            case .passed: .passed
            case .failed: .failed
            case .generatorLimited: .generatorLimited
            case .interrupted: nil
            }
        }
    }

    /// 1 for the first step.
    public var number: Int
    public var phase: CapacitySearch.Phase
    /// In the search's unit: devices per second (arrival-rate) or devices (devices-held).
    public var load: Double
    public var devices: Int
    public var verdict: Verdict
    /// Why the step did not pass: each failed threshold with what was seen, unfinished devices,
    /// the generator's health past its limits.
    public var reasons: [String]
    public var thresholds: [ThresholdResult]
    /// The failed criterion that went bad first in the step's per-second series (a threshold as
    /// written, or `every device finished`); nil when none failed or none can be placed in time.
    public var brokeFirst: String?
    /// When it went bad, seconds from the step's start.
    public var brokeAtSeconds: Double?
    /// Devices registered when the step broke (`brokeAtSeconds`), or at the end of its stages
    /// when the moment cannot be told; nil for a step that did not fail.
    public var registeredAtBreak: Int?
    /// The most devices registered at once during the step.
    public var peakRegistered: Int
    /// What the server accepted, for the plateau: Registers that succeeded per second of arrivals
    /// (arrival-rate), or `peakRegistered` (devices-held).
    public var accepted: Double
    public var registerSucceeded: Double
    /// nil when no Register completed.
    public var registerLatencyP99Nanoseconds: Double?
    /// Operations that failed (timeouts included), all kinds together.
    public var failedOperations: Double
    public var unfinishedDevices: Int
    public var loopLagP99Nanoseconds: Double?
    public var arrivalRateError: Double
    /// Whether the generator stayed within the search's limits of loop lag and arrival rate error.
    public var generatorHealthy: Bool
    public var elapsedSeconds: Double
    /// The step's own result file, when the search kept it (`--keep-steps`).
    public var resultFile: String?
    /// Replays the step: `lwm2m-fleet run FILE --step LOAD --seed SEED`.
    public var replay: String

    public init(
        number: Int, phase: CapacitySearch.Phase, load: Double, devices: Int, verdict: Verdict, reasons: [String] = [],
        thresholds: [ThresholdResult] = [], peakRegistered: Int = 0, accepted: Double = 0, registerSucceeded: Double = 0,
        failedOperations: Double = 0, unfinishedDevices: Int = 0, arrivalRateError: Double = 0, generatorHealthy: Bool = true,
        elapsedSeconds: Double = 0, replay: String = ""
    ) {
        self.number = number
        self.phase = phase
        self.load = load
        self.devices = devices
        self.verdict = verdict
        self.reasons = reasons
        self.thresholds = thresholds
        self.peakRegistered = peakRegistered
        self.accepted = accepted
        self.registerSucceeded = registerSucceeded
        self.failedOperations = failedOperations
        self.unfinishedDevices = unfinishedDevices
        self.arrivalRateError = arrivalRateError
        self.generatorHealthy = generatorHealthy
        self.elapsedSeconds = elapsedSeconds
        self.replay = replay
    }
}
