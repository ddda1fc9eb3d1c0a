/// What the end of a run did: the De-registers it sent at its pace, how long that took, and the
/// devices it could not reach before the grace ran out. Reported apart from the De-registers of
/// sessions and churn, so a flood at the end cannot hide in, or be blamed on, the run itself.
public struct EndOfRunReport: Sendable, Codable, Equatable {
    /// The pace asked for, De-registers per second (the whole fleet's, after a merge).
    public var deregistersPerSecond: Double
    /// Devices told to De-register at the pace.
    public var deregistersSent: Int
    /// From the start of the end to the last De-register sent, in seconds.
    public var sendingSeconds: Double
    /// Registered devices the end never told to De-register: the grace ran out, or a second interrupt.
    public var unreached: Int

    public init(deregistersPerSecond: Double, deregistersSent: Int, sendingSeconds: Double, unreached: Int) {
        self.deregistersPerSecond = deregistersPerSecond
        self.deregistersSent = deregistersSent
        self.sendingSeconds = sendingSeconds
        self.unreached = unreached
    }

    /// The ends of two stripes of one fleet, which ran side by side.
    func merged(with other: EndOfRunReport) -> EndOfRunReport {
        EndOfRunReport(
            deregistersPerSecond: deregistersPerSecond + other.deregistersPerSecond, deregistersSent: deregistersSent + other.deregistersSent,
            sendingSeconds: max(sendingSeconds, other.sendingSeconds), unreached: unreached + other.unreached)
    }
}
