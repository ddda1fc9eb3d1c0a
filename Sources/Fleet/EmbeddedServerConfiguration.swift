import LwM2MServer

/// Everything `lwm2m-fleet serve` needs to run the embedded Bootstrap-Server and LwM2M Server:
/// `run` builds it from the fleet file (`FleetSpec.embeddedServerConfiguration(for:)`) and hands
/// it to its `serve` child as JSON on the child's standard input (`EmbeddedServerProcess`).
public struct EmbeddedServerConfiguration: Hashable, Sendable, Codable {
    /// The address both servers bind.
    public var host: String
    /// UDP port of the LwM2M Server; 0 lets the system pick a free one.
    public var serverPort: UInt16
    /// UDP port of the Bootstrap-Server; 0 lets the system pick a free one.
    public var bootstrapPort: UInt16
    /// The LwM2M Server's requests after registration, misbehaving mode and lifetime grace
    /// (`expiryGraceSeconds`).
    public var registration: RegistrationServerConfiguration
    /// What the Bootstrap-Server writes to each device. Where it keeps the built-in Server URI,
    /// the devices are sent to this process's own Server (`ServerDriver`).
    public var bootstrap: BootstrapServerConfiguration
    /// What the network does to both servers' datagrams, both ways.
    public var faults: LinkImpairment = .none
    /// A restart of the LwM2M Server mid-run, its registrations lost.
    public var restart: ServerRestart?
    /// The `coaps://` side of both servers, with the keys they accept; nil: plain CoAP only.
    public var dtls: EmbeddedDTLSConfiguration?
    /// The run's seed: the servers' fault injection derives from it.
    public var seed: UInt64 = 0
    /// The run's start in seconds since 1970, which `restart` counts from (`ServerRestart`); nil:
    /// from when the server starts.
    public var runStartedAt: Double?

    public init(
        host: String = "127.0.0.1", serverPort: UInt16 = 0, bootstrapPort: UInt16 = 0,
        registration: RegistrationServerConfiguration = RegistrationServerConfiguration(),
        bootstrap: BootstrapServerConfiguration = BootstrapServerConfiguration()
    ) {
        self.host = host
        self.serverPort = serverPort
        self.bootstrapPort = bootstrapPort
        self.registration = registration
        self.bootstrap = bootstrap
    }
}
