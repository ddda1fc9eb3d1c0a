import CoAP
import LwM2MClient

/// Follows one process's devices through a restart of the embedded LwM2M Server and fills a
/// `RestartStormReport`, sans I/O: the runner tells it when the server went down (its own clock's
/// reading of the shared instant, `ServerRestart`) and what the devices did after.
///
/// It keeps two bits per device, and only in a run that restarts the server: which devices still
/// have to register again, and which went back to bootstrap on the way.
struct RestartStormTracker {
    private(set) var report: RestartStormReport
    /// Loop nanoseconds of the restart; nil before it.
    private var restartedAt: UInt64?
    private var waitingToRegisterAgain: [UInt64]
    private var bootstrappedAgain: [UInt64]
    /// Devices still to register again.
    private var outstanding = 0

    init(restart: ServerRestart, deviceCount: Int) {
        report = RestartStormReport(restartAtSeconds: restart.atSeconds, downSeconds: restart.downSeconds)
        waitingToRegisterAgain = Array(repeating: 0, count: (deviceCount + 63) / 64)
        bootstrappedAgain = waitingToRegisterAgain
    }

    /// Whether the server restarted yet.
    var hasBegun: Bool { restartedAt != nil }

    /// Whether the storm is on: the server restarted, and some device it found registered is not yet again.
    var isRaging: Bool { hasBegun && outstanding > 0 }

    /// The server went down at `now`; `isRegistered` says which devices were registered then.
    mutating func serverRestarted(at now: UInt64, deviceCount: Int, isRegistered: (Int) -> Bool) {
        restartedAt = now
        for device in 0..<deviceCount where isRegistered(device) {
            waitingToRegisterAgain[device / 64] |= 1 << UInt64(device % 64)
            outstanding += 1
        }
        report.devicesRegistered = outstanding
    }

    /// A Register of `device` was answered 2.01 at `now`.
    mutating func registered(_ device: Int, at now: UInt64) {
        guard let restartedAt, Self.take(device, from: &waitingToRegisterAgain) else { return }
        outstanding -= 1
        report.devicesRegisteredAgain += 1
        if Self.take(device, from: &bootstrappedAgain) { report.devicesBootstrappedAgain += 1 }
        let since = now - min(restartedAt, now)
        report.lastRegisteredAgainNanoseconds = max(report.lastRegisteredAgainNanoseconds, since)
        let second = Int(since / 1_000_000_000)
        if report.registeredAgainPerSecond.count <= second {
            report.registeredAgainPerSecond += Array(repeating: 0, count: second + 1 - report.registeredAgainPerSecond.count)
        }
        report.registeredAgainPerSecond[second] += 1
    }

    /// `device` started a bootstrap.
    mutating func startedBootstrap(_ device: Int) {
        guard Self.contains(device, waitingToRegisterAgain) else { return }
        bootstrappedAgain[device / 64] |= 1 << UInt64(device % 64)
    }

    /// An operation of a device did not succeed; counted while the storm rages.
    mutating func operationFailed(_ operation: LwM2MOperation, _ outcome: OperationOutcome, code: CoAPCode?) {
        guard isRaging else { return }
        let how = switch outcome {
        case .timedOut: "timeout"
        case .rejected: code?.description ?? "rejected"
        case .failed, .succeeded: "failed"
        }
        report.failures["\(operation.rawValue) \(how)", default: 0] += 1
    }

    private static func contains(_ device: Int, _ bits: [UInt64]) -> Bool {
        bits[device / 64] & 1 << UInt64(device % 64) != 0
    }

    /// Clears the device's bit; whether it was set.
    private static func take(_ device: Int, from bits: inout [UInt64]) -> Bool {
        guard contains(device, bits) else { return false }
        bits[device / 64] &= ~(1 << UInt64(device % 64))
        return true
    }
}
