/// What every server session of one endpoint shares: one mbedTLS config with the suites, the
/// handshake timer, the HelloVerifyRequest cookie key and the way to find a client's key.
///
/// One for all peers, so a server session costs its context and no more. Its random generator
/// (cookie key, Hello randoms) is seeded, so a run replays; not for production security.
///
/// The only wall clock in DTLS is mbedTLS's own, and no timer runs on it: Debian's build
/// (MBEDTLS_HAVE_TIME) writes the time of day into the first 4 bytes of each Hello random, and
/// mbedtls_ssl_cookie into each cookie, which it refuses after 60 s of wall-clock time.
public final class DTLSServerConfiguration {
    let mbedTLS: MbedTLSConfiguration

    /// Throws when mbedTLS could not take the parameters.
    public init(keys: DTLSServerKeys, parameters: DTLSParameters = DTLSParameters(), seed: UInt64) throws(DTLSConfigurationError) {
        mbedTLS = try MbedTLSConfiguration(server: keys, parameters: parameters, seed: seed)
    }
}
