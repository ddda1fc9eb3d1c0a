import Dispatch
import EventLoop
import XCTest

// Every loop test runs under a guard timer, so a lost datagram or missed callback fails the
// test instead of hanging the suite.
extension EventLoop {
    /// The timer tag the guard uses; test timers use other tags.
    static let timeLimitTag = UInt64.max

    /// Schedules the guard; a test that must see `run()` return on its own cancels it when done.
    func scheduleTimeLimit(seconds: UInt64 = 5) -> TimerHandle {
        schedule(at: now + seconds * 1_000_000_000, tag: Self.timeLimitTag)
    }

    /// Call first in `timerFired`: true (after failing the test and stopping the loop) for the guard's tag.
    func reachedTimeLimit(_ tag: UInt64, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        guard tag == Self.timeLimitTag else {
            return false
        }
        XCTFail("the loop was still running when the time limit expired", file: file, line: line)
        stop()
        return true
    }

    /// Runs a loop that should run dry once its test cancels the guard. If something still keeps
    /// it alive (the very bug such a test looks for), no timer can stop it, so a watchdog thread
    /// ends the test process with a message instead of letting CI hang.
    func runUntilIdle(watchdogSeconds: Int = 15, file: StaticString = #fileID, line: UInt = #line) {
        let returned = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            if returned.wait(timeout: .now() + .seconds(watchdogSeconds)) == .timedOut {
                fatalError("\(file):\(line): run() still going after \(watchdogSeconds) s; a handle keeps the loop alive")
            }
        }
        run()
        returned.signal()
    }
}
