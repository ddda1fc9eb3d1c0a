/// What every server session of one endpoint shares: one mbedTLS config with the suites, the
/// handshake timer, the HelloVerifyRequest cookie key and the way to find a client's key.
///
/// One for all peers, so a server session costs its context and no more. Its random generator
/// (cookie key, Hello randoms) is seeded, so a run replays; not for production security.
public final class DTLSServerConfiguration {
    let mbedTLS: MbedTLSConfiguration

    /// Throws when mbedTLS could not take the parameters.
    public init(keys: DTLSServerKeys, parameters: DTLSParameters = DTLSParameters(), seed: UInt64) throws(DTLSConfigurationError) {
        mbedTLS = try MbedTLSConfiguration(role: .server(keys), parameters: parameters, seed: seed)
    }
}
