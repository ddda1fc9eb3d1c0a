import CoAP
import LwM2M
import LwM2MServer
import Yams

/// Reading the embedded Bootstrap-Server's configuration from YAML (`serve --config FILE`), with
/// the fleet file's reader: every problem found, each as `file:line:column: key.path: message`.
///
/// Every key is optional; an empty file gives the defaults. Top-level keys set the defaults,
/// `endpoints` lists rules tried in order, each with a `match` glob and any of the same keys, which
/// it overrides on top of the top-level values:
///
/// ```yaml
/// # bootstrap.yaml: what the embedded Bootstrap-Server writes to each device.
/// server-uri: coap://127.0.0.1:5683   # /0/x/0, a NoSec account (coap:// only)
/// short-server-id: 1                  # /0/x/10 and /1/0/0, 1-65534
/// lifetime: 300                       # /1/0/1, seconds
/// binding: U                          # /1/0/7
/// lwm2m-version: "1.1"                # 1.0 (TLV), 1.1 or 1.2 (SenML CBOR), unless the device sends pct
/// security-instance: 1                # the Security instance written (see discover)
/// minimum-period: 1                   # /1/0/2, seconds
/// maximum-period: 60                  # /1/0/3, seconds
/// discover: false                     # Bootstrap-Discover first; then the Security instance avoids
///                                     # the device's Bootstrap-Server account
/// delete: objects                     # objects: DELETE /0 and /1; root: DELETE /
/// read: false                         # Bootstrap-Read of /1 after the writes (1.1 devices)
/// endpoints:
///   - match: "meter-*"                # `*` is any run of characters; the first match wins
///     server-uri: coap://10.0.0.7:5683
///     lifetime: 86400
///     lwm2m-version: "1.0"
///   - match: "sim-00*"
///     discover: true
///     read: true
/// ```
extension BootstrapServerConfiguration {
    /// Reads a YAML document; `source` names it in errors (the file name, say).
    public init(yaml: String, source: String) throws(FleetSpecError) {
        self.init()
        guard let root = try BootstrapConfigurationReader.root(of: yaml, source: source) else { return }
        var reader = BootstrapConfigurationReader(source: source)
        guard let configuration = reader.configuration(root), reader.problems.isEmpty else { throw reader.error }
        self = configuration
    }

    /// Reads a YAML file; errors name `path` as given.
    public init(contentsOfFile path: String) throws(FleetSpecError) {
        try self.init(yaml: BootstrapConfigurationReader.text(ofFile: path), source: path)
    }

    /// Every key the file may hold (fleets/serve-config.yaml documents each).
    public static var fileKeys: [String] { BootstrapConfigurationReader.settingKeys + ["endpoints", "match"] }
}

/// Turns YAML nodes into a `BootstrapServerConfiguration`, collecting every problem with its place.
private struct BootstrapConfigurationReader: YAMLDocumentReader {
    typealias Settings = BootstrapServerConfiguration.Settings

    let source: String
    var problems: [FleetSpecError.Problem] = []
    var marks: [String: Place] = [:]

    init(source: String) {
        self.source = source
    }

    static let settingKeys = [
        "server-uri", "short-server-id", "lifetime", "binding", "lwm2m-version", "security-instance",
        "minimum-period", "maximum-period", "discover", "delete", "read",
    ]

    mutating func configuration(_ root: Node) -> BootstrapServerConfiguration? {
        guard let fields = fields(root, at: nil, what: "a mapping of settings (key: value)", allowed: Self.settingKeys + ["endpoints"])
        else { return nil }
        var configuration = BootstrapServerConfiguration()
        configuration.defaults = settings(fields, startingFrom: configuration.defaults)
        if let node = fields["endpoints"], let rules = list(node, at: "endpoints", what: "rules, each starting with - match: PATTERN") {
            configuration.endpointRules = rules.compactMap { rule($0.node, at: $0.path, defaults: configuration.defaults) }
        }
        return configuration
    }

    /// One `- match: ...` entry of `endpoints`, starting from the top-level settings.
    mutating func rule(_ node: Node, at path: String, defaults: Settings) -> BootstrapServerConfiguration.EndpointRule? {
        let patterns = "an endpoint name pattern such as \"sim-*\" (`*` is any run of characters)"
        guard let fields = fields(node, at: path, what: "a rule such as { match: \"sim-*\", lifetime: 60 }", allowed: ["match"] + Self.settingKeys,
                                  required: [("match", "add match: with \(patterns)")])
        else { return nil }
        let settings = settings(fields, startingFrom: defaults)
        guard let node = fields["match"], let pattern = text(node, at: fields.path("match"), expected: patterns) else { return nil }
        guard !pattern.isEmpty else {
            report(node, fields.path("match"), "an empty pattern matches no endpoint name; use \(patterns)")
            return nil
        }
        return BootstrapServerConfiguration.EndpointRule(pattern: pattern, settings: settings)
    }

    /// `base` with the settings `fields` gives; a value that cannot be read is reported and leaves
    /// the one from `base`.
    mutating func settings(_ fields: YAMLFields, startingFrom base: Settings) -> Settings {
        var settings = base
        func seconds(_ key: String, from lowest: UInt64, what: String) -> UInt32? {
            fields[key].flatMap { whole($0, at: fields.path(key), in: lowest...UInt64(UInt32.max), what: what) }.map { UInt32($0) }
        }
        if let node = fields["server-uri"] { settings.serverURI = serverURI(node, at: fields.path("server-uri")) ?? settings.serverURI }
        if let node = fields["short-server-id"],
           let id = whole(node, at: fields.path("short-server-id"), in: 1...UInt64(LwM2MPath.maximumID), what: "a Short Server ID, 1-65534") {
            settings.shortServerID = UInt16(id)
        }
        if let node = fields["security-instance"],
           let id = whole(node, at: fields.path("security-instance"), in: 0...UInt64(LwM2MPath.maximumID), what: "an instance id, 0-65534") {
            settings.securityInstanceID = UInt16(id)
        }
        settings.lifetimeSeconds = seconds("lifetime", from: 1, what: "a whole number of seconds above 0, such as 300") ?? settings.lifetimeSeconds
        settings.defaultMinimumPeriodSeconds = seconds("minimum-period", from: 0, what: "a whole number of seconds, such as 1")
            ?? settings.defaultMinimumPeriodSeconds
        settings.defaultMaximumPeriodSeconds = seconds("maximum-period", from: 1, what: "a whole number of seconds above 0, such as 60")
            ?? settings.defaultMaximumPeriodSeconds
        settings.discover = fields["discover"].flatMap { boolean($0, at: fields.path("discover")) } ?? settings.discover
        settings.read = fields["read"].flatMap { boolean($0, at: fields.path("read")) } ?? settings.read
        settings.delete = fields["delete"].flatMap {
            choice($0, at: fields.path("delete"), [("objects", .objects), ("root", .root)])
        } ?? settings.delete
        // The version first: the binding is checked against it.
        settings.lwm2mVersion = fields["lwm2m-version"].flatMap {
            choice($0, at: fields.path("lwm2m-version"), Self.lwm2mVersions.map { ("\($0)", $0) })
        } ?? settings.lwm2mVersion
        if let node = fields["binding"] {
            settings.binding = binding(node, at: fields.path("binding"), version: settings.lwm2mVersion) ?? settings.binding
        } else if let node = fields["lwm2m-version"], let problem = settings.binding.problem(forLwM2MVersion: settings.lwm2mVersion) {
            // A rule that changes only the version keeps the binding it starts from.
            report(node, fields.path("lwm2m-version"), "'\(settings.lwm2mVersion)' does not suit the binding \(settings.binding): \(problem); give the rule a binding too")
        }
        // Checked where a period was given: inherited ones were checked where they were written.
        if settings.defaultMinimumPeriodSeconds > settings.defaultMaximumPeriodSeconds,
           let (key, node) = ["maximum-period", "minimum-period"].lazy.compactMap({ key in fields[key].map { (key, $0) } }).first {
            report(node, fields.path(key),
                   "maximum-period (\(settings.defaultMaximumPeriodSeconds)) is below minimum-period (\(settings.defaultMinimumPeriodSeconds)); "
                       + "use a maximum of at least the minimum")
        }
        return settings
    }

    /// The LwM2M Server URI written to the devices: coap:// only, as the account is NoSec.
    mutating func serverURI(_ node: Node, at path: String) -> String? {
        let what = "a coap:// URI such as coap://127.0.0.1:5683"
        return coapURI(node, at: path, what: what, noSecurity: "the account written is NoSec (security mode 3)")?.text
    }
}
