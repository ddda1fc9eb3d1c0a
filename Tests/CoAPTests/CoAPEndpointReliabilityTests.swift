import CoAP
import XCTest

/// Retransmission, timeouts, duplicates and separate responses, driven by a manual clock.
final class CoAPEndpointReliabilityTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func registerRequest() -> CoAPMessage {
        var request = CoAPMessage(type: .confirmable, code: .post)
        request.setPath("/rd")
        request.options.append(.uriQuery, string: "ep=sim-000001")
        request.payload = Array("</1/0>,</3/0>".utf8)[...]
        return request
    }

    func testRetransmissionsFollowRFC7252WindowsThenTimeOut() {
        for seed in UInt64(1)...50 {
            var client = CoAPEndpoint(seed: seed)
            var output = CoAPEndpointOutput()
            let start = Timestamp.seconds(100)
            let id = client.send(registerRequest(), now: start, output: &output)
            XCTAssertEqual(output.datagrams.count, 1)
            let original = output.datagrams[0]
            output.removeAll()

            // RFC 7252 4.2: initial timeout T in [2 s, 3 s]; retransmission i at start + T * (2^i - 1).
            let firstDeadline = client.nextDeadline!
            let initialTimeout = firstDeadline.nanoseconds(since: start)
            XCTAssertGreaterThanOrEqual(initialTimeout, 2 * second)
            XCTAssertLessThanOrEqual(initialTimeout, 3 * second)
            for retransmission in 1...4 {
                let deadline = client.nextDeadline!
                let expected = start.adding(nanoseconds: initialTimeout * ((1 << UInt64(retransmission)) - 1))
                XCTAssertEqual(deadline, expected, "retransmission \(retransmission), seed \(seed)")
                client.handleDeadline(now: deadline.adding(nanoseconds: 0), output: &output)
                XCTAssertEqual(output.datagrams, [original], "retransmission \(retransmission) resends the same bytes")
                XCTAssertEqual(output.retransmissions, 1)
                XCTAssertTrue(output.events.isEmpty)
                output.removeAll()
            }
            // After MAX_RETRANSMIT, the last wait is 16 T and then the request times out.
            let giveUp = client.nextDeadline!
            XCTAssertEqual(giveUp, start.adding(nanoseconds: initialTimeout * 31))
            client.handleDeadline(now: giveUp, output: &output)
            XCTAssertTrue(output.datagrams.isEmpty)
            XCTAssertEqual(output.events, [.failed(id, .timeout)])
            XCTAssertNil(client.nextDeadline)
            XCTAssertTrue(client.isIdle)
        }
    }

    func testInitialTimeoutsSpreadAcrossTheRandomWindow() {
        let timeouts = (UInt64(1)...200).map { seed -> UInt64 in
            var client = CoAPEndpoint(seed: seed)
            var output = CoAPEndpointOutput()
            _ = client.send(registerRequest(), now: .zero, output: &output)
            return client.nextDeadline!.nanoseconds
        }
        XCTAssertLessThan(timeouts.min()!, 2_200_000_000, "low end of [2 s, 3 s] is reached")
        XCTAssertGreaterThan(timeouts.max()!, 2_800_000_000, "high end of [2 s, 3 s] is reached")
    }

    func testDeadlineBeforeItsTimeDoesNothing() {
        var client = CoAPEndpoint(seed: 7)
        var output = CoAPEndpointOutput()
        _ = client.send(registerRequest(), now: .zero, output: &output)
        output.removeAll()
        client.handleDeadline(now: Timestamp.milliseconds(1_999), output: &output)
        XCTAssertTrue(output.datagrams.isEmpty)
        XCTAssertTrue(output.events.isEmpty)
    }

    func testPiggybackedResponseStopsRetransmissionAndIsDelivered() throws {
        var client = CoAPEndpoint(seed: 3)
        var server = CoAPEndpoint(seed: 4)
        var output = CoAPEndpointOutput()
        let id = client.send(registerRequest(), now: .zero, output: &output)
        let request = output.datagrams.removeFirst()

        server.receive(request, now: .zero, output: &output)
        guard case .request(let incoming) = try XCTUnwrap(output.events.first) else { return XCTFail("no request") }
        XCTAssertEqual(incoming.message.uriPath, ["rd"])
        output.removeAll()
        var created = CoAPMessage(type: .acknowledgement, code: .created)
        created.options.append(.locationPath, string: "rd")
        created.options.append(.locationPath, string: "5a3f")
        server.respond(to: incoming, with: created, now: .zero, output: &output)
        let ack = output.datagrams.removeFirst()
        output.removeAll()

        client.receive(ack, now: .milliseconds(5), output: &output)
        guard case .response(let responseID, let response) = try XCTUnwrap(output.events.first) else {
            return XCTFail("no response")
        }
        XCTAssertEqual(responseID, id)
        XCTAssertEqual(response.code, .created)
        XCTAssertEqual(response.type, .acknowledgement)
        XCTAssertEqual(response.locationPath, ["rd", "5a3f"])
        XCTAssertNil(client.nextDeadline, "no retransmission after the ACK")
        XCTAssertTrue(client.isIdle)
    }

    func testDuplicatedConfirmableRequestGetsCachedResponseAndIsDeliveredOnce() throws {
        var client = CoAPEndpoint(seed: 5)
        var server = CoAPEndpoint(seed: 6)
        var output = CoAPEndpointOutput()
        _ = client.send(registerRequest(), now: .zero, output: &output)
        let request = output.datagrams.removeFirst()

        server.receive(request, now: .zero, output: &output)
        guard case .request(let incoming) = output.events.first else { return XCTFail("no request") }
        output.removeAll()
        server.respond(to: incoming, with: CoAPMessage(type: .acknowledgement, code: .created), now: .zero, output: &output)
        let firstAnswer = output.datagrams
        output.removeAll()

        // The ACK was lost: the client retransmits the same datagram.
        server.receive(request, now: .seconds(2), output: &output)
        XCTAssertTrue(output.events.isEmpty, "a duplicate is not delivered again")
        XCTAssertEqual(output.datagrams, firstAnswer, "the cached response is sent again")
        output.removeAll()

        // A duplicate that arrives while the application has not answered yet is just dropped.
        var second = CoAPMessage(type: .confirmable, code: .get, messageID: 900, token: CoAPToken(value: 1, length: 1))
        second.setPath("/3/0")
        server.receive(second.encoded(), now: .seconds(3), output: &output)
        XCTAssertEqual(output.events.count, 1)
        output.removeAll()
        server.receive(second.encoded(), now: .seconds(4), output: &output)
        XCTAssertTrue(output.events.isEmpty)
        XCTAssertTrue(output.datagrams.isEmpty)

        // After EXCHANGE_LIFETIME the message ID may be reused and counts as new.
        server.receive(request, now: .seconds(2 + 248), output: &output)
        XCTAssertEqual(output.events.count, 1)
    }

    /// A new sender on a recycled address and port can pick a message ID the server saw
    /// recently from the old one: a different token makes it a new message, not a duplicate.
    func testSameMessageIDWithAnotherTokenIsANewMessageNotADuplicate() throws {
        var server = CoAPEndpoint(seed: 6)
        var output = CoAPEndpointOutput()
        var old = CoAPMessage(type: .confirmable, code: .post, messageID: 77, token: CoAPToken(value: 0xA1, length: 1))
        old.setPath("/rd")
        server.receive(old.encoded(), now: .zero, output: &output)
        guard case .request(let incoming) = output.events.first else { return XCTFail("no request") }
        output.removeAll()
        server.respond(to: incoming, with: CoAPMessage(type: .acknowledgement, code: .created), now: .zero, output: &output)
        output.removeAll()

        var new = CoAPMessage(type: .confirmable, code: .post, messageID: 77, token: CoAPToken(value: 0xB2, length: 1))
        new.setPath("/rd")
        server.receive(new.encoded(), now: .seconds(1), output: &output)
        XCTAssertEqual(output.events.count, 1, "delivered: it is another message")
        XCTAssertTrue(output.datagrams.isEmpty, "not answered with the old sender's reply")
        output.removeAll()
        // Its own retransmission is a duplicate again.
        server.receive(new.encoded(), now: .seconds(2), output: &output)
        XCTAssertTrue(output.events.isEmpty)
    }

    func testDuplicateCacheMemoryIsBounded() {
        var parameters = CoAPTransmissionParameters()
        parameters.duplicateCacheCapacity = 4
        var server = CoAPEndpoint(parameters: parameters, seed: 1)
        var output = CoAPEndpointOutput()
        for messageID in UInt16(0)..<1_000 {
            let request = CoAPMessage(type: .nonConfirmable, code: .get, messageID: messageID)
            server.receive(request.encoded(), now: .zero, output: &output)
        }
        XCTAssertEqual(output.events.count, 1_000)
        output.removeAll()
        // The four most recent are still recognised, an old one is not.
        server.receive(CoAPMessage(type: .nonConfirmable, code: .get, messageID: 999).encoded(), now: .zero, output: &output)
        XCTAssertTrue(output.events.isEmpty)
        server.receive(CoAPMessage(type: .nonConfirmable, code: .get, messageID: 1).encoded(), now: .zero, output: &output)
        XCTAssertEqual(output.events.count, 1)
    }

    /// A request the application ignored on purpose (a device not registered yet) is not a
    /// duplicate to drop forever: its retransmissions come back, marked, until it is answered.
    func testIgnoredRequestIsDeliveredAgainOnEachRetransmissionUntilAnswered() throws {
        var device = CoAPEndpoint(seed: 6)
        var output = CoAPEndpointOutput()
        var read = CoAPMessage(type: .confirmable, code: .get, messageID: 900, token: CoAPToken(value: 1, length: 1))
        read.setPath("/3/0")
        device.receive(read.encoded(), now: .zero, output: &output)
        guard case .request(let first) = output.events.first else { return XCTFail("no request") }
        XCTAssertFalse(first.repeatsIgnoredRequest)
        output.removeAll()
        device.ignore(first, now: .zero)
        for second in [2, 6] {
            device.receive(read.encoded(), now: .seconds(UInt64(second)), output: &output)
            XCTAssertTrue(output.datagrams.isEmpty, "no ACK for an ignored request")
            guard case .request(let again) = output.events.first else { return XCTFail("not delivered again at \(second) s") }
            XCTAssertTrue(again.repeatsIgnoredRequest)
            XCTAssertEqual(again.message, first.message)
            output.removeAll()
            if second == 2 { device.ignore(again, now: .seconds(2)) } else {
                device.respond(to: again, with: CoAPMessage(type: .acknowledgement, code: .content), now: .seconds(6), output: &output)
            }
        }
        let answer = output.datagrams
        XCTAssertEqual(try CoAPMessage.decode(try XCTUnwrap(answer.first)).get().type, .acknowledgement, "piggybacked")
        output.removeAll()
        // Answered now: a later copy gets the same answer and is not delivered.
        device.receive(read.encoded(), now: .seconds(14), output: &output)
        XCTAssertTrue(output.events.isEmpty)
        XCTAssertEqual(output.datagrams, answer)
    }

    /// Whether an ignored request comes back must not depend on how many messages came since:
    /// ignored requests stay known for their EXCHANGE_LIFETIME beyond the cache's capacity.
    func testIgnoredRequestsAreRememberedBeyondTheCacheCapacity() {
        var parameters = CoAPTransmissionParameters()
        parameters.duplicateCacheCapacity = 4
        var device = CoAPEndpoint(parameters: parameters, seed: 1)
        var output = CoAPEndpointOutput()
        let reads = (UInt16(1)...12).map { CoAPMessage(type: .confirmable, code: .get, messageID: $0, token: CoAPToken(value: UInt64($0), length: 1)) }
        for read in reads {
            device.receive(read.encoded(), now: .zero, output: &output)
            guard case .request(let incoming) = output.events.last else { return XCTFail("no request") }
            device.ignore(incoming, now: .zero)
        }
        output.removeAll()
        for read in reads {
            device.receive(read.encoded(), now: .seconds(2), output: &output)
        }
        let repeats = output.events.map { if case .request(let incoming) = $0 { incoming.repeatsIgnoredRequest } else { false } }
        XCTAssertEqual(repeats, Array(repeating: true, count: 12), "every one is known as the retransmission it is")
    }

    func testSeparateResponseIsAcknowledgedAndDeliveredOnce() throws {
        var client = CoAPEndpoint(seed: 11)
        var server = CoAPEndpoint(seed: 12)
        var output = CoAPEndpointOutput()
        let id = client.send(registerRequest(), now: .zero, output: &output)
        let request = output.datagrams.removeFirst()

        server.receive(request, now: .zero, output: &output)
        guard case .request(let incoming) = output.events.first else { return XCTFail("no request") }
        output.removeAll()
        server.acknowledge(incoming, now: .zero, output: &output)
        let emptyAck = try XCTUnwrap(output.datagrams.first)
        XCTAssertEqual(try CoAPMessage.decode(emptyAck).get().code, .empty)
        output.removeAll()

        client.receive(emptyAck, now: .milliseconds(10), output: &output)
        XCTAssertTrue(output.events.isEmpty, "an empty ACK only promises the response")
        XCTAssertTrue(output.datagrams.isEmpty)
        XCTAssertEqual(client.nextDeadline, Timestamp.milliseconds(10).adding(nanoseconds: 247 * second),
                       "the retransmission stops; the response timeout starts")

        server.respond(to: incoming, with: CoAPMessage(type: .acknowledgement, code: .created), now: .seconds(1), output: &output)
        let separate = try XCTUnwrap(output.datagrams.first)
        let separateMessage = try CoAPMessage.decode(separate).get()
        XCTAssertEqual(separateMessage.type, .confirmable, "a separate response is a CON of its own")
        XCTAssertNotNil(server.nextDeadline, "the server retransmits it until acknowledged")
        output.removeAll()

        client.receive(separate, now: .seconds(1), output: &output)
        XCTAssertEqual(output.events, [.response(id, separateMessage)])
        let clientAck = try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get()
        XCTAssertEqual(clientAck.type, .acknowledgement)
        XCTAssertEqual(clientAck.messageID, separateMessage.messageID)
        XCTAssertEqual(clientAck.code, .empty)
        let clientAckBytes = output.datagrams[0]
        output.removeAll()

        // Our ACK was lost: the retransmitted response gets the same ACK and no second delivery.
        client.receive(separate, now: .seconds(3), output: &output)
        XCTAssertTrue(output.events.isEmpty)
        XCTAssertEqual(output.datagrams, [clientAckBytes])
        output.removeAll()

        server.receive(clientAckBytes, now: .seconds(3), output: &output)
        XCTAssertTrue(server.isIdle)
        XCTAssertNil(server.nextDeadline)
    }

    func testSeparateResponseNeverComingTimesOut() {
        var client = CoAPEndpoint(seed: 13)
        var output = CoAPEndpointOutput()
        let id = client.send(registerRequest(), now: .zero, output: &output)
        let request = try! CoAPMessage.decode(output.datagrams.removeFirst()).get()
        client.receive(CoAPMessage.empty(.acknowledgement, messageID: request.messageID).encoded(), now: .zero, output: &output)
        client.handleDeadline(now: .seconds(246), output: &output)
        XCTAssertTrue(output.events.isEmpty)
        client.handleDeadline(now: .seconds(247), output: &output)
        XCTAssertEqual(output.events, [.failed(id, .timeout)])
    }

    func testUnexpectedConfirmableResponseIsAnsweredWithReset() throws {
        var client = CoAPEndpoint(seed: 14)
        var output = CoAPEndpointOutput()
        let stray = CoAPMessage(type: .confirmable, code: .content, messageID: 77, token: CoAPToken(value: 0xABCD, length: 2))
        client.receive(stray.encoded(), now: .zero, output: &output)
        let reset = try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get()
        XCTAssertEqual(reset.type, .reset)
        XCTAssertEqual(reset.messageID, 77)
        XCTAssertEqual(output.events, [.rejected(.unexpected(.confirmable, .content))])
    }

    func testResetEndsTheRequest() throws {
        var client = CoAPEndpoint(seed: 15)
        var output = CoAPEndpointOutput()
        let id = client.send(registerRequest(), now: .zero, output: &output)
        let request = try CoAPMessage.decode(output.datagrams.removeFirst()).get()
        client.receive(CoAPMessage.empty(.reset, messageID: request.messageID).encoded(), now: .zero, output: &output)
        XCTAssertEqual(output.events, [.failed(id, .reset)])
        XCTAssertTrue(client.isIdle)
    }

    func testResponseWithWrongTokenIsRefused() throws {
        var client = CoAPEndpoint(seed: 16)
        var output = CoAPEndpointOutput()
        _ = client.send(registerRequest(), now: .zero, output: &output)
        let request = try CoAPMessage.decode(output.datagrams.removeFirst()).get()
        let wrong = CoAPMessage(type: .acknowledgement, code: .created, messageID: request.messageID,
                                token: CoAPToken(value: request.token.value &+ 1, length: request.token.length))
        client.receive(wrong.encoded(), now: .zero, output: &output)
        XCTAssertEqual(output.events, [.rejected(.unexpected(.acknowledgement, .created))])
        XCTAssertNotNil(client.nextDeadline, "still waiting for the real answer")
    }

    func testNonConfirmableRequestAndResponse() throws {
        var client = CoAPEndpoint(seed: 17)
        var server = CoAPEndpoint(seed: 18)
        var output = CoAPEndpointOutput()
        var request = CoAPMessage(type: .nonConfirmable, code: .get)
        request.setPath("/3/0/9")
        let id = client.send(request, now: .zero, output: &output)
        let datagram = output.datagrams.removeFirst()
        XCTAssertEqual(try CoAPMessage.decode(datagram).get().type, .nonConfirmable)
        XCTAssertEqual(client.nextDeadline, Timestamp.zero.adding(nanoseconds: 145 * second), "NON_LIFETIME")

        server.receive(datagram, now: .zero, output: &output)
        guard case .request(let incoming) = output.events.first else { return XCTFail("no request") }
        output.removeAll()
        var content = CoAPMessage(type: .acknowledgement, code: .content)
        content.payload = Array("87".utf8)[...]
        server.respond(to: incoming, with: content, now: .zero, output: &output)
        let answer = output.datagrams.removeFirst()
        XCTAssertEqual(try CoAPMessage.decode(answer).get().type, .nonConfirmable)

        client.receive(answer, now: .milliseconds(1), output: &output)
        guard case .response(let responseID, let response) = output.events.first else { return XCTFail("no response") }
        XCTAssertEqual(responseID, id)
        XCTAssertEqual(Array(response.payload), Array("87".utf8))
        XCTAssertTrue(output.datagrams.isEmpty, "a NON response is not acknowledged")
        XCTAssertTrue(client.isIdle)
    }

    func testPingIsAnsweredWithReset() throws {
        var server = CoAPEndpoint(seed: 19)
        var output = CoAPEndpointOutput()
        server.receive(CoAPMessage.empty(.confirmable, messageID: 4242).encoded(), now: .zero, output: &output)
        let reset = try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get()
        XCTAssertEqual(reset.type, .reset)
        XCTAssertEqual(reset.messageID, 4242)
    }

    func testUnknownCriticalOptionInConfirmableRequestGetsBadOption() throws {
        var server = CoAPEndpoint(seed: 20)
        var output = CoAPEndpointOutput()
        var request = CoAPMessage(type: .confirmable, code: .get, messageID: 1, token: CoAPToken(value: 9, length: 1))
        request.options.append(CoAPOptionNumber(25), bytes: [0x64])
        server.receive(request.encoded(), now: .zero, output: &output)
        let answer = try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get()
        XCTAssertEqual(answer.type, .acknowledgement)
        XCTAssertEqual(answer.code, .badOption)
        XCTAssertEqual(answer.token, request.token)
        guard case .rejected(.badOption) = output.events.first else { return XCTFail("not counted as rejected") }
    }

    func testMalformedConfirmableIsResetAndCounted() throws {
        var server = CoAPEndpoint(seed: 21)
        var output = CoAPEndpointOutput()
        server.receive([0x40, 0x01, 0x12, 0x34, 0xF0, 0xFF, 0x00], now: .zero, output: &output)
        let reset = try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get()
        XCTAssertEqual(reset.type, .reset)
        XCTAssertEqual(reset.messageID, 0x1234)
        guard case .rejected(.malformed) = output.events.first else { return XCTFail("not counted") }
    }

    func testResponseWithUnknownCriticalOptionIsRejectedNotDelivered() throws {
        var client = CoAPEndpoint(seed: 22)
        var output = CoAPEndpointOutput()
        _ = client.send(registerRequest(), now: .zero, output: &output)
        let request = try CoAPMessage.decode(output.datagrams.removeFirst()).get()
        var response = CoAPMessage(type: .acknowledgement, code: .created, messageID: request.messageID, token: request.token)
        response.options.append(CoAPOptionNumber(25), bytes: [1])
        client.receive(response.encoded(), now: .zero, output: &output)
        guard case .rejected(.badOption) = output.events.first else { return XCTFail("delivered: \(output.events)") }
        XCTAssertEqual(output.events.count, 1)
        XCTAssertNotNil(client.nextDeadline, "the request is retransmitted, as if the ACK was lost")

        response.type = .confirmable
        response.messageID &+= 1
        output.removeAll()
        client.receive(response.encoded(), now: .zero, output: &output)
        XCTAssertEqual(try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get().type, .reset)
    }

    func testConfirmableNotificationResetOrTimeoutEndsTheObservation() throws {
        var device = CoAPEndpoint(seed: 23)
        var output = CoAPEndpointOutput()
        let token = CoAPToken(value: 0xBEEF, length: 2)
        var notification = CoAPMessage(type: .confirmable, code: .content, token: token)
        notification.options.append(.observe, uint: 7)
        device.notify(notification, confirmable: true, now: .zero, output: &output)
        let sent = try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get()
        XCTAssertEqual(sent.type, .confirmable)
        XCTAssertEqual(sent.observe, 7)
        output.removeAll()

        device.receive(CoAPMessage.empty(.reset, messageID: sent.messageID).encoded(), now: .seconds(1), output: &output)
        XCTAssertEqual(output.events, [.notificationFailed(token, .reset)])
        XCTAssertTrue(device.isIdle)
        output.removeAll()

        device.notify(notification, confirmable: true, now: .seconds(2), output: &output)
        output.removeAll()
        var now = Timestamp.seconds(2)
        while let deadline = device.nextDeadline, output.events.isEmpty {
            now = deadline
            device.handleDeadline(now: now, output: &output)
        }
        XCTAssertEqual(output.events, [.notificationFailed(token, .timeout)])
        XCTAssertGreaterThanOrEqual(now.nanoseconds(since: .seconds(2)), 62_000_000_000, "after the whole back-off")

        output.removeAll()
        device.notify(notification, confirmable: false, now: now, output: &output)
        XCTAssertEqual(try CoAPMessage.decode(output.datagrams[0]).get().type, .nonConfirmable)
        XCTAssertNil(device.nextDeadline, "a NON notification is fire and forget")
    }

    func testCallersTokenIsKeptForObserveCancellation() throws {
        var server = CoAPEndpoint(seed: 24)
        var output = CoAPEndpointOutput()
        let token = CoAPToken(value: 0xC0FFEE, length: 3)
        var cancel = CoAPMessage(type: .confirmable, code: .get, token: token)
        cancel.options.append(.observe, uint: 1)
        _ = server.send(cancel, now: .zero, output: &output)
        XCTAssertEqual(try CoAPMessage.decode(output.datagrams[0]).get().token, token)
        output.removeAll()
        _ = server.send(CoAPMessage(type: .confirmable, code: .get), now: .zero, output: &output)
        XCTAssertEqual(try CoAPMessage.decode(output.datagrams[0]).get().token.length, 4, "no token given: one is made")
    }
}
