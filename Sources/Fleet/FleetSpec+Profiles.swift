import CoAP
import EventLoop
import LwM2M
import LwM2MClient
import LwM2MServer

/// What the run needs to start the devices of one group: one shared profile and configuration,
/// the group's global device indices, and where its sockets bind.
public struct DeviceGroupSetup: Sendable {
    /// The group's position in `FleetSpec.devices`.
    public var groupIndex: Int
    public var name: String?
    public var profile: DeviceProfile
    public var configuration: ClientConfiguration
    /// Global device indices: endpoint names and seeds derive from them.
    public var indices: Range<UInt32>
    /// Never empty.
    public var localAddresses: [SocketAddress]
    /// The group's DTLS credentials (`security:`); nil: plain CoAP.
    public var security: DeviceSecurity?

    public init(
        groupIndex: Int, name: String?, profile: DeviceProfile, configuration: ClientConfiguration, indices: Range<UInt32>,
        localAddresses: [SocketAddress]
    ) {
        self.groupIndex = groupIndex
        self.name = name
        self.profile = profile
        self.configuration = configuration
        self.indices = indices
        self.localAddresses = localAddresses
    }

    public func endpointName(index: UInt32) -> String { configuration.endpointName(index: index) }

    /// What the group's devices do first: bootstrap, or register with their preinstalled account.
    public var firstOperation: LwM2MOperation { configuration.bootstrapMode == .none ? .register : .bootstrap }

    /// The address device `index` (global, in `indices`) binds its sockets to: the group's
    /// addresses taken in turn, the first for the group's first device.
    public func localAddress(forDevice index: UInt32) -> SocketAddress {
        localAddresses[Int((index - indices.lowerBound) % UInt32(localAddresses.count))]
    }
}

extension FleetSpec {
    /// Short Server ID of the account preinstalled for `bootstrap: none` (TS Core E.1, /0/x/10, /1/x/0).
    static let shortServerID: Int64 = 1
    /// ClientHoldOffTime for server-initiated bootstrap: how long a device waits for the
    /// Bootstrap-Server to write before it asks itself (TS Core 6.1.4, /0/x/11).
    static let clientHoldOffSeconds: Int64 = 3
    /// Security Mode 3, NoSec (/0/x/2).
    static let noSecurity: Int64 = 3
    /// Security Mode 0, PSK (/0/x/2).
    static let preSharedKey: Int64 = 0

    /// A profile and configuration per group. `serverURI` and `bootstrapURI` are where the servers
    /// really are (the embedded ones get their ports when the run starts): groups with `bootstrap:
    /// none` get a Server account for `serverURI`, the others a Bootstrap-Server account for
    /// `bootstrapURI` at Security instance 0.
    /// Groups with `security:` get their accounts at `dtlsServerURI` and `dtlsBootstrapURI` (the
    /// embedded servers' `coaps://` ports) when given, else at the others (external `coaps://`
    /// servers), with Security Mode PSK; their keys come from the group at run time, not from
    /// the device's records.
    public func deviceSetup(
        serverURI: String?, bootstrapURI: String?, dtlsServerURI: String? = nil, dtlsBootstrapURI: String? = nil
    ) throws(FleetSpecError) -> [DeviceGroupSetup] {
        var setups: [DeviceGroupSetup] = []
        var problems: [FleetSpecError.Problem] = []
        for ((index, group), indices) in zip(devices.enumerated(), deviceIndexRanges) {
            let account: [LwM2MRecord]
            let secure = group.security != nil
            let groupServerURI = secure ? dtlsServerURI ?? serverURI : serverURI
            let bootstrapsSecurely = secure && group.security?.bootstrapsOverPlainCoAP != true
            let groupBootstrapURI = bootstrapsSecurely ? dtlsBootstrapURI ?? bootstrapURI : bootstrapURI
            switch (group.bootstrap, groupServerURI, groupBootstrapURI) {
            case (.none, let uri?, _):
                account = Self.serverAccount(uri: uri, group: group)
            case (.clientInitiated, _, let uri?), (.serverInitiated, _, let uri?):
                account = Self.bootstrapAccount(uri: uri, holdOff: group.bootstrap == .serverInitiated, secure: bootstrapsSecurely)
            case (.none, nil, _):
                problems.append(FleetSpecError.Problem(
                    line: nil, column: nil, keyPath: "devices[\(index)].bootstrap", message: "none needs a Server URI, and the run has none"))
                continue
            case (_, _, nil):
                problems.append(FleetSpecError.Problem(
                    line: nil, column: nil, keyPath: "devices[\(index)].bootstrap",
                    message: "\(group.bootstrap.rawValue) needs a Bootstrap-Server URI, and the run has none"))
                continue
            }
            let profile = DeviceProfile(
                model: group.model, records: account + Self.objectRecords(group), supportedObjects: [0, 1, 3] + group.objects.map(\.objectID),
                generators: Dictionary(uniqueKeysWithValues: group.generators.map {
                    (ResourceKey(objectID: $0.objectID, resourceID: $0.resourceID), $0.generator)
                }),
                speaksDTLS: secure)
            let configuration = ClientConfiguration(
                endpointPrefix: group.endpoint.prefix, indexWidth: group.endpoint.indexWidth, lwm2mVersion: group.lwm2mVersion,
                bootstrapMode: group.bootstrap, preferredContentFormat: group.preferredContentFormat,
                sessionSeconds: group.sessionSeconds, sessionRepeats: group.sessionRepeats)
            let addresses = group.localAddresses.isEmpty
                ? [Self.defaultLocalAddress(for: [serverURI, bootstrapURI].compactMap { $0 })] : group.localAddresses
            // The loader checked every listed address.
            let localAddresses = addresses.compactMap { try? SocketAddress(ipAddress: $0, port: 0) }
            var setup = DeviceGroupSetup(
                groupIndex: index, name: group.name, profile: profile, configuration: configuration, indices: indices,
                localAddresses: localAddresses)
            setup.security = group.security
            setups.append(setup)
        }
        guard problems.isEmpty else { throw FleetSpecError(source: source, problems: problems) }
        return setups
    }

    /// What the run's `serve` child is to do for this fleet, whose `server` is `.embedded(embedded)`:
    /// bind free ports on 127.0.0.1; the Bootstrap-Server gives each bootstrapping group its lifetime,
    /// binding and version (a rule per endpoint prefix, the longest first), and the Server sends the
    /// `server.embedded` requests. The Server URI in the rules is the built-in default, which
    /// `ServerDriver` replaces with its own address.
    ///
    /// With groups that have `security:`, the servers get `coaps://` sockets that accept those
    /// groups' keys (`EmbeddedDTLSConfiguration`), and the Bootstrap-Server writes those groups'
    /// devices a PSK account whose key derives from a secret drawn from `seed`, the run's.
    public func embeddedServerConfiguration(for embedded: EmbeddedServer, seed: UInt64 = 0) -> EmbeddedServerConfiguration {
        var registration = RegistrationServerConfiguration()
        registration.afterRegistration = embedded.read.map { AfterRegistrationAction(.read($0)) }
            + embedded.observe.map { AfterRegistrationAction(.observe($0)) }
            + embedded.execute.map { AfterRegistrationAction(.execute($0), firstRegistrationOnly: true) }
        registration.violation = switch embedded.violate {
        case "before-ack": .beforeAcknowledgement
        case "during-bootstrap": .duringBootstrap
        default: nil
        }
        var bootstrap = BootstrapServerConfiguration()
        bootstrap.endpointRules = devices.filter { $0.bootstrap != .none }
            .sorted { $0.endpoint.prefix.count > $1.endpoint.prefix.count }
            .map { group in
                BootstrapServerConfiguration.EndpointRule(
                    pattern: group.endpoint.prefix + "*",
                    settings: {
                        var settings = BootstrapServerConfiguration.Settings(
                            lifetimeSeconds: group.lifetimeSeconds, binding: group.binding, lwm2mVersion: group.lwm2mVersion)
                        settings.preSharedKey = group.usesDTLS
                        return settings
                    }())
            }
        var configuration = EmbeddedServerConfiguration(registration: registration, bootstrap: bootstrap)
        configuration.faults = embedded.faults
        configuration.restart = embedded.restart
        configuration.seed = seed
        configuration.dtls = embeddedDTLSConfiguration(seed: seed)
        return configuration
    }

    /// The `coaps://` side of the embedded servers: each secured group's identities and keys, and
    /// the run's account secret; nil when no group has `security:`.
    func embeddedDTLSConfiguration(seed: UInt64) -> EmbeddedDTLSConfiguration? {
        let groupKeys = devices.compactMap { group -> EmbeddedDTLSConfiguration.GroupKeys? in
            guard let security = group.security else { return nil }
            let source: EmbeddedDTLSConfiguration.KeySource = switch security.keySource {
            case .fixed(let key): .fixed(key)
            case .derived(let secret): .derived(secret: secret)
            // The loader always sets the path of the tables it reads.
            case .file(let table): .file(path: table.path ?? table.source)
            }
            return EmbeddedDTLSConfiguration.GroupKeys(
                identityPrefix: security.identity.prefix, identityIndexWidth: security.identity.indexWidth, source: source)
        }
        guard !groupKeys.isEmpty else { return nil }
        // Its own stream of the run's seed, so the secret is the same whenever the run is replayed.
        var random = SeededRandom(seed: seed ^ 0x4143_434F_554E_5453)
        return EmbeddedDTLSConfiguration(groupKeys: groupKeys, accountSecret: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
    }

    // MARK: Records

    private static func record(_ path: String, _ value: LwM2MValue) -> LwM2MRecord {
        // Literal paths below, all valid.
        LwM2MRecord(path: try! LwM2MPath(parsing: path), value: value)
    }

    /// A NoSec LwM2M Server account at Security and Server instance 0.
    static func serverAccount(uri: String, group: DeviceGroup) -> [LwM2MRecord] {
        [
            record("/0/0/0", .string(uri)),
            record("/0/0/1", .boolean(false)),
            record("/0/0/2", .integer(group.security == nil ? noSecurity : preSharedKey)),
            record("/0/0/10", .integer(shortServerID)),
            record("/1/0/0", .integer(shortServerID)),
            record("/1/0/1", .integer(Int64(group.lifetimeSeconds))),
            record("/1/0/6", .boolean(false)),
            record("/1/0/7", .string(group.binding.description)),
        ]
    }

    /// A NoSec Bootstrap-Server account at Security instance 0, with a hold-off for server-initiated bootstrap.
    static func bootstrapAccount(uri: String, holdOff: Bool, secure: Bool = false) -> [LwM2MRecord] {
        [
            record("/0/0/0", .string(uri)),
            record("/0/0/1", .boolean(true)),
            record("/0/0/2", .integer(secure ? preSharedKey : noSecurity)),
        ] + (holdOff ? [record("/0/0/11", .integer(clientHoldOffSeconds))] : [])
    }

    /// The Device object, the extra objects, and a first value for every generated resource that
    /// has none (a generator only replaces values that exist).
    static func objectRecords(_ group: DeviceGroup) -> [LwM2MRecord] {
        var device: [UInt16: [LwM2MValue]] = [
            0: [.string("lwm2m-fleet")],
            1: [.string(group.name ?? "lwm2m-fleet-sim")],
            9: [.integer(100)],
            11: [.integer(0)],
            16: [.string(group.binding.description)],
        ]
        var instances: [(key: InstanceKey, values: [UInt16: [LwM2MValue]])] = []
        for object in group.objects {
            if object.objectID == 3 {
                device.merge(object.values) { _, given in given }
            } else {
                for instanceID in 0..<object.instanceCount {
                    instances.append((InstanceKey(objectID: object.objectID, instanceID: instanceID), object.values))
                }
            }
        }
        instances.insert((InstanceKey(objectID: 3, instanceID: 0), device), at: 0)
        var records: [LwM2MRecord] = []
        for (key, values) in instances {
            var values = values
            for generator in group.generators where generator.objectID == key.objectID && values[generator.resourceID] == nil {
                let path = LwM2MPath(objectID: key.objectID, instanceID: key.instanceID, resourceID: generator.resourceID)
                if let type = group.model.resourceType(at: path),
                   let first = generator.generator.value(seed: 0, path: path, now: Timestamp(nanoseconds: 0), type: type) {
                    values[generator.resourceID] = [first]
                }
            }
            for (resourceID, resourceValues) in values {
                let path = LwM2MPath(objectID: key.objectID, instanceID: key.instanceID, resourceID: resourceID)
                if group.model.resource(at: path)?.isMultipleInstance == true {
                    for (instance, value) in resourceValues.enumerated() {
                        records.append(LwM2MRecord(path: path.appending(UInt16(instance))!, value: value))
                    }
                } else if let value = resourceValues.first {
                    records.append(LwM2MRecord(path: path, value: value))
                }
            }
        }
        return records
    }

    /// 127.0.0.1 when every server is on loopback (the common case, and the only one where the
    /// source address matters to nobody); otherwise the unspecified address of the servers'
    /// family, so the kernel picks the interface that routes to them.
    static func defaultLocalAddress(for uris: [String]) -> String {
        let hosts = uris.compactMap { try? CoAPURI($0).host }
        if hosts.allSatisfy({ $0 == "localhost" || $0.hasPrefix("127.") || $0 == "::1" }) {
            return !hosts.isEmpty && hosts.allSatisfy({ $0 == "::1" }) ? "::1" : "127.0.0.1"
        }
        return hosts.contains { $0.contains(":") } ? "::" : "0.0.0.0"
    }
}
