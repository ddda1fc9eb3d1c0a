/// The fleet file of a result as data beside its text (`ResultFile.Spec.fleet`): what a reader
/// of the result needs to know about the run without parsing YAML: devices per group and in all,
/// how they bootstrap and secure, the servers, the stages with their durations, rates and
/// arrivals, the end, and the thresholds.
///
/// Keys follow the result file's style (lowerCamelCase, units in names); values keep the fleet
/// file's spelling (`client-initiated`, `every-update`). Secrets stay out: a key's source is named,
/// never the key.
public struct ParsedFleet: Sendable, Codable, Equatable {
    /// Devices in all groups.
    public var deviceCount: Int
    public var groups: [Group]
    public var server: Server
    public var stages: [Stage]
    public var end: End
    /// `seed:` of the file; nil when the run picked one (the result's `seed` is the one used).
    public var seed: UInt64?
    public var durationLimitSeconds: Double?
    public var inFlightLimit: Int?
    public var thresholds: [ThresholdSpec]

    /// One device group.
    public struct Group: Sendable, Codable, Equatable {
        public var name: String?
        public var count: Int
        /// Global device indices `firstDeviceIndex..<firstDeviceIndex + count`.
        public var firstDeviceIndex: Int
        /// As `endpoint:` writes it: `sim-{index:06}`.
        public var endpoint: String
        /// `none`, `client-initiated` or `server-initiated`.
        public var bootstrap: String
        public var lwm2mVersion: String
        public var lifetimeSeconds: UInt32
        public var binding: String
        /// nil: online until the end.
        public var sessionSeconds: Double?
        public var sessionRepeats: Bool
        /// nil: plain CoAP.
        public var security: Security?
        /// nil: a perfect network.
        public var faults: LinkImpairment?
    }

    /// A group's DTLS settings, without its keys.
    public struct Security: Sendable, Codable, Equatable {
        /// `psk`.
        public var mode: String
        /// The PSK identity pattern, as `endpoint:` writes it.
        public var identity: String
        /// Where the keys come from: `key` (one for the group), `key-file` or `key-secret`.
        public var keySource: String
        /// `once` or `every-update`.
        public var handshake: String
        public var resume: Bool
        /// `coaps` or `coap`.
        public var bootstrapOver: String
    }

    /// The servers the devices talked to.
    public struct Server: Sendable, Codable, Equatable {
        /// `embedded` or `external`.
        public var kind: String
        /// The external LwM2M Server and Bootstrap-Server; nil for the embedded ones, or when not given.
        public var serverURI: String?
        public var bootstrapURI: String?
        /// What the embedded LwM2M Server asked of each registered device (paths); empty otherwise.
        public var read: [String]
        public var observe: [String]
        public var execute: [String]
        /// The embedded server's rule break on purpose (`before-ack`, `during-bootstrap`).
        public var violate: String?
        /// The embedded servers' own network faults.
        public var faults: LinkImpairment?
        /// The embedded LwM2M Server's restart.
        public var restart: ServerRestart?
    }

    /// One stage of the arrival schedule.
    public struct Stage: Sendable, Codable, Equatable {
        public var index: Int
        /// From the start of the run.
        public var startSeconds: Double
        public var durationSeconds: Double
        /// `constant`, `ramp` or `hold`.
        public var arrivals: String
        /// Arrivals per second at the stage's start and end (a ramp goes linearly between them).
        public var startRatePerSecond: Double
        public var endRatePerSecond: Double
        /// Devices the schedule starts in the stage (the arrivals target).
        public var intendedArrivals: Int
        /// The fraction of running devices that deregister and come back, per second.
        public var churnPerSecond: Double
    }

    /// What devices do after the last stage.
    public struct End: Sendable, Codable, Equatable {
        /// `deregister` or `drop`.
        public var mode: String
        /// The pace of the De-registers, for the whole fleet.
        public var deregistersPerSecond: Double
        public var graceSeconds: Double
    }

    /// A threshold as parsed: the limit in the metric's unit (nanoseconds for durations, a
    /// fraction for rates).
    public struct ThresholdSpec: Sendable, Codable, Equatable {
        public var expression: String
        public var metric: String
        /// `<`, `<=`, `>`, `>=`, `==` or `!=`.
        public var comparator: String
        public var limit: Double
    }

    /// The data of `spec`.
    public init(_ spec: FleetSpec) {
        deviceCount = spec.deviceCount
        groups = zip(spec.devices, spec.deviceIndexRanges).map { group, indices in
            Group(
                name: group.name, count: group.count, firstDeviceIndex: Int(indices.lowerBound),
                endpoint: Self.pattern(group.endpoint), bootstrap: group.bootstrap.rawValue,
                lwm2mVersion: group.lwm2mVersion.description, lifetimeSeconds: group.lifetimeSeconds,
                binding: group.binding.description, sessionSeconds: group.sessionSeconds, sessionRepeats: group.sessionRepeats,
                security: group.security.map(Self.security), faults: group.faults.isNone ? nil : group.faults)
        }
        server = Self.server(spec.server)
        let schedule = spec.arrivalSchedule
        stages = zip(spec.stages, schedule.segments).enumerated().map { index, pair in
            let (stage, segment) = pair
            let start = schedule.startSeconds(ofSegment: index)
            let arrivals = switch stage.arrivals {
            case .constant: "constant"
            case .ramp: "ramp"
            case .hold: "hold"
            }
            return Stage(
                index: index, startSeconds: start, durationSeconds: stage.durationSeconds, arrivals: arrivals,
                startRatePerSecond: segment.startRate, endRatePerSecond: segment.endRate,
                intendedArrivals: schedule.arrivalsDue(by: start + segment.durationSeconds) - schedule.arrivalsDue(by: start),
                churnPerSecond: stage.churnPerSecond)
        }
        let end = spec.endOfRun(stripes: 1)
        self.end = End(mode: end.mode.rawValue, deregistersPerSecond: end.deregistersPerSecond, graceSeconds: end.graceSeconds)
        seed = spec.seed
        durationLimitSeconds = spec.durationLimitSeconds
        inFlightLimit = spec.inFlightLimit
        thresholds = spec.thresholds.map {
            ThresholdSpec(expression: $0.text, metric: $0.metric, comparator: $0.comparator.rawValue, limit: $0.limit)
        }
    }

    /// `PREFIX{index}` or `PREFIX{index:0N}`, as the fleet file writes a pattern.
    private static func pattern(_ pattern: FleetSpec.EndpointPattern) -> String {
        pattern.prefix + (pattern.indexWidth > 0 ? "{index:0\(pattern.indexWidth)}" : "{index}")
    }

    private static func security(_ security: DeviceSecurity) -> Security {
        let keySource = switch security.keySource {
        case .fixed: "key"
        case .file: "key-file"
        case .derived: "key-secret"
        }
        return Security(
            mode: security.mode.rawValue, identity: pattern(security.identity), keySource: keySource,
            handshake: security.handshake.rawValue, resume: security.resume,
            bootstrapOver: security.bootstrapsOverPlainCoAP ? "coap" : "coaps")
    }

    private static func server(_ target: FleetSpec.ServerTarget) -> Server {
        switch target {
        case .embedded(let embedded):
            Server(
                kind: "embedded", serverURI: nil, bootstrapURI: nil, read: embedded.read.map(\.description),
                observe: embedded.observe.map(\.description), execute: embedded.execute.map(\.description),
                violate: embedded.violate, faults: embedded.faults.isNone ? nil : embedded.faults, restart: embedded.restart)
        case .external(let serverURI, let bootstrapURI):
            Server(
                kind: "external", serverURI: serverURI, bootstrapURI: bootstrapURI, read: [], observe: [], execute: [],
                violate: nil, faults: nil, restart: nil)
        }
    }
}
