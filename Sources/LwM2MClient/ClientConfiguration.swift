import CoAP
import LwM2M

/// How the devices of one profile behave; shared by reference by all of them.
public final class ClientConfiguration: Sendable {
    /// How a device gets its LwM2M Server account.
    public enum BootstrapMode: String, Hashable, Sendable {
        /// The profile already holds a server account: register at once.
        case none
        /// Send Bootstrap-Request first (TS Core 6.1.3).
        case clientInitiated = "client-initiated"
        /// Wait ClientHoldOffTime for the Bootstrap-Server to write, then request it (TS Core 6.1.4).
        case serverInitiated = "server-initiated"
    }

    /// Endpoint names are `prefix` + the device index, zero-padded to `indexWidth` digits.
    public let endpointPrefix: String
    public let indexWidth: Int
    public let lwm2mVersion: LwM2MVersion
    public let bootstrapMode: BootstrapMode
    /// `pct` of the Bootstrap-Request, when set (LwM2M 1.1).
    public let preferredContentFormat: LwM2MContentFormat?
    /// `b` of the Register request; nil takes the Server object's binding (/1/x/7).
    public let binding: LwM2MBinding?
    public let queueMode: Bool
    /// A bootstrap fails and is retried when the Bootstrap-Server sent nothing for this long. The
    /// TS waits EXCHANGE_LIFETIME (247 s, TS Core 6.1); shorter by default, so that a load test
    /// is not held up four minutes by a Bootstrap-Server that went quiet.
    public let bootstrapTimeoutSeconds: UInt32
    /// Back-off after a failed bootstrap: this, doubled per failure, at most `bootstrapRetryMaximumSeconds`.
    public let bootstrapRetryBaseSeconds: UInt32
    public let bootstrapRetryMaximumSeconds: UInt32
    /// The Update is sent this long before the lifetime ends, and at least MAX_TRANSMIT_WAIT before
    /// (93 s with the default transmission), so its retransmissions fit; at most half the lifetime.
    public let updateMarginSeconds: UInt32
    /// Notifications as CON (acknowledged, and a Reset cancels) or NON.
    public let confirmableNotifications: Bool
    public let transmission: CoAPTransmissionParameters
    /// How long before the lifetime ends the Update goes, before halving for short lifetimes:
    /// `updateMarginSeconds`, at least MAX_TRANSMIT_WAIT of `transmission` and 1 s.
    let updateMarginNanoseconds: UInt64
    /// `transmission`, shared by every endpoint of the devices of this configuration.
    let sharedTransmission: SharedTransmissionParameters
    /// How long a device stays registered before it deregisters and goes off for good (devices
    /// that wake, report and leave); nil: until the fleet ends.
    public let sessionSeconds: Double?
    /// A device whose session ended registers again at once on the same connection, over and over
    /// (Register, Updates, De-register, Register, ...), as a script cycling devices would.
    public let sessionRepeats: Bool
    /// Register's Uri-Query items after `ep`, by lifetime and binding: the same for every device.
    let registerQueryTails = SharedCache<RegisterQueryTailKey, [String]>(capacity: 64)

    public init(
        endpointPrefix: String = "sim-", indexWidth: Int = 6, lwm2mVersion: LwM2MVersion = LwM2MVersion(major: 1, minor: 1),
        bootstrapMode: BootstrapMode = .none, preferredContentFormat: LwM2MContentFormat? = nil, binding: LwM2MBinding? = nil,
        queueMode: Bool = false, bootstrapTimeoutSeconds: UInt32 = 60, bootstrapRetryBaseSeconds: UInt32 = 5,
        bootstrapRetryMaximumSeconds: UInt32 = 300, updateMarginSeconds: UInt32 = 10, confirmableNotifications: Bool = false,
        transmission: CoAPTransmissionParameters = CoAPTransmissionParameters(), sessionSeconds: Double? = nil,
        sessionRepeats: Bool = false
    ) {
        self.endpointPrefix = endpointPrefix
        self.indexWidth = indexWidth
        self.lwm2mVersion = lwm2mVersion
        self.bootstrapMode = bootstrapMode
        self.preferredContentFormat = preferredContentFormat
        self.binding = binding
        self.queueMode = queueMode
        self.bootstrapTimeoutSeconds = bootstrapTimeoutSeconds
        self.bootstrapRetryBaseSeconds = bootstrapRetryBaseSeconds
        self.bootstrapRetryMaximumSeconds = bootstrapRetryMaximumSeconds
        self.updateMarginSeconds = updateMarginSeconds
        self.confirmableNotifications = confirmableNotifications
        self.transmission = transmission
        updateMarginNanoseconds = max(UInt64(updateMarginSeconds) * 1_000_000_000, transmission.maxTransmitWaitNanoseconds, 1_000_000_000)
        sharedTransmission = SharedTransmissionParameters(transmission)
        self.sessionSeconds = sessionSeconds
        self.sessionRepeats = sessionRepeats
    }

    /// The endpoint name of device `index`, built on demand so devices do not store it.
    public func endpointName(index: UInt32) -> String {
        Self.endpointName(prefix: endpointPrefix, indexWidth: indexWidth, index: index)
    }

    /// `prefix` then `index` zero-padded to `indexWidth` digits: endpoint names, and the PSK
    /// identities a fleet file writes with the same pattern.
    public static func endpointName(prefix: String, indexWidth: Int, index: UInt32) -> String {
        // Written in one go: every Register sends the name, and concatenating pieces allocated per piece.
        var digitCount = 1
        var rest = index / 10
        while rest > 0 {
            digitCount += 1
            rest /= 10
        }
        let prefixBytes = prefix.utf8
        let length = prefixBytes.count + max(indexWidth, digitCount)
        return String(unsafeUninitializedCapacity: length) { buffer in
            _ = buffer.initialize(from: prefixBytes)
            var value = index
            for position in (prefixBytes.count..<length).reversed() {
                buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            return length
        }
    }

    /// The content format a client of this version answers in when the server asks for none.
    /// The binding a device registers with: this configuration's, else the account's (`/1/x/7`), else U.
    func binding(for account: ServerAccount) -> LwM2MBinding {
        binding ?? LwM2MBinding(account.binding) ?? LwM2MBinding([.udp])
    }

    /// Register's Uri-Query items after `ep` (`lt`, `lwm2m`, `b`, `Q`), built once per lifetime and binding.
    func registerQueryTail(lifetimeSeconds: UInt32, binding: LwM2MBinding) -> [String] {
        registerQueryTails.value(for: RegisterQueryTailKey(lifetimeSeconds: lifetimeSeconds, binding: binding)) {
            let parameters = RegistrationParameters(
                endpointName: "", lifetimeSeconds: lifetimeSeconds, lwm2mVersion: lwm2mVersion, binding: binding,
                queueMode: queueMode)
            return Array(parameters.queryItems.dropFirst())
        }
    }

    public var defaultContentFormat: LwM2MContentFormat {
        lwm2mVersion >= LwM2MVersion(major: 1, minor: 1) ? .senmlCBOR : .tlv
    }
}

/// What Register's query items after `ep` depend on, beyond the configuration itself.
struct RegisterQueryTailKey: Hashable, Sendable {
    var lifetimeSeconds: UInt32
    var binding: LwM2MBinding
}
