import CoAP
import LwM2M

/// What the embedded Bootstrap-Server writes to devices and which steps it runs, per endpoint name.
///
/// The defaults work with no file: each device gets one NoSec account for the LwM2M Server at
/// `coap://127.0.0.1:5683` (Short Server ID 1, lifetime 300 s, binding U) after a Bootstrap-Delete of
/// /0 and /1. Endpoint rules override that for the endpoint names their pattern matches; the first
/// matching rule wins. The Fleet module reads the same from a YAML file (`serve --config`).
public struct BootstrapServerConfiguration: Hashable, Sendable, Codable {
    /// Which Bootstrap-Delete requests clear the device before the writes.
    public enum DeleteMode: String, Hashable, Sendable, Codable, CaseIterable {
        /// `DELETE /0` then `DELETE /1`: the Security and Server objects only.
        case objects
        /// `DELETE /`: every instance the device lets go of.
        case root
    }

    /// The bootstrap of one device: the account written and the steps around it.
    public struct Settings: Hashable, Sendable, Codable {
        /// `/0/x/0`: the LwM2M Server URI (coap://, as the account is NoSec).
        public var serverURI: String
        /// `/0/x/10` and `/1/0/0`: 1-65534.
        public var shortServerID: UInt16
        /// `/1/0/1`.
        public var lifetimeSeconds: UInt32
        /// `/1/0/7`.
        public var binding: LwM2MBinding
        /// The device's LwM2M version, which a Bootstrap-Request does not carry: it picks the
        /// content format (SenML CBOR from 1.1, TLV before) and whether Bootstrap-Read runs.
        /// A Bootstrap-Discover answer (`</>;lwm2m=`) replaces it.
        public var lwm2mVersion: LwM2MVersion
        /// The Security instance written when Bootstrap-Discover does not run. With Discover it is
        /// kept unless the device's Bootstrap-Server account sits there; then the lowest free id is used.
        public var securityInstanceID: UInt16
        /// `/1/0/2` and `/1/0/3`: the default minimum and maximum notification periods.
        public var defaultMinimumPeriodSeconds: UInt32
        public var defaultMaximumPeriodSeconds: UInt32
        /// Bootstrap-Discover `GET /` first.
        public var discover: Bool
        public var delete: DeleteMode
        /// Bootstrap-Read of /1 after the writes (LwM2M 1.1 devices only; skipped for 1.0).
        public var read: Bool
        /// The account's Security Mode: NoSec (3), or PSK (0) with the identity and key the
        /// Bootstrap-Server's key source gives the endpoint (`LwM2MBootstrapServer.init`), written
        /// as `/0/x/3` and `/0/x/5` for a `coaps://` `serverURI`.
        public var preSharedKey = false

        public init(
            serverURI: String = "coap://127.0.0.1:5683", shortServerID: UInt16 = 1, lifetimeSeconds: UInt32 = 300,
            binding: LwM2MBinding = .udp, lwm2mVersion: LwM2MVersion = .v1_1, securityInstanceID: UInt16 = 1,
            defaultMinimumPeriodSeconds: UInt32 = 1, defaultMaximumPeriodSeconds: UInt32 = 60,
            discover: Bool = false, delete: DeleteMode = .objects, read: Bool = false
        ) {
            self.serverURI = serverURI
            self.shortServerID = shortServerID
            self.lifetimeSeconds = lifetimeSeconds
            self.binding = binding
            self.lwm2mVersion = lwm2mVersion
            self.securityInstanceID = securityInstanceID
            self.defaultMinimumPeriodSeconds = defaultMinimumPeriodSeconds
            self.defaultMaximumPeriodSeconds = defaultMaximumPeriodSeconds
            self.discover = discover
            self.delete = delete
            self.read = read
        }
    }

    /// Settings for the endpoint names that match `pattern`, a glob where `*` stands for any run
    /// of characters (`sim-00*`, `*-meter`, `*`).
    public struct EndpointRule: Hashable, Sendable, Codable {
        public var pattern: String
        /// Complete settings (the YAML loader starts them from the file's top-level values).
        public var settings: Settings

        public init(pattern: String, settings: Settings) {
            self.pattern = pattern
            self.settings = settings
        }
    }

    /// For endpoint names no rule matches.
    public var defaults: Settings
    /// Tried in order; the first match wins.
    public var endpointRules: [EndpointRule]
    /// Of the CoAP endpoint the Bootstrap-Server keeps towards each device.
    public var transmission: CoAPTransmissionParameters

    public init(
        defaults: Settings = Settings(), endpointRules: [EndpointRule] = [],
        transmission: CoAPTransmissionParameters = CoAPTransmissionParameters()
    ) {
        self.defaults = defaults
        self.endpointRules = endpointRules
        self.transmission = transmission
    }

    /// The settings of the first rule whose pattern matches `endpointName`, else the defaults.
    public func settings(forEndpoint endpointName: String) -> Settings {
        endpointRules.first { Self.glob($0.pattern, matches: endpointName) }?.settings ?? defaults
    }

    /// Whether `name` matches `pattern`, where `*` matches any run of characters (also none) and
    /// every other character itself. Linear backtracking over the last `*`, so no pattern is slow.
    static func glob(_ pattern: String, matches name: String) -> Bool {
        let pattern = Array(pattern.utf8)
        let name = Array(name.utf8)
        let star = UInt8(ascii: "*")
        var patternIndex = 0
        var nameIndex = 0
        var lastStar: Int?
        var resumeAt = 0
        while nameIndex < name.count {
            if patternIndex < pattern.count, pattern[patternIndex] == star {
                lastStar = patternIndex
                resumeAt = nameIndex
                patternIndex += 1
            } else if patternIndex < pattern.count, pattern[patternIndex] == name[nameIndex] {
                patternIndex += 1
                nameIndex += 1
            } else if let lastStar {
                // Let the last `*` swallow one more character and try again from there.
                patternIndex = lastStar + 1
                resumeAt += 1
                nameIndex = resumeAt
            } else {
                return false
            }
        }
        while patternIndex < pattern.count, pattern[patternIndex] == star { patternIndex += 1 }
        return patternIndex == pattern.count
    }
}
