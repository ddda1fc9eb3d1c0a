import CoAP
import LwM2MClient

/// What a fleet measured for one operation: outcomes, response codes, and, for operations the
/// devices started, latency and service time.
///
/// Latency runs from when the operation was due to start (the arrival schedule), so a slow
/// generator cannot hide server slowness (no coordinated omission); service time runs from when
/// it really started. Every outcome is recorded, timeouts included: they are the tail.
public struct OperationMetrics: Sendable, Codable, Equatable {
    /// Operations that ended (started by a device) or requests answered (started by a server).
    public private(set) var count: UInt64 = 0
    public private(set) var succeeded: UInt64 = 0
    /// Rejected (an error code), failed (a Reset or a broken transfer) or timed out; for a
    /// request a server sent, answered with an error code.
    public private(set) var failed: UInt64 = 0
    /// Of `failed`, those that got no response.
    public private(set) var timeouts: UInt64 = 0
    /// Devices that ended the run still needing this operation, with no failure of it counted
    /// (waiting to retry, never started, not reached by the end): `failed.rate` counts them as failures.
    public private(set) var unfinished: UInt64 = 0
    /// CON messages of this operation sent again.
    public private(set) var retransmissions: UInt64 = 0
    /// Responses by code as written in logs ("2.01").
    public private(set) var responseCodes: [String: UInt64] = [:]
    /// Bytes of the operation's datagrams both ways, counted where the driver sees them apart:
    /// DTLS handshakes (their flights and retransmissions); nil for the other operations.
    public private(set) var bytesSent: UInt64?
    public private(set) var bytesReceived: UInt64?
    /// From the intended start to the end, in nanoseconds.
    public private(set) var latency = LatencyHistogram()
    /// From the real start to the end, in nanoseconds.
    public private(set) var service = LatencyHistogram()

    public init() {}

    /// Counts an operation a device started and records its durations.
    public mutating func record(outcome: OperationOutcome, code: CoAPCode?, latencyNanoseconds: UInt64, serviceNanoseconds: UInt64) {
        count += 1
        switch outcome {
        case .succeeded: succeeded += 1
        case .timedOut: failed += 1; timeouts += 1
        case .rejected, .failed: failed += 1
        }
        if let code { responseCodes[code.description, default: 0] += 1 }
        latency.record(latencyNanoseconds)
        service.record(serviceNanoseconds)
    }

    /// Counts a request a server sent that the device answered with `code`.
    public mutating func recordAnswer(code: CoAPCode) {
        count += 1
        if code.isSuccess { succeeded += 1 } else { failed += 1 }
        responseCodes[code.description, default: 0] += 1
    }

    /// Counts a device that ended the run still needing this operation.
    public mutating func recordUnfinished() {
        unfinished += 1
    }

    public mutating func recordRetransmissions(_ count: Int) {
        retransmissions += UInt64(count)
    }

    /// Adds bytes the operation's datagrams carried, sent and received.
    public mutating func recordBytes(sent: UInt64, received: UInt64) {
        bytesSent = (bytesSent ?? 0) + sent
        bytesReceived = (bytesReceived ?? 0) + received
    }

    /// Bytes both ways per operation that ended; nil when bytes are not counted or none ended.
    public var meanBytes: Double? {
        guard let bytesSent, let bytesReceived, count > 0 else { return nil }
        return Double(bytesSent + bytesReceived) / Double(count)
    }

    /// Failed and unfinished over all attempts and unfinished devices; nil with neither.
    public var failedRate: Double? {
        let attempts = count + unfinished
        return attempts == 0 ? nil : Double(failed + unfinished) / Double(attempts)
    }

    /// Adds `other`'s counts and samples (histograms bucket by bucket).
    public mutating func merge(_ other: OperationMetrics) {
        count += other.count
        succeeded += other.succeeded
        failed += other.failed
        timeouts += other.timeouts
        unfinished += other.unfinished
        retransmissions += other.retransmissions
        if let sent = other.bytesSent, let received = other.bytesReceived { recordBytes(sent: sent, received: received) }
        responseCodes.merge(other.responseCodes, uniquingKeysWith: +)
        latency.merge(other.latency)
        service.merge(other.service)
    }

    /// The value of one of `MetricCatalog.operationFields`; nil for another name, and for a rate
    /// or a duration with no samples: a percentile of nothing is not 0.
    public func value(for field: String) -> Double? {
        switch field {
        case "count": Double(count)
        case "succeeded": Double(succeeded)
        case "failed": Double(failed)
        case "timeouts": Double(timeouts)
        case "unfinished": Double(unfinished)
        case "retransmissions": Double(retransmissions)
        case "failed.rate": failedRate
        case "bytes.sent": bytesSent.map { Double($0) }
        case "bytes.received": bytesReceived.map { Double($0) }
        case "bytes.mean": meanBytes
        default: Self.durationValue(for: field, latency: latency, service: service)
        }
    }

    /// `latency.p99`, `service.max` and the like, in nanoseconds.
    private static func durationValue(for field: String, latency: LatencyHistogram, service: LatencyHistogram) -> Double? {
        guard let dot = field.firstIndex(of: ".") else { return nil }
        let histogram: LatencyHistogram
        switch field[..<dot] {
        case "latency": histogram = latency
        case "service": histogram = service
        default: return nil
        }
        return histogram.value(forStatistic: field[field.index(after: dot)...])
    }
}
