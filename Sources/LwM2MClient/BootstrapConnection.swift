import CoAP

/// A device's connection to its Bootstrap-Server: the CoAP endpoint and, once a bootstrap ended
/// with Bootstrap-Finish, when the socket closes.
///
/// The socket outlives the Finish by EXCHANGE_LIFETIME: when the ACK of the device's 2.04 is lost,
/// the Bootstrap-Server sends Finish again, and the endpoint answers that duplicate from its cache
/// (RFC 7252 4.5) where a closed socket would meet it with ICMP port unreachable, failing a
/// bootstrap that succeeded.
struct BootstrapConnection: Sendable {
    var endpoint: CoAPEndpoint
    /// Set at Bootstrap-Finish; nil while the connection serves a bootstrap or a device holding off.
    var closesAt: Timestamp?
}
