import Fleet
import XCTest

/// Open-model arrival times, the base of coordinated-omission-free latencies.
final class ArrivalScheduleTests: XCTestCase {
    func testConstantRateSpacesArrivalsEvenly() throws {
        let schedule = ArrivalSchedule(segments: [.init(durationSeconds: 10, startRate: 100, endRate: 100)], deviceCount: 1_000)
        XCTAssertEqual(try XCTUnwrap(schedule.intendedStart(of: 0)), 0.005, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(schedule.intendedStart(of: 1)), 0.015, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(schedule.intendedStart(of: 999)), 9.995, accuracy: 1e-9)
        XCTAssertNil(schedule.intendedStart(of: 1_000))
        XCTAssertEqual(schedule.capacity, 1_000, accuracy: 1e-9)
    }

    func testRampFollowsTheIntegralOfTheRate() throws {
        // 0 -> 200/s over 10 s holds 1,000 arrivals; half of them come in the last 2.93 s.
        let schedule = ArrivalSchedule(segments: [.init(durationSeconds: 10, startRate: 0, endRate: 200)], deviceCount: 1_000)
        let times = (0..<1_000).map { schedule.intendedStart(of: $0)! }
        XCTAssertEqual(times, times.sorted())
        // Arrivals due by t are 10 t^2: arrival 499.5 at t = sqrt(49.95).
        XCTAssertEqual(times[499], (49.95).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(schedule.rate(at: 5), 100, accuracy: 1e-9)
    }

    func testSegmentsChainAndStagesThatEndEarlyLeaveDevicesOut() throws {
        let schedule = ArrivalSchedule(
            segments: [.init(durationSeconds: 1, startRate: 100, endRate: 100), .init(durationSeconds: 5, startRate: 0, endRate: 0),
                       .init(durationSeconds: 1, startRate: 100, endRate: 100)],
            deviceCount: 300)
        XCTAssertEqual(try XCTUnwrap(schedule.intendedStart(of: 99)), 0.995, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(schedule.intendedStart(of: 100)), 6.005, accuracy: 1e-9, "the hold adds no arrivals")
        XCTAssertNil(schedule.intendedStart(of: 200), "only 200 fit in the stages")
        XCTAssertEqual(schedule.segmentIndex(at: 3), 1)
        XCTAssertEqual(schedule.durationSeconds, 7)
    }

    func testArrivalsDueCountTheIntendedStartsUpToATime() throws {
        let schedule = ArrivalSchedule(
            segments: [.init(durationSeconds: 2, startRate: 0, endRate: 200), .init(durationSeconds: 1, startRate: 0, endRate: 0),
                       .init(durationSeconds: 1, startRate: 100, endRate: 100)],
            deviceCount: 250)
        for seconds in [0, 0.3, 1, 1.7, 2, 2.5, 3.004, 3.006, 3.5, 10] {
            let due = (0..<250).filter { schedule.intendedStart(of: $0).map { $0 <= seconds } ?? false }.count
            XCTAssertEqual(schedule.arrivalsDue(by: seconds), due, "at \(seconds) s")
        }
        XCTAssertEqual(schedule.arrivalsDue(by: 1), 50, "the ramp's integral: 50 t^2")
        XCTAssertEqual(schedule.arrivalsDue(by: 10), 250, "no more than the devices")
        XCTAssertEqual(schedule.startSeconds(ofSegment: 2), 3)
    }
}
