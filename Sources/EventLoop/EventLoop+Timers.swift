import CLibUV
import Glibc

// One timerfd serves the whole TimerQueue, so thousands of actor wake-ups cost one watched
// descriptor and a heap entry each.
extension EventLoop {
    /// Schedules `timerFired(tag, now)` for when `now` reaches `deadlineNanoseconds` (never
    /// earlier). A deadline already past fires on the next dispatch, or in the current one when
    /// scheduled from `timerFired`.
    public func schedule(at deadlineNanoseconds: UInt64, tag: UInt64) -> TimerHandle {
        let handle = timerQueue.schedule(at: deadlineNanoseconds, tag: tag)
        // Only an earlier deadline moves the timerfd; a later one waits for the next dispatch.
        if !isDispatchingTimers, armedDeadline.map({ deadlineNanoseconds < $0 }) ?? true {
            rearmTimer()
        }
        return handle
    }

    /// Cancels a pending entry; a no-op for a handle whose entry already fired or was cancelled.
    public func cancel(_ handle: TimerHandle) {
        timerQueue.cancel(handle)
        // The timerfd may stay set for the cancelled deadline (it then fires and finds nothing
        // due), but an empty queue must not keep the loop alive.
        if !isDispatchingTimers, timerQueue.count == 0 {
            rearmTimer()
        }
    }

    /// The number of pending timer entries.
    public var pendingTimerCount: Int { timerQueue.count }

    func dispatchDueTimers() {
        timerWakeups += 1
        armedDeadline = nil
        let now = uv_hrtime()
        isDispatchingTimers = true
        while let entry = timerQueue.popDue(now: now) {
            timerFired?(entry.tag, now)
        }
        isDispatchingTimers = false
        // The expired timerfd is not read: rearmTimer either sets it again, which clears its
        // readable state, or stops watching it, and it is always set before it is watched again.
        // A fleet wakes for a timer thousands of times a second, and a read is a system call each.
        rearmTimer()
    }

    // Sets the timerfd to the earliest deadline and watches it, or stops watching so an empty
    // queue does not keep the loop alive.
    private func rearmTimer() {
        guard let deadline = timerQueue.nextDeadline else {
            // A deadline left in the timerfd only makes a later dispatch find nothing due.
            if isWatchingTimer {
                uv_poll_stop(timerWatcher)
                isWatchingTimer = false
            }
            armedDeadline = nil
            return
        }
        guard deadline != armedDeadline else { return }
        // An absolute time of 0 would disarm the timerfd: a deadline at or before the epoch of
        // the monotonic clock is due now, which 1 ns expresses.
        let target = max(deadline, 1)
        var setting = itimerspec()
        setting.it_value.tv_sec = Int(target / 1_000_000_000)
        setting.it_value.tv_nsec = Int(target % 1_000_000_000)
        timerfd_settime(timerDescriptor, Int32(TFD_TIMER_ABSTIME), &setting, nil)
        if !isWatchingTimer {
            uv_poll_start(timerWatcher, Int32(UV_READABLE.rawValue)) { watcher, _, _ in
                if let watcher {
                    EventLoop.owning(watcher.pointee.loop).dispatchDueTimers()
                }
            }
            isWatchingTimer = true
        }
        armedDeadline = deadline
    }
}
