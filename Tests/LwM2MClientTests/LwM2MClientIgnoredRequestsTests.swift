import CoAP
import LwM2M
@testable import LwM2MClient
import XCTest

/// The rule under loss: a device ignores DM and Information Reporting requests from its server
/// during a bootstrap and until its Registration acknowledgement. What becomes of those requests'
/// retransmissions, and which of them prove that the server broke the rule.
final class LwM2MClientIgnoredRequestsTests: XCTestCase {
    typealias F = ClientFixtures

    /// A device whose server answers Register with `register` (nil holds the answer) and nothing else.
    private func network(register: CoAPMessage? = F.created(), records: [LwM2MRecord] = F.serverAccount(lifetime: 86_400)) -> Lockstep {
        let network = Lockstep(client: F.client(records))
        network.server.handler = { request in request.uriPath == ["rd"] ? register : nil }
        return network
    }

    // MARK: Retransmissions of ignored requests

    /// Register, its 2.01 lost, the server's Read (right: it sent the 2.01) ignored while
    /// registering, the Register retransmitted and answered from the server's cache: the Read's
    /// next retransmission is answered, not dropped as a duplicate until it times out.
    func testReadIgnoredWhileTheCreatedWasLostIsAnsweredWhenRetransmitted() {
        let network = network()
        var createdLost = false
        network.losesToDevice = { _, message in
            guard message.code == .created, !createdLost else { return false }
            createdLost = true
            return true
        }
        network.start()
        XCTAssertEqual(network.client.stateName, "registering")
        let read = network.request(F.request(.get, "/3/0"), from: .server)
        XCTAssertNil(network.server.responses[read], "ignored while registering")
        network.advance(seconds: 5)
        XCTAssertEqual(network.client.stateName, "registered")
        XCTAssertEqual(network.server.responses[read]?.code, .content, "answered on its retransmission after the 2.01")
        XCTAssertEqual(network.ignoredUnproven.map(\.operation), [.read], "counted once, as not proven")
        XCTAssertEqual(network.violations, [], "the server sent it after its 2.01: no violation")
    }

    /// The same with the 2.01 overtaken by the Read on the way.
    func testReadOvertakingTheCreatedIsAnsweredWhenRetransmitted() {
        let network = network()
        network.holdsToDevice = { _, message in message.code == .created }
        network.start()
        let read = network.request(F.request(.get, "/3/0"), from: .server)
        network.holdsToDevice = { _, _ in false }
        network.releaseHeld()
        XCTAssertEqual(network.client.stateName, "registered")
        XCTAssertNil(network.server.responses[read])
        network.advance(seconds: 5)
        XCTAssertEqual(network.server.responses[read]?.code, .content)
        XCTAssertEqual(network.ignoredUnproven.map(\.operation), [.read])
        XCTAssertEqual(network.violations, [])
    }

    /// More requests before the 2.01 than the duplicate cache holds answered entries: each is
    /// still counted once, whatever number came and however often they were retransmitted.
    func testNineRequestsBeforeTheCreatedAreEachCountedOnceAndAllAnswered() throws {
        let network = network(register: nil)
        network.start()
        let reads = (0..<9).map { _ in network.request(F.request(.get, "/3/0/0"), from: .server) }
        network.advance(seconds: 2.5)
        XCTAssertEqual(network.client.stateName, "registering", "their first retransmissions came while registering")
        network.answer(try XCTUnwrap(network.server.requests.first), with: .created)
        XCTAssertEqual(network.client.stateName, "registered")
        network.advance(seconds: 5)
        XCTAssertEqual(reads.map { network.server.responses[$0]?.code }, Array(repeating: .content, count: 9))
        XCTAssertEqual(network.ignoredUnproven.count, 9)
        XCTAssertEqual(network.violations, [])
    }

    // MARK: What proves a violation

    /// `serve --violate before-ack`: an empty ACK to Register, requests, then the 2.01 as a
    /// separate CON. A server holding an unacknowledged CON starts no request (RFC 7252 4.7,
    /// NSTART = 1), so these were sent before its 2.01: proven.
    func testRequestsBeforeASeparateCreatedAreProvenViolations() throws {
        let network = network(register: nil)
        network.start()
        let register = try XCTUnwrap(network.server.requests.first)
        network.inject(.empty(.acknowledgement, messageID: register.messageID))
        network.request(F.request(.get, "/3/0"), from: .server)
        network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        XCTAssertEqual(network.ignored, [], "undecided until the Register's outcome")
        var created = F.created()
        created.type = .confirmable
        created.messageID = 0x4242
        created.token = register.token
        network.inject(created)
        XCTAssertEqual(network.client.stateName, "registered")
        XCTAssertEqual(network.violations.map(\.operation), [.read, .observe])
        XCTAssertEqual(network.violations.map(\.state), [.registering, .registering])
        XCTAssertEqual(network.ignoredUnproven, [])
    }

    /// A piggybacked 2.01 may have been sent, and lost, before the requests: nothing is proven.
    func testRequestsBeforeAPiggybackedCreatedAreNotProven() throws {
        let network = network(register: nil)
        network.start()
        network.request(F.request(.get, "/3/0"), from: .server)
        network.answer(try XCTUnwrap(network.server.requests.first), with: .created)
        XCTAssertEqual(network.ignoredUnproven.map(\.state), [.registering])
        XCTAssertEqual(network.violations, [])
    }

    /// A server that refused every Register on this connection holds no registration of the
    /// device: whatever it asks is against the rule.
    func testRequestsToADeviceWhoseRegistersWereRefusedAreProvenViolations() throws {
        let network = network(register: CoAPMessage(type: .acknowledgement, code: .forbidden))
        network.server.handler = { _ in nil }
        network.start()
        network.request(F.request(.get, "/3/0"), from: .server)
        network.answer(try XCTUnwrap(network.server.requests.first), with: .forbidden)
        XCTAssertEqual(network.client.stateName, "waiting-to-register")
        network.request(F.request(.put, "/1/0/1", payload: Array("5".utf8), format: .plainText), from: .server)
        XCTAssertEqual(network.violations.map(\.operation), [.read, .write])
        XCTAssertEqual(network.violations.map(\.state), [.registering, .waitingToRegister])
        XCTAssertEqual(network.ignoredUnproven, [])
    }

    /// Registering again on a connection where the server still holds a registration (a reboot),
    /// and de-registering: the server may have sent its request before it learnt of either.
    func testRequestsWhileRegisteringAgainOrDeregisteringAreNotProven() throws {
        let network = network()
        network.start()
        network.server.handler = { _ in nil }
        network.request(F.request(.post, "/3/0/4"), from: .server)
        XCTAssertEqual(network.client.stateName, "registering")
        network.request(F.request(.get, "/3/0"), from: .server)
        var created = F.created()
        created.type = .confirmable
        created.messageID = 0x4243
        created.token = try XCTUnwrap(network.server.requests.last).token
        network.inject(created)
        XCTAssertEqual(network.client.stateName, "registered")
        network.stop(deregister: true)
        XCTAssertEqual(network.client.stateName, "deregistering")
        network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        XCTAssertEqual(network.ignoredUnproven.map(\.state), [.registering, .deregistering])
        XCTAssertEqual(network.violations, [])
    }

    /// After the device answered the server's Bootstrap-Request Trigger, the server knows it
    /// bootstraps (and sends nothing new before that answer, NSTART = 1): its requests are proven
    /// violations for as long as it cannot have given up on the Execute instead, the last
    /// retransmission timeout, ACK_TIMEOUT x 2^MAX_RETRANSMIT (32 s).
    func testRequestsAfterTheBootstrapRequestTriggerAreProvenWhileTheServerCannotHaveGivenUp() {
        let network = network(records: F.bootstrapAccount() + F.serverAccount(lifetime: 86_400))
        network.start()
        XCTAssertEqual(network.client.stateName, "registered")
        let trigger = network.request(F.request(.post, "/1/0/9"), from: .server)
        XCTAssertEqual(network.server.responses[trigger]?.code, .changed)
        XCTAssertEqual(network.client.stateName, "bootstrapping", "the Bootstrap-Server does not answer")
        network.advance(seconds: 1)
        network.request(F.request(.get, "/3/0"), from: .server)
        network.advance(seconds: 32)
        network.request(F.request(.get, "/3/0/9"), from: .server)
        XCTAssertEqual(network.client.stateName, "bootstrapping")
        XCTAssertEqual(network.violations.map(\.path), ["/3/0"])
        XCTAssertEqual(network.ignoredUnproven.map(\.path), ["/3/0/9"])
    }

    /// The server learns the device bootstraps only from the answer it hears: when the first
    /// answers to its Trigger are lost, the window runs from the answer to its retransmission.
    func testTheWindowOfProofRunsFromTheAnswerToTheTriggerTheServerHeard() {
        let network = network(records: F.bootstrapAccount() + F.serverAccount(lifetime: 86_400))
        network.start()
        var lost = 0
        network.losesFromDevice = { role, message in
            guard role == .server, message.code == .changed, lost < 2 else { return false }
            lost += 1
            return true
        }
        let trigger = network.request(F.request(.post, "/1/0/9"), from: .server)
        XCTAssertNil(network.server.responses[trigger], "the first answer is lost")
        // Retransmitted after 2 s (its answer lost again) and 6 s (heard).
        network.advance(seconds: 7)
        XCTAssertEqual(network.server.responses[trigger]?.code, .changed)
        // 35 s after the device first answered, 29 s after the answer the server heard.
        network.advance(seconds: 28)
        network.request(F.request(.get, "/3/0"), from: .server)
        XCTAssertEqual(network.violations.map(\.path), ["/3/0"])
        XCTAssertTrue(network.ignoredUnproven.isEmpty)
    }
}
