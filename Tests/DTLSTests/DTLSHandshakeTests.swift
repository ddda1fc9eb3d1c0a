import CoAP
import DTLS
import XCTest

/// Client and server sessions back to back on a manual clock: handshakes, failures, timers.
final class DTLSHandshakeTests: XCTestCase {
    private let key = PreSharedKey(identity: "urn:dev:fleet:000001", key: Array("0123456789abcdef".utf8))

    func testHandshakeWithHelloVerifyRequestThenDataBothWaysForEachSuite() throws {
        for suite in DTLSCipherSuite.allCases {
            var parameters = DTLSParameters()
            parameters.cipherSuites = [suite]
            let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key), clientParameters: parameters)
            pair.start()
            XCTAssertTrue(pair.run(), "\(suite): settled")

            XCTAssertEqual(pair.client.state, .established(suite), "\(suite)")
            XCTAssertEqual(pair.server.state, .established(suite), "\(suite)")
            XCTAssertEqual(pair.clientEvents, [.established(suite, resumed: false)], "\(suite)")
            XCTAssertEqual(pair.serverEvents, [.established(suite, resumed: false)], "\(suite)")
            XCTAssertEqual(pair.server.clientIdentity, key.identity, "\(suite): the server knows who it talks to")
            // RFC 6347 4.2.1: ClientHello, HelloVerifyRequest, ClientHello with the cookie, ...
            XCTAssertEqual(pair.sentByClient.map(DTLSRecordPeek.handshakeType).prefix(2), [1, 1], "\(suite)")
            XCTAssertEqual(pair.sentByServer.map(DTLSRecordPeek.handshakeType).first, DTLSRecordPeek.helloVerifyRequest, "\(suite)")
            XCTAssertEqual(pair.sentByClient.count, 3, "\(suite): three flights up, one datagram each")
            XCTAssertEqual(pair.sentByServer.count, 3, "\(suite): three flights down, one datagram each")
            XCTAssertEqual(pair.flightsRetransmitted, 0, "\(suite)")
            XCTAssertNil(pair.client.nextDeadline, "\(suite): no timer once established")
            XCTAssertNil(pair.server.nextDeadline, "\(suite)")

            XCTAssertTrue(pair.clientSends("GET /3/0"))
            XCTAssertTrue(pair.serverSends("2.05 Content"))
            XCTAssertTrue(pair.serverSends("and a notification"))
            pair.deliver()
            XCTAssertEqual(pair.serverReceived.map { String(decoding: $0, as: UTF8.self) }, ["GET /3/0"], "\(suite)")
            XCTAssertEqual(pair.clientReceived.map { String(decoding: $0, as: UTF8.self) }, ["2.05 Content", "and a notification"], "\(suite)")
            XCTAssertEqual(pair.sentByClient.last.flatMap(DTLSRecordPeek.contentType), 23, "\(suite): sent as application data")
        }
    }

    func testLargeRecordArrivesWhole() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key))
        pair.start()
        XCTAssertTrue(pair.run())
        let large = (0..<3_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        XCTAssertTrue(pair.client.maximumPlaintextLength >= large.count)
        var output = DTLSOutput()
        XCTAssertTrue(pair.client.send(large, now: pair.now, output: &output))
        XCTAssertEqual(output.datagrams.count, 1)
        pair.inject(output.datagrams[0], intoServer: true)
        XCTAssertEqual(pair.serverReceived, [large], "read in chunks, delivered as one record")
    }

    func testSendBeforeEstablishedOrAboveOneRecordIsRefused() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key))
        XCTAssertFalse(pair.clientSends("too early"))
        XCTAssertEqual(pair.sentByClient.count, 0)
        pair.start()
        XCTAssertTrue(pair.run())
        var output = DTLSOutput()
        let tooLarge = [UInt8](repeating: 1, count: pair.client.maximumPlaintextLength + 1)
        XCTAssertFalse(pair.client.send(tooLarge, now: pair.now, output: &output))
        XCTAssertTrue(output.datagrams.isEmpty)
        XCTAssertEqual(pair.client.state, .established(.pskWithAES128CCM8), "a refused send leaves the session alone")
    }

    func testWrongKeyFailsBothSidesWithBadRecordMACAndNeverHangs() throws {
        for suite in DTLSCipherSuite.allCases {
            var parameters = DTLSParameters()
            parameters.cipherSuites = [suite]
            let pair = try BackToBackSessions(
                key: key, serverKeys: .table([key.identity: Array("fedcba9876543210".utf8)]), clientParameters: parameters)
            let started = pair.now
            pair.start()
            XCTAssertTrue(pair.run(seconds: 120), "\(suite): both sides settled")
            // The server finds the client's Finished does not authenticate and says so.
            XCTAssertEqual(pair.server.state, .failed(.badRecordMAC), "\(suite)")
            XCTAssertEqual(pair.client.state, .failed(.badRecordMAC), "\(suite): told by the alert")
            XCTAssertEqual(pair.serverEvents, [.failed(.badRecordMAC)])
            XCTAssertEqual(pair.clientEvents, [.failed(.badRecordMAC)])
            XCTAssertEqual(pair.now, started, "\(suite): failed at once, no timer needed")
            XCTAssertTrue(DTLSFailure.badRecordMAC.description.contains("bad_record_mac"))
            XCTAssertNil(pair.client.nextDeadline)
            XCTAssertFalse(pair.clientSends("after the failure"))
        }
    }

    func testWrongKeyWithTheAlertLostEndsInTimeout() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(Array("fedcba9876543210".utf8)))
        pair.losesServerDatagram = { $0 >= 2 }  // the alert and anything after it
        pair.start()
        XCTAssertTrue(pair.run(seconds: 200), "the client gives up on its own clock, at 123 s")
        XCTAssertEqual(pair.server.state, .failed(.badRecordMAC))
        XCTAssertEqual(pair.client.state, .failed(.timeout))
        XCTAssertTrue(DTLSFailure.timeout.description.contains("timeout"))
    }

    func testUnknownIdentityFailsWithUnknownPSKIdentity() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .table([Array("someone else".utf8): key.key]))
        pair.start()
        XCTAssertTrue(pair.run())
        XCTAssertEqual(pair.server.state, .failed(.unknownPSKIdentity))
        XCTAssertEqual(pair.client.state, .failed(.unknownPSKIdentity), "told by alert 115")
        XCTAssertNil(pair.server.clientIdentity)
        XCTAssertEqual(DTLSFailure.unknownPSKIdentity.description, "unknown_psk_identity (alert 115)")
    }

    func testNoCommonSuiteFailsWithHandshakeFailure() throws {
        var clientParameters = DTLSParameters()
        clientParameters.cipherSuites = [.pskWithAES128GCMSHA256]
        var serverParameters = DTLSParameters()
        serverParameters.cipherSuites = [.pskWithAES128CCM8]
        let pair = try BackToBackSessions(
            key: key, serverKeys: .fixed(key.key), clientParameters: clientParameters, serverParameters: serverParameters)
        pair.start()
        XCTAssertTrue(pair.run())
        XCTAssertEqual(pair.server.state, .failed(.handshakeFailure))
        XCTAssertEqual(pair.client.state, .failed(.handshakeFailure))
    }

    func testLostFirstFlightIsRetransmittedOnTheManualClock() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key))
        pair.losesClientDatagram = { $0 == 0 }
        let started = pair.now
        pair.start()
        XCTAssertEqual(pair.client.nextDeadline, started.adding(milliseconds: 1_000), "RFC 6347 4.2.4.1: 1 s at first")
        pair.deliver()
        XCTAssertEqual(pair.client.state, .handshaking)
        XCTAssertEqual(pair.sentByServer.count, 0, "the server heard nothing")

        var output = DTLSOutput()
        pair.client.handleDeadline(now: started.adding(milliseconds: 999), output: &output)
        XCTAssertTrue(output.datagrams.isEmpty, "nothing before the deadline")

        XCTAssertTrue(pair.run())
        XCTAssertEqual(pair.client.state, .established(.pskWithAES128CCM8))
        XCTAssertEqual(pair.server.state, .established(.pskWithAES128CCM8))
        XCTAssertEqual(pair.flightsRetransmitted, 1)
        XCTAssertEqual(pair.now, started.adding(milliseconds: 1_000), "completed when the first timer fired")
        XCTAssertEqual(pair.sentByClient.count, 4)
    }

    func testAnswerArrivingAfterTheDeadlineIsReadAfterTheRetransmission() throws {
        let client = try DTLSClientSession(key: key, seed: 1)
        let configuration = try DTLSServerConfiguration(keys: .fixed(key.key), seed: 2)
        let server = DTLSServerSession(configuration: configuration, transportID: [9])
        var output = DTLSOutput()
        client.start(now: .zero, output: &output)
        let clientHello = output.datagrams
        output.removeAll()
        server.receive(clientHello[0], now: .zero, output: &output)
        let helloVerifyRequest = output.datagrams
        output.removeAll()
        // The driver was late: the HelloVerifyRequest is handed over 1.5 s on, past the 1 s timer.
        client.receive(helloVerifyRequest[0], now: .milliseconds(1_500), output: &output)
        XCTAssertEqual(output.flightsRetransmitted, 1)
        XCTAssertEqual(output.datagrams.count, 2, "the old ClientHello again, then the one with the cookie")
        XCTAssertEqual(output.datagrams.first?.dropFirst(13), clientHello[0].dropFirst(13), "the same message in a new record")
        XCTAssertEqual(client.nextDeadline, .milliseconds(1_500).adding(milliseconds: 1_000), "the timer restarts from the new flight")
    }

    func testLostLastFlightIsAnsweredAgainWhenTheClientRetransmits() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key))
        pair.losesServerDatagram = { $0 == 2 }  // the server's ChangeCipherSpec and Finished
        pair.start()
        XCTAssertTrue(pair.run())
        XCTAssertEqual(pair.client.state, .established(.pskWithAES128CCM8))
        XCTAssertEqual(pair.serverEvents, [.established(.pskWithAES128CCM8, resumed: false)], "once, though it sent its flight twice")
        XCTAssertEqual(pair.sentByServer.count, 4)
        XCTAssertTrue(pair.clientSends("after recovery"))
        pair.deliver()
        XCTAssertEqual(pair.serverReceived, [Array("after recovery".utf8)])
    }

    func testUnansweredClientRetransmitsWithDoublingTimeoutThenTimesOut() throws {
        var parameters = DTLSParameters()
        parameters.handshakeTimeoutMinimumMilliseconds = 500
        parameters.handshakeTimeoutMaximumMilliseconds = 4_000
        let client = try DTLSClientSession(key: key, parameters: parameters, seed: 1)
        var output = DTLSOutput()
        client.start(now: .zero, output: &output)
        var sendMilliseconds: [UInt64] = [0]
        var events = output.events
        for _ in 0..<20 {
            guard let deadline = client.nextDeadline else { break }
            output.removeAll()
            client.handleDeadline(now: deadline, output: &output)
            events += output.events
            if !output.datagrams.isEmpty { sendMilliseconds.append(deadline.nanoseconds / 1_000_000) }
            if case .failed = client.state { XCTAssertEqual(deadline, .milliseconds(7_500), "the last wait is the maximum") }
        }
        // 0.5 s, doubling, capped at 4 s; a wait of the maximum that runs out ends the handshake.
        XCTAssertEqual(sendMilliseconds, [0, 500, 1_500, 3_500])
        XCTAssertEqual(client.state, .failed(.timeout))
        XCTAssertEqual(events, [.failed(.timeout)])
        XCTAssertNil(client.nextDeadline)
    }

    func testDefaultTimerRetransmitsSixTimesAndGivesUpAfter123Seconds() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key))
        pair.losesClientDatagram = { _ in true }
        let started = pair.now
        pair.start()
        XCTAssertFalse(pair.run(seconds: 200), "the server never settles: it heard nothing")
        XCTAssertEqual(pair.client.state, .failed(.timeout))
        XCTAssertEqual(pair.clientEvents, [.failed(.timeout)])
        // Sent at 0, 1, 3, 7, 15, 31 and 63 s; the 60 s wait after the last runs out at 123 s.
        XCTAssertEqual(pair.sentByClient.count, 7)
        XCTAssertEqual(pair.flightsRetransmitted, 6)
        XCTAssertEqual(pair.now.nanoseconds(since: started), 123_000_000_000)
    }

    func testCloseReachesThePeerAsClosedByPeer() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key))
        pair.start()
        XCTAssertTrue(pair.run())
        pair.closeClient()
        XCTAssertEqual(pair.client.state, .closed)
        pair.deliver()
        XCTAssertEqual(pair.server.state, .closed)
        XCTAssertEqual(pair.serverEvents.last, .closedByPeer)
        XCTAssertFalse(pair.serverSends("too late"))
    }

    func testDerivedKeysNeedNoTableOnTheServer() throws {
        let secret = Array("lwm2m-fleet secret".utf8)
        for index in 0..<3 {
            let device = PreSharedKey.derived(secret: secret, identity: Array("urn:dev:fleet:00000\(index)".utf8))
            let pair = try BackToBackSessions(key: device, serverKeys: .derived(secret: secret))
            pair.start()
            XCTAssertTrue(pair.run())
            XCTAssertEqual(pair.server.state, .established(.pskWithAES128CCM8))
            XCTAssertEqual(pair.server.clientIdentity, device.identity)
        }
        let impostor = PreSharedKey.derived(secret: Array("another secret".utf8), identity: key.identity)
        let pair = try BackToBackSessions(key: impostor, serverKeys: .derived(secret: secret))
        pair.start()
        XCTAssertTrue(pair.run())
        XCTAssertEqual(pair.server.state, .failed(.badRecordMAC))
    }

    func testLookupClosureDecidesWhoGetsIn() throws {
        let pair = try BackToBackSessions(key: key, serverKeys: .lookup { identity in
            identity.starts(with: Array("urn:dev:".utf8)) ? Array("0123456789abcdef".utf8) : nil
        })
        pair.start()
        XCTAssertTrue(pair.run())
        XCTAssertEqual(pair.server.state, .established(.pskWithAES128CCM8))
    }

    func testBadKeyOrParametersThrowWithTheReason() {
        XCTAssertThrowsError(try DTLSClientSession(key: PreSharedKey(identity: "a", key: []), seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("1 to 32"), "\(error)")
        }
        XCTAssertThrowsError(try DTLSClientSession(key: PreSharedKey(identity: "", key: [1]), seed: 1))
        var parameters = DTLSParameters()
        parameters.cipherSuites = []
        XCTAssertThrowsError(try DTLSServerConfiguration(keys: .fixed([1]), parameters: parameters, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("cipher suite"), "\(error)")
        }
        parameters = DTLSParameters()
        parameters.handshakeTimeoutMaximumMilliseconds = 10
        XCTAssertThrowsError(try DTLSClientSession(key: key, parameters: parameters, seed: 1))
    }
}
