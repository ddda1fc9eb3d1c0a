/// Names one UDP socket of an `EventLoop`, and goes stale when the socket is closed.
///
/// The generation makes an ID kept after `close` harmless, even once its slot holds a new socket.
public struct UDPSocketID: Hashable, Sendable {
    let slot: UInt32
    let generation: UInt32
}
