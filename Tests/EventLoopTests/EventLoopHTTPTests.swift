import Dispatch
import EventLoop
import Foundation
import Glibc
import XCTest

/// The scrape endpoint on the loop's thread: one request per connection, answered and closed.
final class EventLoopHTTPTests: XCTestCase {
    /// Sends `request` to `port` on 127.0.0.1 with a blocking socket and reads until the server
    /// closes; on a thread of its own, while the loop runs.
    private static func exchange(_ request: [UInt8], port: UInt16) -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return "socket failed" }
        defer { Glibc.close(descriptor) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "connect failed" }
        // In two pieces, as a slow client might.
        let half = request.count / 2
        _ = request[..<half].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        usleep(20_000)
        _ = request[half...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            response += chunk[..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

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
            responses.all = requests.map { Self.exchange(Array($0.utf8), port: port) }
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
