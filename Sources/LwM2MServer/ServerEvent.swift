import CoAP

/// Something the embedded servers report, for their status line, counters and tests.
public enum ServerEvent: Hashable, Sendable {
    case registered(endpoint: String, location: String)
    case updated(endpoint: String)
    case deregistered(endpoint: String)
    case expired(endpoint: String)
    /// A request refused (4.xx) with the reason: a Register, Update or Bootstrap-Request (the
    /// reason went back to the device), or a control message of the run.
    case refused(operation: String, code: CoAPCode, reason: String)
    case bootstrapStarted(endpoint: String)
    case bootstrapFinished(endpoint: String, succeeded: Bool)
    /// A request the server sent to a device (after-registration action, bootstrap step) ended.
    case operationCompleted(operation: String, endpoint: String, code: CoAPCode?, latencyNanoseconds: UInt64)
    /// An after-registration request (a configured action, or the Bootstrap-Request Trigger) that
    /// got no answer in all its attempts while the device's registration lived.
    case requestUnanswered(operation: String, endpoint: String)
    /// A request sent on purpose against the rules, in misbehaving mode.
    case violationSent(operation: String, endpoint: String)
}
