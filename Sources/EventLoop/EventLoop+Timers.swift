import CLibUV

// One uv timer serves the whole TimerQueue, so thousands of actor wake-ups cost one libuv
// handle and a heap entry each.
extension EventLoop {
    /// Schedules `timerFired(tag, now)` for when `now` reaches `deadlineNanoseconds` (never earlier;
    /// at millisecond granularity, as libuv's timer). A deadline already past fires on the
    /// next dispatch, or in the current one when scheduled from `timerFired`.
    public func schedule(at deadlineNanoseconds: UInt64, tag: UInt64) -> TimerHandle {
        let handle = timerQueue.schedule(at: deadlineNanoseconds, tag: tag)
        if !isDispatchingTimers {
            rearmTimer()
        }
        return handle
    }

    /// Cancels a pending entry; a no-op for a handle whose entry already fired or was cancelled.
    public func cancel(_ handle: TimerHandle) {
        timerQueue.cancel(handle)
        if !isDispatchingTimers {
            rearmTimer()
        }
    }

    /// The number of pending timer entries.
    public var pendingTimerCount: Int { timerQueue.count }

    func dispatchDueTimers() {
        // libuv stopped the one-shot timer before calling us.
        armedTimerMilliseconds = nil
        let now = uv_hrtime()
        isDispatchingTimers = true
        while let entry = timerQueue.popDue(now: now) {
            timerFired?(entry.tag, now)
        }
        isDispatchingTimers = false
        rearmTimer()
    }

    // Sets the uv timer to the earliest deadline, or stops it so an empty queue does not keep
    // the loop alive.
    private func rearmTimer() {
        guard let deadline = timerQueue.nextDeadline else {
            if armedTimerMilliseconds != nil {
                uv_timer_stop(timer)
                armedTimerMilliseconds = nil
            }
            return
        }
        // uv timers fire once the loop clock, in whole milliseconds of the same monotonic clock
        // and never ahead of uv_hrtime, reaches their target; rounding the deadline up makes
        // that target no earlier than the deadline. Aiming at an absolute millisecond keeps
        // the wake-up right however stale uv_now is.
        let target = deadline / 1_000_000 + (deadline % 1_000_000 == 0 ? 0 : 1)
        guard target != armedTimerMilliseconds else {
            return
        }
        let loopNow = uv_now(loop)
        uv_timer_start(timer, { timer in
            if let timer {
                EventLoop.owning(timer.pointee.loop).dispatchDueTimers()
            }
        }, target > loopNow ? target - loopNow : 0, 0)
        armedTimerMilliseconds = target
    }
}
