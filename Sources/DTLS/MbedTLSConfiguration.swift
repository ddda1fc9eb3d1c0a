import CMbedTLS
import CoAP

/// One `mbedtls_ssl_config` and what it points to: the seeded random generator, the cipher
/// suite list and, on a server, the cookie key, the session ticket key and the PSK lookup.
///
/// A class because mbedTLS keeps the config's address in every context set up from it, and the
/// config keeps the addresses of the suite list, the generator, the cookie key and of this
/// object (for the PSK callback): none of them may move, and all must outlive every context
/// that uses them, which is why each `DTLSSession` holds its configuration.
final class MbedTLSConfiguration {
    /// Which side the config is for: a client has its one key in the config (mbedTLS 2.28 keeps
    /// the client's PSK identity there), a server looks keys up per handshake.
    enum Role {
        case client(PreSharedKey)
        case server(DTLSServerKeys)
    }

    let config: UnsafeMutablePointer<mbedtls_ssl_config>
    /// Every random byte mbedTLS draws (Hello randoms, cookie key, CBC IVs, explicit nonces).
    private let generator: UnsafeMutablePointer<SeededRandom>
    /// Zero-terminated, as mbedTLS wants it; the config keeps only its address.
    private let cipherSuites: UnsafeMutableBufferPointer<Int32>
    private let cookieKey: UnsafeMutablePointer<mbedtls_ssl_cookie_ctx>?
    /// A server's session ticket key (RFC 5077): a resumed session's state travels in the ticket
    /// the client keeps, so the server keeps no session cache.
    private let ticketKey: UnsafeMutablePointer<mbedtls_ssl_ticket_context>?
    let serverKeys: DTLSServerKeys?

    /// A server's config; throws when mbedTLS would refuse the parameters.
    convenience init(server keys: DTLSServerKeys, parameters: DTLSParameters, seed: UInt64) throws(DTLSConfigurationError) {
        if let problem = parameters.problem { throw DTLSConfigurationError(problem) }
        self.init(checked: .server(keys), parameters: parameters, random: SeededRandom(seed: seed))
    }

    /// A client's config, from a key and parameters whose `problem` is nil (`DTLSClientSession`
    /// checks them), its generator starting at `random`: for a new session, and again for each
    /// load of a parked one, going on from where its generator stood.
    convenience init(client key: PreSharedKey, parameters: DTLSParameters, random: SeededRandom) {
        self.init(checked: .client(key), parameters: parameters, random: random)
    }

    /// Where the generator stands, for a config built again to go on from there.
    var random: SeededRandom { generator.pointee }

    private init(checked role: Role, parameters: DTLSParameters, random: SeededRandom) {
        config = .allocate(capacity: 1)
        generator = .allocate(capacity: 1)
        generator.initialize(to: random)
        cipherSuites = .allocate(capacity: parameters.cipherSuites.count + 1)
        _ = cipherSuites.initialize(from: parameters.cipherSuites.map(\.rawValue) + [0])
        switch role {
        case .client:
            cookieKey = nil
            ticketKey = nil
            serverKeys = nil
        case .server(let keys):
            cookieKey = .allocate(capacity: 1)
            ticketKey = .allocate(capacity: 1)
            serverKeys = keys
        }

        mbedtls_ssl_config_init(config)
        let endpoint = if case .client = role { MBEDTLS_SSL_IS_CLIENT } else { MBEDTLS_SSL_IS_SERVER }
        // Fails only when mbedTLS cannot allocate, which Swift would trap on anyway.
        let defaults = mbedtls_ssl_config_defaults(config, endpoint, MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT)
        precondition(defaults == 0, "mbedtls_ssl_config_defaults failed: \(defaults)")
        // LwM2M over DTLS is DTLS 1.2 (RFC 7925 4); mbedTLS would otherwise accept DTLS 1.0.
        mbedtls_ssl_conf_min_version(config, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
        mbedtls_ssl_conf_rng(config, fillWithSeededRandom, generator)
        mbedtls_ssl_conf_ciphersuites(config, cipherSuites.baseAddress)
        mbedtls_ssl_conf_handshake_timeout(
            config, parameters.handshakeTimeoutMinimumMilliseconds, parameters.handshakeTimeoutMaximumMilliseconds)

        switch role {
        case .client(let key):
            // A ticket is heap per device, so only a client that will resume asks for one.
            mbedtls_ssl_conf_session_tickets(
                config, parameters.requestsSessionTicket ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED : MBEDTLS_SSL_SESSION_TICKETS_DISABLED)
            let stored = key.key.withUnsafeBufferPointer { keyBytes in
                key.identity.withUnsafeBufferPointer { identity in
                    mbedtls_ssl_conf_psk(config, keyBytes.baseAddress, keyBytes.count, identity.baseAddress, identity.count)
                }
            }
            // The key passed `problem`, which rules out what mbedTLS refuses; what is left is an allocation failure.
            precondition(stored == 0, "mbedtls_ssl_conf_psk failed: \(stored)")
        case .server:
            guard let cookieKey else { preconditionFailure("a server configuration has a cookie key") }
            mbedtls_ssl_cookie_init(cookieKey)
            let setup = mbedtls_ssl_cookie_setup(cookieKey, fillWithSeededRandom, generator)
            precondition(setup == 0, "mbedtls_ssl_cookie_setup failed: \(setup)")
            mbedtls_ssl_conf_dtls_cookies(config, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check, cookieKey)
            guard let ticketKey else { preconditionFailure("a server configuration has a ticket key") }
            mbedtls_ssl_ticket_init(ticketKey)
            // The key comes from the seeded generator: a server configuration with another seed
            // cannot read this one's tickets, and falls back to a full handshake.
            let ticketSetup = mbedtls_ssl_ticket_setup(
                ticketKey, fillWithSeededRandom, generator, MBEDTLS_CIPHER_AES_256_GCM, Self.ticketLifetimeSeconds)
            precondition(ticketSetup == 0, "mbedtls_ssl_ticket_setup failed: \(ticketSetup)")
            mbedtls_ssl_conf_session_tickets_cb(config, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse, ticketKey)
            mbedtls_ssl_conf_psk_cb(config, lookUpPreSharedKey, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    /// How long a ticket resumes its session, by mbedTLS's wall clock (its recommended day).
    static let ticketLifetimeSeconds: UInt32 = 86_400

    deinit {
        mbedtls_ssl_config_free(config)
        config.deallocate()
        if let cookieKey {
            mbedtls_ssl_cookie_free(cookieKey)
            cookieKey.deallocate()
        }
        if let ticketKey {
            mbedtls_ssl_ticket_free(ticketKey)
            ticketKey.deallocate()
        }
        cipherSuites.deallocate()
        generator.deinitialize(count: 1)
        generator.deallocate()
    }
}

/// mbedTLS's f_rng: fills `output` from the `SeededRandom` at `context`.
///
/// Deterministic under the run's seed, so a run replays byte for byte where mbedTLS lets it.
/// This is a load tester, not a security product: keys and cookies drawn from a seeded
/// SplitMix64 are predictable to anyone who knows the seed.
private func fillWithSeededRandom(
    _ context: UnsafeMutableRawPointer?, _ output: UnsafeMutablePointer<UInt8>?, _ length: Int
) -> Int32 {
    guard let random = context?.assumingMemoryBound(to: SeededRandom.self), let output else { return -1 }
    var offset = 0
    while offset < length {
        let word = random.pointee.next()
        let count = min(8, length - offset)
        withUnsafeBytes(of: word) { bytes in
            (output + offset).update(from: bytes.bindMemory(to: UInt8.self).baseAddress!, count: count)
        }
        offset += count
    }
    return 0
}

/// mbedTLS's PSK callback on a server: finds the key of the identity the client presented,
/// hands it to the handshake and tells the session whose it is. Nonzero refuses the identity,
/// and mbedTLS answers with the alert unknown_psk_identity.
private func lookUpPreSharedKey(
    _ context: UnsafeMutableRawPointer?,
    _ ssl: UnsafeMutablePointer<mbedtls_ssl_context>?,
    _ identityBytes: UnsafePointer<UInt8>?,
    _ identityLength: Int
) -> Int32 {
    guard let context, let ssl else { return -1 }
    let configuration = Unmanaged<MbedTLSConfiguration>.fromOpaque(context).takeUnretainedValue()
    let identity = Array(UnsafeBufferPointer(start: identityBytes, count: identityBytes == nil ? 0 : identityLength))
    guard let key = configuration.serverKeys?.key(for: identity), !key.isEmpty, key.count <= PreSharedKey.maximumKeyLength else {
        return -1
    }
    let set = key.withUnsafeBufferPointer { mbedtls_ssl_set_hs_psk(ssl, $0.baseAddress, $0.count) }
    if set == 0 { DTLSSession.owning(ssl)?.peerIdentity = identity }
    return set
}
