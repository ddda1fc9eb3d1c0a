import EventLoop
import Foundation
import Synchronization

/// `--metrics-port`: serves `LiveMetrics` as Prometheus text at `/metrics`, from a thread and an
/// event loop of its own, so a scrape never delays a device's datagram and the devices' loop
/// does nothing for it; the metrics themselves are updated once a second from the progress
/// reports (`ProgressPrinter`, `serve`'s status tick).
public final class MetricsEndpoint: Sendable {
    /// Where it listens, with the port the kernel picked for port 0.
    public let address: SocketAddress
    private let stopFlag: StopFlag
    private let stopped: DispatchSemaphore

    /// Set by `stop()` on any thread, read by the endpoint's loop.
    private final class StopFlag: Sendable {
        let requested = Atomic(false)
    }
    /// How often the endpoint's loop looks whether it should stop.
    private static let stopCheckNanoseconds: UInt64 = 50_000_000

    /// Starts listening on `host:port`; throws when the address cannot be bound.
    public init(host: String = "127.0.0.1", port: UInt16, metrics: LiveMetrics) throws {
        let requested = try SocketAddress(ipAddress: host, port: port)
        let stopFlag = StopFlag()
        let stopped = DispatchSemaphore(value: 0)
        let ready = DispatchSemaphore(value: 0)
        /// What the thread reports back once it listens (or could not).
        final class Outcome: @unchecked Sendable { var result: Result<SocketAddress, any Error> = .failure(CancellationError()) }
        let outcome = Outcome()
        let thread = Thread {
            defer { stopped.signal() }
            let loop: EventLoop
            do {
                loop = try EventLoop()
                outcome.result = .success(try loop.serveHTTP(on: requested) { method, path in
                    Self.respond(method: method, path: path, metrics: metrics)
                })
            } catch {
                outcome.result = .failure(error)
                ready.signal()
                return
            }
            ready.signal()
            // The listener keeps no loop alive: this timer does, until `stop()`.
            loop.timerFired = { _, now in
                if stopFlag.requested.load(ordering: .acquiring) { return loop.stop() }
                _ = loop.schedule(at: now + Self.stopCheckNanoseconds, tag: 0)
            }
            _ = loop.schedule(at: loop.now + Self.stopCheckNanoseconds, tag: 0)
            loop.run()
        }
        thread.name = "metrics endpoint"
        thread.start()
        ready.wait()
        address = try outcome.result.get()
        self.stopFlag = stopFlag
        self.stopped = stopped
    }

    /// Stops listening and waits for the endpoint's thread to end.
    public func stop() {
        guard !stopFlag.requested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopped.wait()
    }

    /// `GET /metrics` gets the exposition; anything else is refused.
    private static func respond(method: String, path: String, metrics: LiveMetrics) -> HTTPResponse {
        guard method == "GET" else { return HTTPResponse(status: 405, contentType: "text/plain", body: Array("only GET\n".utf8)) }
        guard path == "/metrics" || path.hasPrefix("/metrics?") else {
            return HTTPResponse(status: 404, contentType: "text/plain", body: Array("the metrics are at /metrics\n".utf8))
        }
        return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition())
    }
}
