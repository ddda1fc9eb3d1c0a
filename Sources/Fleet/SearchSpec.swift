/// The `search:` section of a fleet file, as written: how `lwm2m-fleet search` steps the load up.
/// Every key is optional; `FleetSpec.searchPlan` fills the missing ones from the file's stages.
///
/// ```yaml
/// search:
///   load: arrival-rate          # arrival-rate (default): steps of devices arriving at a rate, which stay
///                               #   as the profile says; or devices-held: steps of N devices registered and held
///   from: 100/s                 # the first step: a rate (arrival-rate) or a device count (devices-held)
///   to: 20000/s                 # the highest step; all passing up to it answers "at least this"
///   growth: 2x                  # each step until the first failure is this many times the last
///   precision: 10%              # narrowing stops when the failing load is within this of the passing one
///   step-duration: 20s          # arrival-rate: how long the devices arrive at the step's rate
///   rate: 500/s                 # devices-held: the arrival rate that fills the registry
///   hold: 10s                   # after the arrivals, the devices live on this long (0s: not at all)
///   confirm: true               # the best passing load runs once more before it is the answer
///   plateau: 5%                 # accepted registrations growing less than this for 2x this more offered: a plateau
///   generator:                  # a step where the generator itself was not healthy is "generator-limited",
///     loop-lag: 5ms             #   never the server's knee: its event-loop lag p99 above this,
///     rate-error: 1%            #   or its achieved arrival rate off the target by more than this
/// ```
public struct SearchSpec: Hashable, Sendable {
    /// What a search step raises.
    public enum Load: String, Hashable, Sendable, CaseIterable, Codable {
        /// Devices arriving per second for `step-duration`; they stay as the profile says.
        case arrivalRate = "arrival-rate"
        /// Devices registered and held at once, filled at `rate`.
        case devicesHeld = "devices-held"
    }

    public var load: Load?
    /// Devices per second (arrival-rate) or devices (devices-held).
    public var from: Double?
    public var to: Double?
    /// The factor between steps until the first failure, above 1.
    public var growth: Double?
    /// A fraction: 0.1 stops narrowing once the failing load is within 10 % of the passing one.
    public var precision: Double?
    public var stepSeconds: Double?
    /// devices-held: devices per second that fill the registry.
    public var fillRate: Double?
    public var holdSeconds: Double?
    public var confirm: Bool?
    /// A fraction: accepted load growing less than this while the offered load grew by twice it.
    public var plateauGrowth: Double?
    public var loopLagLimitNanoseconds: Double?
    public var arrivalRateErrorLimit: Double?

    public init() {}
}
