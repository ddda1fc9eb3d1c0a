import CoAP
import EventLoop
import Foundation
import LwM2M
import LwM2MClient
import Yams

/// Reading a fleet file (the schema is on `FleetSpec`).
///
/// The whole file is checked before anything is refused, so one run of `validate` lists every
/// mistake; checks that span several keys (servers for the bootstrap modes, endpoint prefixes,
/// arrival capacity) run once every key is valid on its own.
extension FleetSpec {
    /// Reads a fleet file; errors name `path` as given and `ddf` directories are relative to its directory.
    public init(contentsOfFile path: String) throws(FleetSpecError) {
        let text = try FleetReader.text(ofFile: path)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try self.init(yaml: text, source: path, baseDirectory: directory)
    }

    /// Reads a fleet document; `source` names it in errors, `baseDirectory` (default: the current
    /// directory) anchors relative `ddf` paths.
    public init(yaml: String, source: String, baseDirectory: String? = nil) throws(FleetSpecError) {
        var reader = FleetReader(source: source, baseDirectory: baseDirectory ?? FileManager.default.currentDirectoryPath)
        guard let document = try FleetReader.root(of: yaml, source: source) else {
            throw FleetSpecError(source: source, problems: [FleetSpecError.Problem(
                line: 1, column: 1, keyPath: nil, message: "the file is empty; a fleet file needs at least server, devices and stages")])
        }
        guard var spec = reader.spec(document, text: yaml), reader.problems.isEmpty else { throw reader.error }
        spec.notes = reader.notes
        self = spec
    }
}

/// Turns YAML nodes into a `FleetSpec`, collecting every problem with its place.
private struct FleetReader: FleetFileReader {
    let source: String
    let baseDirectory: String
    var problems: [FleetSpecError.Problem] = []
    var marks: [String: Place] = [:]
    /// Files a `ddf` directory holds that define no object, skipped (`FleetSpec.notes`).
    var notes: [String] = []
    /// Models by resolved `ddf` directory; nil for a directory that failed to load.
    var models: [String: LwM2MModel?] = [:]
    var keyFiles: [String: PreSharedKeyTable?] = [:]

    init(source: String, baseDirectory: String) {
        self.source = source
        self.baseDirectory = baseDirectory
    }

    static let topKeys = ["seed", "duration-limit", "server", "in-flight-limit", "devices", "stages", "end", "thresholds", "search"]
    static let groupKeys = [
        "name", "count", "endpoint", "bootstrap", "lwm2m-version", "preferred-content-format", "lifetime", "binding",
        "objects", "generators", "ddf", "local-addresses", "session", "session-repeat", "faults", "security",
    ]
    static let contentFormats: [(name: String, format: LwM2MContentFormat)] = [
        ("tlv", .tlv), ("senml-json", .senmlJSON), ("senml-cbor", .senmlCBOR), ("lwm2m-json", .lwm2mJSON),
    ]
    static let serverForms = "use embedded, { embedded: { read: [PATH], observe: [PATH], execute: [PATH], violate: before-ack|during-bootstrap } } "
        + "or { server: coap://HOST:PORT, bootstrap: coap://HOST:PORT } (either or both)"

    // MARK: The document

    mutating func spec(_ root: Node, text yaml: String) -> FleetSpec? {
        guard let fields = fields(
            root, at: nil, what: "a mapping of fleet settings (key: value)", allowed: Self.topKeys,
            required: [
                ("server", Self.serverForms),
                ("devices", "add devices: with a list of groups, such as - { count: 1000, bootstrap: client-initiated }"),
                ("stages", "add stages: with a list of arrival stages, such as - { duration: 10s, rate: 100/s }"),
            ])
        else { return nil }
        let seed = fields["seed"].flatMap { whole($0, at: "seed", in: 0...UInt64.max, what: "a whole number 0 or above, such as 42") }
        let durationLimit = fields["duration-limit"].flatMap { duration($0, at: "duration-limit") }
        let inFlightLimit = fields["in-flight-limit"].flatMap {
            whole($0, at: "in-flight-limit", in: 1...UInt64(Int32.max), what: "a whole number above 0, such as 5000")
        }
        let server = fields["server"].flatMap { self.server($0) }
        let groups = fields["devices"].flatMap { deviceGroups($0) }
        let stages = fields["stages"].flatMap { self.stages($0) }
        let end = fields["end"].flatMap { self.end($0) }
        let thresholds = fields["thresholds"].flatMap { self.thresholds($0) } ?? []
        let search = fields["search"].flatMap { self.search($0) }
        guard problems.isEmpty, let server, let groups, let stages else { return nil }
        var spec = FleetSpec(
            source: source, text: yaml, seed: seed, durationLimitSeconds: durationLimit, server: server,
            inFlightLimit: inFlightLimit.map { Int($0) }, devices: groups, stages: stages, end: end?.mode ?? .deregister,
            thresholds: thresholds)
        spec.endDeregistersPerSecond = end?.rate
        spec.endGraceSeconds = end?.grace ?? spec.endGraceSeconds
        spec.search = search
        checkServers(spec)
        checkSecurity(spec)
        checkEmbeddedServerThresholds(spec)
        checkEndpointNames(spec)
        checkCapacity(spec)
        checkRestart(spec)
        if spec.search != nil { checkSearch(spec) }
        return spec
    }

    // MARK: End

    /// `end: deregister`, `end: drop`, or `end: { mode: deregister, rate: 500/s, grace: 30s }`.
    mutating func end(_ node: Node) -> (mode: FleetSpec.EndMode, rate: Double?, grace: Double?)? {
        let modes = FleetSpec.EndMode.allCases.map { ($0.rawValue, $0) }
        if node.scalar != nil { return choice(node, at: "end", modes).map { ($0, nil, nil) } }
        guard let fields = fields(
            node, at: "end", what: "deregister, drop, or a mapping such as { mode: deregister, rate: 500/s, grace: 30s }",
            allowed: ["mode", "rate", "grace"])
        else { return nil }
        let mode = fields["mode"].flatMap { choice($0, at: "end.mode", modes) } ?? .deregister
        let pace = fields["rate"].flatMap { self.rate($0, at: "end.rate") }
        if let rateNode = fields["rate"], pace == 0 { report(rateNode, "end.rate", "must be above 0/s") }
        if let rateNode = fields["rate"], mode == .drop { report(rateNode, "end.rate", "paces De-registers; with mode: drop nothing is sent") }
        let grace = fields["grace"].flatMap { duration($0, at: "end.grace", allowZero: true) }
        return (mode, pace, grace)
    }

    // MARK: Server

    mutating func server(_ node: Node) -> FleetSpec.ServerTarget? {
        if let scalar = node.scalar {
            guard scalar.string == "embedded" else {
                report(node, "server", "\(Self.describe(node)) is not valid; \(Self.serverForms)")
                return nil
            }
            return .embedded(FleetSpec.EmbeddedServer())
        }
        guard let fields = fields(node, at: "server", what: "embedded or a mapping; \(Self.serverForms)",
                                  allowed: ["embedded", "server", "bootstrap"])
        else { return nil }
        if let embeddedNode = fields["embedded"] {
            for key in ["server", "bootstrap"] where fields[key] != nil {
                report(fields[key]!, "server.\(key)", "cannot be combined with server.embedded, which the run starts itself; keep one of them")
            }
            return embedded(embeddedNode).map { .embedded($0) }
        }
        guard fields["server"] != nil || fields["bootstrap"] != nil else {
            report(node, "server", "names no server; \(Self.serverForms)")
            return nil
        }
        let serverURI = fields["server"].flatMap { uri($0, at: "server.server") }
        let bootstrapURI = fields["bootstrap"].flatMap { uri($0, at: "server.bootstrap") }
        return .external(serverURI: serverURI, bootstrapURI: bootstrapURI)
    }

    mutating func embedded(_ node: Node) -> FleetSpec.EmbeddedServer? {
        // `embedded:` with nothing after it, or `embedded: {}`: the servers with no requests of their own.
        if let scalar = node.scalar, Self.isNull(scalar) { return FleetSpec.EmbeddedServer() }
        guard let fields = fields(node, at: "server.embedded", what: "a mapping of read, observe and execute path lists, violate, faults and restart",
                                  allowed: ["read", "observe", "execute", "violate", "faults", "restart"])
        else { return nil }
        var server = FleetSpec.EmbeddedServer()
        server.read = fields["read"].flatMap { paths($0, at: "server.embedded.read", minimumLevel: .object) } ?? []
        server.observe = fields["observe"].flatMap { paths($0, at: "server.embedded.observe", minimumLevel: .object) } ?? []
        server.execute = fields["execute"].flatMap { paths($0, at: "server.embedded.execute", minimumLevel: .resource) } ?? []
        server.violate = fields["violate"].flatMap {
            choice($0, at: "server.embedded.violate", [("before-ack", "before-ack"), ("during-bootstrap", "during-bootstrap")])
        }
        server.faults = fields["faults"].flatMap { faults($0, at: "server.embedded.faults", ofDevices: false) } ?? .none
        server.restart = fields["restart"].flatMap { restart($0, at: "server.embedded.restart") }
        return server
    }

    /// A list of LwM2M paths (a single path is taken as a list of one).
    mutating func paths(_ node: Node, at path: String, minimumLevel: LwM2MPath.Level) -> [LwM2MPath]? {
        let what = minimumLevel == .resource ? "a resource path such as /1/0/9" : "a path such as /3/0 or /3/0/9"
        let elements: [(node: Node, path: String)]
        if node.scalar != nil {
            elements = [(node, path)]
        } else {
            guard let items = list(node, at: path, what: "LwM2M paths") else { return nil }
            elements = items
        }
        var paths: [LwM2MPath] = []
        for (element, elementPath) in elements {
            guard let text = text(element, at: elementPath, expected: what) else { continue }
            do {
                let parsed = try LwM2MPath(parsing: text)
                guard parsed.level >= minimumLevel else {
                    report(element, elementPath, "'\(text)' is not valid here; use \(what)")
                    continue
                }
                paths.append(parsed)
            } catch {
                report(element, elementPath, "\(error); use \(what)")
            }
        }
        return paths
    }

    /// A coap:// or coaps:// URI the devices can reach without a name lookup; which groups may
    /// use a coaps:// one is checked with their security (`checkSecurity`).
    mutating func uri(_ node: Node, at path: String) -> String? {
        let what = "a coap:// or coaps:// URI with an IP address or localhost, such as coap://10.0.0.5:5683 or coap://localhost:5683"
        guard let (text, uri) = coapURI(node, at: path, what: what, noSecurity: nil) else { return nil }
        guard uri.host == "localhost" || (try? SocketAddress(ipAddress: uri.host, port: uri.port)) != nil else {
            report(node, path, "'\(text)' names host '\(uri.host)'; use \(what): thousands of devices do not look names up")
            return nil
        }
        guard uri.path.isEmpty, uri.query.isEmpty else {
            report(node, path, "'\(text)' has a path or query; use \(what) (the LwM2M interfaces add their own paths)")
            return nil
        }
        return text
    }

    // MARK: Devices

    mutating func deviceGroups(_ node: Node) -> [FleetSpec.DeviceGroup]? {
        guard let items = list(node, at: "devices", what: "device groups") else { return nil }
        guard !items.isEmpty else {
            report(node, "devices", "the list is empty; add at least one group, such as - { count: 1000 }")
            return nil
        }
        let groups = items.map { deviceGroup($0.node, at: $0.path) }
        return groups.allSatisfy { $0 != nil } ? groups.compactMap { $0 } : nil
    }

    mutating func deviceGroup(_ node: Node, at path: String) -> FleetSpec.DeviceGroup? {
        guard let fields = fields(node, at: path, what: "a mapping of group settings, such as { count: 1000 }", allowed: Self.groupKeys,
                                  required: [("count", "add count: with the number of devices in the group, such as count: 1000")])
        else { return nil }
        let before = problems.count
        var group = FleetSpec.DeviceGroup(count: 0)
        if let node = fields["name"], let name = text(node, at: fields.path("name"), expected: "a name such as meters") {
            // It also makes the default endpoint prefix.
            if name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
                group.name = name
            } else {
                report(node, fields.path("name"), "'\(name)' is not valid; use ASCII letters, digits, '.', '_' and '-', such as meters")
            }
        }
        if let node = fields["count"] {
            group.count = Int(whole(node, at: fields.path("count"), in: 1...UInt64(UInt32.max), what: "a whole number above 0, such as 1000") ?? 0)
        }
        if let node = fields["endpoint"] {
            group.endpoint = endpointPattern(node, at: fields.path("endpoint"), what: "an endpoint name pattern such as sim-{index:06}") ?? group.endpoint
        } else if let name = group.name {
            group.endpoint.prefix = name + "-"
        }
        if let node = fields["bootstrap"] {
            let modes: [ClientConfiguration.BootstrapMode] = [.none, .clientInitiated, .serverInitiated]
            group.bootstrap = choice(node, at: fields.path("bootstrap"), modes.map { ($0.rawValue, $0) }) ?? .none
        }
        if let node = fields["lwm2m-version"] {
            group.lwm2mVersion = choice(node, at: fields.path("lwm2m-version"), Self.lwm2mVersions.map { ("\($0)", $0) }) ?? .v1_1
        }
        if let node = fields["preferred-content-format"] {
            group.preferredContentFormat = contentFormat(node, at: fields.path("preferred-content-format"), group: group)
        }
        if let node = fields["lifetime"] {
            group.lifetimeSeconds = lifetime(node, at: fields.path("lifetime")) ?? group.lifetimeSeconds
        }
        if let node = fields["session"] {
            group.sessionSeconds = duration(node, at: fields.path("session"), allowZero: true)
        }
        if let node = fields["session-repeat"] {
            group.sessionRepeats = boolean(node, at: fields.path("session-repeat")) ?? false
            if group.sessionRepeats, fields["session"] == nil {
                report(node, fields.path("session-repeat"), "a session repeats only with a session length; add session: DURATION (such as 600ms)")
            }
        }
        if let node = fields["binding"] {
            group.binding = binding(node, at: fields.path("binding"), version: group.lwm2mVersion) ?? group.binding
        }
        var modelLoaded = true
        if let node = fields["ddf"] {
            if let (directory, model) = ddf(node, at: fields.path("ddf")) {
                group.ddfDirectory = directory
                group.model = model
            } else {
                modelLoaded = false
            }
        }
        // Objects and generators are checked against the model, which a failed ddf leaves incomplete.
        if modelLoaded, let node = fields["objects"] {
            group.objects = objects(node, at: fields.path("objects"), model: group.model, ddf: group.ddfDirectory) ?? []
        }
        if modelLoaded, let node = fields["generators"] {
            group.generators = generators(node, at: fields.path("generators"), group: group) ?? []
        }
        if let node = fields["local-addresses"] {
            group.localAddresses = localAddresses(node, at: fields.path("local-addresses")) ?? []
        }
        if let node = fields["faults"] {
            group.faults = faults(node, at: fields.path("faults"), ofDevices: true) ?? .none
        }
        if let node = fields["security"] {
            group.security = security(node, at: fields.path("security"), endpoint: group.endpoint)
        }
        return problems.count == before ? group : nil
    }

    mutating func contentFormat(_ node: Node, at path: String, group: FleetSpec.DeviceGroup) -> LwM2MContentFormat? {
        let valid = "use " + Self.contentFormats.map { "\($0.name) (\($0.format.rawValue))" }.orList
        guard let text = text(node, at: path, expected: Self.contentFormats.map(\.name).orList) else { return nil }
        guard let format = Self.contentFormats.first(where: { $0.name == text || String($0.format.rawValue) == text })?.format else {
            report(node, path, "'\(text)' is not valid; \(valid)")
            return nil
        }
        guard group.lwm2mVersion >= .v1_1 else {
            report(node, path, "'\(text)' is sent as pct, a Bootstrap-Request parameter since LwM2M 1.1; remove it or use lwm2m-version 1.1")
            return nil
        }
        guard group.bootstrap != .none else {
            report(node, path, "'\(text)' is sent in the Bootstrap-Request, which bootstrap: none never sends; remove it or let the devices bootstrap")
            return nil
        }
        return format
    }

    mutating func lifetime(_ node: Node, at path: String) -> UInt32? {
        guard let seconds = duration(node, at: path) else { return nil }
        guard seconds == seconds.rounded(), seconds >= 1, seconds <= Double(UInt32.max) else {
            report(node, path, "'\(node.scalar?.string ?? "")' is not valid; use whole seconds, such as 20s, 300s or 1h")
            return nil
        }
        return UInt32(seconds)
    }

    mutating func ddf(_ node: Node, at path: String) -> (String, LwM2MModel)? {
        guard let text = text(node, at: path, expected: "a directory of DDF (object definition XML) files") else { return nil }
        let directory = URL(fileURLWithPath: text, relativeTo: URL(fileURLWithPath: baseDirectory, isDirectory: true))
            .standardizedFileURL.path
        if models[directory] == nil {
            do {
                var skipped: [String] = []
                let objects = try LwM2MModel.loadingDirectory(URL(fileURLWithPath: directory)) { file, reason in
                    skipped.append("\(source): \(path): skipped \(file): \(reason)")
                }
                models[directory] = LwM2MModel.withCore(adding: objects)
                notes += skipped
            } catch {
                report(node, path, "'\(text)' does not load: \(error)")
                models[directory] = .some(nil)
            }
        }
        guard let model = models[directory] ?? nil else { return nil }
        return (directory, model)
    }

    mutating func localAddresses(_ node: Node, at path: String) -> [String]? {
        guard let items = list(node, at: path, what: "IP addresses") else { return nil }
        guard !items.isEmpty else {
            report(node, path, "the list is empty; leave the key out for the default, or list addresses such as 127.0.0.2")
            return nil
        }
        var addresses: [String] = []
        for (item, itemPath) in items {
            guard let text = text(item, at: itemPath, expected: "an IP address such as 127.0.0.2") else { continue }
            guard (try? SocketAddress(ipAddress: text, port: 0)) != nil else {
                report(item, itemPath, "'\(text)' is not valid; use a numeric IPv4 or IPv6 address such as 127.0.0.2 or ::1")
                continue
            }
            addresses.append(text)
        }
        return addresses
    }

    // MARK: Objects and values

    mutating func objects(_ node: Node, at path: String, model: LwM2MModel, ddf: String?) -> [FleetSpec.ObjectSpec]? {
        guard let items = list(node, at: path, what: "objects, such as - { id: 4 }") else { return nil }
        var objects: [FleetSpec.ObjectSpec] = []
        var firstPath: [UInt16: String] = [:]
        for (item, itemPath) in items {
            guard let fields = fields(item, at: itemPath, what: "a mapping such as { id: 4, instances: 1, values: { \"2\": -70 } }",
                                      allowed: ["id", "instances", "values"],
                                      required: [("id", "add id: with the object id, such as id: 4")]),
                  let idNode = fields["id"],
                  let id = whole(idNode, at: fields.path("id"), in: 0...UInt64(LwM2MPath.maximumID), what: "an object id, 0-65534")
                  .map({ UInt16($0) })
            else { continue }
            guard id != 0, id != 1 else {
                report(idNode, fields.path("id"), "object \(id) is not valid here: Security (0) and Server (1) come from the bootstrap "
                    + "mode, server and lifetime settings; list other objects")
                continue
            }
            guard let definition = model.object(id) else {
                let known = ddf.map { "the core objects (0-7) nor the DDF files in \($0)" } ?? "the core objects (0-7)"
                report(idNode, fields.path("id"), "object \(id) is not defined by \(known); add its DDF file to a directory named by ddf")
                continue
            }
            if let earlier = firstPath[id] {
                report(idNode, fields.path("id"), "object \(id) is listed twice (also at \(earlier)); list each object once")
                continue
            }
            firstPath[id] = itemPath
            var instanceCount: UInt16 = 1
            if let node = fields["instances"] {
                let most = id == 3 ? 1 : definition.isMultipleInstance ? UInt64(LwM2MPath.maximumID) : 1
                let what = id == 3 ? "1: the Device object always has instance 0"
                    : definition.isMultipleInstance ? "a whole number of instances, 0-65534"
                    : "0 or 1: object \(id) (\(definition.name)) is single-instance"
                guard let count = whole(node, at: fields.path("instances"), in: (id == 3 ? 1 : 0)...most, what: what) else { continue }
                instanceCount = UInt16(count)
            }
            var values: [UInt16: [LwM2MValue]] = [:]
            if let node = fields["values"] {
                guard instanceCount > 0 else {
                    report(node, fields.path("values"), "object \(id) has no instances (instances: 0) to hold values; remove values or raise instances")
                    continue
                }
                values = resourceValues(node, at: fields.path("values"), object: definition) ?? [:]
            }
            objects.append(FleetSpec.ObjectSpec(objectID: id, instanceCount: instanceCount, values: values))
        }
        return objects
    }

    mutating func resourceValues(_ node: Node, at path: String, object: LwM2MObjectDefinition) -> [UInt16: [LwM2MValue]]? {
        guard let mapping = node.mapping else {
            report(node, path, "expected a mapping of resource id to value, such as { \"5700\": 21.5 }, found \(Self.describe(node))")
            return nil
        }
        var values: [UInt16: [LwM2MValue]] = [:]
        for (keyNode, valueNode) in mapping {
            let key = keyNode.scalar?.string ?? ""
            let valuePath = "\(path).\(key)"
            guard let id = UInt16(key), let resource = object.resource(id) else {
                let resources = object.resources.map { "\($0.id) (\($0.name))" }.joined(separator: ", ")
                report(keyNode, valuePath, "object \(object.id) (\(object.name)) has no resource '\(key)'; its resources: \(resources)")
                continue
            }
            guard resource.type != .none else {
                report(keyNode, valuePath, "resource \(id) (\(resource.name)) is executable and holds no value; remove it")
                continue
            }
            let elements: [(node: Node, path: String)]
            if valueNode.sequence != nil {
                guard resource.isMultipleInstance else {
                    report(valueNode, valuePath, "resource \(id) (\(resource.name)) is single-instance; give one value, not a list")
                    continue
                }
                elements = list(valueNode, at: valuePath, what: "values") ?? []
            } else {
                elements = [(valueNode, valuePath)]
            }
            let typed = elements.compactMap { value($0.node, at: $0.path, resource: resource) }
            if typed.count == elements.count { values[id] = typed }
        }
        return values
    }

    /// A value as the resource's type wants it.
    mutating func value(_ node: Node, at path: String, resource: LwM2MResourceDefinition) -> LwM2MValue? {
        let what: String = switch resource.type {
        case .string, .coreLink: "text"
        case .integer: "a whole number such as -70"
        case .unsignedInteger: "a whole number 0 or above"
        case .float: "a number such as 21.5"
        case .boolean: "true or false"
        case .time: "seconds since 1970 as a whole number"
        case .opaque: "bytes in hex such as 0x0a1b"
        case .objectLink: "OBJECT:INSTANCE such as 65:0"
        case .none: "nothing"
        }
        guard let text = text(node, at: path, expected: what) else { return nil }
        let value: LwM2MValue? = switch resource.type {
        case .string: .string(text)
        case .coreLink: .coreLink(text)
        case .integer: Int64(text).map { .integer($0) }
        case .unsignedInteger: UInt64(text).map { .unsignedInteger($0) }
        case .float: Self.decimal(text).map { .float($0) }
        case .boolean: text == "true" ? .boolean(true) : text == "false" ? .boolean(false) : nil
        case .time: Int64(text).map { .time($0) }
        case .opaque: Self.hexBytes(text).map { .opaque($0) }
        case .objectLink: LwM2MObjectLink(text).map { .objectLink($0) }
        case .none: nil
        }
        guard let value else {
            report(node, path, "'\(text)' is not valid for resource \(resource.id) (\(resource.name)), of type \(resource.type.rawValue); use \(what)")
            return nil
        }
        return value
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        guard text.hasPrefix("0x") else { return nil }
        let digits = Array(text.dropFirst(2).utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    // MARK: Generators

    mutating func generators(_ node: Node, at path: String, group: FleetSpec.DeviceGroup) -> [FleetSpec.GeneratorSpec]? {
        guard let items = list(node, at: path, what: "generators, such as - { path: /3/0/9, uniform: { min: 0, max: 100, period: 60s } }")
        else { return nil }
        var generators: [FleetSpec.GeneratorSpec] = []
        for (item, itemPath) in items {
            guard let fields = fields(item, at: itemPath, what: "a mapping such as { path: /3/0/9, uniform: { min: 0, max: 100, period: 60s } }",
                                      allowed: ["path", "uniform", "counter"],
                                      required: [("path", "add path: with the resource it drives, such as path: /3303/*/5700")])
            else { continue }
            let target = fields["path"].flatMap { generatorTarget($0, at: fields.path("path"), group: group) }
            let kinds = ["uniform", "counter"].filter { fields[$0] != nil }
            guard kinds.count == 1, let kind = kinds.first, let kindNode = fields[kind] else {
                let message = kinds.isEmpty ? "missing uniform: { min, max, period } or counter: { start, step, period }"
                    : "has both uniform and counter; keep one"
                report(item, itemPath, message)
                continue
            }
            guard let generator = generator(kind, kindNode, at: fields.path(kind)), let (objectID, resource) = target else { continue }
            let pathNode = fields["path"]!
            let probe = LwM2MPath(objectID: objectID, instanceID: 0, resourceID: resource.id)
            guard generator.value(seed: 0, path: probe, now: Timestamp(nanoseconds: 0), type: resource.type) != nil else {
                report(pathNode, fields.path("path"), "resource \(resource.id) (\(resource.name)) is of type \(resource.type.rawValue); "
                    + "generators drive integer, unsigned_integer, float, time, boolean or string resources")
                continue
            }
            if generators.contains(where: { $0.objectID == objectID && $0.resourceID == resource.id }) {
                report(pathNode, fields.path("path"), "resource /\(objectID)/*/\(resource.id) already has a generator; give each resource one")
                continue
            }
            generators.append(FleetSpec.GeneratorSpec(objectID: objectID, resourceID: resource.id, generator: generator))
        }
        return generators
    }

    /// `/OBJECT/*/RESOURCE`, or `/OBJECT/0/RESOURCE` for an object with one instance.
    mutating func generatorTarget(_ node: Node, at path: String, group: FleetSpec.DeviceGroup) -> (UInt16, LwM2MResourceDefinition)? {
        let valid = "use /OBJECT/*/RESOURCE (every instance), such as /3303/*/5700, or /3/0/9"
        guard let text = text(node, at: path, expected: "a resource path such as /3303/*/5700") else { return nil }
        let segments = text.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 4, segments[0].isEmpty, let objectID = UInt16(segments[1]), let resourceID = UInt16(segments[3]),
              segments[2] == "*" || UInt16(segments[2]) != nil
        else {
            report(node, path, "'\(text)' is not a resource path; \(valid)")
            return nil
        }
        let instanceCount: UInt16 = objectID == 3 ? 1 : group.objects.first { $0.objectID == objectID }?.instanceCount ?? 0
        guard instanceCount > 0, let object = group.model.object(objectID) else {
            report(node, path, "object \(objectID) has no instances in this group; add it under objects (Security and Server cannot have generators)")
            return nil
        }
        if let instanceID = UInt16(segments[2]) {
            guard instanceCount == 1, instanceID == 0 else {
                let reason = instanceCount == 1 ? "object \(objectID) has instance 0 only" : "a generator drives every instance of object \(objectID)"
                report(node, path, "'\(text)' names instance \(instanceID), but \(reason); write /\(objectID)/*/\(resourceID)")
                return nil
            }
        }
        guard let resource = object.resource(resourceID) else {
            report(node, path, "object \(objectID) (\(object.name)) has no resource \(resourceID); its resources: "
                + object.resources.map { "\($0.id) (\($0.name))" }.joined(separator: ", "))
            return nil
        }
        return (objectID, resource)
    }

    mutating func generator(_ kind: String, _ node: Node, at path: String) -> ValueGenerator? {
        let keys = kind == "uniform" ? ["min", "max", "period"] : ["start", "step", "period"]
        let example = kind == "uniform" ? "{ min: 0, max: 100, period: 60s }" : "{ start: 0, step: 1, period: 10s }"
        guard let fields = fields(node, at: path, what: "a mapping such as \(example)", allowed: keys,
                                  required: keys.map { ($0, "\(kind) needs \(keys.joined(separator: ", ")), such as \(example)") })
        else { return nil }
        let first = fields[keys[0]].flatMap { decimal($0, at: fields.path(keys[0]), what: "a number such as 0") }
        let second = fields[keys[1]].flatMap { decimal($0, at: fields.path(keys[1]), what: "a number such as 100") }
        let period = fields["period"].flatMap { duration($0, at: fields.path("period")) }
        guard let first, let second, let period else { return nil }
        if kind == "counter" { return .counter(start: first, step: second, periodSeconds: period) }
        guard first <= second else {
            report(fields["max"]!, fields.path("max"), "\(second) is below min (\(first)); use a max of at least min")
            return nil
        }
        return .uniform(minimum: first, maximum: second, periodSeconds: period)
    }

    // MARK: Stages

    mutating func stages(_ node: Node) -> [FleetSpec.Stage]? {
        guard let items = list(node, at: "stages", what: "arrival stages") else { return nil }
        guard !items.isEmpty else {
            report(node, "stages", "the list is empty; add at least one stage, such as - { duration: 10s, rate: 100/s }")
            return nil
        }
        let stages = items.map { stage($0.node, at: $0.path) }
        return stages.allSatisfy { $0 != nil } ? stages.compactMap { $0 } : nil
    }

    mutating func stage(_ node: Node, at path: String) -> FleetSpec.Stage? {
        let kinds = "rate: 100/s (constant), target: 500/s (ramp from the previous rate) or hold: true (no arrivals)"
        guard let fields = fields(node, at: path, what: "a mapping such as { duration: 10s, rate: 100/s }",
                                  allowed: ["duration", "rate", "target", "hold", "churn"],
                                  required: [("duration", "add duration: such as duration: 30s")])
        else { return nil }
        let given = ["rate", "target", "hold"].filter { fields[$0] != nil }
        guard let kind = given.first else {
            report(node, path, "says nothing about arrivals; give one of \(kinds)")
            return nil
        }
        if given.count > 1 {
            report(fields[given[1]]!, fields.path(given[1]), "cannot be combined with \(kind); give one of \(kinds)")
            return nil
        }
        let duration = fields["duration"].flatMap { self.duration($0, at: fields.path("duration")) }
        let churn = fields["churn"].flatMap { self.churn($0, at: fields.path("churn")) }
        let arrivals: FleetSpec.Stage.Arrivals?
        switch kind {
        case "rate": arrivals = rate(fields["rate"]!, at: fields.path("rate")).map { .constant(perSecond: $0) }
        case "target": arrivals = rate(fields["target"]!, at: fields.path("target")).map { .ramp(toPerSecond: $0) }
        default:
            switch boolean(fields["hold"]!, at: fields.path("hold")) {
            case true?: arrivals = .hold
            case false?:
                report(fields["hold"]!, fields.path("hold"), "'false' is not valid; write hold: true for a stage without arrivals, or give rate or target instead")
                arrivals = nil
            case nil: arrivals = nil
            }
        }
        guard let duration, let arrivals, fields["churn"] == nil || churn != nil else { return nil }
        return FleetSpec.Stage(durationSeconds: duration, arrivals: arrivals, churnPerSecond: churn ?? 0)
    }

    mutating func rate(_ node: Node, at path: String) -> Double? {
        let what = "a rate such as 100/s, 6000/min or 10/h"
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let rate = FleetSpec.perSecond(inRate: text) else {
            report(node, path, "'\(text)' is not valid; use \(what)")
            return nil
        }
        return rate
    }

    mutating func churn(_ node: Node, at path: String) -> Double? {
        let what = "a percentage per unit of time such as 5%/min, 1%/s or 10%/h"
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let churn = FleetSpec.fractionPerSecond(inChurn: text), churn <= 1 else {
            report(node, path, "'\(text)' is not valid; use \(what), at most 100%/s")
            return nil
        }
        return churn
    }

    // MARK: Thresholds

    mutating func thresholds(_ node: Node) -> [Threshold]? {
        guard let items = list(node, at: "thresholds", what: "thresholds, such as - register.latency.p99 < 200ms") else { return nil }
        var thresholds: [Threshold] = []
        for (item, itemPath) in items {
            guard let text = text(item, at: itemPath, expected: "a threshold such as register.latency.p99 < 200ms") else { continue }
            do {
                thresholds.append(try Threshold(text))
            } catch {
                report(Self.place(of: item, offset: error.offset), itemPath, error.message)
            }
        }
        return thresholds
    }

    /// The place `offset` scalars into a one-line scalar's text (past its opening quote).
    static func place(of node: Node, offset: Int) -> Place? {
        guard let scalar = node.scalar, let mark = scalar.mark, !scalar.string.contains("\n") else { return place(node) }
        switch scalar.style {
        case .plain, .any: return (mark.line, mark.column + offset)
        case .singleQuoted, .doubleQuoted: return (mark.line, mark.column + 1 + offset)
        case .literal, .folded: return (mark.line, mark.column)
        }
    }

    // MARK: Checks across keys

    /// `server.*` thresholds read the embedded servers' counts, which only a run that starts them has.
    mutating func checkEmbeddedServerThresholds(_ spec: FleetSpec) {
        if case .embedded = spec.server { return }
        for (index, threshold) in spec.thresholds.enumerated() where threshold.metric.hasPrefix(MetricCatalog.embeddedServerPrefix) {
            report(at: "thresholds[\(index)]", orAt: "thresholds",
                   "\(threshold.metric) is counted by the embedded servers, and this fleet uses its own; use server: embedded or a device-side metric")
        }
    }

    /// Each group can reach the server its bootstrap mode needs.
    mutating func checkServers(_ spec: FleetSpec) {
        guard case .external(let serverURI, let bootstrapURI) = spec.server else { return }
        for (index, group) in spec.devices.enumerated() {
            let path = "devices[\(index)].bootstrap"
            if group.bootstrap == .none, serverURI == nil {
                report(at: path, orAt: "devices[\(index)]",
                       "bootstrap: none needs an LwM2M Server; add server: coap://HOST:PORT under server, or let the devices bootstrap")
            } else if group.bootstrap != .none, bootstrapURI == nil {
                report(at: path, orAt: "devices[\(index)]",
                       "\(group.bootstrap.rawValue) bootstrap needs a Bootstrap-Server; add bootstrap: coap://HOST:PORT under server")
            }
        }
    }

    /// Group names are unique, and no two groups can give a device the same endpoint name: the
    /// prefixes differ, and neither is the other followed by digits only.
    mutating func checkEndpointNames(_ spec: FleetSpec) {
        for (later, group) in spec.devices.enumerated() {
            for earlier in 0..<later {
                let other = spec.devices[earlier]
                if let name = group.name, name == other.name {
                    report(at: "devices[\(later)].name", orAt: "devices[\(later)]", "'\(name)' also names devices[\(earlier)]; give each group its own name")
                }
                let (short, long) = group.endpoint.prefix.count <= other.endpoint.prefix.count
                    ? (group.endpoint.prefix, other.endpoint.prefix) : (other.endpoint.prefix, group.endpoint.prefix)
                guard long.hasPrefix(short), long.dropFirst(short.count).allSatisfy({ $0.isASCII && $0.isNumber }) else { continue }
                let reason = short == long ? "the endpoint prefix '\(short)' is also that of devices[\(earlier)]"
                    : "endpoint names with prefix '\(long)' can equal those with prefix '\(short)' (devices[\(earlier)] and this group)"
                report(at: "devices[\(later)].endpoint", orAt: "devices[\(later)]",
                       "\(reason); give each group a prefix of its own, such as endpoint: \"\(group.name ?? "group\(later)")-{index:06}\"")
            }
        }
    }

    /// The stages offer an arrival for every device.
    mutating func checkCapacity(_ spec: FleetSpec) {
        let total = spec.deviceCount
        guard total <= Int(UInt32.max) else {
            report(marks["devices"], "devices", "\(total) devices in all exceed the \(UInt32.max) device indices; lower the counts")
            return
        }
        let schedule = spec.arrivalSchedule
        guard schedule.intendedStart(of: total - 1) == nil else { return }
        // Arrival times grow with the index: find how many fit.
        var (low, high) = (0, total - 1)
        while low < high {
            let middle = (low + high) / 2
            if schedule.intendedStart(of: middle) != nil { low = middle + 1 } else { high = middle }
        }
        let capacity = (schedule.capacity * 10).rounded() / 10
        report(marks["stages"], "stages",
               "the stages start only \(low) of the \(total) devices (their arrival rates add up to \(capacity.shortText) arrivals); "
                   + "\(total - low) would never arrive: raise a rate, lengthen a stage or lower a count")
    }
}

extension Double {
    /// Without a trailing ".0" for whole numbers.
    fileprivate var shortText: String { self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self) }
}
