import DTLS
import XCTest

/// Per-device keys derived from one secret, so neither the fleet nor the server keeps a table.
final class PreSharedKeyTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    func testDerivedKeyIsHMACSHA256OfTheIdentityCutTo16Bytes() {
        // Expected values computed independently with Python's hmac module:
        // hmac.new(secret, identity, hashlib.sha256).hexdigest()[:32]
        let device = PreSharedKey.derived(secret: Array("lwm2m-fleet secret".utf8), identity: Array("urn:dev:fleet:000001".utf8))
        XCTAssertEqual(hex(device.key), "654d83c2ebe2f7cd8ad9a9971fe10aa1")
        XCTAssertEqual(device.identity, Array("urn:dev:fleet:000001".utf8))
        // RFC 4231 4.2, test case 1, truncated.
        let vector = PreSharedKey.derived(secret: [UInt8](repeating: 0x0B, count: 20), identity: Array("Hi There".utf8))
        XCTAssertEqual(hex(vector.key), "b0344c61d8db38535ca8afceaf0bf12b")
    }

    func testDerivedKeyIsStableAndDiffersPerIdentity() {
        let secret = Array("lwm2m-fleet secret".utf8)
        let keys = (0..<1_000).map { PreSharedKey.derived(secret: secret, identity: Array("urn:dev:fleet:\($0)".utf8)).key }
        XCTAssertEqual(keys, (0..<1_000).map { PreSharedKey.derived(secret: secret, identity: Array("urn:dev:fleet:\($0)".utf8)).key })
        XCTAssertEqual(Set(keys).count, keys.count)
        XCTAssertTrue(keys.allSatisfy { $0.count == 16 })
        XCTAssertEqual(DTLSServerKeys.derived(secret: secret).key(for: Array("urn:dev:fleet:7".utf8)), keys[7])
    }

    func testDescriptionNeverShowsTheKey() {
        let key = PreSharedKey(identity: "device-1", key: Array("secret-key-bytes".utf8))
        XCTAssertEqual(key.description, "PSK \"device-1\"")
        XCTAssertFalse("\(key)".contains("secret"))
        XCTAssertEqual(PreSharedKey(identity: [0xFF, 0xFE], key: [1]).description, "PSK identity 2 bytes")
    }
}
