import EventLoop
import XCTest

final class SocketAddressTests: XCTestCase {
    func testSocketAddressParsesAndPrintsIPv4AndIPv6() throws {
        let v4 = try SocketAddress(ipAddress: "127.0.0.1", port: 5683)
        XCTAssertFalse(v4.isIPv6)
        XCTAssertEqual(v4.port, 5683)
        XCTAssertEqual(v4.description, "127.0.0.1:5683")

        let v6 = try SocketAddress(ipAddress: "::1", port: 5684)
        XCTAssertTrue(v6.isIPv6)
        XCTAssertEqual(v6.description, "[::1]:5684")
        XCTAssertEqual(try SocketAddress(ipAddress: "2001:db8:0:0:0:0:0:1", port: 1).description, "[2001:db8::1]:1")
        XCTAssertEqual(try SocketAddress(ipAddress: "::ffff:10.0.0.1", port: 1).description, "[::ffff:10.0.0.1]:1")
    }

    func testSocketAddressEqualityCoversFamilyAddressAndPort() throws {
        let a = try SocketAddress(ipAddress: "10.1.2.3", port: 1)
        XCTAssertEqual(a, try SocketAddress(ipAddress: "10.1.2.3", port: 1))
        XCTAssertNotEqual(a, try SocketAddress(ipAddress: "10.1.2.4", port: 1))
        XCTAssertNotEqual(a, try SocketAddress(ipAddress: "10.1.2.3", port: 2))
        XCTAssertNotEqual(try SocketAddress(ipAddress: "0.0.0.0", port: 1), try SocketAddress(ipAddress: "::", port: 1))
        XCTAssertEqual(Set([a, a]).count, 1)
    }

    func testSocketAddressRejectsHostNamesWithClearError() {
        XCTAssertThrowsError(try SocketAddress(ipAddress: "localhost", port: 1)) { error in
            let description = String(describing: error)
            XCTAssertTrue(description.contains("\"localhost\""), description)
            XCTAssertTrue(description.contains("IPv4 or IPv6"), description)
        }
        XCTAssertThrowsError(try SocketAddress(ipAddress: "127.0.0.256", port: 1))
        XCTAssertThrowsError(try SocketAddress(ipAddress: "", port: 1))
    }

    func testSocketAddressStaysSmallEnoughForDeviceTables() {
        XCTAssertLessThanOrEqual(MemoryLayout<SocketAddress>.size, 24)
    }
}
