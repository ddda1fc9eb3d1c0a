import CoAP
import EventLoop
import Foundation
import LwM2M

/// What a run tells the embedded server it started: one JSON object per UDP datagram, sent to the
/// server's control socket on loopback (`EmbeddedServerReport.ready`'s `controlAddress`).
///
/// A datagram, because every process of a run sends them, `--workers` children too, and their
/// event loops have UDP sockets only. On loopback one is lost only to a full receive buffer, and a
/// device whose message was lost still bootstraps: its ClientHoldOffTime runs out and it asks
/// itself, measured as `bootstrap-fallback`.
public enum EmbeddedServerControlMessage: Hashable, Sendable, Codable {
    /// A device waits ClientHoldOffTime for a server-initiated bootstrap (TS Core 6.1.4) on its
    /// bootstrap socket, bound at `address` (`HOST:PORT`, `[HOST]:PORT` for IPv6): the
    /// Bootstrap-Server writes to it there, in the formats of `lwm2mVersion`.
    case deviceWaiting(endpoint: String, address: String, lwm2mVersion: LwM2MVersion)

    /// The message as one datagram.
    public var datagram: [UInt8] {
        // Encoding strings, a version and an integer cannot fail.
        Array(try! JSONEncoder().encode(self))
    }

    /// Reads a datagram written by `datagram`.
    public init(datagram: some Collection<UInt8>) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(datagram))
    }
}

extension SocketAddress {
    /// Reads `HOST:PORT` (`[HOST]:PORT` for IPv6) as `description` writes it and the embedded
    /// server's reports and control messages carry it; the host must be numeric.
    public init(hostAndPort text: String) throws {
        let uri = try CoAPURI("coap://" + text)
        try self.init(ipAddress: uri.host, port: uri.port)
    }
}
