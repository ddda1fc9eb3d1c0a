/// Which way a datagram goes between a device and a server: fault injection can treat each way
/// apart (`LinkImpairment.lossUp`, `lossDown`).
public enum LinkDirection: UInt8, Hashable, Sendable, Codable, CaseIterable {
    /// From a device to a server: what devices send, what the servers receive.
    case up
    /// From a server to a device: what the servers send, what devices receive.
    case down
}
