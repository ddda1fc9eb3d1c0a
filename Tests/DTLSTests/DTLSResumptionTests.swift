import CoAP
import DTLS
import XCTest

/// Session resumption from tickets (RFC 5077): a client that saved its session resumes it in an
/// abbreviated handshake, and one the server cannot resume gets a full handshake.
final class DTLSResumptionTests: XCTestCase {
    private let key = PreSharedKey(identity: "urn:dev:fleet:000001", key: Array("0123456789abcdef".utf8))
    private let transportID = Array("127.0.0.1:5684".utf8)

    private var ticketParameters: DTLSParameters {
        var parameters = DTLSParameters()
        parameters.requestsSessionTicket = true
        return parameters
    }

    /// A full handshake with a client that asks for a ticket, on `configuration`: its saved session.
    private func savedSession(on configuration: DTLSServerConfiguration) throws -> [UInt8] {
        let first = BackToBackSessions(
            client: try DTLSClientSession(key: key, parameters: ticketParameters, seed: 2),
            server: DTLSServerSession(configuration: configuration, transportID: transportID))
        first.start()
        XCTAssertTrue(first.run())
        XCTAssertEqual(first.clientEvents, [.established(.pskWithAES128CCM8, resumed: false)])
        XCTAssertEqual(first.serverEvents, [.established(.pskWithAES128CCM8, resumed: false)])
        return try XCTUnwrap(first.client.resumableSession, "a client that asked for a ticket can save its session")
    }

    func testSavedSessionResumesInAnAbbreviatedHandshakeAndDataFlows() throws {
        let configuration = try DTLSServerConfiguration(keys: .fixed(key.key), seed: 1)
        let saved = try savedSession(on: configuration)
        XCTAssertLessThan(saved.count, 1_024, "a small value the caller keeps")

        let second = BackToBackSessions(
            client: try DTLSClientSession(key: key, parameters: ticketParameters, seed: 3, resuming: saved),
            server: DTLSServerSession(configuration: configuration, transportID: transportID))
        second.start()
        XCTAssertTrue(second.run())
        XCTAssertEqual(second.clientEvents, [.established(.pskWithAES128CCM8, resumed: true)])
        XCTAssertEqual(second.serverEvents, [.established(.pskWithAES128CCM8, resumed: true)])
        XCTAssertNotNil(second.client.resumableSession, "a resumed session can be saved again")

        XCTAssertTrue(second.clientSends("POST /rd/1"))
        XCTAssertTrue(second.serverSends("2.04 Changed"))
        second.deliver()
        XCTAssertEqual(second.serverReceived.map { String(decoding: $0, as: UTF8.self) }, ["POST /rd/1"])
        XCTAssertEqual(second.clientReceived.map { String(decoding: $0, as: UTF8.self) }, ["2.04 Changed"])
    }

    func testTicketOfAnotherServerConfigurationFallsBackToAFullHandshake() throws {
        let saved = try savedSession(on: try DTLSServerConfiguration(keys: .fixed(key.key), seed: 1))
        let other = try DTLSServerConfiguration(keys: .fixed(key.key), seed: 99)

        let second = BackToBackSessions(
            client: try DTLSClientSession(key: key, parameters: ticketParameters, seed: 3, resuming: saved),
            server: DTLSServerSession(configuration: other, transportID: transportID))
        second.start()
        XCTAssertTrue(second.run())
        XCTAssertEqual(second.clientEvents, [.established(.pskWithAES128CCM8, resumed: false)])
        XCTAssertEqual(second.serverEvents, [.established(.pskWithAES128CCM8, resumed: false)])
        XCTAssertEqual(second.server.clientIdentity, key.identity, "a full handshake looks the key up")
        XCTAssertTrue(second.clientSends("POST /rd/1"))
        second.deliver()
        XCTAssertEqual(second.serverReceived.map { String(decoding: $0, as: UTF8.self) }, ["POST /rd/1"])
    }

    func testSessionThatMbedTLSCannotLoadFallsBackToAFullHandshake() throws {
        let configuration = try DTLSServerConfiguration(keys: .fixed(key.key), seed: 1)
        let second = BackToBackSessions(
            client: try DTLSClientSession(key: key, parameters: ticketParameters, seed: 3, resuming: [1, 2, 3]),
            server: DTLSServerSession(configuration: configuration, transportID: transportID))
        second.start()
        XCTAssertTrue(second.run())
        XCTAssertEqual(second.clientEvents, [.established(.pskWithAES128CCM8, resumed: false)])
    }

    func testClientThatAsksForNoTicketHasNoSessionToSave() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key))
        pair.start()
        XCTAssertTrue(pair.run())
        XCTAssertNil(pair.client.resumableSession, "no ticket, nothing our servers could resume")
    }
}
