import CoAP
import LwM2M

/// One request of a bootstrap script, in the order they run (LwM2M 1.1 TS Core 6.1.7).
enum BootstrapStep: UInt8, CaseIterable, Sendable {
    case discover
    case deleteRoot
    case deleteSecurityObject
    case deleteServerObject
    case writeSecurity
    case writeServer
    case read
    case finish

    /// The name metrics use, as `LwM2MOperation` spells it on the client side.
    var operationName: String {
        switch self {
        case .discover: "bootstrap-discover"
        case .deleteRoot, .deleteSecurityObject, .deleteServerObject: "bootstrap-delete"
        case .writeSecurity, .writeServer: "bootstrap-write"
        case .read: "bootstrap-read"
        case .finish: "bootstrap-finish"
        }
    }

    var isWrite: Bool { self == .writeSecurity || self == .writeServer }
}

/// What the Bootstrap-Server will do to one device: the settings of its endpoint name and what it
/// learned so far (the LwM2M version and the free Security instance, from Bootstrap-Discover).
struct BootstrapPlan: Sendable {
    var endpointName: String
    var settings: BootstrapServerConfiguration.Settings
    var lwm2mVersion: LwM2MVersion
    /// `pct` of the Bootstrap-Request, kept only when it is a format the writes can be encoded in.
    var preferredFormat: LwM2MContentFormat?
    var securityInstanceID: UInt16
    /// The identity and key the account is written with, for a PSK account; nil for NoSec.
    var preSharedKey: PreSharedKeyMaterial?

    /// Formats that carry a whole object instance; plain text and opaque carry one value.
    static let instanceFormats: [LwM2MContentFormat] = [.tlv, .legacyTLV, .senmlCBOR, .senmlJSON, .lwm2mJSON, .legacyLwM2MJSON]
    static let serverInstanceID: UInt16 = 0
    /// What the next bootstrap writes in after a device refused a Write with 4.15: TLV, the one
    /// format every LwM2M client reads (mandatory in 1.0, TS 1.0 6.4; SenML came with 1.1).
    static let fallbackFormat = LwM2MContentFormat.tlv

    init(endpointName: String, settings: BootstrapServerConfiguration.Settings, lwm2mVersion: LwM2MVersion?,
         preferredFormat: LwM2MContentFormat?, preSharedKey: PreSharedKeyMaterial? = nil) {
        self.endpointName = endpointName
        self.preSharedKey = preSharedKey
        self.settings = settings
        self.lwm2mVersion = lwm2mVersion ?? settings.lwm2mVersion
        self.preferredFormat = preferredFormat.flatMap { Self.instanceFormats.contains($0) ? $0 : nil }
        securityInstanceID = settings.securityInstanceID
    }

    /// `pct` when usable, else SenML CBOR for 1.1 and later, TLV for 1.0 (which has no SenML).
    var contentFormat: LwM2MContentFormat {
        preferredFormat ?? (lwm2mVersion >= .v1_1 ? .senmlCBOR : .tlv)
    }

    func includes(_ step: BootstrapStep) -> Bool {
        switch step {
        case .discover: settings.discover
        case .deleteRoot: settings.delete == .root
        case .deleteSecurityObject, .deleteServerObject: settings.delete == .objects
        case .writeSecurity, .writeServer, .finish: true
        // Bootstrap-Read came with 1.1; a 1.0 device would answer 4.05.
        case .read: settings.read && lwm2mVersion >= .v1_1
        }
    }

    /// The step to run after `step` (the first one for nil); nil after Bootstrap-Finish.
    func step(after step: BootstrapStep?) -> BootstrapStep? {
        let start = step.map { Int($0.rawValue) + 1 } ?? 0
        return BootstrapStep.allCases.dropFirst(start).first(where: includes)
    }

    // MARK: Requests

    /// The request of `step`; nil only if the account's values cannot be encoded (a bug, reported
    /// as a failed bootstrap rather than a crash).
    func request(for step: BootstrapStep) -> CoAPMessage? {
        switch step {
        case .discover:
            // Bootstrap-Discover is GET with Accept link-format (TS Core 6.1.7.3); no Uri-Path is "/".
            return Self.message(.get, path: .root, accept: .linkFormat)
        case .deleteRoot:
            return Self.message(.delete, path: .root)
        case .deleteSecurityObject:
            return Self.message(.delete, path: LwM2MPath(objectID: 0))
        case .deleteServerObject:
            return Self.message(.delete, path: LwM2MPath(objectID: 1))
        case .writeSecurity:
            return write(securityRecords, at: LwM2MPath(objectID: 0, instanceID: securityInstanceID))
        case .writeServer:
            return write(serverRecords, at: LwM2MPath(objectID: 1, instanceID: Self.serverInstanceID))
        case .read:
            return Self.message(.get, path: LwM2MPath(objectID: 1), accept: contentFormat)
        case .finish:
            var finish = CoAPMessage(type: .confirmable, code: .post)
            finish.options.append(.uriPath, string: "bs")
            return finish
        }
    }

    /// The account for the LwM2M Server (Security object, TS Core E.1): URI, not a
    /// Bootstrap-Server, Short Server ID, and security mode 3 (NoSec), or 0 (PSK) with the
    /// device's identity and key.
    var securityRecords: [LwM2MRecord] {
        let instance = LwM2MPath(objectID: 0, instanceID: securityInstanceID)
        var records = [
            LwM2MRecord(path: instance.appending(0)!, value: .string(settings.serverURI)),
            LwM2MRecord(path: instance.appending(1)!, value: .boolean(false)),
            LwM2MRecord(path: instance.appending(2)!, value: .integer(preSharedKey == nil ? 3 : 0)),
        ]
        if let preSharedKey {
            records.append(LwM2MRecord(path: instance.appending(3)!, value: .opaque(preSharedKey.identity)))
            records.append(LwM2MRecord(path: instance.appending(5)!, value: .opaque(preSharedKey.key)))
        }
        records.append(LwM2MRecord(path: instance.appending(10)!, value: .integer(Int64(settings.shortServerID))))
        return records
    }

    /// The Server instance (Server object, TS Core E.2): Short Server ID, lifetime, default minimum and
    /// maximum periods, notification storing off, binding.
    var serverRecords: [LwM2MRecord] {
        let instance = LwM2MPath(objectID: 1, instanceID: Self.serverInstanceID)
        return [
            LwM2MRecord(path: instance.appending(0)!, value: .integer(Int64(settings.shortServerID))),
            LwM2MRecord(path: instance.appending(1)!, value: .integer(Int64(settings.lifetimeSeconds))),
            LwM2MRecord(path: instance.appending(2)!, value: .integer(Int64(settings.defaultMinimumPeriodSeconds))),
            LwM2MRecord(path: instance.appending(3)!, value: .integer(Int64(settings.defaultMaximumPeriodSeconds))),
            LwM2MRecord(path: instance.appending(6)!, value: .boolean(false)),
            LwM2MRecord(path: instance.appending(7)!, value: .string(settings.binding.description)),
        ]
    }

    private func write(_ records: [LwM2MRecord], at path: LwM2MPath) -> CoAPMessage? {
        guard case .success(let payload) = LwM2MPayloadCodec.encode(records, format: contentFormat, requestPath: path) else {
            return nil
        }
        var request = Self.message(.put, path: path)
        request.options.append(.contentFormat, uint: UInt64(contentFormat.rawValue))
        request.payload = payload[...]
        return request
    }

    private static func message(_ code: CoAPCode, path: LwM2MPath, accept: LwM2MContentFormat? = nil) -> CoAPMessage {
        var request = CoAPMessage(type: .confirmable, code: code)
        for segment in path.segments { request.options.append(.uriPath, string: segment) }
        if let accept { request.options.append(.accept, uint: UInt64(accept.rawValue)) }
        return request
    }

    // MARK: Answers

    /// Takes in the device's answer to `step`; false when it fails the bootstrap. Any 2.xx lets a
    /// step pass, except Bootstrap-Finish, which the device accepts with 2.04 only (TS Transport 6.7).
    mutating func accept(_ response: CoAPMessage, to step: BootstrapStep) -> Bool {
        switch step {
        case .finish:
            return response.code == .changed
        case _ where !response.code.isSuccess:
            return false
        case .discover:
            return learn(fromDiscover: response)
        case .read:
            return readShowsServerInstance(response)
        default:
            return true
        }
    }

    /// Reads a Bootstrap-Discover answer: the enabler version (`</>;lwm2m=`) and the Bootstrap-Server
    /// account, the Security instance without `ssid`, whose id the account written must not take.
    private mutating func learn(fromDiscover response: CoAPMessage) -> Bool {
        guard case .success(let discovered) = DiscoverResponse.parse(String(decoding: response.payload, as: UTF8.self)) else {
            return false
        }
        var bootstrapAccounts = Set<UInt16>()
        for entry in discovered.entries where entry.path.level == .objectInstance && entry.path.objectID == 0 {
            let hasShortServerID = entry.attributes.contains { if case .shortServerID = $0 { true } else { false } }
            if !hasShortServerID, let instanceID = entry.path.instanceID { bootstrapAccounts.insert(instanceID) }
        }
        if bootstrapAccounts.contains(securityInstanceID),
           let free = (0...LwM2MPath.maximumID).first(where: { !bootstrapAccounts.contains($0) }) {
            securityInstanceID = free
        }
        if let version = discovered.enablerVersion { lwm2mVersion = version }
        return true
    }

    /// Whether a Bootstrap-Read of /1 shows the Server instance just written, by its Short Server ID.
    private func readShowsServerInstance(_ response: CoAPMessage) -> Bool {
        let format = response.contentFormat.map(LwM2MContentFormat.init(rawValue:)) ?? contentFormat
        let object = LwM2MPath(objectID: 1)
        guard case .success(let records) = LwM2MPayloadCodec.decode(
            Array(response.payload), format: format, requestPath: object, model: .core)
        else { return false }
        let shortServerID = LwM2MPath(objectID: 1, instanceID: Self.serverInstanceID, resourceID: 0)
        return records.contains {
            $0.path == shortServerID && $0.value.converted(to: .unsignedInteger) == .unsignedInteger(UInt64(settings.shortServerID))
        }
    }
}

/// A bootstrap in progress: its plan and the one request in flight.
struct BootstrapSession: Sendable {
    var plan: BootstrapPlan
    var step: BootstrapStep
    var request: CoAPRequestID
    var sentAt: Timestamp
    /// A step before failed: the script skipped to Finish, and the bootstrap counts as failed.
    var stepFailed: Bool
}
