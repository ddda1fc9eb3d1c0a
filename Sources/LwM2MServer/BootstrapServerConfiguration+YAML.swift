import CoAP
import Foundation
import LwM2M
import Yams

/// Why a Bootstrap-Server configuration file was refused: the file, the line, the key, and what
/// would be valid ("bootstrap.yaml line 7: 'lifetime' must be a positive number of seconds, got 'abc'").
public struct BootstrapConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file name or path as the user gave it.
    public var source: String
    /// 1-based; nil when the problem is the file as a whole (unreadable).
    public var line: Int?
    /// The offending key as a path (`endpoints[2].lifetime`); nil when no key is at fault.
    public var key: String?
    public var reason: String

    public init(source: String, line: Int?, key: String?, reason: String) {
        self.source = source
        self.line = line
        self.key = key
        self.reason = reason
    }

    public var description: String { source + (line.map { " line \($0)" } ?? "") + ": " + reason }
}

/// Reading the configuration from YAML.
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
    public init(yaml: String, source: String) throws(BootstrapConfigurationError) {
        let reader = YAMLReader(source: source)
        let document: Node?
        do {
            document = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw reader.error(from: error)
        } catch {
            throw BootstrapConfigurationError(source: source, line: nil, key: nil, reason: "is not valid YAML: \(error)")
        }
        self.init()
        guard let document else { return }
        guard let mapping = document.mapping else {
            throw reader.error(at: document, key: nil, "the file must be a mapping of settings (key: value); \(reader.validKeys(for: nil))")
        }
        var endpointsNode: Node?
        for (keyNode, value) in mapping {
            let key = try reader.key(keyNode, allowed: YAMLReader.settingKeys + ["endpoints"], in: nil)
            if key == "endpoints" {
                endpointsNode = value
            } else {
                try reader.apply(key, value, to: &defaults, path: key)
            }
        }
        try reader.checkConsistency(defaults, in: mapping, path: nil)
        guard let endpointsNode else { return }
        guard let rules = endpointsNode.sequence else {
            throw reader.error(at: endpointsNode, key: "endpoints", "'endpoints' must be a list of rules, each starting with '- match: PATTERN'")
        }
        for (index, ruleNode) in rules.enumerated() {
            endpointRules.append(try reader.rule(ruleNode, index: index, defaults: defaults))
        }
    }

    /// Reads a YAML file; errors name `path` as given.
    public init(contentsOfFile path: String) throws(BootstrapConfigurationError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BootstrapConfigurationError(
                source: path, line: nil, key: nil, reason: "cannot be read as UTF-8 text (\(error.localizedDescription))")
        }
        try self.init(yaml: text, source: path)
    }
}

/// Turns YAML nodes into settings, with errors that point at the line.
private struct YAMLReader {
    let source: String

    static let settingKeys = [
        "server-uri", "short-server-id", "lifetime", "binding", "lwm2m-version", "security-instance",
        "minimum-period", "maximum-period", "discover", "delete", "read",
    ]
    static let versions: [LwM2MVersion] = [.v1_0, .v1_1, .v1_2]

    func error(at node: Node?, key: String?, _ reason: String) -> BootstrapConfigurationError {
        BootstrapConfigurationError(source: source, line: node?.mark?.line, key: key, reason: reason)
    }

    func error(from yamlError: YamlError) -> BootstrapConfigurationError {
        switch yamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return BootstrapConfigurationError(source: source, line: mark.line, key: nil, reason: "is not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return BootstrapConfigurationError(
                source: source, line: context.mark.line, key: duplicates.first,
                reason: "\(names) appears more than once in the same mapping; give each key once")
        default:
            return BootstrapConfigurationError(source: source, line: nil, key: nil, reason: "is not valid YAML: \(yamlError)")
        }
    }

    func validKeys(for rule: Int?) -> String {
        let keys = rule == nil ? Self.settingKeys + ["endpoints"] : ["match"] + Self.settingKeys
        return "valid keys: " + keys.joined(separator: ", ")
    }

    /// A mapping key, checked against the keys valid where it stands.
    func key(_ node: Node, allowed: [String], in rule: Int?) throws(BootstrapConfigurationError) -> String {
        guard let name = node.scalar?.string else {
            throw error(at: node, key: nil, "a key must be a plain name; \(validKeys(for: rule))")
        }
        guard allowed.contains(name) else {
            let place = rule.map { " in endpoints[\($0)]" } ?? ""
            throw error(at: node, key: name, "unknown key '\(name)'\(place); \(validKeys(for: rule))")
        }
        return name
    }

    /// One `- match: ...` entry of `endpoints`, starting from `defaults`.
    func rule(_ node: Node, index: Int, defaults: BootstrapServerConfiguration.Settings) throws(BootstrapConfigurationError)
        -> BootstrapServerConfiguration.EndpointRule {
        guard let mapping = node.mapping else {
            throw error(at: node, key: "endpoints[\(index)]", "each entry of 'endpoints' must be a mapping starting with 'match: PATTERN'")
        }
        var settings = defaults
        var pattern: String?
        for (keyNode, value) in mapping {
            let key = try key(keyNode, allowed: ["match"] + Self.settingKeys, in: index)
            let path = "endpoints[\(index)].\(key)"
            if key == "match" {
                let text = try scalar(value, key: key, path: path, expected: "an endpoint name pattern such as 'sim-*'")
                guard !text.isEmpty else {
                    throw error(at: value, key: path, "'match' must be an endpoint name pattern such as 'sim-*', got an empty text")
                }
                pattern = text
            } else {
                try apply(key, value, to: &settings, path: path)
            }
        }
        guard let pattern else {
            throw error(at: node, key: "endpoints[\(index)]", "endpoints[\(index)] has no 'match'; add 'match: PATTERN' (`*` is any run of characters)")
        }
        try checkConsistency(settings, in: mapping, path: "endpoints[\(index)]")
        return BootstrapServerConfiguration.EndpointRule(pattern: pattern, settings: settings)
    }

    /// Sets the field `key` names from `value`.
    func apply(_ key: String, _ value: Node, to settings: inout BootstrapServerConfiguration.Settings, path: String)
        throws(BootstrapConfigurationError) {
        switch key {
        case "server-uri":
            let text = try scalar(value, key: key, path: path, expected: "a coap:// URI such as coap://127.0.0.1:5683")
            let uri: CoAPURI
            do {
                uri = try CoAPURI(text)
            } catch {
                throw self.error(at: value, key: path, "'server-uri' must be a coap:// URI such as coap://127.0.0.1:5683; \(error)")
            }
            guard uri.scheme == "coap" else {
                throw self.error(
                    at: value, key: path,
                    "'server-uri' must be a coap:// URI: the account written is NoSec (security mode 3), got '\(text)'")
            }
            settings.serverURI = text
        case "short-server-id":
            settings.shortServerID = UInt16(try number(value, key: key, path: path, in: 1...UInt64(LwM2MPath.maximumID),
                                                       expected: "a Short Server ID, 1-65534"))
        case "lifetime":
            settings.lifetimeSeconds = UInt32(try number(value, key: key, path: path, in: 1...UInt64(UInt32.max),
                                                         expected: "a positive number of seconds"))
        case "binding":
            let text = try scalar(value, key: key, path: path, expected: "transport letters such as U, UQ or T")
            guard let binding = LwM2MBinding(text) else {
                throw error(at: value, key: path, "'binding' must be transport letters (U, T, S, N, M, H, Q) each once, such as U or UQ, got '\(text)'")
            }
            settings.binding = binding
        case "lwm2m-version":
            let valid = Self.versions.map { "\($0)" }.joined(separator: ", ")
            let text = try scalar(value, key: key, path: path, expected: "one of \(valid)")
            guard let version = LwM2MVersion(text), Self.versions.contains(version) else {
                throw error(at: value, key: path, "'lwm2m-version' must be one of \(valid), got '\(text)'")
            }
            settings.lwm2mVersion = version
        case "security-instance":
            settings.securityInstanceID = UInt16(try number(value, key: key, path: path, in: 0...UInt64(LwM2MPath.maximumID),
                                                            expected: "an instance id, 0-65534"))
        case "minimum-period":
            settings.defaultMinimumPeriodSeconds = UInt32(try number(value, key: key, path: path, in: 0...UInt64(UInt32.max),
                                                                     expected: "a number of seconds"))
        case "maximum-period":
            settings.defaultMaximumPeriodSeconds = UInt32(try number(value, key: key, path: path, in: 1...UInt64(UInt32.max),
                                                                     expected: "a positive number of seconds"))
        case "discover":
            settings.discover = try boolean(value, key: key, path: path)
        case "read":
            settings.read = try boolean(value, key: key, path: path)
        case "delete":
            let valid = "objects (DELETE /0 and /1) or root (DELETE /)"
            let text = try scalar(value, key: key, path: path, expected: valid)
            guard let mode = BootstrapServerConfiguration.DeleteMode(rawValue: text) else {
                throw error(at: value, key: path, "'delete' must be \(valid), got '\(text)'")
            }
            settings.delete = mode
        default:
            // `key(_:allowed:in:)` let through only the names handled above.
            preconditionFailure("unhandled setting key '\(key)'")
        }
    }

    /// Checks what single keys cannot: the periods' order, the binding against the version.
    func checkConsistency(_ settings: BootstrapServerConfiguration.Settings, in mapping: Node.Mapping, path: String?)
        throws(BootstrapConfigurationError) {
        func place(_ keys: [String]) -> (node: Node?, key: String?) {
            for key in keys {
                if let value = mapping[key] { return (value, path.map { "\($0).\(key)" } ?? key) }
            }
            return (path == nil ? nil : Node.mapping(mapping), path)
        }
        if settings.defaultMinimumPeriodSeconds > settings.defaultMaximumPeriodSeconds {
            let (node, key) = place(["maximum-period", "minimum-period"])
            throw error(
                at: node, key: key,
                "'maximum-period' (\(settings.defaultMaximumPeriodSeconds)) must not be below 'minimum-period' (\(settings.defaultMinimumPeriodSeconds))")
        }
        if let problem = settings.binding.problem(forLwM2MVersion: settings.lwm2mVersion) {
            let (node, key) = place(["binding", "lwm2m-version"])
            throw error(at: node, key: key, "'binding' does not suit LwM2M \(settings.lwm2mVersion): \(problem)")
        }
    }

    // MARK: Values

    func scalar(_ node: Node, key: String, path: String, expected: String) throws(BootstrapConfigurationError) -> String {
        guard let scalar = node.scalar else {
            let found = node.sequence != nil ? "a list" : "a mapping"
            throw error(at: node, key: path, "'\(key)' must be \(expected), got \(found)")
        }
        return scalar.string
    }

    func number(_ node: Node, key: String, path: String, in range: ClosedRange<UInt64>, expected: String)
        throws(BootstrapConfigurationError) -> UInt64 {
        let text = try scalar(node, key: key, path: path, expected: expected)
        // Digits only: no sign, no fraction, no unit.
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let number = UInt64(text), range.contains(number)
        else {
            throw error(at: node, key: path, "'\(key)' must be \(expected), got '\(text)'")
        }
        return number
    }

    func boolean(_ node: Node, key: String, path: String) throws(BootstrapConfigurationError) -> Bool {
        let text = try scalar(node, key: key, path: path, expected: "true or false")
        switch text {
        case "true": return true
        case "false": return false
        default: throw error(at: node, key: path, "'\(key)' must be true or false, got '\(text)'")
        }
    }
}

extension BootstrapServerConfiguration {
    /// The endpoint rules as the YAML `init(yaml:source:)` reads (match, lifetime, binding,
    /// lwm2m-version per rule), for handing a configuration built in code to `serve --config`.
    public var endpointRulesYAML: String {
        var yaml = "endpoints:\n"
        for rule in endpointRules {
            yaml += "  - match: \"\(rule.pattern)\"\n"
            yaml += "    lifetime: \(rule.settings.lifetimeSeconds)\n"
            yaml += "    binding: \(rule.settings.binding)\n"
            yaml += "    lwm2m-version: \"\(rule.settings.lwm2mVersion)\"\n"
        }
        return endpointRules.isEmpty ? "" : yaml
    }
}
