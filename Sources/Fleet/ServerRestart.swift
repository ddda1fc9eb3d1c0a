/// A restart of the embedded LwM2M Server in the middle of a run (`server.embedded.restart`): it
/// answers nothing for `downSeconds`, then comes back without the registrations it held, as a
/// server that crashed would.
///
/// The time is counted from the run's start, a wall-clock instant every process of the run
/// shares: `FleetRun` takes it when `run` begins, just before it starts the embedded server (so
/// the arrival stages begin a moment after it, once the server is up), and hands it to the
/// server (`EmbeddedServerConfiguration.runStartedAt`) and to its workers (`--run-started-at`).
public struct ServerRestart: Hashable, Sendable, Codable {
    /// When the server goes down, in seconds from the run's start.
    public var atSeconds: Double
    /// How long it stays down (0: back at once, empty).
    public var downSeconds: Double

    public init(atSeconds: Double, downSeconds: Double) {
        self.atSeconds = atSeconds
        self.downSeconds = downSeconds
    }

    /// Nanoseconds from `now` until the restart, by a process whose wall clock reads
    /// `wallClockNow` at `now` (seconds since 1970); 0 once it is past.
    public func nanosecondsUntilRestart(runStartedAt: Double, wallClockNow: Double) -> UInt64 {
        let seconds = runStartedAt + atSeconds - wallClockNow
        return seconds > 0 ? UInt64(seconds * 1e9) : 0
    }

    /// The downtime in nanoseconds.
    public var downNanoseconds: UInt64 { UInt64(downSeconds * 1e9) }
}
