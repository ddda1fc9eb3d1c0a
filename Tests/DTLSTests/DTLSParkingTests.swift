import CoAP
import DTLS
import XCTest

/// Parking: an idle established session keeps its state in a few hundred bytes instead of its
/// 35 KB context, and carries on as if nothing happened.
final class DTLSParkingTests: XCTestCase {
    private let key = PreSharedKey(identity: "urn:dev:fleet:000001", key: Array("0123456789abcdef".utf8))

    private func establishedPair(suite: DTLSCipherSuite) throws -> BackToBackSessions {
        var parameters = DTLSParameters()
        parameters.cipherSuites = [suite]
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key), clientParameters: parameters)
        pair.start()
        XCTAssertTrue(pair.run())
        return pair
    }

    func testParkedSessionsCarryOnBothWaysForEachAEADSuite() throws {
        for suite in [DTLSCipherSuite.pskWithAES128CCM8, .pskWithAES128GCMSHA256] {
            let pair = try establishedPair(suite: suite)
            XCTAssertTrue(pair.clientSends("register"))
            XCTAssertTrue(pair.serverSends("created"))
            pair.deliver()
            let limit = pair.client.maximumPlaintextLength

            for round in 0..<3 {
                XCTAssertTrue(pair.client.park(), "\(suite) round \(round)")
                XCTAssertTrue(pair.server.park(), "\(suite) round \(round)")
                XCTAssertTrue(pair.client.isParked && pair.server.isParked)
                XCTAssertEqual(pair.client.state, .established(suite), "parking is invisible in the state")
                XCTAssertEqual(pair.client.maximumPlaintextLength, limit)
                XCTAssertNil(pair.client.nextDeadline)

                XCTAssertTrue(pair.clientSends("update \(round)"), "the client loads itself to send")
                XCTAssertFalse(pair.client.isParked)
                pair.deliver()
                XCTAssertFalse(pair.server.isParked, "the server loaded itself to read")
                XCTAssertEqual(pair.serverReceived.last, Array("update \(round)".utf8), "\(suite)")
                XCTAssertTrue(pair.serverSends("changed \(round)"))
                pair.deliver()
                XCTAssertEqual(pair.clientReceived.last, Array("changed \(round)".utf8), "\(suite)")
            }
            XCTAssertEqual(pair.serverEvents, [.established(suite, resumed: false)], "\(suite): no new handshake")
        }
    }

    func testReplayOfARecordFromBeforeParkingIsStillDropped() throws {
        let pair = try establishedPair(suite: .pskWithAES128CCM8)
        XCTAssertTrue(pair.clientSends("once"))
        let record = try XCTUnwrap(pair.sentByClient.last)
        pair.deliver()
        XCTAssertTrue(pair.server.park())
        pair.inject(record, intoServer: true)
        XCTAssertFalse(pair.server.isParked)
        XCTAssertEqual(pair.serverReceived, [Array("once".utf8)], "the replay window was saved with the session")
    }

    func testParkingIsRefusedWhereMbedTLSCannotSave() throws {
        let client = try DTLSClientSession(key: key, seed: 1)
        XCTAssertFalse(client.park(), "not started")

        let cbc = try establishedPair(suite: .pskWithAES128CBCSHA256)
        XCTAssertFalse(cbc.client.park(), "mbedTLS saves AEAD sessions only")
        XCTAssertFalse(cbc.client.isParked)
        XCTAssertTrue(cbc.clientSends("still works"))

        let pair = try establishedPair(suite: .pskWithAES128CCM8)
        XCTAssertFalse(pair.server.park(), "the server keeps its last flight until the client is heard from")
        XCTAssertTrue(pair.client.park(), "the client received the last flight: nothing to keep")
        XCTAssertTrue(pair.clientSends("hello"))
        pair.deliver()
        XCTAssertTrue(pair.server.park())
    }

    func testClosingAParkedSessionSendsCloseNotify() throws {
        let pair = try establishedPair(suite: .pskWithAES128CCM8)
        XCTAssertTrue(pair.client.park())
        pair.closeClient()
        XCTAssertEqual(pair.client.state, .closed)
        pair.deliver()
        XCTAssertEqual(pair.serverEvents.last, .closedByPeer)
    }
}
