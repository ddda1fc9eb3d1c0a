import CoAP
import XCTest

/// Server URIs as users write them in fleet files, and the mistakes they make.
final class CoAPURITests: XCTestCase {
    func testDefaultPortsAndIPv6Literal() throws {
        XCTAssertEqual(try CoAPURI("coap://leshan.example").port, 5683)
        XCTAssertEqual(try CoAPURI("coaps://leshan.example").port, 5684)
        let ipv6 = try CoAPURI("coap://[::1]:5783/bs")
        XCTAssertEqual(ipv6.host, "::1")
        XCTAssertEqual(ipv6.port, 5783)
        XCTAssertEqual(ipv6.path, ["bs"])
        XCTAssertEqual(ipv6.description, "coap://[::1]:5783/bs")
    }

    func testCoapsIsSecureAndCoapIsNot() throws {
        XCTAssertTrue(try CoAPURI("coaps://10.0.0.5").isSecure)
        XCTAssertTrue(try CoAPURI("COAPS://10.0.0.5:5684").isSecure, "schemes are case-insensitive (RFC 3986 3.1)")
        XCTAssertFalse(try CoAPURI("coap://10.0.0.5:5684").isSecure, "the scheme decides, not the port")
    }

    func testRootPathHasNoSegments() throws {
        XCTAssertEqual(try CoAPURI("coap://127.0.0.1:5683/").path, [])
        XCTAssertEqual(try CoAPURI("coap://127.0.0.1:5683").path, [])
    }

    func testMistakesAreReportedWithTheURI() {
        for bad in ["http://host", "coap//host", "coap://", "coap://host:0", "coap://host:99999", "coap://host/a%zz",
                    "coap://[::1", "coap://host/#frag"] {
            XCTAssertThrowsError(try CoAPURI(bad), bad) { error in
                XCTAssertTrue("\(error)".contains(bad), "\(error) names the input")
            }
        }
    }
}
