import EventLoop
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class EventLoopSignalTests: XCTestCase {
    func testWatchedSignalRaisedFromTimerReachesHandlerAndDefaultReturnsAfterDeinit() throws {
        var received: [Int32] = []
        do {
            let loop = try EventLoop()
            try loop.watchSignals([SIGUSR1])
            let timeLimit = loop.scheduleTimeLimit()
            loop.timerFired = { [unowned loop] tag, _ in
                guard !loop.reachedTimeLimit(tag) else {
                    return
                }
                raise(SIGUSR1)
            }
            loop.signalReceived = { [unowned loop] signal in
                received.append(signal)
                // The watcher is unref'd: with the guard gone, nothing keeps the loop running.
                loop.cancel(timeLimit)
            }
            _ = loop.schedule(at: loop.now + 1_000_000, tag: 1)
            loop.runUntilIdle()
        }
        XCTAssertEqual(received, [SIGUSR1])
        var action = sigaction()
        sigaction(SIGUSR1, nil, &action)
        XCTAssertNil(action.__sigaction_handler.sa_handler, "SIGUSR1 should be back to SIG_DFL once the loop is gone")
    }

    func testSignalWatchersAloneDoNotKeepTheLoopRunning() throws {
        let loop = try EventLoop()
        try loop.watchSignals([SIGUSR1, SIGUSR1, SIGUSR2])
        let start = loop.now
        loop.runUntilIdle()
        XCTAssertLessThan(loop.now - start, 1_000_000_000)
    }
}
