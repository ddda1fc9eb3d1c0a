import CoAP
import LwM2M
@testable import LwM2MClient
import XCTest

/// Bootstrap through the client state machine, against scripted servers on a manual clock.
final class LwM2MClientBootstrapTests: XCTestCase {
    typealias F = ClientFixtures

    /// A Bootstrap-Server that accepts Bootstrap-Request, and a Server that accepts Register.
    private func network(_ records: [LwM2MRecord], mode: ClientConfiguration.BootstrapMode) -> Lockstep {
        let network = Lockstep(client: F.client(records, mode: mode))
        network.bootstrapServer.handler = { request in
            request.uriPath == ["bs"] ? CoAPMessage(type: .acknowledgement, code: .changed) : nil
        }
        network.server.handler = { request in request.uriPath == ["rd"] ? F.created() : nil }
        return network
    }

    /// The writes a Bootstrap-Server sends for one server account, then Finish.
    private func provision(_ network: Lockstep, shortServerID: Int64 = 7) {
        network.request(F.bootstrapWrite("/0/1", [
            LwM2MRecord(path: F.path("/0/1/0"), value: .string(F.serverURI)),
            LwM2MRecord(path: F.path("/0/1/1"), value: .boolean(false)),
            LwM2MRecord(path: F.path("/0/1/2"), value: .integer(3)),
            LwM2MRecord(path: F.path("/0/1/10"), value: .integer(shortServerID)),
        ]), from: .bootstrapServer)
        network.request(F.bootstrapWrite("/1/0", [
            LwM2MRecord(path: F.path("/1/0/0"), value: .integer(shortServerID)),
            LwM2MRecord(path: F.path("/1/0/1"), value: .integer(120)),
            LwM2MRecord(path: F.path("/1/0/6"), value: .boolean(false)),
            LwM2MRecord(path: F.path("/1/0/7"), value: .string("U")),
        ]), from: .bootstrapServer)
        network.request(F.request(.post, "/bs"), from: .bootstrapServer)
    }

    func testClientInitiatedBootstrapWritesFinishesAndRegisters() throws {
        let network = network(F.bootstrapAccount(), mode: .clientInitiated)
        network.start()
        let bootstrapRequest = try XCTUnwrap(network.bootstrapServer.requests.first)
        XCTAssertEqual(bootstrapRequest.code, .post)
        XCTAssertEqual(bootstrapRequest.uriPath, ["bs"])
        XCTAssertEqual(bootstrapRequest.uriQuery, ["ep=sim-000001"])
        XCTAssertEqual(network.client.stateName, "bootstrapping")

        network.advance(seconds: 0.5)
        // Delete "/" first, as servers do: the bootstrap account at instance 5 must survive it.
        network.request(F.request(.delete, "/"), from: .bootstrapServer)
        XCTAssertTrue(network.client.store.hasInstance(InstanceKey(objectID: 0, instanceID: 5)))
        XCTAssertTrue(network.client.store.hasInstance(InstanceKey(objectID: 3, instanceID: 0)))
        provision(network)

        XCTAssertEqual(network.finished(.bootstrap).map(\.0), [.succeeded])
        XCTAssertNil(network.connected[.bootstrapServer], "the bootstrap socket is closed once bootstrap ends")
        XCTAssertEqual(network.connected[.server], F.serverURI)
        let register = try XCTUnwrap(network.server.requests.first)
        XCTAssertEqual(register.uriPath, ["rd"])
        XCTAssertTrue(register.uriQuery.contains("lt=120"), "\(register.uriQuery)")
        XCTAssertEqual(network.client.stateName, "registered")
        XCTAssertEqual(network.finished(.register).map(\.0), [.succeeded])
        XCTAssertTrue(network.violations.isEmpty)
    }

    func testBootstrapFinishWithoutServerAccountIsRefusedThenTimesOutAndRetries() throws {
        let network = network(F.bootstrapAccount(), mode: .clientInitiated)
        network.start()
        let finish = network.request(F.request(.post, "/bs"), from: .bootstrapServer)
        XCTAssertEqual(network.bootstrapServer.responses[finish]?.code, .notAcceptable)
        XCTAssertFalse(String(decoding: network.bootstrapServer.responses[finish]?.payload ?? [], as: UTF8.self).isEmpty,
                       "4.06 says why")
        XCTAssertEqual(network.client.stateName, "bootstrapping")

        // The 60 s bootstrap timeout passes: the bootstrap fails and is retried after 5 s.
        network.advance(seconds: 60)
        XCTAssertEqual(network.finished(.bootstrap).map(\.0), [.timedOut])
        XCTAssertEqual(network.client.stateName, "waiting-to-bootstrap")
        network.advance(seconds: 5)
        XCTAssertEqual(network.bootstrapServer.requests.filter { $0.uriPath == ["bs"] && $0.code == .post }.count, 2)
    }

    func testServerInitiatedBootstrapWaitsHoldOffThenRequests() throws {
        let network = network(F.bootstrapAccount(holdOffSeconds: 3), mode: .serverInitiated)
        network.start()
        XCTAssertEqual(network.client.stateName, "holding-off")
        XCTAssertEqual(network.connected[.bootstrapServer], F.bootstrapURI)
        network.advance(seconds: 2.9)
        XCTAssertTrue(network.bootstrapServer.requests.isEmpty, "nothing is sent during ClientHoldOffTime")
        network.advance(seconds: 0.2)
        XCTAssertEqual(network.bootstrapServer.requests.first?.uriPath, ["bs"], "after the hold-off the device asks itself")
    }

    func testServerInitiatedBootstrapWritesDuringHoldOff() throws {
        let network = network(F.bootstrapAccount(holdOffSeconds: 30), mode: .serverInitiated)
        network.start()
        network.advance(seconds: 1)
        provision(network)
        XCTAssertTrue(network.bootstrapServer.requests.isEmpty, "no Bootstrap-Request: the server wrote first")
        XCTAssertEqual(network.finished(.bootstrap).map(\.0), [.succeeded])
        XCTAssertEqual(network.client.stateName, "registered")
    }

    func testRequestsFromTheServerDuringBootstrapAreIgnoredAndReportedOnce() throws {
        // Registered first, then sent back to bootstrap by Execute /1/0/9: the old server keeps talking.
        let network = network(F.bootstrapAccount() + F.serverAccount(), mode: .none)
        network.start()
        XCTAssertEqual(network.client.stateName, "registered")
        let trigger = network.request(F.request(.post, "/1/0/9"), from: .server)
        XCTAssertEqual(network.server.responses[trigger]?.code, .changed)
        XCTAssertEqual(network.client.stateName, "bootstrapping")

        let read = network.request(F.request(.get, "/3/0"), from: .server)
        let observe = network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        XCTAssertNil(network.server.responses[read], "no response at all")
        XCTAssertNil(network.server.responses[observe])
        // The server retransmits its CON requests; each message is still one violation.
        network.advance(seconds: 10)
        XCTAssertEqual(network.violations.map(\.operation), [.read, .observe])
        XCTAssertEqual(network.violations.map(\.state), [.bootstrapping, .bootstrapping])
        XCTAssertEqual(network.violations.first?.path, "/3/0")
        XCTAssertFalse(network.client.store.records(at: F.path("/3/0"), now: network.now)?.isEmpty ?? true)
    }

    func testBootstrapServerWritingToARegisteredDeviceStartsABootstrap() throws {
        // Server-initiated mode keeps the bootstrap socket, so the Bootstrap-Server can come back.
        let network = network(F.bootstrapAccount(holdOffSeconds: 30), mode: .serverInitiated)
        network.start()
        provision(network)
        XCTAssertEqual(network.client.stateName, "registered")
        XCTAssertEqual(network.connected[.bootstrapServer], F.bootstrapURI)

        network.request(F.request(.delete, "/1/0"), from: .bootstrapServer)
        XCTAssertEqual(network.client.stateName, "bootstrapping")
        let read = network.request(F.request(.get, "/3/0/0"), from: .server)
        XCTAssertNil(network.server.responses[read], "the old server is ignored during the bootstrap")
        XCTAssertEqual(network.ignoredUnproven.map(\.state), [.bootstrapping], "it cannot know of a bootstrap it did not start")
        XCTAssertEqual(network.violations, [])

        provision(network, shortServerID: 9)
        XCTAssertEqual(network.finished(.bootstrap).map(\.0), [.succeeded, .succeeded])
        XCTAssertEqual(network.client.stateName, "registered")
        XCTAssertEqual(network.server.requests.filter { $0.uriPath == ["rd"] }.count, 2, "registered again")
    }
}
