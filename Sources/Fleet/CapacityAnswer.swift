/// What a capacity search concluded about the server, from the steps it ran (`CapacitySearch`).
/// Loads are in the search's unit: devices per second (arrival-rate) or devices (devices-held).
public struct CapacityAnswer: Sendable, Codable, Equatable {
    /// What kind of answer the steps allow.
    public enum Kind: String, Sendable, Codable {
        /// The server's limit: it sustained `highestPassing` and failed at `lowestFailing`.
        case knee
        /// Every step up to the search's `to` passed: the server takes at least that.
        case reachedTo = "reached-to"
        /// The generator was not healthy at `generatorLimitedAt` before the server failed: the
        /// server took at least `highestPassing`, and this machine could not load it harder.
        case generatorLimited = "generator-limited"
        /// The lowest load (`from`) failed: the server does not take even that.
        case noPassingStep = "no-passing-step"
        /// Loads passed once, but none passed its repeat: the server's results are not stable.
        case unconfirmed
        /// The search was stopped before any step failed: the server took at least `highestPassing` so far.
        case incomplete
    }

    /// Where accepted registrations stopped growing while the offered load grew: a server that
    /// quietly refuses above a connection limit.
    public struct Plateau: Sendable, Codable, Equatable {
        /// The offered load from which accepted stops growing, and the highest load seen on it.
        public var offeredFrom: Double
        public var offeredTo: Double
        /// Accepted at `offeredFrom` and at `offeredTo`: registrations per second (arrival-rate)
        /// or devices registered at once (devices-held).
        public var acceptedFrom: Double
        public var acceptedTo: Double

        public init(offeredFrom: Double, offeredTo: Double, acceptedFrom: Double, acceptedTo: Double) {
            self.offeredFrom = offeredFrom
            self.offeredTo = offeredTo
            self.acceptedFrom = acceptedFrom
            self.acceptedTo = acceptedTo
        }
    }

    public var kind: Kind
    /// The highest load the server sustained (confirmed by a repeat when `confirmed`); nil when none passed.
    public var highestPassing: Double?
    /// Whether `highestPassing` passed its repeat.
    public var confirmed: Bool
    /// The lowest load at which the server failed a threshold or left devices unfinished.
    public var lowestFailing: Double?
    /// The lowest load at which the generator itself was not healthy.
    public var generatorLimitedAt: Double?
    public var plateau: Plateau?
    /// Why the search stopped before its answer was complete (`interrupted`, `max-duration`); nil when it finished.
    public var stoppedBy: String?
    /// What happened on the way: repeats that failed, loads stepped down to.
    public var notes: [String]

    /// Whether the search was stopped before it could finish.
    public var isPartial: Bool { stoppedBy != nil }

    public init(
        kind: Kind, highestPassing: Double?, confirmed: Bool, lowestFailing: Double?, generatorLimitedAt: Double?,
        plateau: Plateau? = nil, stoppedBy: String? = nil, notes: [String] = []
    ) {
        self.kind = kind
        self.highestPassing = highestPassing
        self.confirmed = confirmed
        self.lowestFailing = lowestFailing
        self.generatorLimitedAt = generatorLimitedAt
        self.plateau = plateau
        self.stoppedBy = stoppedBy
        self.notes = notes
    }
}
