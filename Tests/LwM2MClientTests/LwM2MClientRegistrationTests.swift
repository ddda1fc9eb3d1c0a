import CoAP
import LwM2M
@testable import LwM2MClient
import SharedTestData
import XCTest

/// Register, Update, De-register and registration retries, on a manual clock.
final class LwM2MClientRegistrationTests: XCTestCase {
    typealias F = ClientFixtures

    private func registered(lifetime: Int64 = 300, extra: [LwM2MRecord] = [], version: LwM2MVersion = .v1_1) -> Lockstep {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: lifetime, extra: extra), version: version))
        network.server.handler = { request in
            if request.uriPath == ["rd"] { return F.created() }
            if request.uriPath == ["rd", "5a3f"] {
                return CoAPMessage(type: .acknowledgement, code: request.code == .delete ? .deleted : .changed)
            }
            return nil
        }
        network.start()
        return network
    }

    func testRegisterCarriesParametersAndObjectLinks() throws {
        let network = registered()
        let register = try XCTUnwrap(network.server.requests.first)
        XCTAssertEqual(register.type, .confirmable)
        XCTAssertEqual(register.code, .post)
        XCTAssertEqual(register.uriPath, ["rd"])
        XCTAssertEqual(Set(register.uriQuery), ["ep=sim-000001", "lt=300", "lwm2m=1.1", "b=U"])
        XCTAssertEqual(register.contentFormat, LwM2MContentFormat.linkFormat.rawValue)
        let links = String(decoding: register.payload, as: UTF8.self)
        let payload = try RegistrationPayload.parse(links, lwm2mVersion: .v1_1).get()
        XCTAssertEqual(payload.availableInstances.map(\.description), ["/1/0", "/3/0"], links)
        XCTAssertNil(payload.supportedObjects[0], "the Security object is never listed")
        XCTAssertEqual(network.client.stateName, "registered")
        XCTAssertEqual(network.finished(.register).map(\.0), [.succeeded])
    }

    /// Register payloads are cached per profile: a device that created or deleted instances must
    /// still list its own, and the untouched devices of its profile theirs.
    func testDevicesOfOneProfileEachListTheirOwnInstances() throws {
        let configuration = ClientConfiguration(lwm2mVersion: .v1_1)
        let profile = F.profile(F.serverAccount())
        var untouched = LwM2MClient(configuration: configuration, profile: profile, index: 1, seed: 1)
        var changed = LwM2MClient(configuration: configuration, profile: profile, index: 2, seed: 2)
        changed.store.replaceInstance(InstanceKey(objectID: 3, instanceID: 4), with: [LwM2MRecord(path: F.path("/3/4/0"), value: .string("B"))])
        changed.store.replaceInstance(InstanceKey(objectID: 1, instanceID: 0), with: F.serverAccount().filter { $0.path.objectID == 1 })
        func links(_ client: LwM2MClient) throws -> [String] {
            let text = String(decoding: client.registrationLinks.bytes, as: UTF8.self)
            return try RegistrationPayload.parse(text, lwm2mVersion: .v1_1).get().availableInstances.map(\.description)
        }
        XCTAssertEqual(try links(changed), ["/1/0", "/3/0", "/3/4"], "a written instance that the profile has is listed once")
        XCTAssertEqual(try links(untouched), ["/1/0", "/3/0"])
        XCTAssertTrue(changed.store.deleteInstance(InstanceKey(objectID: 3, instanceID: 0)))
        XCTAssertEqual(try links(changed), ["/1/0", "/3/4"])
        XCTAssertEqual(try links(untouched), ["/1/0", "/3/0"])
        XCTAssertNotEqual(changed.registrationLinks.hash, untouched.registrationLinks.hash)
        untouched.store.replaceInstance(InstanceKey(objectID: 3, instanceID: 4), with: [LwM2MRecord(path: F.path("/3/4/0"), value: .string("B"))])
        XCTAssertEqual(try links(untouched), ["/1/0", "/3/0", "/3/4"])
    }

    func testRegistrationLocationKeepsEverySegmentEvenWithSlashesAndPercents() {
        for segments in [["rd", "5a3f"], ["rd"], ["a/b", "50%", "%2F"], ["", "x"], ["x", ""], []] {
            var created = CoAPMessage(type: .acknowledgement, code: .created)
            for segment in segments { created.options.append(.locationPath, string: segment) }
            let location = RegistrationLocation(of: created)
            XCTAssertEqual(location.segments, segments)
            XCTAssertEqual(location, RegistrationLocation(segments: segments))
            var update = CoAPMessage(type: .confirmable, code: .post)
            location.appendURIPath(to: &update.options)
            XCTAssertEqual(update.uriPath, segments, "\(location)")
        }
        XCTAssertEqual(RegistrationLocation(segments: ["rd", "5a3f"]).path, "rd/5a3f")
    }

    func testEndpointNamesArePaddedToTheWidthAndNeverCut() {
        let padded = ClientConfiguration(endpointPrefix: "sim-", indexWidth: 6)
        XCTAssertEqual(padded.endpointName(index: 0), "sim-000000")
        XCTAssertEqual(padded.endpointName(index: 42), "sim-000042")
        XCTAssertEqual(padded.endpointName(index: 999_999), "sim-999999")
        XCTAssertEqual(padded.endpointName(index: 1_000_000), "sim-1000000")
        XCTAssertEqual(padded.endpointName(index: UInt32.max), "sim-4294967295")
        let bare = ClientConfiguration(endpointPrefix: "", indexWidth: 0)
        XCTAssertEqual(bare.endpointName(index: 0), "0")
        XCTAssertEqual(bare.endpointName(index: 70), "70")
        XCTAssertEqual(ClientConfiguration(endpointPrefix: "капля-", indexWidth: 3).endpointName(index: 7), "капля-007")
    }

    /// The captured LwM2M Register of the shared vectors: same type, method, path, content format
    /// and the same parameters for the same settings (lt=300, lwm2m=1.1, b=U), the endpoint aside.
    func testRegisterMatchesTheCapturedVector() throws {
        let url = SharedVectors.directory.appendingPathComponent("registration-requests.json")
        guard let data = try? Data(contentsOf: url) else { throw XCTSkip("../shared/vectors not found at \(url.path)") }
        let vectors = try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["vectors"] as? [[String: Any]])
        let captured = try XCTUnwrap(vectors.first { $0["id"] as? String == "register-block1-capture" }?["request"] as? [String: Any])
        let ours = try XCTUnwrap(registered().server.requests.first)
        XCTAssertEqual(captured["type"] as? String, "\(ours.type)")
        XCTAssertEqual(captured["code"] as? String, ours.code.description)
        XCTAssertEqual(captured["uri_path"] as? [String], ours.uriPath)
        XCTAssertEqual((captured["content_format"] as? Int).map(UInt16.init), ours.contentFormat)
        let withoutEndpoint = { (items: [String]) in Set(items.filter { !$0.hasPrefix("ep=") }) }
        XCTAssertEqual(withoutEndpoint(captured["uri_query"] as? [String] ?? []), withoutEndpoint(ours.uriQuery))
    }

    func testUpdateIsSentBeforeTheLifetimeEndsAndCarriesNothingUnchanged() throws {
        let network = registered(lifetime: 300)
        let registeredAt = network.now
        network.advance(seconds: 237)
        XCTAssertEqual(network.server.requests.count, 1, "not yet: lifetime 300 s minus MAX_TRANSMIT_WAIT (62 s here)")
        network.advance(seconds: 1.5)
        let update = try XCTUnwrap(network.server.requests.last)
        XCTAssertEqual(update.uriPath, ["rd", "5a3f"])
        XCTAssertEqual(update.code, .post)
        XCTAssertTrue(update.uriQuery.isEmpty, "nothing changed: \(update.uriQuery)")
        XCTAssertTrue(update.payload.isEmpty, "the object list did not change")
        XCTAssertEqual(network.finished(.update).map(\.0), [.succeeded])
        XCTAssertGreaterThanOrEqual(network.now.nanoseconds(since: registeredAt), 238_000_000_000)
        // And again 238 s after that one.
        network.advance(seconds: 238)
        XCTAssertEqual(network.finished(.update).count, 2)
    }

    /// An Update whose first four copies are lost still reaches the server before the lifetime
    /// ends: it goes MAX_TRANSMIT_WAIT (62 s with these parameters) before the end, not 10 s.
    func testUpdateLeavesRoomForAllItsRetransmissionsBeforeTheLifetimeEnds() throws {
        let network = registered(lifetime: 300)
        let lifetimeEnd = network.now.adding(milliseconds: 300_000)
        var updateCopies: [Timestamp] = []
        network.losesFromDevice = { _, message in
            guard message.uriPath == ["rd", "5a3f"] else { return false }
            updateCopies.append(network.now)
            return updateCopies.count < 5
        }
        network.advance(seconds: 299)
        XCTAssertEqual(updateCopies.count, 5, "the Update and its four retransmissions")
        XCTAssertLessThan(try XCTUnwrap(updateCopies.last), lifetimeEnd, "the last copy arrives while the registration lives")
        XCTAssertEqual(network.finished(.update).map(\.0), [.succeeded])
    }

    /// A lifetime too short for MAX_TRANSMIT_WAIT still refreshes in time: the Update goes at half of it.
    func testShortLifetimeUpdatesAtHalfTheLifetime() throws {
        let network = registered(lifetime: 60)
        network.advance(seconds: 29.9)
        XCTAssertEqual(network.server.requests.count, 1)
        network.advance(seconds: 0.2)
        XCTAssertEqual(network.server.requests.last?.uriPath, ["rd", "5a3f"])
    }

    func testDeviceWithASessionUpdatesThenDeregistersWhenItEndsAndStops() throws {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 30), sessionSeconds: 45))
        network.server.handler = { request in
            if request.uriPath == ["rd"] { return F.created() }
            return CoAPMessage(type: .acknowledgement, code: request.code == .delete ? .deleted : .changed)
        }
        network.start()
        XCTAssertEqual(network.client.stateName, "registered")
        network.advance(seconds: 44.9)
        XCTAssertEqual(network.server.requests.map(\.code), [.post, .post, .post], "Register, then Updates at 20 s and 40 s")
        network.advance(seconds: 0.2)
        XCTAssertEqual(network.server.requests.last?.code, .delete, "the session ends 45 s after the Register was acknowledged")
        XCTAssertEqual(network.server.requests.last?.uriPath, ["rd", "5a3f"])
        XCTAssertEqual(network.finished(.deregister).map(\.0), [.succeeded])
        XCTAssertEqual(network.client.stateName, "stopped")
        XCTAssertNil(network.client.nextDeadline, "nothing left to do")
        XCTAssertNil(network.connected[.server], "its socket is closed")
        network.advance(seconds: 600)
        XCTAssertEqual(network.server.requests.count, 4, "a finished session stays finished")
    }

    func testRepeatingSessionRegistersAgainOnTheSameConnectionUntilStopped() throws {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 1), sessionSeconds: 0.6, sessionRepeats: true))
        network.server.handler = { request in
            if request.uriPath == ["rd"] { return F.created() }
            return CoAPMessage(type: .acknowledgement, code: request.code == .delete ? .deleted : .changed)
        }
        network.start()
        network.advance(seconds: 1.25)
        // Register, Update at 0.5 s, De-register at 0.6 s, Register again at once, and so on.
        XCTAssertEqual(network.server.requests.map(\.code), [.post, .post, .delete, .post, .post, .delete, .post])
        XCTAssertEqual(network.server.requests.filter { $0.uriPath == ["rd"] }.count, 3)
        XCTAssertEqual(network.actions.filter { if case .connect = $0 { true } else { false } }.count, 1, "one connection throughout")
        XCTAssertEqual(network.client.stateName, "registered")
        // Stopped while a session-ending De-register is in flight: no Register follows it.
        network.server.handler = { request in
            if request.uriPath == ["rd"] { return F.created() }
            return request.code == .delete ? nil : CoAPMessage(type: .acknowledgement, code: .changed)
        }
        network.advance(seconds: 0.6)
        XCTAssertEqual(network.server.requests.last?.code, .delete, "the third session ends at 1.8 s")
        XCTAssertEqual(network.client.stateName, "deregistering")
        network.stop(deregister: true)
        // The De-register is never answered: it times out, and the device stops without registering.
        network.advance(seconds: 300)
        XCTAssertEqual(network.server.requests.filter { $0.uriPath == ["rd"] }.count, 3, "no Register after the stop")
        XCTAssertEqual(network.client.stateName, "stopped")
    }

    func testZeroSessionDeregistersRightAfterTheRegistrationIsAcknowledged() throws {
        let network = Lockstep(client: F.client(F.serverAccount(), sessionSeconds: 0))
        network.server.handler = { request in
            request.uriPath == ["rd"] ? F.created() : CoAPMessage(type: .acknowledgement, code: .deleted)
        }
        network.start()
        network.advance(seconds: 0.001)
        XCTAssertEqual(network.server.requests.map(\.code), [.post, .delete])
        XCTAssertEqual(network.finished(.register).map(\.0), [.succeeded])
        XCTAssertEqual(network.client.stateName, "stopped")
    }

    func testUpdateAfterLifetimeChangeCarriesOnlyLifetime() throws {
        let network = registered(lifetime: 300)
        let write = network.request(F.request(.put, "/1/0/1", payload: Array("120".utf8), format: .plainText), from: .server)
        XCTAssertEqual(network.server.responses[write]?.code, .changed)
        // The new lifetime goes to the server at once, alone (TS Core 6.2.2).
        network.advance(seconds: 0.001)
        let updates = { network.server.requests.filter { $0.uriPath == ["rd", "5a3f"] } }
        XCTAssertEqual(updates().map(\.uriQuery), [["lt=120"]])
        XCTAssertTrue(updates()[0].payload.isEmpty)
        // The next Update follows the new lifetime, 60 s later (half of it: MAX_TRANSMIT_WAIT does
        // not fit), and carries nothing.
        network.advance(seconds: 59)
        XCTAssertEqual(updates().count, 1)
        network.advance(seconds: 1.1)
        XCTAssertEqual(updates().map(\.uriQuery), [["lt=120"], []])
    }

    func testNotFoundOnUpdateRegistersAgain() throws {
        let network = registered(lifetime: 60)
        network.server.handler = { request in
            switch request.uriPath {
            case ["rd"]: F.created("b7")
            case ["rd", "b7"]: CoAPMessage(type: .acknowledgement, code: .changed)
            default: CoAPMessage(type: .acknowledgement, code: .notFound)
            }
        }
        network.advance(seconds: 51)
        XCTAssertEqual(network.finished(.update).map(\.1), [.notFound])
        XCTAssertEqual(network.server.requests.filter { $0.uriPath == ["rd"] }.count, 2, "a new Register")
        XCTAssertEqual(network.client.stateName, "registered")
        network.advance(seconds: 51)
        XCTAssertEqual(network.server.requests.last?.uriPath, ["rd", "b7"], "Updates go to the new location")
    }

    func testDeregisterDeletesTheLocation() throws {
        let network = registered()
        var actions: [ClientAction] = []
        network.client.stop(now: network.now, deregister: true, actions: &actions)
        XCTAssertEqual(network.client.stateName, "deregistering")
        // Deliver the DELETE through the lockstep network by replaying the actions.
        for case .send(.server, let datagram) in actions { network.server.receive(datagram, now: network.now) }
        network.advance(seconds: 0.1)
        XCTAssertEqual(network.server.requests.last?.code, .delete)
        XCTAssertEqual(network.server.requests.last?.uriPath, ["rd", "5a3f"])
    }

    func testADeregisterThatGetsNoAnswerIsSentAgainAndA404ToTheNewOneMeansAnEarlierCopyRemovedIt() throws {
        let network = registered()
        // The server removes the registration at the first DELETE, and every answer is lost.
        var removed = false
        network.server.handler = { request in
            guard request.code == .delete else { return nil }
            defer { removed = true }
            return CoAPMessage(type: .acknowledgement, code: removed ? .notFound : .deleted)
        }
        var answersLost = true
        network.losesToDevice = { _, _ in answersLost }
        network.stop(deregister: true)
        // Five copies of the first over 62 s (ACK_TIMEOUT 2 s, no random factor here), then a second.
        network.advance(seconds: 70)
        let deletes = network.server.requests.filter { $0.code == .delete }
        XCTAssertEqual(deletes.count, 2, "the first De-register, then a second one")
        XCTAssertNotEqual(deletes.first?.messageID, deletes.last?.messageID, "the second is a new message")
        XCTAssertEqual(network.client.stateName, "deregistering")
        XCTAssertTrue(network.finished(.deregister).isEmpty)
        answersLost = false
        network.advance(seconds: 30)
        XCTAssertEqual(network.finished(.deregister).map(\.0), [.succeeded], "the registration is gone: done")
        XCTAssertEqual(network.finished(.deregister).map(\.1), [.notFound], "the code still says how")
        XCTAssertEqual(network.client.stateName, "stopped")
    }

    func testADeregisterAnswered404AtItsFirstCopyIsRejected() throws {
        let network = registered()
        network.server.handler = { _ in CoAPMessage(type: .acknowledgement, code: .notFound) }
        network.stop(deregister: true)
        XCTAssertEqual(network.finished(.deregister).map(\.0), [.rejected], "the server never knew the registration: no success")
    }

    func testADeregisterGivesUpAfterThreeUnansweredAttempts() throws {
        let network = registered()
        network.server.handler = { _ in nil }
        network.losesFromDevice = { _, message in message.code == .delete }
        network.stop(deregister: true)
        network.advance(seconds: 400)
        XCTAssertEqual(network.finished(.deregister).map(\.0), [.timedOut])
        XCTAssertEqual(network.client.stateName, "stopped")
        let retransmitted = network.actions.compactMap { if case .retransmissions(let count, .deregister) = $0 { count } else { nil } }
        XCTAssertEqual(retransmitted.reduce(0, +), 14, "4 retransmissions of each of 3 De-registers, and 2 De-registers sent again")
    }

    func testRegistrationFailuresFollowRetryResourcesThenBootstrap() throws {
        // 1.1 retry resources: 2 attempts 10 s apart, 1 sequence, then bootstrap on failure.
        let retry = [
            LwM2MRecord(path: F.path("/1/0/16"), value: .boolean(true)),
            LwM2MRecord(path: F.path("/1/0/17"), value: .unsignedInteger(2)),
            LwM2MRecord(path: F.path("/1/0/18"), value: .unsignedInteger(10)),
            LwM2MRecord(path: F.path("/1/0/19"), value: .unsignedInteger(100)),
            LwM2MRecord(path: F.path("/1/0/20"), value: .unsignedInteger(1)),
        ]
        let network = Lockstep(client: F.client(F.bootstrapAccount() + F.serverAccount(extra: retry)))
        network.server.handler = { _ in CoAPMessage(type: .acknowledgement, code: .forbidden) }
        network.bootstrapServer.handler = { _ in CoAPMessage(type: .acknowledgement, code: .changed) }
        network.start()
        XCTAssertEqual(network.finished(.register).map(\.1), [.forbidden])
        XCTAssertEqual(network.client.stateName, "waiting-to-register")
        network.advance(seconds: 9.9)
        XCTAssertEqual(network.server.requests.count, 1)
        network.advance(seconds: 0.2)
        XCTAssertEqual(network.server.requests.count, 2, "second attempt after the retry timer")
        XCTAssertEqual(network.bootstrapServer.requests.first?.uriPath, ["bs"], "retries exhausted: bootstrap")
        XCTAssertEqual(network.client.stateName, "bootstrapping")
    }

    func testRequestsBeforeTheRegistrationAckAreViolations() throws {
        let network = Lockstep(client: F.client(F.serverAccount()))
        network.server.handler = { _ in nil } // the server holds its answer to Register
        network.start()
        XCTAssertEqual(network.client.stateName, "registering")
        let register = try XCTUnwrap(network.server.requests.first)
        network.inject(.empty(.acknowledgement, messageID: register.messageID)) // a separate response will follow
        let read = network.request(F.request(.get, "/3/0/0"), from: .server)
        let write = network.request(F.request(.put, "/1/0/1", payload: Array("5".utf8), format: .plainText), from: .server)
        network.advance(seconds: 1)
        XCTAssertNil(network.server.responses[read])
        XCTAssertNil(network.server.responses[write])
        XCTAssertEqual(network.client.store.value(at: F.path("/1/0/1"), now: network.now), .integer(300), "not applied")
        // The 2.01 comes as a separate CON: the server sent both requests before it (NSTART = 1).
        var created = F.created()
        created.type = .confirmable
        created.messageID = 0x5151
        created.token = register.token
        network.inject(created)
        XCTAssertEqual(network.violations.map(\.operation), [.read, .write])
        XCTAssertEqual(network.violations.map(\.state), [.registering, .registering])
    }

    func testStopDuringRegisterDeregistersOnceAcknowledged() throws {
        let network = Lockstep(client: F.client(F.serverAccount()))
        network.server.handler = { _ in nil } // hold the Register's answer
        network.start()
        var actions: [ClientAction] = []
        network.client.stop(now: network.now, deregister: true, actions: &actions)
        XCTAssertEqual(network.client.stateName, "registering", "the stop waits for the answer")
        // The 2.01 arrives after the stop: the device registers and at once de-registers.
        let register = try XCTUnwrap(network.server.requests.first)
        var created = F.created()
        created.messageID = register.messageID
        created.token = register.token
        network.client.receive(created.encoded(), from: .server, now: network.now, actions: &actions)
        let sent = actions.compactMap { if case .send(.server, let bytes) = $0 { try? CoAPMessage.decode(bytes).get() } else { nil } }
        XCTAssertEqual(sent.map(\.code), [.delete], "no registration left behind")
        XCTAssertEqual(sent.first?.uriPath, ["rd", "5a3f"])
        XCTAssertEqual(network.client.stateName, "deregistering")
        // A second stop does not cut the De-register off.
        network.client.stop(now: network.now, deregister: true, actions: &actions)
        XCTAssertEqual(network.client.stateName, "deregistering")
    }

    func testStopDuringAnUpdateDeregistersOnceTheUpdateIsAnswered() throws {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 60)))
        network.server.handler = { request in
            if request.uriPath == ["rd"] { return F.created() }
            return request.code == .delete ? CoAPMessage(type: .acknowledgement, code: .deleted) : nil
        }
        network.start()
        network.advance(seconds: 50.5)
        XCTAssertEqual(network.client.stateName, "updating", "the Update at 50 s waits for its answer")
        network.stop(deregister: true)
        XCTAssertEqual(network.server.requests.map(\.code), [.post, .post], "no De-register while the Update is unanswered")
        XCTAssertNotEqual(network.client.nextDeadline, network.now, "waiting is no busy deadline")
        // The Update's answer comes: its outcome is reported, then the De-register goes.
        network.answer(try XCTUnwrap(network.server.requests.last), with: .changed)
        XCTAssertEqual(network.finished(.update).map(\.0), [.succeeded])
        XCTAssertEqual(network.server.requests.last?.code, .delete)
        XCTAssertEqual(network.finished(.deregister).map(\.0), [.succeeded])
        XCTAssertEqual(network.client.stateName, "stopped")
    }

    /// RFC 7252 4.7, NSTART = 1: a Register asked for while an Update is unanswered (a reboot
    /// storm, an Execute of Reboot) goes only once that Update has its outcome.
    func testRegisterAgainWaitsForTheUpdateInFlight() throws {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 300)))
        network.server.handler = { request in request.uriPath == ["rd"] ? F.created() : nil }
        network.start()
        network.advance(seconds: 238.5)
        XCTAssertEqual(network.client.stateName, "updating")
        var actions: [ClientAction] = []
        network.client.registerAgain(now: network.now, actions: &actions)
        XCTAssertFalse(actions.contains { if case .send = $0 { true } else { false } }, "nothing sent: \(actions)")
        network.answer(try XCTUnwrap(network.server.requests.last), with: .changed)
        XCTAssertEqual(network.server.requests.map(\.uriPath), [["rd"], ["rd", "5a3f"], ["rd"]], "the Register follows the Update's answer")
        XCTAssertEqual(network.finished(.update).map(\.0), [.succeeded])
        XCTAssertEqual(network.client.stateName, "registered")
    }

    func testRebootDuringAnUpdateRegistersOnceTheUpdateEnds() throws {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 300)))
        network.server.handler = { request in request.uriPath == ["rd"] ? F.created() : nil }
        network.start()
        network.advance(seconds: 238.5)
        let update = try XCTUnwrap(network.server.requests.last)
        let reboot = network.request(F.request(.post, "/3/0/4"), from: .server)
        XCTAssertEqual(network.server.responses[reboot]?.code, .changed)
        XCTAssertEqual(network.server.requests.count, 2, "no Register while the Update is unanswered")
        // The Update times out: the device registers then, once.
        network.advance(seconds: 70)
        XCTAssertEqual(network.finished(.update).map(\.0), [.timedOut])
        XCTAssertEqual(network.server.requests.map(\.uriPath), [["rd"], update.uriPath, ["rd"]])
        XCTAssertEqual(network.client.stateName, "registered")
    }

    func testASessionEndingDuringAnUpdateWaitsForItThenRepeats() throws {
        // Lifetime 2 s: Update at 1 s; the session ends at 1.05 s, while that Update is unanswered.
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 2), sessionSeconds: 1.05, sessionRepeats: true))
        network.server.handler = { request in
            if request.uriPath == ["rd"] { return F.created() }
            return request.code == .delete ? CoAPMessage(type: .acknowledgement, code: .deleted) : nil
        }
        network.start()
        network.advance(seconds: 1.5)
        XCTAssertEqual(network.server.requests.map(\.code), [.post, .post], "the session's end waits for the Update")
        XCTAssertGreaterThan(try XCTUnwrap(network.client.nextDeadline), network.now, "waiting is no busy deadline")
        network.answer(try XCTUnwrap(network.server.requests.last), with: .changed)
        XCTAssertEqual(network.server.requests.map(\.code), [.post, .post, .delete, .post], "Update answered, De-register, Register again")
        XCTAssertEqual(network.finished(.update).first?.0, .succeeded)
        XCTAssertEqual(network.client.stateName, "registered")
    }
}
