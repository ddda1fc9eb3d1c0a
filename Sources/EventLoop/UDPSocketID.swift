/// Names one UDP socket of an `EventLoop`, and goes stale when the socket is closed.
///
/// The generation makes an ID kept after `close` harmless, even once its slot holds a new socket.
public struct UDPSocketID: Hashable, Sendable {
    let slot: UInt32
    let generation: UInt32

    /// An ID no socket ever has (its slot is past any table), and whose socket is never open:
    /// for a table that keeps a place per device, where an optional ID would cost 4 bytes more.
    public static let notOpen = UDPSocketID(slot: .max, generation: 0)
}
