import CLibUV

// Signals arrive through libuv's self-pipe, so the handler runs on the loop thread like
// every other callback, never inside a signal handler.
extension EventLoop {
    /// Delivers each of `signals` (e.g. SIGINT, SIGTERM) to `signalReceived` instead of its
    /// default action, until the loop is deinitialized. The watchers do not keep the loop alive.
    public func watchSignals(_ signals: [Int32]) throws {
        for signal in signals where !signalWatchers.contains(where: { $0.pointee.signum == signal }) {
            let watcher = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
            let initStatus = uv_signal_init(loop, watcher)
            guard initStatus == 0 else {
                watcher.deallocate()
                throw EventLoopError("watch signal \(signal)", code: initStatus)
            }
            let startStatus = uv_signal_start(watcher, { watcher, signal in
                if let watcher {
                    EventLoop.owning(watcher.pointee.loop).signalReceived?(signal)
                }
            }, signal)
            guard startStatus == 0 else {
                uv_close(asHandle(watcher), deallocateClosedHandle)
                throw EventLoopError("watch signal \(signal)", code: startStatus)
            }
            uv_unref(asHandle(watcher))
            signalWatchers.append(watcher)
        }
    }
}
