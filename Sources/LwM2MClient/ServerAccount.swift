import CoAP
import LwM2M

/// A usable LwM2M Server account after bootstrap: a Security instance that is not a
/// Bootstrap-Server account, and the Server instance with the same Short Server ID.
public struct ServerAccount: Hashable, Sendable {
    public var shortServerID: UInt16
    /// `/0/x/0`.
    public var serverURI: String
    public var securityInstanceID: UInt16
    public var serverInstanceID: UInt16
    /// `/1/x/1`.
    public var lifetimeSeconds: UInt32
    /// `/1/x/7`, as written ("U", "UQ", ...).
    public var binding: String
    // Registration retry settings (Server object 1.1, resources 16-20); a 1.0 Server object has
    // none of them, so the defaults the 1.1 object description gives apply.
    /// `/1/x/16`: fall back to bootstrap when the registration sequences fail.
    public var bootstrapOnRegistrationFailure: Bool
    /// `/1/x/17`: registration attempts in one sequence.
    public var communicationRetryCount: UInt32
    /// `/1/x/18`: base of the exponential back-off between attempts of a sequence.
    public var communicationRetryTimerSeconds: UInt32
    /// `/1/x/19`: wait between two sequences.
    public var sequenceDelayTimerSeconds: UInt32
    /// `/1/x/20`: how many sequences before giving up.
    public var sequenceRetryCount: UInt32

    public init(
        shortServerID: UInt16, serverURI: String, securityInstanceID: UInt16, serverInstanceID: UInt16,
        lifetimeSeconds: UInt32, binding: String, bootstrapOnRegistrationFailure: Bool = true,
        communicationRetryCount: UInt32 = 5, communicationRetryTimerSeconds: UInt32 = 60,
        sequenceDelayTimerSeconds: UInt32 = 86400, sequenceRetryCount: UInt32 = 1
    ) {
        self.shortServerID = shortServerID
        self.serverURI = serverURI
        self.securityInstanceID = securityInstanceID
        self.serverInstanceID = serverInstanceID
        self.lifetimeSeconds = lifetimeSeconds
        self.binding = binding
        self.bootstrapOnRegistrationFailure = bootstrapOnRegistrationFailure
        self.communicationRetryCount = communicationRetryCount
        self.communicationRetryTimerSeconds = communicationRetryTimerSeconds
        self.sequenceDelayTimerSeconds = sequenceDelayTimerSeconds
        self.sequenceRetryCount = sequenceRetryCount
    }
}

extension ObjectStore {
    /// The Bootstrap-Server account: the lowest Security instance whose Bootstrap-Server resource
    /// (`/0/x/1`) is true and that has a Server URI, with its Client Hold Off Time (`/0/x/11`, 0 when absent).
    public var bootstrapAccount: (instanceID: UInt16, serverURI: String, clientHoldOffSeconds: UInt32)? {
        for instanceID in instanceIDs(of: SecurityResource.object) where isBootstrapAccount(instanceID) {
            let key = InstanceKey(objectID: SecurityResource.object, instanceID: instanceID)
            guard case .string(let uri)? = storedValue(key, SecurityResource.serverURI), !uri.isEmpty else { continue }
            let holdOff = storedValue(key, SecurityResource.clientHoldOffTime).flatMap(Self.uint32) ?? 0
            return (instanceID, uri, holdOff)
        }
        return nil
    }

    /// Every usable LwM2M Server account, by Security instance id.
    public var serverAccounts: [ServerAccount] {
        // Every fresh device of a profile has the same accounts (stored values only, no generator
        // applies): reading them once per profile spares each arrival the survey.
        guard isUntouched else { return serverAccountSurvey().accounts }
        return profile.untouchedServerAccounts.value(for: true) { serverAccountSurvey().accounts }
    }

    /// The usable accounts, and for each non-bootstrap Security instance that does not make one, why.
    func serverAccountSurvey() -> (accounts: [ServerAccount], problems: [String]) {
        let securityIDs = instanceIDs(of: SecurityResource.object).filter { !isBootstrapAccount($0) }
        guard !securityIDs.isEmpty else {
            return ([], ["there is no Security instance other than the Bootstrap-Server account"])
        }
        var serverIDByShortServerID: [UInt16: UInt16] = [:]
        for serverID in instanceIDs(of: ServerResource.object).reversed() {
            let key = InstanceKey(objectID: ServerResource.object, instanceID: serverID)
            if let ssid = storedValue(key, ServerResource.shortServerID).flatMap(Self.shortServerID) {
                serverIDByShortServerID[ssid] = serverID
            }
        }
        var accounts: [ServerAccount] = []
        var problems: [String] = []
        for securityID in securityIDs {
            let security = InstanceKey(objectID: SecurityResource.object, instanceID: securityID)
            guard let ssid = storedValue(security, SecurityResource.shortServerID).flatMap(Self.shortServerID) else {
                problems.append("Security instance \(securityID) has no valid Short Server ID (/0/\(securityID)/10, 1-65534)")
                continue
            }
            guard case .string(let uri)? = storedValue(security, SecurityResource.serverURI), !uri.isEmpty else {
                problems.append("Security instance \(securityID) has no LwM2M Server URI (/0/\(securityID)/0)")
                continue
            }
            // An account the device could not connect with is no account (TS Core 6.1.7:
            // Bootstrap-Finish checks that the configuration can be used).
            if let problem = Self.connectionProblem(
                uri: uri, mode: storedValue(security, SecurityResource.securityMode), speaksDTLS: profile.speaksDTLS) {
                problems.append("Security instance \(securityID): \(problem)")
                continue
            }
            guard let serverID = serverIDByShortServerID[ssid] else {
                problems.append("Security instance \(securityID) has Short Server ID \(ssid) but no Server instance has it")
                continue
            }
            let server = InstanceKey(objectID: ServerResource.object, instanceID: serverID)
            guard let lifetime = storedValue(server, ServerResource.lifetime).flatMap(Self.uint32) else {
                problems.append("Server instance \(serverID) has no valid Lifetime (/1/\(serverID)/1)")
                continue
            }
            guard case .string(let binding)? = storedValue(server, ServerResource.binding), !binding.isEmpty else {
                problems.append("Server instance \(serverID) has no Binding (/1/\(serverID)/7)")
                continue
            }
            var account = ServerAccount(
                shortServerID: ssid, serverURI: uri, securityInstanceID: securityID, serverInstanceID: serverID,
                lifetimeSeconds: lifetime, binding: binding)
            if case .boolean(let fallBack)? = storedValue(server, ServerResource.bootstrapOnRegistrationFailure) {
                account.bootstrapOnRegistrationFailure = fallBack
            }
            func setting(_ resourceID: UInt16, _ field: WritableKeyPath<ServerAccount, UInt32>) {
                if let seconds = storedValue(server, resourceID).flatMap(Self.uint32) { account[keyPath: field] = seconds }
            }
            setting(ServerResource.communicationRetryCount, \.communicationRetryCount)
            setting(ServerResource.communicationRetryTimer, \.communicationRetryTimerSeconds)
            setting(ServerResource.sequenceDelayTimer, \.sequenceDelayTimerSeconds)
            setting(ServerResource.sequenceRetryCount, \.sequenceRetryCount)
            accounts.append(account)
        }
        return (accounts, problems)
    }

    /// Why an account with Server URI `uri` and Security Mode `mode` (`/0/x/2`) cannot be used, if
    /// it cannot: `coap://` goes with NoSec (3), `coaps://` with PSK (0), and PSK only on a device
    /// that speaks DTLS. An absent mode counts as NoSec on `coap://` and PSK on `coaps://`, as
    /// preinstalled profiles may leave it out. RPK, certificates and EST are not supported.
    static func connectionProblem(uri: String, mode: LwM2MValue?, speaksDTLS: Bool) -> String? {
        guard let parsed = try? CoAPURI(uri), parsed.scheme == "coap" || parsed.scheme == "coaps" else {
            return "LwM2M Server URI '\(uri)' is no coap:// or coaps:// URI"
        }
        let secure = parsed.scheme == "coaps"
        let number: UInt64?
        if let mode {
            guard case .unsignedInteger(let value)? = mode.converted(to: .unsignedInteger) else {
                return "Security Mode \(mode) is no number"
            }
            number = value
        } else {
            number = nil
        }
        switch (secure, number ?? (secure ? preSharedKeyMode : noSecurityMode)) {
        case (false, noSecurityMode):
            return nil
        case (true, preSharedKeyMode):
            return speaksDTLS ? nil : "LwM2M Server URI '\(uri)' needs DTLS, and this device speaks plain CoAP only"
        case (false, preSharedKeyMode):
            return "Security Mode PSK (0) needs a coaps:// URI, and '\(uri)' is plain CoAP"
        case (true, noSecurityMode):
            return "LwM2M Server URI '\(uri)' needs DTLS, and Security Mode NoSec (3) gives it no key"
        case (_, let other):
            return "Security Mode \(other) is not supported: PSK (0) over coaps:// and NoSec (3) over coap:// are"
        }
    }

    /// The pre-shared key of Security instance `instanceID`: its identity (`/0/x/3`, Public Key or
    /// Identity) and key (`/0/x/5`, Secret Key), when both are there. Opaque, or text for an
    /// identity written as a string.
    public func preSharedKey(securityInstance instanceID: UInt16) -> (identity: [UInt8], key: [UInt8])? {
        let key = InstanceKey(objectID: SecurityResource.object, instanceID: instanceID)
        func bytes(_ value: LwM2MValue?) -> [UInt8]? {
            switch value {
            case .opaque(let bytes)?: bytes.isEmpty ? nil : bytes
            case .string(let text)?: text.isEmpty ? nil : Array(text.utf8)
            default: nil
            }
        }
        guard let identity = bytes(storedValue(key, SecurityResource.publicKeyOrIdentity)),
              let secret = bytes(storedValue(key, SecurityResource.secretKey))
        else { return nil }
        return (identity, secret)
    }

    /// Security Mode PSK (`/0/x/2`, TS Core E.1).
    static let preSharedKeyMode: UInt64 = 0
    /// Security Mode NoSec (`/0/x/2`, TS Core E.1).
    static let noSecurityMode: UInt64 = 3

    /// Whether Security instance `instanceID` is a Bootstrap-Server account (`/0/x/1` true),
    /// whatever its instance id: Bootstrap-Delete never removes it (LwM2M 1.1 TS Core 6.1.7).
    func isBootstrapAccount(_ instanceID: UInt16) -> Bool {
        let key = InstanceKey(objectID: SecurityResource.object, instanceID: instanceID)
        return storedValue(key, SecurityResource.bootstrapServer) == .boolean(true)
    }

    /// The stored value of a single resource of an instance (no generator applied).
    func storedValue(_ key: InstanceKey, _ resourceID: UInt16) -> LwM2MValue? {
        storedRecords(key)?.first { $0.path.level == .resource && $0.path.resourceID == resourceID }?.value
    }

    /// A Short Server ID: 1-65534 (the resources' range; 65535 is MAX_ID, reserved).
    static func shortServerID(_ value: LwM2MValue) -> UInt16? {
        guard let id = uint32(value), (1...UInt32(LwM2MPath.maximumID)).contains(id) else { return nil }
        return UInt16(id)
    }

    /// An Integer or Unsigned Integer value that fits 0...UInt32.max.
    static func uint32(_ value: LwM2MValue) -> UInt32? {
        guard case .unsignedInteger(let number)? = value.converted(to: .unsignedInteger) else { return nil }
        return UInt32(exactly: number)
    }
}

/// The LwM2M Security object (0) resources bootstrap reads.
enum SecurityResource {
    static let object: UInt16 = 0
    static let serverURI: UInt16 = 0
    static let bootstrapServer: UInt16 = 1
    static let securityMode: UInt16 = 2
    static let publicKeyOrIdentity: UInt16 = 3
    static let secretKey: UInt16 = 5
    static let shortServerID: UInt16 = 10
    static let clientHoldOffTime: UInt16 = 11
}

/// The LwM2M Server object (1) resources bootstrap reads.
enum ServerResource {
    static let object: UInt16 = 1
    static let shortServerID: UInt16 = 0
    static let lifetime: UInt16 = 1
    static let binding: UInt16 = 7
    static let bootstrapOnRegistrationFailure: UInt16 = 16
    static let communicationRetryCount: UInt16 = 17
    static let communicationRetryTimer: UInt16 = 18
    static let sequenceDelayTimer: UInt16 = 19
    static let sequenceRetryCount: UInt16 = 20
}
