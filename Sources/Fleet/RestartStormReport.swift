/// A restart of the embedded LwM2M Server as the devices lived it (`server.embedded.restart`):
/// the devices whose registrations it lost, how fast and by which way they registered again, and
/// what failed meanwhile. Each worker reports its own devices; the merge adds them exactly
/// (per-second counts second by second, the last re-registration the latest of all).
public struct RestartStormReport: Sendable, Codable, Equatable {
    /// When the server went down, in seconds from the run's start, and for how long.
    public var restartAtSeconds: Double
    public var downSeconds: Double
    /// Devices registered when the server went down: it lost their registrations.
    public var devicesRegistered = 0
    /// Of those, the devices registered again by the end of the run: a Register answered 2.01.
    public var devicesRegisteredAgain = 0
    /// Of those registered again, the ones that bootstrapped first: the server stayed silent
    /// until their registration retries (/1/x/17-20) ran out, and they fell back to bootstrap.
    public var devicesBootstrappedAgain = 0
    /// From the restart to the last of them registered again, in nanoseconds.
    public var lastRegisteredAgainNanoseconds: UInt64 = 0
    /// Devices registered again in each second from the restart: the storm's profile.
    public var registeredAgainPerSecond: [UInt64] = []
    /// Operations of the devices that did not succeed from the restart until every device was
    /// registered again (or the run ended), by operation and outcome: `update 4.04`,
    /// `register timeout`.
    public var failures: [String: UInt64] = [:]

    public init(restartAtSeconds: Double, downSeconds: Double) {
        self.restartAtSeconds = restartAtSeconds
        self.downSeconds = downSeconds
    }

    /// The busiest second of re-registrations.
    public var peakRegisteredAgainPerSecond: UInt64 { registeredAgainPerSecond.max() ?? 0 }

    /// Seconds from the restart until every device it found registered was registered again;
    /// nil when some never were.
    public var secondsUntilAllRegisteredAgain: Double? {
        devicesRegisteredAgain == devicesRegistered ? Double(lastRegisteredAgainNanoseconds) / 1e9 : nil
    }

    /// All the operations that failed during the storm.
    public var failureCount: UInt64 { failures.values.reduce(0, +) }

    /// Adds another worker's or shard's devices.
    public mutating func merge(_ other: RestartStormReport) {
        devicesRegistered += other.devicesRegistered
        devicesRegisteredAgain += other.devicesRegisteredAgain
        devicesBootstrappedAgain += other.devicesBootstrappedAgain
        lastRegisteredAgainNanoseconds = max(lastRegisteredAgainNanoseconds, other.lastRegisteredAgainNanoseconds)
        for (second, count) in other.registeredAgainPerSecond.enumerated() {
            if second == registeredAgainPerSecond.count { registeredAgainPerSecond.append(0) }
            registeredAgainPerSecond[second] += count
        }
        failures.merge(other.failures, uniquingKeysWith: +)
    }
}
