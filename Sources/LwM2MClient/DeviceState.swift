/// Where a device is in its life, without the data each state carries: what the fleet counts
/// devices by, what a violation report names, and what the scheduler decides on.
public enum DeviceState: UInt8, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case idle
    /// Server-initiated bootstrap: waiting ClientHoldOffTime for the Bootstrap-Server.
    case holdingOff
    case bootstrapping
    case registering
    case registered
    /// Registered, with an Update in flight.
    case updating
    case deregistering
    /// After a failed bootstrap, waiting to bootstrap again.
    case waitingToBootstrap
    /// After a failed registration, waiting to register again.
    case waitingToRegister
    case stopped

    /// As the result file and the summary spell it.
    public var name: String {
        switch self {
        case .idle: "idle"
        case .holdingOff: "holding-off"
        case .bootstrapping: "bootstrapping"
        case .registering: "registering"
        case .registered: "registered"
        case .updating: "updating"
        case .deregistering: "deregistering"
        case .waitingToBootstrap: "waiting-to-bootstrap"
        case .waitingToRegister: "waiting-to-register"
        case .stopped: "stopped"
        }
    }

    public var description: String { name }

    /// Registered with a server: `registered` or `updating`.
    public var isRegistered: Bool { self == .registered || self == .updating }

    /// The operation a device in this state has in flight, if any.
    public var operationInFlight: LwM2MOperation? {
        switch self {
        case .bootstrapping: .bootstrap
        case .registering: .register
        case .updating: .update
        case .deregistering: .deregister
        default: nil
        }
    }
}
