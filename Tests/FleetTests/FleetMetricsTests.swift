import CoAP
// Sparse.packedByteCount is internal: how buckets are packed is not API.
@testable import Fleet
import Foundation
// ServerViolation has no public initializer: only devices report violations.
@testable import LwM2MClient
import XCTest

/// The numbers users trust: recording, exact merges, lossless result files, the summary table.
final class FleetMetricsTests: XCTestCase {
    /// A fixed pseudo-random sequence (SplitMix64), so failures replay.
    private struct Values {
        var state: UInt64

        mutating func next(below bound: UInt64) -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (z ^ (z >> 31)) % bound
        }

        /// Latency-like: mostly milliseconds, some microseconds, some seconds.
        mutating func duration() -> UInt64 {
            switch next(below: 10) {
            case 0: next(below: 100_000)
            case 9: next(below: 30_000_000_000)
            default: 1_000_000 + next(below: 50_000_000)
            }
        }
    }

    private let percentiles = [0.0, 1, 10, 50, 90, 99, 99.9, 99.99, 100]

    private func assertSameStatistics(_ lhs: LatencyHistogram, _ rhs: LatencyHistogram, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(lhs.count, rhs.count, file: file, line: line)
        XCTAssertEqual(lhs.min, rhs.min, file: file, line: line)
        XCTAssertEqual(lhs.max, rhs.max, file: file, line: line)
        XCTAssertEqual(lhs.mean, rhs.mean, file: file, line: line)
        XCTAssertEqual(percentiles.map(lhs.value(atPercentile:)), percentiles.map(rhs.value(atPercentile:)), file: file, line: line)
        XCTAssertEqual(lhs.buckets, rhs.buckets, file: file, line: line)
        XCTAssertEqual(lhs, rhs, file: file, line: line)
    }

    private func roundTrip<T: Codable>(_ value: T) throws -> T {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try JSONDecoder().decode(T.self, from: encoder.encode(value))
    }

    // MARK: LatencyHistogram

    func testHistogramDecodesToTheSamePercentilesCountMinAndMax() throws {
        var values = Values(state: 1)
        var histogram = LatencyHistogram()
        for _ in 0..<20_000 { histogram.record(values.duration()) }
        assertSameStatistics(try roundTrip(histogram), histogram)

        // The exact extremes sit inside buckets, where replaying bucket values alone would move them.
        var extremes = LatencyHistogram()
        for value: UInt64 in [1_234_567, 1_234_999, 5_000_123_456, 5_000_000_001] { extremes.record(value) }
        let decoded = try roundTrip(extremes)
        assertSameStatistics(decoded, extremes)
        XCTAssertEqual([decoded.min, decoded.max], [1_234_567, 5_000_123_456])
        XCTAssertEqual(decoded.value(atPercentile: 100), 5_000_123_456)
    }

    func testHistogramKeepsZerosSubMicrosecondValuesAndClampsAboveOneHour() throws {
        var histogram = LatencyHistogram()
        for value: UInt64 in [0, 0, 300, 2_000_003, 7_200_000_000_000] { histogram.record(value) }
        XCTAssertEqual(histogram.count, 5)
        XCTAssertEqual(histogram.min, 0)
        XCTAssertEqual(histogram.max, LatencyHistogram.highestTrackableNanoseconds)
        assertSameStatistics(try roundTrip(histogram), histogram)
        assertSameStatistics(try roundTrip(LatencyHistogram()), LatencyHistogram())
    }

    func testMergingHistogramsEqualsRecordingAllValuesIntoOne() throws {
        var values = Values(state: 2)
        var first = LatencyHistogram(), second = LatencyHistogram(), all = LatencyHistogram()
        for index in 0..<30_000 {
            let value = values.duration()
            if index % 3 == 0 { first.record(value) } else { second.record(value) }
            all.record(value)
        }
        var merged = first
        merged.merge(second)
        assertSameStatistics(merged, all)
        // Merging what was decoded is just as exact.
        var mergedDecoded = try roundTrip(first)
        mergedDecoded.merge(try roundTrip(second))
        assertSameStatistics(mergedDecoded, all)
    }

    func testDamagedHistogramFailsToDecode() throws {
        var histogram = LatencyHistogram()
        histogram.record(5_000_000)
        let json = try XCTUnwrap(String(data: JSONEncoder().encode(histogram), encoding: .utf8))
        let damaged = json.replacingOccurrences(of: "\"count\":1", with: "\"count\":2")
        XCTAssertNotEqual(json, damaged)
        XCTAssertThrowsError(try JSONDecoder().decode(LatencyHistogram.self, from: Data(damaged.utf8)))
    }

    func testSparseFormKeepsEveryStatisticFromZeroToTheClampedHour() {
        var values = Values(state: 7)
        for digits in 1...4 {
            var histogram = LatencyHistogram(significantDigits: digits)
            // Both ends of the layout: zero and values under 512 ns share the first bucket, the hour
            // (and what is clamped to it) has the last.
            for value: UInt64 in [0, 0, 1, 300, 511, 512, 999, 1_000, 7_200_000_000_000, LatencyHistogram.highestTrackableNanoseconds - 1] {
                histogram.record(value)
            }
            // A value every 30 % from 1 µs to the hour: gaps of every size between buckets.
            var magnitude: UInt64 = 1_000
            while magnitude < LatencyHistogram.highestTrackableNanoseconds {
                histogram.record(magnitude + values.next(below: magnitude / 3 + 1))
                magnitude = magnitude * 13 / 10
            }
            // Counts that need more than one varint byte.
            for _ in 0..<300 { histogram.record(5_000_000) }
            for _ in 0..<20_000 { histogram.record(5_000_001 + values.next(below: 100_000)) }

            let sparse = histogram.sparse
            XCTAssertEqual(sparse.buckets, histogram.buckets, "\(digits) digits")
            XCTAssertEqual(sparse.count, histogram.count, "\(digits) digits")
            XCTAssertEqual(sparse.maxNanoseconds, LatencyHistogram.highestTrackableNanoseconds)
            XCTAssertEqual(sparse.minNonZeroNanoseconds, 1)
            assertSameStatistics(LatencyHistogram(sparse), histogram)
        }
    }

    func testSparseBucketsTakeAtMostFourBytesEach() {
        var values = Values(state: 8)
        for digits in [FleetMetrics.intervalSignificantDigits, 3] {
            var histogram = LatencyHistogram(significantDigits: digits)
            for _ in 0..<20_000 { histogram.record(values.duration()) }
            let sparse = histogram.sparse
            XCTAssertGreaterThan(sparse.buckets.count, 1_000, "\(digits) digits")
            XCTAssertLessThanOrEqual(sparse.packedByteCount, 4 * sparse.buckets.count + 8, "\(digits) digits")
        }
        XCTAssertEqual(LatencyHistogram().sparse.packedByteCount, 0)
    }

    // MARK: Recording

    private func violation(_ operation: LwM2MOperation, _ state: DeviceState, isProven: Bool = true) -> ServerViolation {
        ServerViolation(operation: operation, path: "/3/0", state: state, isProven: isProven)
    }

    func testRecordingCountsOutcomesCodesTimeoutsAndDurations() throws {
        var metrics = FleetMetrics()
        metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: 3_000_000, serviceNanoseconds: 2_000_000)
        metrics.recordOperation("register", outcome: .rejected, code: .forbidden, latencyNanoseconds: 4_000_000, serviceNanoseconds: 1_000_000)
        metrics.recordOperation("register", outcome: .timedOut, code: nil, latencyNanoseconds: 93_000_000_000, serviceNanoseconds: 93_000_000_000)
        metrics.recordOperation("register", outcome: .failed, code: nil, latencyNanoseconds: 5_000_000, serviceNanoseconds: 5_000_000)
        metrics.recordRequestHandled("read", code: .content)
        metrics.recordRequestHandled("read", code: .notFound)
        metrics.recordViolation(violation(.read, .registering))
        metrics.recordViolation(violation(.read, .registering))
        metrics.recordViolation(violation(.write, .bootstrapping))
        metrics.recordRetransmissions(3, of: "register")
        metrics.recordBytes(sent: 100, received: 40)
        metrics.recordBytes(sent: 1, received: 2)
        metrics.recordArrival()
        metrics.recordDroppedArrival()
        metrics.recordLoopLag(nanoseconds: 250_000)

        let register = try XCTUnwrap(metrics.operations["register"])
        XCTAssertEqual([register.count, register.succeeded, register.failed, register.timeouts], [4, 1, 3, 1])
        XCTAssertEqual(register.responseCodes, ["2.01": 1, "4.03": 1])
        XCTAssertEqual(register.latency.count, 4)
        XCTAssertEqual(register.latency.max, 93_000_000_000)
        XCTAssertEqual(register.service.min, 1_000_000)
        let read = try XCTUnwrap(metrics.operations["read"])
        XCTAssertEqual([read.count, read.succeeded, read.failed, read.timeouts], [2, 1, 1, 0])
        XCTAssertEqual(read.responseCodes, ["2.05": 1, "4.04": 1])
        XCTAssertTrue(read.latency.isEmpty)
        XCTAssertEqual(metrics.violations, 3)
        XCTAssertEqual(metrics.violationsByKind, ["read while registering": 2, "write while bootstrapping": 1])
        XCTAssertEqual([metrics.retransmissions, metrics.bytesSent, metrics.bytesReceived, metrics.arrivals, metrics.droppedArrivals], [3, 101, 42, 1, 1])
        XCTAssertEqual(metrics.value(for: "loop_lag.max"), 250_000)
        XCTAssertEqual(metrics.value(for: "register.latency.max"), 93_000_000_000)
        XCTAssertEqual(metrics.value(for: "read.count"), 2)
    }

    /// What a device ignored but cannot prove was sent against the rule is counted apart, so that
    /// `violations == 0` holds against a conformant server on a lossy network.
    func testIgnoredRequestsNotProvenAreCountedApartFromViolations() {
        var metrics = FleetMetrics()
        metrics.recordViolation(violation(.read, .registering))
        metrics.recordViolation(violation(.read, .registering, isProven: false))
        metrics.recordViolation(violation(.observe, .deregistering, isProven: false))
        XCTAssertEqual(metrics.violations, 1)
        XCTAssertEqual(metrics.value(for: "violations"), 1)
        XCTAssertEqual(metrics.openInterval.violations, 1)
        XCTAssertEqual(metrics.ignoredUnproven, 2)
        XCTAssertEqual(metrics.value(for: "ignored_unproven"), 2)
        XCTAssertEqual(metrics.ignoredUnprovenByKind, ["read while registering": 1, "observe while deregistering": 1])
        XCTAssertEqual(try Threshold("ignored_unproven < 10").evaluate(using: metrics.value(for:)).passed, true)
        let table = SummaryTable.render(metrics, thresholds: [], elapsedSeconds: 1).split(separator: "\n")
        XCTAssertEqual(table.first { $0.hasPrefix("ignored, not proven") }?.split(separator: " ").last, "2")
    }

    func testStateChangesCountDevicesFromTheirFirstChange() {
        var metrics = FleetMetrics()
        for _ in 0..<3 { metrics.recordStateChange(from: .idle, to: .registering) }
        metrics.recordStateChange(from: .registering, to: .registered)
        metrics.recordStateChange(from: .registering, to: .registered)
        metrics.recordStateChange(from: .registered, to: .updating)
        metrics.recordStateChange(from: .registering, to: .waitingToRegister)
        XCTAssertEqual(metrics.devicesByState, ["registered": 1, "updating": 1, "waiting-to-register": 1])
        XCTAssertEqual(metrics.value(for: "devices.registered"), 2)
        XCTAssertEqual(metrics.value(for: "devices.failed"), 1)
    }

    /// Every operation and every run-wide counter with something in it.
    private func populated(seed: UInt64, devices: Range<Int> = 0..<50, intervals: Int = 3) -> FleetMetrics {
        var values = Values(state: seed)
        var metrics = FleetMetrics()
        let outcomes: [OperationOutcome] = [.succeeded, .succeeded, .succeeded, .rejected, .timedOut, .failed]
        for interval in 0..<intervals {
            for device in devices {
                if interval == 0 {
                    metrics.recordArrival()
                    metrics.recordStateChange(from: .idle, to: .registering)
                }
                for operation in MetricCatalog.operations {
                    let outcome = outcomes[Int(values.next(below: UInt64(outcomes.count)))]
                    let latency = values.duration()
                    metrics.recordOperation(
                        operation, outcome: outcome, code: outcome == .rejected ? .badRequest : outcome == .succeeded ? .changed : nil,
                        latencyNanoseconds: latency, serviceNanoseconds: latency / 2)
                }
                metrics.recordRequestHandled("read", code: device % 7 == 0 ? .notFound : .content)
                metrics.recordRequestHandled("bootstrap-write", code: .changed)
                if device % 5 == interval { metrics.recordViolation(violation(.observe, .registering)) }
                if device % 9 == 0 { metrics.recordDroppedArrival() }
                metrics.recordRetransmissions(device % 3, of: "register")
                metrics.recordBytes(sent: 120 + device, received: 80)
                metrics.recordLoopLag(nanoseconds: values.next(below: 2_000_000))
                if interval == 1, device % 4 != 0 { metrics.recordStateChange(from: .registering, to: .registered) }
                if interval == 2, device % 4 == 0 { metrics.recordStateChange(from: .registering, to: .waitingToRegister) }
            }
            metrics.closeInterval(elapsedNanoseconds: UInt64(interval + 1) * 1_000_000_000)
        }
        return metrics
    }

    func testEveryCatalogMetricHasAValueAndOtherNamesHaveNone() {
        var metrics = populated(seed: 3)
        // A run against the embedded servers has their counts as well.
        metrics.embeddedServer = EmbeddedServerCounts()
        metrics.recordScheduledArrival(intendedStage: 0, startedStage: 0, latenessNanoseconds: 1_000)
        metrics.recordBytes(of: .handshake, sent: 400, received: 500)
        metrics.recordBytes(of: .handshakeResumed, sent: 300, received: 400)
        for name in MetricCatalog.allNames {
            XCTAssertNotNil(metrics.value(for: name), name)
        }
        XCTAssertEqual(metrics.value(for: "devices.registered"), 37)
        XCTAssertEqual(metrics.value(for: "devices.failed"), 13)
        XCTAssertEqual(metrics.value(for: "arrivals"), 51)
        XCTAssertEqual(metrics.value(for: "dropped"), 18)
        XCTAssertEqual(metrics.value(for: "register.latency.p50"), Double(metrics.operations["register"]!.latency.value(atPercentile: 50)))
        XCTAssertEqual(metrics.value(for: "notify.service.max"), Double(metrics.operations["notify"]!.service.max))
        XCTAssertEqual(metrics.value(for: "handshake.bytes.sent"), 400)
        XCTAssertNil(metrics.value(for: "register.bytes.sent"), "bytes are counted for handshakes only")
        for name in ["register.latency.p75", "loop_lag.mean", "loop_lag.p90", "bootstrap-write.count", "register", "registered.count", "", "violations.rate"] {
            XCTAssertNil(metrics.value(for: name), name)
        }
        // An operation that never happened has counts of 0, but no percentile and no rate: a
        // threshold on those fails with "no samples" instead of passing on a 0 nobody measured.
        XCTAssertEqual(FleetMetrics().value(for: "update.count"), 0)
        XCTAssertNil(FleetMetrics().value(for: "update.latency.p99"))
        XCTAssertNil(FleetMetrics().value(for: "update.failed.rate"))
        XCTAssertNil(FleetMetrics().value(for: "loop_lag.p99"))
    }

    func testFailedRateIsFailuresOverCountAndNoneWithoutOperations() {
        var metrics = FleetMetrics()
        XCTAssertNil(metrics.value(for: "update.failed.rate"))
        metrics.recordOperation("update", outcome: .succeeded, code: .changed, latencyNanoseconds: 1, serviceNanoseconds: 1)
        metrics.recordOperation("update", outcome: .timedOut, code: nil, latencyNanoseconds: 1, serviceNanoseconds: 1)
        metrics.recordOperation("update", outcome: .rejected, code: .notFound, latencyNanoseconds: 1, serviceNanoseconds: 1)
        metrics.recordOperation("update", outcome: .succeeded, code: .changed, latencyNanoseconds: 1, serviceNanoseconds: 1)
        XCTAssertEqual(metrics.value(for: "update.failed.rate"), 0.5)
        XCTAssertEqual(metrics.value(for: "update.timeouts"), 1)
        // Devices that ended still needing an Update count as failures of it.
        metrics.recordUnfinishedDevice(state: "waiting-to-register", pendingOperation: "update")
        metrics.recordUnfinishedDevice(state: "waiting-to-register", pendingOperation: "update")
        XCTAssertEqual(metrics.value(for: "update.failed.rate"), 4.0 / 6.0)
        XCTAssertEqual(metrics.value(for: "update.unfinished"), 2)
        XCTAssertEqual(metrics.value(for: "devices.unfinished"), 2)
        XCTAssertEqual(metrics.unfinishedDevices, ["waiting-to-register": 2])
    }

    func testClosedIntervalsHoldDeltasStatesAndEveryOperationsWindow() throws {
        var metrics = FleetMetrics()
        metrics.recordArrival()
        metrics.recordStateChange(from: .idle, to: .registering)
        metrics.closeInterval(elapsedNanoseconds: 1_000_000_000)
        metrics.recordArrival()
        metrics.recordArrival()
        for latency: UInt64 in [10_000_000, 20_000_000, 30_000_000] {
            metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: latency, serviceNanoseconds: latency)
        }
        metrics.recordOperation("register", outcome: .timedOut, code: nil, latencyNanoseconds: 900_000_000, serviceNanoseconds: 1)
        metrics.recordOperation("update", outcome: .succeeded, code: .changed, latencyNanoseconds: 1_000, serviceNanoseconds: 1)
        metrics.recordRetransmissions(2, of: "update")
        metrics.recordRequestHandled("read", code: .notFound)
        metrics.recordViolation(violation(.read, .registering))
        metrics.recordLoopLag(nanoseconds: 3_000_000)
        metrics.recordStateChange(from: .registering, to: .registered)
        metrics.closeInterval(elapsedNanoseconds: 2_000_000_000)

        XCTAssertEqual(metrics.timeSeries.count, 2)
        let first = metrics.timeSeries[0], second = metrics.timeSeries[1]
        XCTAssertEqual(first.arrivals, 1)
        XCTAssertEqual(first.devicesByState, ["registering": 1])
        XCTAssertNil(first.window(of: "register"))
        XCTAssertEqual(first.loopLag.count, 0)
        XCTAssertEqual(second.elapsedNanoseconds, 2_000_000_000)
        XCTAssertEqual(second.arrivals, 2)
        XCTAssertEqual(second.operations.mapValues(\.count), ["register": 4, "update": 1, "read": 1])
        XCTAssertEqual(second.completed, 6)
        XCTAssertEqual(second.failures, 2, "the register timeout and the read answered 4.04")
        XCTAssertEqual(second.violations, 1)
        XCTAssertEqual(second.registeredDevices, 1)
        let register = try XCTUnwrap(second.window(of: "register"))
        XCTAssertEqual([register.failed, register.timeouts, register.retransmissions], [1, 1, 0])
        XCTAssertEqual(register.latency.count, 4)
        // Two significant digits: within 1 % of the true value.
        let percentiles = LatencyHistogram(register.latency).percentiles
        XCTAssertEqual(Double(try XCTUnwrap(percentiles.p50)), 20_000_000, accuracy: 200_000)
        XCTAssertEqual(percentiles.p99, 900_000_000)
        XCTAssertEqual(second.window(of: "update")?.retransmissions, 2)
        XCTAssertEqual(second.window(of: "read")?.latency.count, 0, "a request answered has no latency of the device's")
        XCTAssertEqual(second.loopLag.maxNanoseconds, 3_000_000)
        // The interval still open starts empty.
        metrics.closeInterval(elapsedNanoseconds: 3_000_000_000)
        XCTAssertEqual(metrics.timeSeries[2].completed, 0)
        XCTAssertEqual(metrics.timeSeries[2].devicesByState, ["registered": 1])
    }

    func testStagesCountTheOperationsThatEndedInThemAndTheirArrivals() throws {
        var metrics = FleetMetrics()
        metrics.beginStage(0)
        metrics.recordScheduledArrival(intendedStage: 0, startedStage: 0, latenessNanoseconds: 1_000)
        metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: 10_000_000, serviceNanoseconds: 1)
        metrics.recordOperation("register", outcome: .timedOut, code: nil, latencyNanoseconds: 90_000_000, serviceNanoseconds: 1, stage: 2)
        metrics.recordRetransmissions(4, of: "register", stage: 2)
        metrics.recordRequestHandled("read", code: .content, stage: 2)
        XCTAssertEqual(metrics.stages.map(\.index), [0, 1, 2], "a stage with nothing is listed too")
        XCTAssertEqual(metrics.stages[0].operations.mapValues(\.count), ["register": 1])
        XCTAssertEqual(metrics.stages[1].operations, [:])
        let register = try XCTUnwrap(metrics.stages[2].operations["register"])
        XCTAssertEqual([register.count, register.failed, register.timeouts, register.retransmissions], [1, 1, 1, 4])
        XCTAssertEqual(register.latency.max, 90_000_000)
        XCTAssertEqual(metrics.stages[2].operations["read"]?.count, 1)
        XCTAssertEqual(metrics.stages.map(\.arrivalsStarted), [1, 0, 0])

        // Stage by stage across workers: a worker that never reached stage 2 adds nothing there.
        var other = FleetMetrics()
        other.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: 30_000_000, serviceNanoseconds: 1)
        var merged = metrics
        merged.merge(other)
        XCTAssertEqual(merged.stages[0].operations["register"]?.count, 2)
        XCTAssertEqual(merged.stages[0].operations["register"]?.latency.max, 30_000_000)
        XCTAssertEqual(merged.stages[2], metrics.stages[2])
    }

    // MARK: Merge

    func testMergingWorkersEqualsOneProcessThatRecordedEverything() {
        // Each worker runs its stripe of devices with the same interval clock; one process running
        // all devices with the same draws records exactly the union.
        var values = Values(state: 4)
        var workers = [FleetMetrics(), FleetMetrics()]
        var single = FleetMetrics()
        for interval in 0..<4 {
            for device in 0..<60 {
                let latency = values.duration(), lag = values.next(below: 5_000_000)
                let outcome: OperationOutcome = device % 11 == 0 ? .timedOut : .succeeded
                for index in [device % 2, 2] {
                    func record(_ metrics: inout FleetMetrics) {
                        if interval == 0 {
                            // Worker 1 has no device that starts in stage 3: merging must still line the stages up.
                            let stage = device % 3
                            metrics.recordScheduledArrival(
                                intendedStage: stage, startedStage: device % 4 == 0 ? stage + 1 : stage, latenessNanoseconds: lag)
                            metrics.recordStateChange(from: .idle, to: .registering)
                        }
                        metrics.recordOperation("register", outcome: outcome, code: outcome == .succeeded ? .created : nil,
                                                latencyNanoseconds: latency, serviceNanoseconds: latency / 3)
                        metrics.recordRequestHandled("observe", code: .content)
                        metrics.recordLoopLag(nanoseconds: lag)
                        metrics.recordBytes(sent: 70, received: 30)
                        if device % 13 == interval { metrics.recordViolation(violation(.read, .registering)) }
                        if device % 7 == interval { metrics.recordViolation(violation(.observe, .deregistering, isProven: false)) }
                        if interval == 2, device % 3 == 0 { metrics.recordStateChange(from: .registering, to: .registered) }
                    }
                    if index == 2 { record(&single) } else { record(&workers[index]) }
                }
            }
            let elapsed = UInt64(interval + 1) * 1_000_000_000
            if interval < 3 {
                for index in workers.indices { workers[index].closeInterval(elapsedNanoseconds: elapsed) }
                single.closeInterval(elapsedNanoseconds: elapsed)
            }
        }
        var merged = workers[0]
        merged.merge(workers[1])
        XCTAssertEqual(merged, single)
        XCTAssertEqual(
            merged.timeSeries.map { $0.window(of: "register").map { LatencyHistogram($0.latency).percentiles } },
            single.timeSeries.map { $0.window(of: "register").map { LatencyHistogram($0.latency).percentiles } })
        XCTAssertEqual(merged.stages, single.stages)
        for name in MetricCatalog.allNames {
            XCTAssertEqual(merged.value(for: name), single.value(for: name), name)
        }
    }

    func testArrivalRateErrorIsTheWorstStagesShortfallOrExcessOverWhatItIntended() throws {
        var metrics = FleetMetrics()
        XCTAssertEqual(metrics.value(for: "arrivals.rate_error"), 0, "no scheduled arrival, no error")
        // Stage 0 intends 100 and starts 98 of them in time; 2 spill into stage 1, a hold.
        for index in 0..<100 {
            metrics.recordScheduledArrival(intendedStage: 0, startedStage: index < 98 ? 0 : 1, latenessNanoseconds: UInt64(index) * 1_000)
        }
        // Stage 2 intends 50 and starts them all in time, plus nothing else.
        for _ in 0..<50 { metrics.recordScheduledArrival(intendedStage: 2, startedStage: 2, latenessNanoseconds: 0) }
        XCTAssertEqual(metrics.stages.map(\.arrivalsIntended), [100, 0, 50])
        XCTAssertEqual(metrics.stages.map(\.arrivalsStarted), [98, 2, 50])
        XCTAssertEqual(try XCTUnwrap(metrics.value(for: "arrivals.rate_error")), 0.02, accuracy: 1e-12, "the hold intends none, so it has no error")
        XCTAssertEqual(metrics.arrivals, 150)
        XCTAssertEqual(try XCTUnwrap(metrics.value(for: "arrival_lateness.max")), 99_000, accuracy: 99)
        XCTAssertTrue(SummaryTable.render(metrics, thresholds: [], elapsedSeconds: 1).contains("arrival rate error"))
        XCTAssertEqual(try Threshold("arrivals.rate_error < 1%").limit, 0.01, accuracy: 1e-15)
        XCTAssertEqual(try Threshold("arrival_lateness.p99 < 1ms").limit, 1_000_000)
    }

    func testDevicesThatCaughtViolationsAddUpAcrossWorkers() {
        var first = FleetMetrics()
        var second = FleetMetrics()
        XCTAssertEqual(first.value(for: "devices.with_violations"), 0)
        first.recordDeviceWithViolation()
        second.recordDeviceWithViolation()
        second.recordDeviceWithViolation()
        first.merge(second)
        XCTAssertEqual(first.value(for: "devices.with_violations"), 3)
    }

    func testMergingALongerTimeSeriesAppendsItsPoints() {
        var longer = FleetMetrics(), shorter = FleetMetrics()
        for elapsed: UInt64 in [1, 2, 3] { longer.recordArrival(); longer.closeInterval(elapsedNanoseconds: elapsed) }
        shorter.recordArrival()
        shorter.closeInterval(elapsedNanoseconds: 1)
        var merged = shorter
        merged.merge(longer)
        XCTAssertEqual(merged.timeSeries.map(\.arrivals), [2, 1, 1])
        XCTAssertEqual(merged.timeSeries.map(\.elapsedNanoseconds), [1, 2, 3])
    }

    // MARK: Codable and the result file

    func testFleetMetricsCodableRoundTripIsEqual() throws {
        var metrics = populated(seed: 5)
        // The last interval, as a run closes it before writing: the open one is not written.
        metrics.recordArrival()
        metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: 4_321_987, serviceNanoseconds: 1)
        metrics.closeInterval(elapsedNanoseconds: 99_000_000_000)
        let decoded = try roundTrip(metrics)
        XCTAssertEqual(decoded, metrics)
        for name in MetricCatalog.allNames {
            XCTAssertEqual(decoded.value(for: name), metrics.value(for: name), name)
        }
    }

    private func resultFile(interrupted: Bool = false) -> ResultFile {
        ResultFile(
            toolVersion: "0.1.0", seed: 0xDEAD_BEEF_0123_4567,
            spec: .init(path: "fleets/quickstart.yaml", text: "devices: 50\nseed: 7\n"),
            startedAt: "2025-03-01T12:00:00Z", finishedAt: "2025-03-01T12:01:00Z", interrupted: interrupted,
            metrics: populated(seed: 6),
            thresholds: [
                ThresholdResult(expression: "register.latency.p99 < 200ms", metric: "register.latency.p99", observed: 12_345_678, passed: true),
                ThresholdResult(expression: "violations == 0", metric: "violations", observed: 30, passed: false),
            ],
            workers: 2, shard: .init(index: 1, count: 4))
    }

    func testResultFileWrittenAtomicallyReadsBackEqual() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("result.json").path

        let first = resultFile(interrupted: true)
        try first.write(to: path)
        var second = resultFile()
        second.shard = nil
        try second.write(to: path)
        ResultSchema.assertValid(file: path)
        XCTAssertEqual(try ResultFile.read(from: path), second)
        // Only the file itself: the temporary file was renamed over it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["result.json"])

        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("\"schemaVersion\" : 3"))
        XCTAssertTrue(text.contains("\"path\" : \"fleets/quickstart.yaml\""))
        XCTAssertTrue(text.contains("\"seed\" : 16045690981116495207"))
        XCTAssertFalse(text.contains("\"shard\""))
        // Sorted keys: the document starts with the alphabetically first key.
        XCTAssertTrue(text.hasPrefix("{\n  \"finishedAt\""), String(text.prefix(40)))
    }

    func testResultFileOfANewerSchemaOrDamagedIsRefusedWithThePath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("result.json").path
        try resultFile().write(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)

        try text.replacingOccurrences(of: "\"schemaVersion\" : 3", with: "\"schemaVersion\" : 4").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultFile.read(from: path)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
            XCTAssertTrue("\(error)".contains("schema version 4, written by a later lwm2m-fleet"), "\(error)")
        }
        // A version-2 file (before per-stage and per-operation series) is refused as earlier.
        try text.replacingOccurrences(of: "\"schemaVersion\" : 3", with: "\"schemaVersion\" : 2").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultFile.read(from: path)) { error in
            XCTAssertTrue("\(error)".contains("schema version 2, written by an earlier lwm2m-fleet"), "\(error)")
            XCTAssertTrue("\(error)".contains("reads version 3 only"), "\(error)")
        }
        try text.replacingOccurrences(of: "\"interrupted\" : false", with: "\"interrupted\" : 3").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultFile.read(from: path)) { error in
            XCTAssertTrue("\(error)".contains("interrupted"), "\(error)")
        }
        XCTAssertThrowsError(try ResultFile.read(from: directory.appendingPathComponent("missing.json").path))
    }

    // MARK: Summary table

    func testSummaryTableHasARowPerOperationAndTheThresholdOutcomes() {
        var metrics = FleetMetrics()
        for latency: UInt64 in [2_000_000, 4_000_000, 6_000_000] {
            metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: latency, serviceNanoseconds: latency)
        }
        metrics.recordOperation("update", outcome: .timedOut, code: nil, latencyNanoseconds: 93_000_000_000, serviceNanoseconds: 1)
        metrics.recordRequestHandled("read", code: .content)
        metrics.recordViolation(violation(.read, .registering))
        metrics.recordDeviceWithViolation()
        metrics.recordDroppedArrival()
        metrics.recordRetransmissions(7, of: "update")
        metrics.recordLoopLag(nanoseconds: 1_500_000)
        metrics.closeInterval(elapsedNanoseconds: 1_000_000_000)
        metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: 1_000_000, serviceNanoseconds: 1)
        metrics.closeInterval(elapsedNanoseconds: 2_000_000_000)
        let thresholds = [
            ThresholdResult(expression: "register.latency.p99 < 200ms", metric: "register.latency.p99", observed: 6_000_000, passed: true),
            ThresholdResult(expression: "update.failed.rate < 0.01", metric: "update.failed.rate", observed: 1, passed: false),
            ThresholdResult(expression: "bootstrap.latency.p99 < 1s", metric: "bootstrap.latency.p99", observed: .nan, passed: false),
        ]
        let table = SummaryTable.render(metrics, thresholds: thresholds, elapsedSeconds: 10)
        let lines = table.split(separator: "\n").map(String.init)
        func line(_ prefix: String) -> String? { lines.first { $0.hasPrefix(prefix) } }

        let header = line("operation") ?? ""
        for column in ["count", "per s", "peak/s", "ok", "failed", "timeouts", "p50 ms", "p90 ms", "p99 ms", "p999 ms", "max ms"] {
            XCTAssertTrue(header.contains(column), column)
        }
        let register = line("register ")?.split(separator: " ") ?? []
        // 4 in the 2 s from the first to the last Register (not the 10 s of the run), 3 of them
        // in the busiest second.
        XCTAssertEqual(register.prefix(8), ["register", "4", "2.0", "3", "4", "0", "0", "0"])
        XCTAssertEqual(register.last, "6.000")
        XCTAssertEqual(line("update ")?.split(separator: " ").last, "93000.000")
        XCTAssertEqual(line("read ")?.split(separator: " ").last, "-")
        XCTAssertNil(line("bootstrap "))
        // Every row is as wide as the header.
        XCTAssertEqual(Set(["operation", "register ", "update ", "read "].compactMap(line).map(\.count)).count, 1)
        XCTAssertTrue(line("violations")?.hasSuffix(" 1 (on 1 device)") ?? false, table)
        XCTAssertEqual(line("  read while registering")?.split(separator: " ").last, "1")
        XCTAssertEqual(line("dropped arrivals")?.split(separator: " ").last, "1")
        XCTAssertEqual(line("retransmissions")?.split(separator: " ").last, "7")
        XCTAssertTrue(line("loop lag p99")?.hasSuffix("1.500 ms") ?? false, table)
        XCTAssertTrue(table.contains("PASS  register.latency.p99 < 200ms  (observed 6.000 ms)"), table)
        XCTAssertTrue(table.contains("FAIL  update.failed.rate < 0.01  (observed 1)"), table)
        XCTAssertTrue(table.contains("FAIL  bootstrap.latency.p99 < 1s  (observed no samples)"), table)
        // Retransmissions per operation, and why each operation ended as it did.
        XCTAssertEqual(line("update ")?.split(separator: " ").dropFirst(7).first, "7")
        XCTAssertTrue(table.contains("  register   2.01 x4"), table)
        XCTAssertTrue(table.contains("  update     no response x1"), table)
    }

    func testSummaryNamesUnfinishedDevicesSilentServersAndTheEndOfTheRun() {
        var metrics = FleetMetrics()
        metrics.recordOperation("bootstrap", outcome: .timedOut, code: nil, latencyNanoseconds: 2_000_000_000, serviceNanoseconds: 1)
        metrics.recordUnfinishedDevice(state: "bootstrapping", pendingOperation: nil)
        metrics.recordUnfinishedDevice(state: "not-started", pendingOperation: "bootstrap")
        metrics.recordUnanswered(server: "coap://127.0.0.1:9", devices: 20)
        metrics.recordConnectionFailure(server: "coap://example.invalid:5683", reason: "not a numeric address")
        metrics.recordEndOfRun(EndOfRunReport(deregistersPerSecond: 500, deregistersSent: 1_000, sendingSeconds: 2, unreached: 3))
        let table = SummaryTable.render(metrics, thresholds: [], elapsedSeconds: 10)
        XCTAssertTrue(table.contains("unfinished devices 2: 1 bootstrapping, 1 not-started"), table)
        XCTAssertTrue(table.contains("no response from coap://127.0.0.1:9: 20 devices"), table)
        XCTAssertTrue(table.contains("could not open a socket to coap://example.invalid:5683: not a numeric address (x1)"), table)
        XCTAssertTrue(table.contains("end of run: 1000 De-registers sent at 500/s over 2.0 s; 3 registered devices not reached"), table)
        XCTAssertTrue(table.contains("bootstrap  no response x1, unfinished x1"), table)
        XCTAssertEqual(metrics.value(for: "bootstrap.failed.rate"), 1)
    }

    func testEmbeddedServerCountsPrintAsTheSummaryLineAndAddAcrossShards() throws {
        var counts = EmbeddedServerCounts()
        (counts.registrationsHeld, counts.registered, counts.updated, counts.deregistered, counts.expired) = (3, 10, 4, 7, 1)
        (counts.bootstraps, counts.bootstrapFailures, counts.refused, counts.violationsSent, counts.retransmissions) = (9, 2, 5, 0, 6)
        XCTAssertEqual(counts.summaryLine, "held-now=3 registered-total=10 updated=4 deregistered=7 expired=1 bootstraps=9 "
            + "bootstrap-failures=2 refused=5 requests-unanswered=0 violations-sent=0 devices-violated=0 retransmissions=6 registrations-lost=0 "
            + "handshakes=0 handshakes-resumed=0 handshake-failures=0", "the line `serve` and `run` print")

        var metrics = FleetMetrics()
        XCTAssertNil(metrics.value(for: "server.bootstrap_failures"), "no embedded server, no value")
        metrics.embeddedServer = counts
        XCTAssertEqual(metrics.value(for: "server.bootstrap_failures"), 2)
        XCTAssertEqual(metrics.value(for: "server.registrations_held"), 3)
        var other = FleetMetrics()
        other.embeddedServer = counts
        metrics.merge(other)
        XCTAssertEqual(metrics.value(for: "server.bootstraps"), 18)
        metrics.merge(FleetMetrics())
        XCTAssertEqual(metrics.value(for: "server.bootstraps"), 18, "a part without an embedded server adds nothing")
        let decoded = try JSONDecoder().decode(FleetMetrics.self, from: JSONEncoder().encode(metrics))
        XCTAssertEqual(decoded.embeddedServer, metrics.embeddedServer)
    }

    func testAMergedSeriesKeepsTheDevicesOfAWorkerWhoseSeriesEndedEarlier() {
        // A worker's devices register, and after `intervals` seconds its run ends with them stopped.
        func worker(devices: Int, intervals: Int) -> FleetMetrics {
            var metrics = FleetMetrics()
            for _ in 0..<devices { metrics.recordStateChange(from: .idle, to: .registered) }
            for interval in 1...intervals {
                if interval == intervals {
                    for _ in 0..<devices { metrics.recordStateChange(from: .registered, to: .stopped) }
                }
                metrics.recordArrival()
                metrics.closeInterval(elapsedNanoseconds: UInt64(interval) * 1_000_000_000)
            }
            return metrics
        }
        var merged = FleetMetrics()
        for part in [worker(devices: 5, intervals: 3), worker(devices: 7, intervals: 5), worker(devices: 11, intervals: 4)] {
            merged.merge(part)
        }
        XCTAssertEqual(merged.timeSeries.count, 5)
        XCTAssertEqual(merged.timeSeries.map { $0.devicesByState.values.reduce(0, +) }, [23, 23, 23, 23, 23],
                       "every device is in every point, in the state its worker last saw")
        XCTAssertEqual(merged.timeSeries.map { $0.devicesByState["stopped"] ?? 0 }, [0, 0, 5, 16, 23])
        XCTAssertEqual(merged.timeSeries.map(\.registeredDevices), [23, 23, 18, 7, 0])
        // Interval counts are not carried: a worker that ended adds no arrivals.
        XCTAssertEqual(merged.timeSeries.map(\.arrivals), [3, 3, 3, 2, 1])
    }
}
