import DTLS

/// How a group's devices authenticate to a `coaps://` server: DTLS 1.2 with a pre-shared key,
/// an identity per device and a key from one of three sources (`security:` of a device group).
public struct DeviceSecurity: Hashable, Sendable {
    /// The kind of DTLS credentials; only pre-shared keys so far (RPK and X.509 are not supported yet).
    public enum Mode: String, Hashable, Sendable {
        /// A PSK identity and a symmetric key (LwM2M Security Mode 0, TS Core E.1).
        case psk
    }

    /// Where the group's keys come from.
    public enum KeySource: Hashable, Sendable {
        /// One key for every device (`key:`).
        case fixed([UInt8])
        /// A key per identity, from a CSV file (`key-file:`).
        case file(PreSharedKeyTable)
        /// A key per device, derived from this secret (the UTF-8 of `key-secret:`) and the device's
        /// identity by the DTLS module: HMAC-SHA256 truncated to 16 bytes.
        case derived(secret: [UInt8])
    }

    /// One device's key: its bytes, or what the DTLS module derives them from with its identity.
    public enum DeviceKey: Hashable, Sendable {
        case fixed([UInt8])
        case derived(secret: [UInt8])
    }

    /// What device `index` presents in its DTLS handshake.
    public struct Credentials: Hashable, Sendable {
        /// The PSK identity (RFC 4279 2), the UTF-8 of the identity pattern's name for the device.
        public var identity: [UInt8]
        public var key: DeviceKey

        public init(identity: [UInt8], key: DeviceKey) {
            self.identity = identity
            self.key = key
        }

        /// The identity and key a DTLS handshake presents: a derived key computed now.
        public var preSharedKey: PreSharedKey {
            switch key {
            case .fixed(let bytes): PreSharedKey(identity: identity, key: bytes)
            case .derived(let secret): PreSharedKey.derived(secret: secret, identity: identity)
            }
        }
    }

    /// When a device handshakes with its server again, beyond the first time and after a
    /// session was lost: a handshake storm is a scenario of its own.
    public enum HandshakePolicy: String, Hashable, Sendable, CaseIterable {
        /// Once per connection (and again only when the session ended or went unanswered).
        case once
        /// Before each Update too, as devices that sleep between reports and keep no session.
        case everyUpdate = "every-update"
    }

    public var mode: Mode
    /// `handshake:` of `security:`, `once` by default.
    public var handshake = HandshakePolicy.once
    /// `bootstrap-over: coap`: the group bootstraps over plain CoAP and the Bootstrap-Server
    /// provisions its DTLS credentials, as in many labs; by default the bootstrap runs over DTLS
    /// with the group's keys.
    public var bootstrapsOverPlainCoAP = false
    /// `resume:` of `security:`: a device's new handshake with a server it had a session with
    /// resumes that session from its ticket (RFC 5077), an abbreviated handshake with no PSK
    /// lookup, when the server can; false by default.
    public var resume = false
    /// PREFIX{index:0N} as `endpoint:` writes it; the group's endpoint pattern unless the file gives one.
    public var identity: FleetSpec.EndpointPattern
    public var keySource: KeySource

    public init(mode: Mode = .psk, identity: FleetSpec.EndpointPattern, keySource: KeySource) {
        self.mode = mode
        self.identity = identity
        self.keySource = keySource
    }

    /// The identity and key of device `index` (the global device index); nil only when a key
    /// file has no key for its identity, which the loader rules out for the group's own devices.
    public func credentials(forDevice index: UInt32) -> Credentials? {
        let name = identity.name(index: index)
        let key: DeviceKey
        switch keySource {
        case .fixed(let bytes): key = .fixed(bytes)
        case .derived(let secret): key = .derived(secret: secret)
        case .file(let table):
            guard let bytes = table.key(forIdentity: name) else { return nil }
            key = .fixed(bytes)
        }
        return Credentials(identity: Array(name.utf8), key: key)
    }
}

extension DeviceSecurity {
    /// Why a text is not a key in hex, said without the key itself: messages end up in logs.
    struct KeyTextProblem: Error, Hashable {
        /// Completes "the key ...": `is empty; ...`.
        var reason: String
    }

    /// A pre-shared key may be 1 to 32 bytes: RFC 4279 5.3 asks TLS stacks for 64, but Debian's
    /// mbedTLS 2.28 takes 32 at most (`MBEDTLS_PSK_MAX_LEN`), and the DTLS module refuses more.
    static let keyLengths = 1...32

    /// The bytes of a key written in hex, two digits per byte, `0x` optional.
    static func key(hex text: some StringProtocol) throws(KeyTextProblem) -> [UInt8] {
        let prefixed = text.hasPrefix("0x") || text.hasPrefix("0X")
        let digits = Array(text.utf8.dropFirst(prefixed ? 2 : 0))
        guard !digits.isEmpty else {
            throw KeyTextProblem(reason: "is empty; give 1 to 32 bytes in hex (0x optional), such as 000102030405060708090a0b0c0d0e0f")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var high: UInt8 = 0
        for (offset, digit) in digits.enumerated() {
            guard let value = hexValue(digit) else {
                let character = String(decoding: [digit], as: UTF8.self)
                let shown = digit < 0x80 && digit >= 0x20 ? "'\(character)'" : "a non-hex byte"
                throw KeyTextProblem(reason: "has \(shown) at character \(offset + 1 + (prefixed ? 2 : 0)), not a hex digit; "
                    + "write the key in hex (0-9, a-f), two digits per byte")
            }
            if offset % 2 == 0 { high = value } else { bytes.append(high << 4 | value) }
        }
        guard digits.count % 2 == 0 else {
            throw KeyTextProblem(reason: "has an odd number of hex digits (\(digits.count)); write two digits per byte, such as 0f for 15")
        }
        guard keyLengths.contains(bytes.count) else {
            throw KeyTextProblem(reason: "is \(bytes.count) bytes; a pre-shared key is 1 to 32 bytes (the most mbedTLS takes)")
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
