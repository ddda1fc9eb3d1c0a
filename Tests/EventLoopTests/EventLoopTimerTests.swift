@testable import EventLoop
import XCTest

final class EventLoopTimerTests: XCTestCase {
    func testLoopTimersFireInDeadlineOrderNeverEarlyAndRunReturnsWhenDrained() throws {
        let loop = try EventLoop()
        var random = SplitMix64(seed: 42)
        let count = 300
        let start = loop.now
        // 2 ms apart, except that each tag ending in 9 shares its predecessor's deadline (and so
        // fires in scheduling order); scheduled in shuffled order.
        let deadlines = (0..<count).map { start + 5_000_000 + UInt64($0 - $0 % 10 / 9) * 2_000_000 }
        let insertionOrder = Array(0..<count).shuffled(using: &random)
        var handles: [Int: TimerHandle] = [:]
        var inserted: [Int: Int] = [:]
        for (position, tag) in insertionOrder.enumerated() {
            handles[tag] = loop.schedule(at: deadlines[tag], tag: UInt64(tag))
            inserted[tag] = position
        }
        let cancelled: Set<Int> = [3, 150, 299]
        for tag in cancelled {
            loop.cancel(handles[tag]!)
        }
        let timeLimit = loop.scheduleTimeLimit()

        var fired: [Int] = []
        loop.timerFired = { [unowned loop] tag, now in
            guard !loop.reachedTimeLimit(tag) else {
                return
            }
            let tag = Int(tag)
            XCTAssertGreaterThanOrEqual(now, deadlines[tag], "timer \(tag) fired early")
            XCTAssertGreaterThanOrEqual(loop.now, deadlines[tag], "timer \(tag) fired early")
            fired.append(tag)
            if fired.count == count - cancelled.count {
                loop.cancel(timeLimit)
            }
        }
        loop.runUntilIdle()

        let expected = (0..<count).filter { !cancelled.contains($0) }.sorted {
            (deadlines[$0], inserted[$0]!) < (deadlines[$1], inserted[$1]!)
        }
        XCTAssertEqual(fired, expected)
        XCTAssertEqual(loop.pendingTimerCount, 0)
    }

    func testTimersScheduledDuringDispatchFireAndCancelledOnesDoNot() throws {
        let loop = try EventLoop()
        let timeLimit = loop.scheduleTimeLimit()
        var doomed: TimerHandle?
        var fired: [UInt64] = []
        loop.timerFired = { [unowned loop] tag, now in
            guard !loop.reachedTimeLimit(tag) else {
                return
            }
            fired.append(tag)
            switch tag {
            case 1:
                // Already due: runs in this dispatch, after the entries that were due before it.
                _ = loop.schedule(at: now, tag: 2)
                doomed = loop.schedule(at: now + 1_000_000, tag: 99)
                _ = loop.schedule(at: now + 2_000_000, tag: 3)
            case 2:
                loop.cancel(doomed!)
            default:
                loop.cancel(timeLimit)
            }
        }
        _ = loop.schedule(at: loop.now, tag: 1)
        loop.runUntilIdle()
        XCTAssertEqual(fired, [1, 2, 3])
    }

    func testTheLoopWakesOncePerDeadlineAndNotAgainWhileNothingIsDue() throws {
        let loop = try EventLoop()
        let timeLimit = loop.scheduleTimeLimit()
        let count = 40
        let start = loop.now
        var fired = 0
        loop.timerFired = { [unowned loop] tag, _ in
            guard !loop.reachedTimeLimit(tag) else {
                return
            }
            fired += 1
            if fired == count { loop.cancel(timeLimit) }
        }
        for index in 0..<count {
            _ = loop.schedule(at: start + UInt64(index + 1) * 2_000_000, tag: UInt64(index))
        }
        loop.runUntilIdle()
        XCTAssertEqual(fired, count)
        // The timerfd is not read after it fires: if setting it again did not clear its readable
        // state, the loop would wake again at once, thousands of times in 80 ms.
        XCTAssertLessThanOrEqual(loop.timerWakeups, count + 2)
    }
}
