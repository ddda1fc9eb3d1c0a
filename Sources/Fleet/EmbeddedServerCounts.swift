/// What the embedded Bootstrap-Server and LwM2M Server counted during a run, from the summary
/// line `lwm2m-fleet serve` prints when it stops.
///
/// The devices see only their own side: a Bootstrap-Server that gives up on a device and starts
/// over shows on the device as a slow bootstrap, not a failed one. These counts put the server's
/// side in the result file, where thresholds (`server.bootstrap_failures == 0`) can read them.
public struct EmbeddedServerCounts: Sendable, Codable, Equatable {
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
    public var retransmissions: Int = 0

    public init() {}

    /// Per count: its metric name after `server.`, its key in serve's summary, and where it is kept.
    static let fields: [(name: String, key: String, field: WritableKeyPath<EmbeddedServerCounts, Int> & Sendable)] = [
        ("registrations_held", "registrations", \.registrationsHeld),
        ("registered", "registered", \.registered),
        ("updated", "updated", \.updated),
        ("deregistered", "deregistered", \.deregistered),
        ("expired", "expired", \.expired),
        ("bootstraps", "bootstraps", \.bootstraps),
        ("bootstrap_failures", "bootstrap-failures", \.bootstrapFailures),
        ("refused", "refused", \.refused),
        ("violations_sent", "violations-sent", \.violationsSent),
        ("retransmissions", "retransmissions", \.retransmissions),
    ]

    /// Reads serve's summary (`registrations=0 registered=100 ... retransmissions=0`); nil when
    /// a count is missing or not a number, so a changed format is noticed instead of read as 0.
    public init?(summary: String) {
        var values: [Substring: Int] = [:]
        for pair in summary.split(separator: " ") {
            guard let equals = pair.firstIndex(of: "="), let value = Int(pair[pair.index(after: equals)...]) else { continue }
            values[pair[..<equals]] = value
        }
        for entry in Self.fields {
            guard let value = values[Substring(entry.key)] else { return nil }
            self[keyPath: entry.field] = value
        }
    }

    /// The counts as serve's summary line writes them, for people.
    public var summary: String {
        Self.fields.map { "\($0.key)=\(self[keyPath: $0.field])" }.joined(separator: " ")
    }

    /// The count a `server.NAME` metric names; nil for another name.
    func value(for name: Substring) -> Int? {
        Self.fields.first { $0.name == name }.map { self[keyPath: $0.field] }
    }

    /// Adds the counts of another embedded server (another shard's).
    mutating func add(_ other: EmbeddedServerCounts) {
        for entry in Self.fields { self[keyPath: entry.field] += other[keyPath: entry.field] }
    }
}
