import CLibUV
import Glibc

/// The process's one libuv loop, owning every UDP socket, the single timer and the signal watchers.
///
/// A class because it owns the `uv_loop_t`, whose address libuv keeps. Not `Sendable`: the
/// loop and every handler belong to the one thread that runs it.
public final class EventLoop {
    /// Called for each due timer entry, in deadline order; may schedule and cancel.
    /// `now` is the time the dispatch started, so `now >= deadline`.
    public var timerFired: ((_ tag: UInt64, _ now: UInt64) -> Void)?

    /// Called for each datagram; `bytes` points into the loop's one receive buffer and is
    /// valid only during the call.
    public var datagramReceived: ((
        _ socket: UDPSocketID, _ tag: UInt64, _ bytes: UnsafeRawBufferPointer, _ peer: SocketAddress, _ now: UInt64
    ) -> Void)?

    /// Called on the loop thread for each watched signal that arrived.
    public var signalReceived: ((_ signal: Int32) -> Void)?

    /// Datagrams that did not leave: libuv or kernel errors, stale socket IDs, queued sends
    /// cancelled by `close`.
    public internal(set) var sendErrorCount = 0

    /// Sends that found the socket busy (`UV_EAGAIN`) and were queued with a copy of their bytes.
    public internal(set) var queuedSendCount = 0

    /// Receive errors reported by the kernel (e.g. ICMP port unreachable on a connected
    /// socket) and datagrams dropped as unreadable.
    public internal(set) var receiveErrorCount = 0

    let loop: UnsafeMutablePointer<uv_loop_t>
    /// A timerfd the loop watches: the timer queue's earliest deadline, to the nanosecond.
    let timerDescriptor: Int32
    let timerWatcher: UnsafeMutablePointer<uv_poll_t>
    // One buffer for every socket: libuv calls the read callback right after the alloc
    // callback on this thread, so no two datagrams are ever in it at once.
    let receiveBuffer: UnsafeMutableRawBufferPointer
    var timerQueue = TimerQueue()
    // The deadline the timerfd is set for; nil once it fired or while the queue is empty.
    var armedDeadline: UInt64?
    // Whether the loop watches the timerfd: only while timers are pending, so they alone keep it running.
    var isWatchingTimer = false
    var isDispatchingTimers = false
    /// Times the timerfd woke the loop: one per distinct deadline reached, never a busy loop.
    var timerWakeups = 0
    var sockets = UDPSocketTable()
    var signalWatchers: [UnsafeMutablePointer<uv_signal_t>] = []
    /// The scrape endpoint (`EventLoop+HTTP.swift`): its listener, what answers it, and the
    /// bytes of requests not yet complete, by connection.
    var httpListener: UnsafeMutablePointer<uv_tcp_t>?
    var httpResponder: ((_ method: String, _ path: String) -> HTTPResponse)?
    var httpRequests: [UnsafeMutableRawPointer: [UInt8]] = [:]
    // Set by deinit: callbacks run while closing must not call the owner's handlers.
    var isTearingDown = false
    private var isRunning = false

    /// Creates the loop; it does nothing until `run()`.
    public init() throws {
        let loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        let status = uv_loop_init(loop)
        guard status == 0 else {
            loop.deallocate()
            throw EventLoopError("initialize the libuv loop", code: status)
        }
        // libuv's own timers count whole milliseconds of a clock read once per loop iteration, so
        // they fire up to a millisecond late: too coarse for 10,000 arrivals a second and for a
        // loop-lag measure in microseconds. A timerfd on the same monotonic clock as uv_hrtime
        // wakes the poll exactly at the deadline.
        let descriptor = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard descriptor >= 0 else {
            uv_loop_close(loop)
            loop.deallocate()
            throw EventLoopError("create the loop's timerfd", code: -errno)
        }
        let watcher = UnsafeMutablePointer<uv_poll_t>.allocate(capacity: 1)
        let watched = uv_poll_init(loop, watcher, descriptor)
        guard watched == 0 else {
            watcher.deallocate()
            Glibc.close(descriptor)
            uv_loop_close(loop)
            loop.deallocate()
            throw EventLoopError("watch the loop's timerfd", code: watched)
        }
        self.loop = loop
        timerDescriptor = descriptor
        timerWatcher = watcher
        receiveBuffer = .allocate(byteCount: 65536, alignment: 16)
        loop.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        isTearingDown = true
        uv_walk(loop, { handle, _ in
            guard let handle, uv_is_closing(handle) == 0 else {
                return
            }
            if uv_handle_get_type(handle) == UV_UDP {
                uv_close(handle, udpSocketClosed)
            } else {
                uv_close(handle, deallocateClosedHandle)
            }
        }, nil)
        // Runs the close callbacks and waits for in-flight resolutions, whose completions are dropped.
        uv_run(loop, UV_RUN_DEFAULT)
        let status = uv_loop_close(loop)
        assert(status == 0, "libuv loop still busy after closing every handle")
        Glibc.close(timerDescriptor)
        loop.deallocate()
        receiveBuffer.deallocate()
    }

    /// Monotonic time in nanoseconds, the clock of timer deadlines.
    public var now: UInt64 { uv_hrtime() }

    /// Runs until `stop()` is called or nothing (no socket, pending timer or resolution) is left.
    public func run() {
        precondition(!isRunning, "EventLoop.run() called from inside a loop callback")
        isRunning = true
        defer { isRunning = false }
        uv_run(loop, UV_RUN_DEFAULT)
    }

    /// Makes `run()` return after the current loop iteration.
    public func stop() {
        uv_stop(loop)
    }

    /// The loop whose `uv_loop_t` is `loop`, for C callbacks that only get a handle.
    static func owning(_ loop: UnsafeMutablePointer<uv_loop_t>) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(loop.pointee.data).takeUnretainedValue()
    }
}

/// Close callback for handles whose only resource is their own memory (the timer watcher, signal watchers).
func deallocateClosedHandle(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    UnsafeMutableRawPointer(handle)?.deallocate()
}

/// Views a libuv handle of a specific type as the `uv_handle_t` every handle starts with.
func asHandle<Handle>(_ handle: UnsafeMutablePointer<Handle>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
}
