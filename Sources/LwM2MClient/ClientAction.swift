import CoAP
import LwM2M

/// Which of its servers a device talks to; the driver gives each role a socket of its own.
public enum ServerRole: Hashable, Sendable, CustomStringConvertible {
    case bootstrapServer
    case server

    public var description: String { self == .bootstrapServer ? "bootstrap-server" : "server" }
}

/// How an operation the device started ended.
public enum OperationOutcome: Hashable, Sendable {
    /// A success response (2.xx).
    case succeeded
    /// An error response (4.xx, 5.xx).
    case rejected
    /// No response: CON retries exhausted, or the response timeout passed.
    case timedOut
    /// The server answered with a Reset, or the transfer broke off.
    case failed
}

/// A request from an LwM2M Server that the device ignored under the rule this project exists
/// for (neither applied nor answered: it came during a bootstrap or before the Registration
/// acknowledgement), and whether the device can prove the server sent it against the rule.
public struct ServerViolation: Hashable, Sendable, CustomStringConvertible {
    public var operation: LwM2MOperation?
    /// The request's Uri-Path as sent.
    public var path: String
    /// The device's state when the request arrived.
    public var state: DeviceState
    /// Whether the server provably broke the rule. Otherwise a conformant server may have sent the
    /// request: its 2.01 to our Register may have been lost on the way, it still held an earlier
    /// registration of ours, or it could not know the device had started to bootstrap.
    public var isProven: Bool

    public var description: String {
        "\(operation?.rawValue ?? "request") \(path) while \(state)" + (isProven ? "" : " (not proven against the rule)")
    }
}

/// What a device asks its driver to do, and what it reports for the metrics.
public enum ClientAction: Hashable, Sendable {
    /// Open (or reuse) the socket for `role`, connected to `uri` (`coap://host:port`).
    case connect(ServerRole, uri: String)
    /// Close the socket for `role` (the bootstrap socket once bootstrap ended).
    case disconnect(ServerRole)
    case send(ServerRole, [UInt8])
    /// An operation the device started (bootstrap, register, update, deregister, notify) ended.
    case operationFinished(LwM2MOperation, OperationOutcome, code: CoAPCode?, startedAt: Timestamp)
    /// A request from a server was answered.
    case requestHandled(LwM2MOperation?, ServerRole, code: CoAPCode)
    case violation(ServerViolation)
    /// A notification for an observation went out.
    case notificationSent(LwM2MPath)
    /// CON messages the device had to send again, and the operation they belong to.
    case retransmissions(Int, of: LwM2MOperation)
    /// The device entered a new state (for "devices by state" counts).
    case stateChanged(from: DeviceState, to: DeviceState)
}
