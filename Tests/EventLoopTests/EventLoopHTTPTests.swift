import Dispatch
import EventLoop
import Foundation
import SharedTestData
import XCTest

/// The scrape endpoint on the loop's thread: one request per connection, answered and closed.
final class EventLoopHTTPTests: XCTestCase {
    private func scrape(_ requests: [String]) throws -> [String] {
        let loop = try EventLoop()
        let bound = try loop.serveHTTP(on: try SocketAddress(ipAddress: "127.0.0.1", port: 0)) { method, path in
            guard method == "GET" else { return HTTPResponse(status: 405, contentType: "text/plain", body: Array("GET only\n".utf8)) }
            guard path == "/metrics" else { return HTTPResponse(status: 404, contentType: "text/plain", body: Array("not found\n".utf8)) }
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", body: Array("fleet_up 1\n".utf8))
        }
        XCTAssertNotEqual(bound.port, 0)
        /// Written by the client thread before it signals `done`, read after.
        final class Responses: @unchecked Sendable { var all: [String] = [] }
        let responses = Responses()
        let done = DispatchSemaphore(value: 0)
        let port = bound.port
        DispatchQueue.global().async {
            responses.all = requests.map { LoopbackHTTP.exchange(Array($0.utf8), port: port, inTwoPieces: true) ?? "connect failed" }
            done.signal()
        }
        // The listener does not keep the loop running: a timer does, until the client is done.
        let guardTimer = loop.scheduleTimeLimit(seconds: 10)
        loop.timerFired = { tag, _ in
            if loop.reachedTimeLimit(tag) { return }
            if done.wait(timeout: .now()) == .success {
                loop.cancel(guardTimer)
                loop.stop()
            } else {
                _ = loop.schedule(at: loop.now + 10_000_000, tag: 1)
            }
        }
        _ = loop.schedule(at: loop.now + 10_000_000, tag: 1)
        loop.run()
        return responses.all
    }

    func testAScrapeGetsTheBodyWithItsLengthAndTheConnectionCloses() throws {
        let responses = try scrape([
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n",
            "GET /other HTTP/1.1\r\n\r\n",
            "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            "not http at all\r\n\r\n",
        ])
        XCTAssertEqual(responses[0], "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 11\r\nConnection: close\r\n\r\nfleet_up 1\n")
        XCTAssertTrue(responses[1].hasPrefix("HTTP/1.1 404 Not Found\r\n"), responses[1])
        XCTAssertTrue(responses[2].hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"), responses[2])
        XCTAssertTrue(responses[3].hasPrefix("HTTP/1.1 400 Bad Request\r\n"), responses[3])
    }

    func testARequestThatNeverEndsItsHeaderIsRefusedOnceTooLarge() throws {
        let responses = try scrape(["GET /metrics HTTP/1.1\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 500)])
        XCTAssertTrue(responses[0].hasPrefix("HTTP/1.1 431 "), responses[0])
    }
}
