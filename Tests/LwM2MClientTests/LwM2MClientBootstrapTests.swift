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
    private func provision(_ network: Lockstep, shortServerID: Int64 = 7, finishing: Bool = true) {
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
        if finishing { network.request(F.request(.post, "/bs"), from: .bootstrapServer) }
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
        XCTAssertEqual(network.connected[.bootstrapServer], F.bootstrapURI, "open for a retransmitted Finish")
        XCTAssertEqual(network.connected[.server], F.serverURI)
        let register = try XCTUnwrap(network.server.requests.first)
        XCTAssertEqual(register.uriPath, ["rd"])
        XCTAssertTrue(register.uriQuery.contains("lt=120"), "\(register.uriQuery)")
        XCTAssertEqual(network.client.stateName, "registered")
        XCTAssertEqual(network.finished(.register).map(\.0), [.succeeded])
        XCTAssertTrue(network.violations.isEmpty)
        network.advance(seconds: 247)
        XCTAssertNil(network.connected[.bootstrapServer], "the bootstrap socket closes EXCHANGE_LIFETIME after Finish")
    }

    func testABootstrapRequestWhoseAnswerWasLostIsNotSentAgainOnceTheBootstrapFinished() throws {
        // The Bootstrap-Server's 2.04 to POST /bs is lost, yet it writes and finishes at once. Sent
        // again on the connection kept open after Finish, the request would reach a Bootstrap-Server
        // done with the device as a new one, and start a second bootstrap of a registered device.
        let network = network(F.bootstrapAccount(), mode: .clientInitiated)
        network.losesToDevice = { role, message in role == .bootstrapServer && message.type == .acknowledgement && message.code == .changed }
        network.start()
        network.advance(seconds: 0.5)
        network.losesToDevice = { _, _ in false }
        provision(network)
        XCTAssertEqual(network.client.stateName, "registered")
        network.advance(seconds: 100)
        let sentBootstrapRequests = network.actions.filter { action in
            guard case .send(.bootstrapServer, let bytes) = action, let message = try? CoAPMessage.decode(bytes).get() else { return false }
            return message.code == .post && message.uriPath == ["bs"]
        }
        XCTAssertEqual(sentBootstrapRequests.count, 1, "no retransmission of the Bootstrap-Request after Finish")
        XCTAssertEqual(network.finished(.bootstrap).map(\.0), [.succeeded])
    }

    func testARetransmittedFinishIsAnsweredFromTheCacheUntilExchangeLifetimeEnds() throws {
        let network = network(F.bootstrapAccount(), mode: .clientInitiated)
        network.start()
        provision(network, finishing: false)
        var finish = F.request(.post, "/bs")
        finish.messageID = 0x7A7A
        finish.token = CoAPToken(value: 0x0102_0304, length: 4)
        func deliverFinish() -> [ClientAction] {
            var actions: [ClientAction] = []
            network.client.receive(finish.encoded(), from: .bootstrapServer, now: network.now, actions: &actions)
            return actions
        }
        func answers(_ actions: [ClientAction]) -> [CoAPCode] {
            actions.compactMap { action in
                guard case .send(.bootstrapServer, let datagram) = action else { return nil }
                return try? CoAPMessage.decode(datagram).get().code
            }
        }
        XCTAssertEqual(answers(deliverFinish()), [.changed])
        XCTAssertEqual(network.client.stateName, "registering")

        // The ACK of that 2.04 was lost: the Bootstrap-Server sends the same Finish again, late.
        network.advance(seconds: 200)
        let again = deliverFinish()
        XCTAssertEqual(answers(again), [.changed], "the duplicate is answered from the cache")
        XCTAssertFalse(again.contains { if case .operationFinished(.bootstrap, _, _, _) = $0 { true } else { false } },
                       "a duplicate is no second bootstrap")
        network.advance(seconds: 47)
        XCTAssertTrue(answers(deliverFinish()).isEmpty, "closed once EXCHANGE_LIFETIME passed")
    }

    func testBootstrapFinishWithoutServerAccountIsRefusedAndTheBootstrapIsAskedForAgainAfterTheBackOff() throws {
        let network = network(F.bootstrapAccount(), mode: .clientInitiated)
        network.start()
        let finish = network.request(F.request(.post, "/bs"), from: .bootstrapServer)
        XCTAssertEqual(network.bootstrapServer.responses[finish]?.code, .notAcceptable)
        XCTAssertFalse(String(decoding: network.bootstrapServer.responses[finish]?.payload ?? [], as: UTF8.self).isEmpty,
                       "4.06 says why")
        // The Bootstrap-Server sends nothing after Finish: the bootstrap failed now, not at the
        // 60 s inactivity deadline (at 20% loss a lost Write makes this common).
        XCTAssertEqual(network.finished(.bootstrap).map(\.0), [.rejected])
        XCTAssertEqual(network.finished(.bootstrap).map(\.1), [.notAcceptable])
        XCTAssertEqual(network.client.stateName, "waiting-to-bootstrap")
        network.advance(seconds: 4.9)
        XCTAssertEqual(network.bootstrapServer.requests.filter { $0.uriPath == ["bs"] && $0.code == .post }.count, 1)
        network.advance(seconds: 0.2)
        XCTAssertEqual(network.bootstrapServer.requests.filter { $0.uriPath == ["bs"] && $0.code == .post }.count, 2,
                       "asked again after the 5 s back-off")
        XCTAssertEqual(network.client.stateName, "bootstrapping")
    }

    func testBootstrapTimeoutCountsFromTheLastMessageOfTheBootstrapServer() throws {
        // A slow Bootstrap-Server: one request every 40 s, 160 s in all, past the 60 s timeout.
        let network = network(F.bootstrapAccount(), mode: .clientInitiated)
        network.start()
        network.advance(seconds: 40)
        network.request(F.request(.delete, "/"), from: .bootstrapServer)
        network.advance(seconds: 40)
        network.request(F.bootstrapWrite("/0/1", [
            LwM2MRecord(path: F.path("/0/1/0"), value: .string(F.serverURI)),
            LwM2MRecord(path: F.path("/0/1/1"), value: .boolean(false)),
            LwM2MRecord(path: F.path("/0/1/2"), value: .integer(3)),
            LwM2MRecord(path: F.path("/0/1/10"), value: .integer(7)),
        ]), from: .bootstrapServer)
        network.advance(seconds: 40)
        network.request(F.bootstrapWrite("/1/0", [
            LwM2MRecord(path: F.path("/1/0/0"), value: .integer(7)),
            LwM2MRecord(path: F.path("/1/0/1"), value: .integer(120)),
            LwM2MRecord(path: F.path("/1/0/7"), value: .string("U")),
        ]), from: .bootstrapServer)
        network.advance(seconds: 40)
        XCTAssertEqual(network.client.stateName, "bootstrapping", "the Bootstrap-Server is still writing")
        network.request(F.request(.post, "/bs"), from: .bootstrapServer)

        XCTAssertEqual(network.finished(.bootstrap).map(\.0), [.succeeded])
        XCTAssertEqual(network.client.stateName, "registered")
    }

    func testServerInitiatedBootstrapWaitsHoldOffThenFallsBackToARequestMeasuredApart() throws {
        let network = network(F.bootstrapAccount(holdOffSeconds: 3), mode: .serverInitiated)
        network.start()
        XCTAssertEqual(network.client.stateName, "holding-off")
        XCTAssertEqual(network.connected[.bootstrapServer], F.bootstrapURI)
        network.advance(seconds: 2.9)
        XCTAssertTrue(network.bootstrapServer.requests.isEmpty, "nothing is sent during ClientHoldOffTime")
        network.advance(seconds: 0.2)
        XCTAssertEqual(network.bootstrapServer.requests.first?.uriPath, ["bs"], "after the hold-off the device asks itself")
        provision(network)
        XCTAssertEqual(network.finished(.bootstrapFallback).map(\.0), [.succeeded], "the fallback is measured apart")
        XCTAssertTrue(network.finished(.bootstrap).isEmpty)
        XCTAssertEqual(network.client.stateName, "registered")
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

    func testOnlyARequestThatChangesTheConfigurationTakesARegisteredDeviceIntoBootstrap() throws {
        let network = network(F.bootstrapAccount(holdOffSeconds: 30), mode: .serverInitiated)
        network.start()
        provision(network)
        XCTAssertEqual(network.client.stateName, "registered")

        // Refused requests and those that only look leave the device registered, answering its server.
        let refusedRead = network.request(F.request(.get, "/3"), from: .bootstrapServer)
        let refusedDelete = network.request(F.request(.delete, "/0/5"), from: .bootstrapServer)
        let discover = network.request(F.request(.get, "/", accept: .linkFormat), from: .bootstrapServer)
        let read = network.request(F.request(.get, "/1"), from: .bootstrapServer)
        XCTAssertEqual(network.bootstrapServer.responses[refusedRead]?.code, .unauthorized)
        XCTAssertEqual(network.bootstrapServer.responses[refusedDelete]?.code, .badRequest)
        XCTAssertEqual(network.bootstrapServer.responses[discover]?.code, .content)
        XCTAssertEqual(network.bootstrapServer.responses[read]?.code, .content)
        XCTAssertEqual(network.client.stateName, "registered")
        let serverRead = network.request(F.request(.get, "/3/0/0"), from: .server)
        XCTAssertEqual(network.server.responses[serverRead]?.code, .content)
        XCTAssertTrue(network.violations.isEmpty)

        // An accepted Bootstrap-Delete changes the configuration: that starts a bootstrap.
        network.request(F.request(.delete, "/1/0"), from: .bootstrapServer)
        XCTAssertEqual(network.client.stateName, "bootstrapping")
    }

    func testAHoldingOffDeviceStartsItsBootstrapWithAnyAcceptedRequest() throws {
        let network = network(F.bootstrapAccount(holdOffSeconds: 3), mode: .serverInitiated)
        network.start()
        network.request(F.request(.get, "/3"), from: .bootstrapServer)
        XCTAssertEqual(network.client.stateName, "holding-off", "a refused request starts nothing")
        network.request(F.request(.get, "/", accept: .linkFormat), from: .bootstrapServer)
        XCTAssertEqual(network.client.stateName, "bootstrapping", "the device waited for exactly this server")
        network.advance(seconds: 5)
        XCTAssertTrue(network.bootstrapServer.requests.isEmpty, "no Bootstrap-Request: the bootstrap is under way")
    }
}
