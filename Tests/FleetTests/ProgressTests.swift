import Fleet
import Foundation
import LwM2MClient
import XCTest

/// The one progress line of a run: workers' reports combined exactly (counts added, interval rates
/// summed, percentiles from merged histograms), stage rates against the schedule, and the report
/// as it crosses the pipe.
final class ProgressTests: XCTestCase {
    /// 100/s for 2 s, then a hold for 1 s.
    private let steadyThenHold = ArrivalSchedule(
        segments: [.init(durationSeconds: 2, startRate: 100, endRate: 100), .init(durationSeconds: 1, startRate: 0, endRate: 0)],
        deviceCount: 1_000)

    /// `count` devices start on schedule in `stage` and register with `latency` each.
    private func arrive(_ count: Int, stage: Int = 0, registeringIn latency: UInt64 = 1_000_000, into metrics: inout FleetMetrics) {
        for _ in 0..<count {
            metrics.recordScheduledArrival(intendedStage: stage, startedStage: stage, latenessNanoseconds: 0)
            metrics.recordStateChange(from: .idle, to: .registering)
            metrics.recordOperation("register", outcome: .succeeded, code: .created, latencyNanoseconds: latency, serviceNanoseconds: latency)
            metrics.recordStateChange(from: .registering, to: .registered)
        }
    }

    /// Closes the interval at `seconds` and reports it.
    private func report(at seconds: Double, of metrics: inout FleetMetrics) -> ProgressReport {
        metrics.closeInterval(elapsedNanoseconds: UInt64(seconds * 1e9))
        return ProgressReport(closedIntervalOf: metrics)
    }

    func testTwoWorkersMakeOneLineWithTheirCountsAddedAndTheirRatesSummed() throws {
        var progress = FleetProgress(workers: 2, schedule: steadyThenHold)
        var first = FleetMetrics()
        var second = FleetMetrics()
        first.recordLoopLag(nanoseconds: 2_000_000)
        second.recordLoopLag(nanoseconds: 7_000_000)
        arrive(60, into: &first)
        arrive(40, into: &second)
        first.recordRetransmissions(3, of: "register")
        second.recordOperation("update", outcome: .timedOut, code: nil, latencyNanoseconds: 1, serviceNanoseconds: 1)
        XCTAssertEqual(progress.receive(report(at: 1.0, of: &first), from: 0), [], "the line waits for the other worker")
        let line = try XCTUnwrap(progress.receive(report(at: 1.002, of: &second), from: 1).first)
        XCTAssertEqual(line.elapsedSeconds, 1.002, accuracy: 1e-9)
        XCTAssertEqual(line.arrivalRate, 100 / 1.002, accuracy: 1e-6, "the whole fleet's arrivals, not one worker's")
        XCTAssertEqual(line.targetRate, 100 / 1.002, accuracy: 1e-6)
        XCTAssertEqual(line.registeredDevices, 100)
        XCTAssertEqual(line.operationRate, 101 / 1.002, accuracy: 1e-6)
        XCTAssertEqual(line.operationsFailed, 1)
        XCTAssertEqual(line.retransmissions, 3)
        XCTAssertEqual(line.loopLagP99Nanoseconds, second.loopLag.value(atPercentile: 99), "the worst worker's loop lag")
        XCTAssertEqual(line.stage, "stage 1/2")

        // The next second: rates are the interval's, not the run's mean.
        arrive(90, into: &first)
        arrive(80, into: &second)
        XCTAssertEqual(progress.receive(report(at: 2.001, of: &first), from: 0), [])
        let next = try XCTUnwrap(progress.receive(report(at: 2.002, of: &second), from: 1).first)
        XCTAssertEqual(next.arrivalRate, 170, accuracy: 1e-6)
        XCTAssertEqual(next.operationRate, 170, accuracy: 1e-6)
        XCTAssertEqual(next.registeredDevices, 270)
        XCTAssertTrue(next.text.hasPrefix("2s stage 1/2 arrivals 170/s (target 100/s) stage mean 135/s (target 100/s) registered 270 "), next.text)
    }

    func testRegisterPercentilesComeFromTheWorkersHistogramsOfTheIntervalMerged() throws {
        var progress = FleetProgress(workers: 2, schedule: steadyThenHold)
        var first = FleetMetrics()
        var second = FleetMetrics()
        arrive(50, registeringIn: 1_000_000, into: &first)
        arrive(45, registeringIn: 10_000_000, into: &second)
        arrive(5, registeringIn: 40_000_000, into: &second)
        _ = progress.receive(report(at: 1, of: &first), from: 0)
        let line = try XCTUnwrap(progress.receive(report(at: 1, of: &second), from: 1).first)
        var all = LatencyHistogram(significantDigits: FleetMetrics.intervalSignificantDigits)
        for (count, latency) in [(50, 1_000_000), (45, 10_000_000), (5, 40_000_000)] as [(Int, UInt64)] {
            for _ in 0..<count { all.record(latency) }
        }
        XCTAssertEqual(line.registerLatencyP50Nanoseconds, all.value(atPercentile: 50))
        XCTAssertEqual(line.registerLatencyP99Nanoseconds, all.value(atPercentile: 99))
        XCTAssertGreaterThan(try XCTUnwrap(line.registerLatencyP99Nanoseconds), 39_000_000, "one worker's tail is the fleet's tail")

        // An interval with no registration has no register percentiles, not the last ones.
        _ = progress.receive(report(at: 2, of: &first), from: 0)
        let quiet = try XCTUnwrap(progress.receive(report(at: 2, of: &second), from: 1).first)
        XCTAssertNil(quiet.registerLatencyP50Nanoseconds)
        XCTAssertTrue(quiet.text.contains("register p50 - p99 -"), quiet.text)
    }

    func testStageRatesAreTheStageArrivalsOverItsTimeAgainstTheSchedule() throws {
        // A ramp from 0 to 200/s over 2 s asks for 50 arrivals in the first second, 150 in the second.
        let ramp = ArrivalSchedule(
            segments: [.init(durationSeconds: 2, startRate: 0, endRate: 200), .init(durationSeconds: 2, startRate: 50, endRate: 50)],
            deviceCount: 1_000)
        var progress = FleetProgress(workers: 1, schedule: ramp)
        var metrics = FleetMetrics()
        arrive(40, into: &metrics)
        let first = try XCTUnwrap(progress.receive(report(at: 1, of: &metrics), from: 0).first)
        XCTAssertEqual(first.targetRate, 50, accuracy: 1e-9)
        XCTAssertEqual(first.stageMeanRate, 40, accuracy: 1e-9)
        XCTAssertEqual(first.stageTargetMeanRate, 50, accuracy: 1e-9)
        // The tick falls just after the stage ended: the line is about the stage that ended, whole.
        arrive(150, into: &metrics)
        let second = try XCTUnwrap(progress.receive(report(at: 2.0005, of: &metrics), from: 0).first)
        XCTAssertEqual(second.stage, "stage 1/2")
        XCTAssertEqual(second.stageMeanRate, 95, accuracy: 1e-9, "190 arrivals over the stage's 2 s")
        XCTAssertEqual(second.stageTargetMeanRate, 100, accuracy: 1e-9)
        // The next stage counts its own arrivals only.
        arrive(45, stage: 1, into: &metrics)
        let third = try XCTUnwrap(progress.receive(report(at: 3.0005, of: &metrics), from: 0).first)
        XCTAssertEqual(third.stage, "stage 2/2")
        XCTAssertEqual(third.stageMeanRate, 45 / 1.0005, accuracy: 1e-9)
        XCTAssertEqual(third.arrivalRate, 45, accuracy: 1e-9)

        // A shard's targets are its share of the fleet's.
        var shard = FleetProgress(workers: 1, schedule: ramp, share: 0.25)
        var shardMetrics = FleetMetrics()
        let shardLine = try XCTUnwrap(shard.receive(report(at: 1, of: &shardMetrics), from: 0).first)
        XCTAssertEqual(shardLine.targetRate, 12.5, accuracy: 1e-9)
    }

    func testAWorkerThatEndedKeepsItsCountsAndNoLongerHoldsLinesBack() throws {
        var progress = FleetProgress(workers: 2, schedule: steadyThenHold)
        var first = FleetMetrics()
        var second = FleetMetrics()
        arrive(30, into: &first)
        arrive(70, into: &second)
        _ = progress.receive(report(at: 1, of: &first), from: 0)
        _ = progress.receive(report(at: 1, of: &second), from: 1)
        arrive(10, registeringIn: 5_000_000, into: &first)
        arrive(20, registeringIn: 30_000_000, into: &second)
        // The second worker is a second ahead: the first's next report completes one line.
        XCTAssertEqual(progress.receive(report(at: 2, of: &second), from: 1), [])
        XCTAssertEqual(progress.receive(report(at: 3, of: &second), from: 1), [])
        XCTAssertEqual(progress.receive(report(at: 2, of: &first), from: 0).map(\.registeredDevices), [130])
        // The first worker exits: the second's third second shows at once, with the first's devices
        // as it last saw them and none of its arrivals or latencies.
        let lines = progress.workerEnded(0)
        XCTAssertEqual(lines.count, 1)
        let last = try XCTUnwrap(lines.first)
        XCTAssertEqual(last.registeredDevices, 130)
        XCTAssertEqual(last.arrivalRate, 0, accuracy: 1e-9)
        XCTAssertNil(last.registerLatencyP50Nanoseconds)
        XCTAssertEqual(progress.workerEnded(1), [])
    }

    func testEachNoteShowsOnceHoweverManyWorkersSendIt() {
        var progress = FleetProgress(workers: 3, schedule: steadyThenHold)
        XCTAssertEqual((0..<3).map { _ in progress.shouldShow(note: "interrupted") }, [true, false, false])
        XCTAssertTrue(progress.shouldShow(note: "duration-limit reached"))
    }

    func testReportCrossesThePipeAsJSONUnchanged() throws {
        var metrics = FleetMetrics()
        metrics.recordLoopLag(nanoseconds: 3_000_000)
        arrive(12, registeringIn: 2_500_000, into: &metrics)
        arrive(3, stage: 1, registeringIn: 900_000_000, into: &metrics)
        metrics.recordRetransmissions(2, of: "register")
        let report = report(at: 1.5, of: &metrics)
        for message in [ProgressMessage.report(report), .note("interrupted: stopping arrivals")] {
            let line = try JSONEncoder().encode(message)
            XCTAssertFalse(line.contains(UInt8(ascii: "\n")), "one message, one line")
            XCTAssertEqual(try JSONDecoder().decode(ProgressMessage.self, from: line), message)
        }
        XCTAssertEqual(report.interval, 1)
        XCTAssertEqual(report.arrivals, 15)
        XCTAssertEqual(report.arrivalsByStage, [12, 3])
        XCTAssertEqual(report.intervalOperations["register"]?.latency.count, 15)
    }
}
