import CoAP
import LwM2M
import LwM2MClient

/// A fleet file: which devices to simulate, against which servers, on which arrival schedule, and
/// what the run must achieve. `FleetSpec(contentsOfFile:)` reads it from YAML and refuses a file
/// with any mistake, naming file, line, column and key (`FleetSpecError`).
///
/// The schema (keys are kebab-case; unknown keys are errors; `fleets/quickstart.yaml` is a
/// commented example):
///
/// ```yaml
/// seed: 42                      # optional: seeds all randomness (default: random, printed and stored in the result)
/// duration-limit: 10m           # optional: hard stop for the whole run
/// in-flight-limit: 5000         # optional: at most this many operations in flight; arrivals over it are dropped (counted)
/// server: embedded              # required: the embedded Bootstrap-Server and Server, or
/// # server:
/// #   embedded:                 #   the embedded ones with requests sent after each registration
/// #     read: [/3/0]            #   (as `lwm2m-fleet serve --read/--observe/--execute`; execute is sent
/// #     observe: [/3/0/9]       #   after a device's first registration only, so /1/0/9 starts one
/// #     execute: [/1/0/9]       #   re-bootstrap per device, not a loop)
/// #     faults: { loss: 5% }    #   faults of the servers' own sockets (a group's keys, no rebind-every)
/// #     restart: { at: 60s, down: 10s }   # the LwM2M Server restarts 60 s after the run's start
/// #                             #   (`ServerRestart`), answers nothing for 10 s, then comes back empty
/// # server:                     # or external servers (either or both):
/// #   server: coap://10.0.0.5:5683       # the LwM2M Server, for devices with bootstrap: none
/// #   bootstrap: coap://10.0.0.5:5783    # the Bootstrap-Server, for devices that bootstrap
/// #                             # coaps:// (default port 5684) for groups with security:, coap:// for the others
/// devices:                      # required: one or more groups; global device indices run across groups in order
///   - name: meters              # optional: names the group in results (ASCII letters, digits, . _ -)
///     count: 1000               # required: > 0
///     endpoint: "sim-{index:06}"   # PREFIX{index} or PREFIX{index:0N} (zero-padded to N digits); the index is the
///                               # global device index. Default "sim-{index:06}", or "NAME-{index:06}" for a named group.
///                               # Groups need distinct prefixes (names stay unique, the embedded Bootstrap-Server
///                               # tells groups apart by prefix).
///     bootstrap: client-initiated  # none (default: a Server account is preinstalled) | client-initiated | server-initiated
///     lwm2m-version: "1.1"      # 1.0 | 1.1 (default) | 1.2
///     preferred-content-format: senml-cbor   # optional `pct` of the Bootstrap-Request (LwM2M 1.1+, bootstrapping groups):
///                               # tlv, senml-json, senml-cbor, lwm2m-json or the number (11542, 110, 112, 11543)
///     lifetime: 300s            # registration lifetime, whole seconds (default 300s); with the embedded servers
///                               # the Bootstrap-Server writes it; an external Bootstrap-Server decides its own
///     binding: U                # default U; checked against lwm2m-version
///     session: 30s              # optional: each device deregisters this long after its registration is
///                               # acknowledged and goes off for good, its socket closed (devices that wake,
///                               # report and leave; 0s leaves at once). Default: online until the end.
///     session-repeat: true      # optional, with session: instead of leaving, register again at once on the
///                               # same socket, over and over (a closed Register/Update/De-register loop)
///     objects:                  # optional: objects beyond Security (0), Server (1) and Device (3)
///       - { id: 4, values: { "2": -70, "4": ["10.0.0.2"] } }   # values typed by the object definition;
///       - { id: 3303, instances: 2, values: { "5700": 21.5 } } # a list gives a multiple-instance resource's instances;
///                               # instances (default 1; 0: supported without instances); id 3 overrides Device values
///     generators:               # optional: values that change over time, so observations notify
///       - { path: /3/0/9, uniform: { min: 0, max: 100, period: 60s } }        # a new random value every period
///       - { path: /3303/*/5700, counter: { start: 0, step: 1, period: 10s } } # start, plus step every period
///                               # a generator applies to every instance: use * unless the object has one instance
///     ddf: ./objects            # optional: directory of DDF files (relative to the fleet file) for objects beyond 0-7
///     local-addresses: [127.0.0.2, 127.0.0.3]   # optional: device sockets bind to these in turn (default:
///                               # 127.0.0.1 against loopback servers, otherwise the kernel's choice)
///     faults:                   # optional: what the network does to the group's datagrams (`LinkImpairment`),
///       loss: 20%               # seeded per device so a run replays; lost each way (loss-up, loss-down: one way)
///       duplicate: 1%           # arrive twice
///       reorder: 2%             # wait until the next datagram of their socket and way passed them (at most 100 ms)
///       delay: 50ms             # on the way, moved by up to
///       jitter: 20ms            # either way (at most the delay)
///       rebind-every: 30s       # the device's NAT mapping changes: its next datagram leaves from a new port
///     security:                 # optional: DTLS 1.2 with a pre-shared key per device (`DeviceSecurity`); the group
///                               # then talks to coaps:// servers (or the embedded ones). Default: plain CoAP.
///       mode: psk               # required: psk (RPK and X.509 are not supported yet)
///       identity: "sim-{index:06}"   # the PSK identity, a pattern as endpoint (global index); default: the endpoint name
///       key: 000102030405060708090a0b0c0d0e0f   # one of: key, one key for every device (hex, 0x optional, 1 to 32 bytes);
///       # key-file: keys.csv    #   a key per identity, lines IDENTITY,KEY-HEX (# comments), relative to the fleet file,
///                               #   with a line for every device of the group;
///       # key-secret: TEXT      #   or each device's key derived from TEXT and its identity (HMAC-SHA256, 16 bytes)
///       bootstrap-over: coaps   # optional: coaps (default) or coap, a plain bootstrap that provisions the DTLS
///                               #   credentials (the embedded Bootstrap-Server writes a PSK account over coap://)
///       handshake: once         # optional: once (default; again only after a session was lost) or every-update
///                               #   (a new handshake before each Update: a handshake storm by design)
///       resume: false           # optional: true resumes the device's last session with a server from its
///                               #   ticket (an abbreviated handshake, "handshake-resumed" in the summary)
/// stages:                       # required: open-model arrivals, k6 style; each stage has a duration and one of:
///   - { duration: 10s, rate: 100/s }     # a constant arrival rate
///   - { duration: 20s, target: 500/s }   # a linear ramp from the previous stage's final rate (0 after a hold)
///   - { duration: 30s, hold: true }      # no arrivals; devices live on (updates, answering the server)
///   - { duration: 1m, hold: true, churn: 5%/min }   # optional on any stage: this fraction of the devices
///                                        # deregisters and comes back per unit of time
/// end: deregister               # after the last stage: deregister (default) or drop (go silent), or
/// # end: { mode: deregister, rate: 500/s, grace: 30s }   # De-registers paced at rate (default: the
///                               # busiest arrival stage's rate), answers awaited for grace (default
///                               # 15s) after the last one is sent
/// thresholds:                   # optional: `metric comparator value`, metric from MetricCatalog
///   - register.latency.p99 < 200ms
///   - bootstrap.failed.rate < 0.001
///   - violations == 0
/// search:                       # optional: how `lwm2m-fleet search` steps the load up (`SearchSpec` lists the keys);
///   load: arrival-rate          #   `run` ignores it. Without it, search derives every setting from the busiest stage.
///   from: 100/s
///   to: 20000/s
/// ```
///
/// Units: durations `500ms`, `30s`, `2m`, `1h` (also `ns`, `us`, `min`); rates `100/s`, `6000/min`,
/// `10/h`; churn `5%/min`, `1%/s`, `10%/h`; shares of datagrams `20%`, `0.5%`. The stages must
/// offer enough arrivals to start every device: a fleet that could never fully arrive is an
/// error, not a warning, since its results would describe a different fleet than the file.
public struct FleetSpec: Sendable {
    /// Which servers the devices talk to.
    public enum ServerTarget: Hashable, Sendable {
        /// The embedded Bootstrap-Server and LwM2M Server, started by the run on free ports.
        case embedded(EmbeddedServer)
        /// Servers elsewhere; at least one of the two is set.
        case external(serverURI: String?, bootstrapURI: String?)
    }

    /// What the embedded LwM2M Server asks of each device once its registration is acknowledged.
    public struct EmbeddedServer: Hashable, Sendable {
        public var read: [LwM2MPath]
        public var observe: [LwM2MPath]
        /// Sent after a device's first registration only (`/1/0/9` sends it back to bootstrap once).
        public var execute: [LwM2MPath]
        /// Break the registration rule on purpose (`serve --violate`): `before-ack` or `during-bootstrap`.
        public var violate: String?
        /// What the network does to the servers' datagrams, both servers, both ways.
        public var faults: LinkImpairment = .none
        /// A restart of the LwM2M Server mid-run, its registrations lost.
        public var restart: ServerRestart?

        public init(read: [LwM2MPath] = [], observe: [LwM2MPath] = [], execute: [LwM2MPath] = []) {
            self.read = read
            self.observe = observe
            self.execute = execute
        }
    }

    /// What devices do when the last stage ends.
    public enum EndMode: String, Hashable, Sendable, CaseIterable {
        /// Send De-register and wait for the answers.
        case deregister
        /// Stop without a word, as devices that lose power.
        case drop
    }

    /// One stretch of the arrival schedule.
    public struct Stage: Hashable, Sendable {
        /// What arrives during the stage.
        public enum Arrivals: Hashable, Sendable {
            /// A constant rate, devices per second.
            case constant(perSecond: Double)
            /// A linear ramp from the previous stage's final rate to this one, devices per second.
            case ramp(toPerSecond: Double)
            /// No arrivals; the devices already started keep going.
            case hold
        }

        public var durationSeconds: Double
        public var arrivals: Arrivals
        /// The fraction of running devices that deregister and come back, per second (0: none).
        public var churnPerSecond: Double

        public init(durationSeconds: Double, arrivals: Arrivals, churnPerSecond: Double = 0) {
            self.durationSeconds = durationSeconds
            self.arrivals = arrivals
            self.churnPerSecond = churnPerSecond
        }
    }

    /// How a group names its devices: `prefix` then the global index zero-padded to `indexWidth`
    /// digits (`ClientConfiguration.endpointName(index:)` builds the names).
    public struct EndpointPattern: Hashable, Sendable {
        public var prefix: String
        /// 0: no padding.
        public var indexWidth: Int

        public init(prefix: String, indexWidth: Int) {
            self.prefix = prefix
            self.indexWidth = indexWidth
        }

        /// The name of device `index` (global), as `ClientConfiguration` builds it.
        public func name(index: UInt32) -> String {
            ClientConfiguration.endpointName(prefix: prefix, indexWidth: indexWidth, index: index)
        }

        /// The device index whose name is `name`; nil for a name this pattern never gives.
        public func index(ofName name: String) -> UInt32? {
            guard name.hasPrefix(prefix) else { return nil }
            let digits = name.utf8.dropFirst(prefix.utf8.count)
            // UInt32(_:) alone would also take a sign; the round trip refuses other paddings.
            guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let index = UInt32(Substring(digits)), self.name(index: index) == name
            else { return nil }
            return index
        }
    }

    /// An object a group's devices have beyond Security, Server and Device, or Device values to override.
    public struct ObjectSpec: Hashable, Sendable {
        public var objectID: UInt16
        /// Instances 0..<instanceCount, all with the same initial values.
        public var instanceCount: UInt16
        /// Initial values by resource id, typed by the object definition; a multiple-instance resource
        /// holds its instances 0, 1, ... in order, a single-instance one exactly one value.
        public var values: [UInt16: [LwM2MValue]]

        public init(objectID: UInt16, instanceCount: UInt16, values: [UInt16: [LwM2MValue]]) {
            self.objectID = objectID
            self.instanceCount = instanceCount
            self.values = values
        }
    }

    /// A value generator and the resource it drives, in every instance of its object.
    public struct GeneratorSpec: Hashable, Sendable {
        public var objectID: UInt16
        public var resourceID: UInt16
        public var generator: ValueGenerator

        public init(objectID: UInt16, resourceID: UInt16, generator: ValueGenerator) {
            self.objectID = objectID
            self.resourceID = resourceID
            self.generator = generator
        }
    }

    /// Devices that share one profile and configuration.
    public struct DeviceGroup: Sendable {
        public var name: String?
        public var count: Int
        public var endpoint: EndpointPattern
        public var bootstrap: ClientConfiguration.BootstrapMode
        public var lwm2mVersion: LwM2MVersion
        public var preferredContentFormat: LwM2MContentFormat?
        public var lifetimeSeconds: UInt32
        public var binding: LwM2MBinding
        public var objects: [ObjectSpec]
        public var generators: [GeneratorSpec]
        /// The `ddf` directory, resolved against the fleet file's directory.
        public var ddfDirectory: String?
        /// The core objects plus those of `ddfDirectory`.
        public var model: LwM2MModel
        /// Numeric IP addresses device sockets bind to, in turn; empty: chosen by `deviceSetup`.
        public var localAddresses: [String]
        /// How long each device stays registered before it leaves for good; nil: until the end.
        public var sessionSeconds: Double?
        /// Whether a device whose session ended registers again at once instead of leaving.
        public var sessionRepeats: Bool
        /// What the network does to the group's datagrams (`faults:`).
        public var faults: LinkImpairment = .none
        /// The group's DTLS credentials (`security:`); nil: plain CoAP.
        public var security: DeviceSecurity?

        /// Whether the group's devices speak DTLS: the loader gives security exactly to the groups
        /// that talk to a coaps:// server, and to those of the embedded servers that ask for it.
        public var usesDTLS: Bool { security != nil }

        public init(
            name: String? = nil, count: Int, endpoint: EndpointPattern = EndpointPattern(prefix: "sim-", indexWidth: 6),
            bootstrap: ClientConfiguration.BootstrapMode = .none, lwm2mVersion: LwM2MVersion = .v1_1,
            preferredContentFormat: LwM2MContentFormat? = nil, lifetimeSeconds: UInt32 = 300, binding: LwM2MBinding = .udp,
            objects: [ObjectSpec] = [], generators: [GeneratorSpec] = [], ddfDirectory: String? = nil,
            model: LwM2MModel = .core, localAddresses: [String] = [], sessionSeconds: Double? = nil,
            sessionRepeats: Bool = false
        ) {
            self.name = name
            self.count = count
            self.endpoint = endpoint
            self.bootstrap = bootstrap
            self.lwm2mVersion = lwm2mVersion
            self.preferredContentFormat = preferredContentFormat
            self.lifetimeSeconds = lifetimeSeconds
            self.binding = binding
            self.objects = objects
            self.generators = generators
            self.ddfDirectory = ddfDirectory
            self.model = model
            self.localAddresses = localAddresses
            self.sessionSeconds = sessionSeconds
            self.sessionRepeats = sessionRepeats
        }
    }

    /// The file as the user named it.
    public var source: String
    /// The YAML text as read, for the result file.
    public var text: String
    /// nil: the run picks one at random (and prints and stores it).
    public var seed: UInt64?
    public var durationLimitSeconds: Double?
    public var server: ServerTarget
    public var inFlightLimit: Int?
    public var devices: [DeviceGroup]
    public var stages: [Stage]
    public var end: EndMode
    /// The pace of the De-registers at the end for the whole fleet; nil: the busiest arrival rate.
    public var endDeregistersPerSecond: Double?
    /// How long the end waits for answers after the last De-register is sent.
    public var endGraceSeconds: Double = 15
    public var thresholds: [Threshold]
    /// The `search:` section as written; nil without one (`searchPlan` then derives every setting).
    public var search: SearchSpec?
    /// What reading the file passed over without refusing it, for the user to see
    /// (`ddf: FILE skipped: ...`); not part of what runs.
    public var notes: [String] = []

    public init(
        source: String, text: String = "", seed: UInt64? = nil, durationLimitSeconds: Double? = nil, server: ServerTarget,
        inFlightLimit: Int? = nil, devices: [DeviceGroup], stages: [Stage], end: EndMode = .deregister, thresholds: [Threshold] = []
    ) {
        self.source = source
        self.text = text
        self.seed = seed
        self.durationLimitSeconds = durationLimitSeconds
        self.server = server
        self.inFlightLimit = inFlightLimit
        self.devices = devices
        self.stages = stages
        self.end = end
        self.thresholds = thresholds
    }

    // MARK: Derived

    /// Devices in all groups.
    public var deviceCount: Int { devices.reduce(0) { $0 + $1.count } }

    /// About how many sockets the fleet holds open at once: one per device online (every device
    /// of a group that stays to the end; of a group with sessions that end, those that arrived
    /// within a session plus 2 s for registering, at the peak arrival rate), plus the bootstrap
    /// sockets: kept by server-initiated devices, held by client-initiated ones while they
    /// bootstrap and for EXCHANGE_LIFETIME after, to answer a retransmitted Finish (the arrivals of
    /// 10 s plus 247 s at the peak rate at most).
    public var socketsOnlineAtOnce: Int {
        let peakRate = arrivalSchedule.peakRate
        let bootstrapSocketSeconds = 10 + Double(CoAPTransmissionParameters().exchangeLifetimeNanoseconds) / 1e9
        return devices.reduce(0) { sockets, group in
            var online = group.count
            if let session = group.sessionSeconds, !group.sessionRepeats {
                online = min(group.count, Int((peakRate * (session + 2)).rounded(.up)))
            }
            let bootstrapping = switch group.bootstrap {
            case .none: 0
            case .serverInitiated: online
            case .clientInitiated: min(online, Int((peakRate * bootstrapSocketSeconds).rounded(.up)))
            }
            return sockets + online + bootstrapping
        }
    }

    /// The global device indices of each group, in order.
    public var deviceIndexRanges: [Range<UInt32>] {
        var start: UInt32 = 0
        return devices.map { group in
            defer { start += UInt32(group.count) }
            return start..<start + UInt32(group.count)
        }
    }

    /// The stages as piecewise-linear rate segments: a ramp starts at the previous segment's final
    /// rate (0 at the start and after a hold).
    public var arrivalSegments: [ArrivalSchedule.Segment] {
        var previousRate = 0.0
        return stages.map { stage in
            let (start, end): (Double, Double) = switch stage.arrivals {
            case .constant(let rate): (rate, rate)
            case .ramp(let target): (previousRate, target)
            case .hold: (0, 0)
            }
            previousRate = end
            return ArrivalSchedule.Segment(durationSeconds: stage.durationSeconds, startRate: start, endRate: end)
        }
    }

    /// When each device is due, for the scheduler.
    public var arrivalSchedule: ArrivalSchedule { ArrivalSchedule(segments: arrivalSegments, deviceCount: deviceCount) }

    /// Devices per second the stages ask for `seconds` into the run (0 after the last stage).
    public func arrivalRate(atSeconds seconds: Double) -> Double { arrivalSchedule.rate(at: seconds) }

    /// How one stripe of `stripes` ends the run: its share of the fleet's De-register pace (by
    /// default no faster than the busiest arrival stage, the rate the server already took).
    public func endOfRun(stripes: Int) -> EndOfRun {
        let pace = endDeregistersPerSecond ?? arrivalSchedule.peakRate
        return EndOfRun(mode: end, deregistersPerSecond: pace / Double(max(stripes, 1)), graceSeconds: endGraceSeconds)
    }

    /// Whether `duration-limit` stops the run before its stages are done.
    public var durationLimitCutsStages: Bool {
        durationLimitSeconds.map { $0 < stagesDurationSeconds } ?? false
    }

    /// Seconds of all stages together: arrivals, holds and churn; the run then ends as `end` says.
    public var stagesDurationSeconds: Double { stages.reduce(0) { $0 + $1.durationSeconds } }

    /// The stage `seconds` into the run falls in; nil after the last one.
    public func stage(atSeconds seconds: Double) -> Stage? {
        var offset = 0.0
        for stage in stages {
            offset += stage.durationSeconds
            if seconds < offset { return stage }
        }
        return nil
    }

    // MARK: Units

    /// Seconds per duration unit.
    static let durationUnits: [String: Double] = [
        "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "min": 60, "h": 3600,
    ]
    /// Seconds per unit of time in a rate (`/s`) or churn (`%/min`).
    static let rateUnits: [String: Double] = ["s": 1, "min": 60, "h": 3600]

    /// Seconds in a duration such as `500ms`, `30s`, `2m`, `1.5h`; nil without a known unit.
    public static func seconds(inDuration text: String) -> Double? {
        guard let (number, unit) = splitQuantity(text), let scale = durationUnits[String(unit)] else { return nil }
        return number * scale
    }

    /// Devices per second in a rate such as `100/s`, `6000/min`, `10/h`.
    public static func perSecond(inRate text: String) -> Double? {
        guard let (number, unit) = splitQuantity(text), unit.hasPrefix("/"), let scale = rateUnits[String(unit.dropFirst())]
        else { return nil }
        return number / scale
    }

    /// The fraction per second in a churn such as `5%/min`, `1%/s`, `10%/h`.
    public static func fractionPerSecond(inChurn text: String) -> Double? {
        guard let (number, unit) = splitQuantity(text), unit.hasPrefix("%/"), let scale = rateUnits[String(unit.dropFirst(2))]
        else { return nil }
        return number / 100 / scale
    }

    /// A leading unsigned decimal number (`12`, `1.5`, `10_000`) and the unit after it (spaces
    /// between them skipped); nil when the text does not start with one.
    static func splitQuantity(_ text: String) -> (number: Double, unit: Substring)? {
        var digits = ""
        var index = text.startIndex
        var seenPoint = false
        while index < text.endIndex {
            let character = text[index]
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if character == "_", !digits.isEmpty, digits.last != "." {
                // Digit grouping, as YAML integers allow (10_000).
            } else if character == ".", !seenPoint, !digits.isEmpty {
                seenPoint = true
                digits.append(character)
            } else {
                break
            }
            index = text.index(after: index)
        }
        guard let first = digits.first, first != ".", digits.last != ".", let number = Double(digits) else { return nil }
        // "5 ms" reads as "5ms".
        return (number, text[index...].drop { $0 == " " })
    }
}
