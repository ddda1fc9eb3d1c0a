import EventLoop
import XCTest

final class EventLoopResolveTests: XCTestCase {
    func testResolvingLocalhostGivesAddressesWithTheRequestedPort() throws {
        let result = try resolve("localhost", port: 5683)
        let addresses = try result.get()
        XCTAssertFalse(addresses.isEmpty)
        for address in addresses {
            XCTAssertEqual(address.port, 5683)
            XCTAssertTrue(["127.0.0.1:5683", "[::1]:5683"].contains(address.description), address.description)
        }
    }

    func testResolvingAnInvalidNameGivesAFailureValue() throws {
        // RFC 6761: .invalid never resolves.
        let result = try resolve("no-such-device-server.invalid", port: 5683)
        guard case .failure(let error) = result else {
            return XCTFail("resolved a .invalid name: \(result)")
        }
        XCTAssertTrue(error.description.hasPrefix("resolve \"no-such-device-server.invalid\": "), error.description)
    }

    private func resolve(_ host: String, port: UInt16) throws -> Result<[SocketAddress], EventLoopError> {
        let loop = try EventLoop()
        let timeLimit = loop.scheduleTimeLimit()
        loop.timerFired = { [unowned loop] tag, _ in _ = loop.reachedTimeLimit(tag) }
        var result: Result<[SocketAddress], EventLoopError>?
        loop.resolve(host: host, port: port) { [unowned loop] in
            result = $0
            loop.cancel(timeLimit)
        }
        loop.runUntilIdle()
        return try XCTUnwrap(result)
    }
}
