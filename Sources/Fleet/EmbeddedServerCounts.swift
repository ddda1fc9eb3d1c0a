import LwM2MServer

/// What the embedded Bootstrap-Server and LwM2M Server counted during a run, as `lwm2m-fleet
/// serve` reports it when it stops (`EmbeddedServerReport.summary`).
///
/// The devices see only their own side: a Bootstrap-Server that gives up on a device and starts
/// over shows on the device as a slow bootstrap, not a failed one. These counts put the server's
/// side in the result file, where thresholds (`server.bootstrap_failures == 0`) can read them.
public struct EmbeddedServerCounts: Sendable, Codable, Hashable {
    /// Registrations the server still held when it stopped.
    public var registrationsHeld: Int = 0
    public var registered: Int = 0
    public var updated: Int = 0
    public var deregistered: Int = 0
    /// Registrations that ended because their lifetime ran out.
    public var expired: Int = 0
    /// Bootstraps the Bootstrap-Server finished, and the ones it gave up.
    public var bootstraps: Int = 0
    public var bootstrapFailures: Int = 0
    /// Requests the server answered with an error (malformed, unknown location, ...).
    public var refused: Int = 0
    /// Rule breaks the server made on purpose (`serve --violate`).
    public var violationsSent: Int = 0
    /// After-registration requests (`server.embedded.read`, ...) that got no answer in all their
    /// attempts while the device's registration lived.
    public var requestsUnanswered: Int = 0
    /// Devices the server sent at least one of them: what `devices.with_violations`, the devices
    /// that caught the server at it, is measured against.
    public var devicesViolated: Int = 0
    public var retransmissions: Int = 0
    /// Registrations the LwM2M Server held when it restarted (`server.embedded.restart`), and lost.
    public var registrationsLost: Int = 0
    /// DTLS handshakes the servers' `coaps://` sockets completed (full and resumed), those of
    /// them that resumed a session (abbreviated, from a ticket), and the ones that failed.
    public var handshakes: Int = 0
    public var handshakesResumed: Int = 0
    public var handshakeFailures: Int = 0
    /// The failed handshakes by reason (`bad_record_mac`, `timeout`, ...); nil without DTLS.
    public var handshakeFailureReasons: [String: Int]?
    /// What fault injection did to the servers' datagrams (`server.embedded.faults`); nil without it.
    public var faults: FaultCounts?

    public init() {}

    /// Per count: its metric name after `server.`, its key in the summary line, and where it is kept.
    static let fields: [(name: String, key: String, field: WritableKeyPath<EmbeddedServerCounts, Int> & Sendable)] = [
        ("registrations_held", "held-now", \.registrationsHeld),
        ("registered", "registered-total", \.registered),
        ("updated", "updated", \.updated),
        ("deregistered", "deregistered", \.deregistered),
        ("expired", "expired", \.expired),
        ("bootstraps", "bootstraps", \.bootstraps),
        ("bootstrap_failures", "bootstrap-failures", \.bootstrapFailures),
        ("refused", "refused", \.refused),
        ("requests_unanswered", "requests-unanswered", \.requestsUnanswered),
        ("violations_sent", "violations-sent", \.violationsSent),
        ("devices_violated", "devices-violated", \.devicesViolated),
        ("retransmissions", "retransmissions", \.retransmissions),
        ("registrations_lost", "registrations-lost", \.registrationsLost),
        ("handshakes", "handshakes", \.handshakes),
        ("handshakes_resumed", "handshakes-resumed", \.handshakesResumed),
        ("handshake_failures", "handshake-failures", \.handshakeFailures),
    ]

    /// The counts for people, as `serve` and `run` print them: `held-now=0 registered-total=100 ... handshake-failures=0`: what the
    /// server holds at the end, then what it counted over the run.
    public var summaryLine: String {
        Self.fields.map { "\($0.key)=\(self[keyPath: $0.field])" }.joined(separator: " ")
    }

    /// Counts one event of the servers (the registrations held and the retransmissions are not
    /// events: they are set when the servers stop).
    public mutating func count(_ event: ServerEvent) {
        switch event {
        case .registered: registered += 1
        case .updated: updated += 1
        case .deregistered: deregistered += 1
        case .expired: expired += 1
        case .refused: refused += 1
        case .bootstrapFinished(_, let succeeded): if succeeded { bootstraps += 1 } else { bootstrapFailures += 1 }
        case .violationSent: violationsSent += 1
        case .requestUnanswered: requestsUnanswered += 1
        case .bootstrapStarted, .operationCompleted: break
        }
    }

    /// The count a `server.NAME` metric names; nil for another name.
    func value(for name: Substring) -> Int? {
        Self.fields.first { $0.name == name }.map { self[keyPath: $0.field] }
    }

    /// Adds the counts of another embedded server (another shard's).
    mutating func add(_ other: EmbeddedServerCounts) {
        for entry in Self.fields { self[keyPath: entry.field] += other[keyPath: entry.field] }
        if let theirs = other.handshakeFailureReasons {
            handshakeFailureReasons = (handshakeFailureReasons ?? [:]).merging(theirs, uniquingKeysWith: +)
        }
        if let theirs = other.faults {
            var counts = faults ?? FaultCounts()
            counts.add(theirs)
            faults = counts
        }
    }
}
