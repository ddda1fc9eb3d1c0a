@testable import EventLoop
import XCTest

final class TimerQueueTests: XCTestCase {
    func testTimerQueueHundredThousandDeadlinesHalfCancelledFireInOrder() {
        var random = SplitMix64(seed: 0x1EAF_5EED)
        var queue = TimerQueue()
        let total = 100_000
        // A narrow range, so many deadlines tie and the insertion-order rule is exercised too.
        let deadlines = (0..<total).map { _ in random.next() % 50_000 }
        let handles = deadlines.enumerated().map { queue.schedule(at: $0.element, tag: UInt64($0.offset)) }
        XCTAssertEqual(queue.count, total)

        var cancelled = [Bool](repeating: false, count: total)
        for tag in Array(0..<total).shuffled(using: &random).prefix(total / 2) {
            XCTAssertTrue(queue.cancel(handles[tag]))
            cancelled[tag] = true
        }
        XCTAssertEqual(queue.count, total / 2)

        var fired = [Bool](repeating: false, count: total)
        var previous: (deadline: UInt64, tag: UInt64)?
        var firedCount = 0
        while let entry = queue.popDue(now: .max) {
            let tag = Int(entry.tag)
            XCTAssertEqual(entry.deadline, deadlines[tag])
            XCTAssertFalse(cancelled[tag], "cancelled entry \(tag) fired")
            XCTAssertFalse(fired[tag], "entry \(tag) fired twice")
            if let previous {
                XCTAssertLessThanOrEqual(previous.deadline, entry.deadline)
                if previous.deadline == entry.deadline {
                    XCTAssertLessThan(previous.tag, entry.tag, "equal deadlines out of insertion order")
                }
            }
            fired[tag] = true
            firedCount += 1
            previous = entry
        }
        XCTAssertEqual(firedCount, total / 2)
        XCTAssertTrue(queue.isEmpty)
        XCTAssertFalse(queue.cancel(handles[0]))
    }

    func testTimerQueueCancellingFiredOrCancelledHandleIsNoOp() {
        var queue = TimerQueue()
        let fired = queue.schedule(at: 10, tag: 1)
        XCTAssertEqual(queue.popDue(now: 10)?.tag, 1)
        // Reuses the fired entry's slot: the old handle must not reach the new entry.
        let reused = queue.schedule(at: 20, tag: 2)
        XCTAssertFalse(queue.cancel(fired))
        XCTAssertEqual(queue.count, 1)
        XCTAssertTrue(queue.cancel(reused))
        XCTAssertFalse(queue.cancel(reused))
        XCTAssertTrue(queue.isEmpty)
        XCTAssertNil(queue.popDue(now: .max))
    }

    func testTimerQueueEqualDeadlinesFireInInsertionOrder() {
        var queue = TimerQueue()
        for tag in 0..<100 as Range<UInt64> {
            _ = queue.schedule(at: tag % 2 == 0 ? 7 : 5, tag: tag)
        }
        let tags = drain(&queue).map(\.tag)
        XCTAssertEqual(tags, Array(stride(from: 1, to: 100, by: 2)) + Array(stride(from: 0, to: 100, by: 2)))
    }

    func testTimerQueueSequenceWrapKeepsInsertionOrder() {
        var queue = TimerQueue(firstSequence: .max - 10)
        var expected: [UInt64] = []
        for tag in 0..<40 as Range<UInt64> {
            _ = queue.schedule(at: 100, tag: tag)
            expected.append(tag)
            // Pops along the way so renumbering meets a heap that has been reshuffled.
            if tag % 7 == 6 {
                XCTAssertEqual(queue.popDue(now: 100)?.tag, expected.removeFirst())
            }
        }
        XCTAssertEqual(drain(&queue).map(\.tag), expected)
    }

    func testTimerQueuePopDueLeavesFutureDeadlines() {
        var queue = TimerQueue()
        _ = queue.schedule(at: 300, tag: 3)
        _ = queue.schedule(at: 100, tag: 1)
        _ = queue.schedule(at: 200, tag: 2)
        XCTAssertEqual(queue.nextDeadline, 100)
        XCTAssertNil(queue.popDue(now: 99))
        XCTAssertEqual(queue.popDue(now: 250)?.tag, 1)
        XCTAssertEqual(queue.popDue(now: 250)?.tag, 2)
        XCTAssertNil(queue.popDue(now: 250))
        XCTAssertEqual(queue.nextDeadline, 300)
        XCTAssertEqual(queue.count, 1)
    }

    private func drain(_ queue: inout TimerQueue) -> [(deadline: UInt64, tag: UInt64)] {
        var entries: [(deadline: UInt64, tag: UInt64)] = []
        while let entry = queue.popDue(now: .max) {
            entries.append(entry)
        }
        return entries
    }
}
