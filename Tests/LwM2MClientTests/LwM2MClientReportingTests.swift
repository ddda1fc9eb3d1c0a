import CoAP
import LwM2M
@testable import LwM2MClient
import XCTest

/// Device management and information reporting once registered.
final class LwM2MClientReportingTests: XCTestCase {
    typealias F = ClientFixtures

    private func registered() -> Lockstep {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 86_400)))
        network.server.handler = { request in request.uriPath == ["rd"] ? F.created() : nil }
        network.start()
        return network
    }

    func testReadDeviceInstanceInTLVAndSenMLCBORDecodesBack() throws {
        let network = registered()
        for format in [LwM2MContentFormat.tlv, .senmlCBOR] {
            let read = network.request(F.request(.get, "/3/0", accept: format), from: .server)
            let response = try XCTUnwrap(network.server.responses[read])
            XCTAssertEqual(response.code, .content)
            XCTAssertEqual(response.contentFormat, format.rawValue)
            let records = try LwM2MPayloadCodec.decode(Array(response.payload), format: format, requestPath: F.path("/3/0"), model: .core).get()
            XCTAssertEqual(records, network.client.store.records(at: F.path("/3/0"), now: network.now), "\(format)")
        }
        XCTAssertTrue(network.violations.isEmpty)
    }

    func testObserveHonoursPminAndPmax() throws {
        let network = registered()
        // Battery level changes every second; pmin 2 s, pmax 10 s.
        let attributes = network.request(F.request(.put, "/3/0/9", query: ["pmin=2", "pmax=10"]), from: .server)
        XCTAssertEqual(network.server.responses[attributes]?.code, .changed)
        let start = network.now
        let observe = network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        XCTAssertEqual(network.server.responses[observe]?.code, .content)
        XCTAssertNotNil(network.server.responses[observe]?.observe)
        network.advance(seconds: 9)
        let times = network.server.notifications.map { Double($0.at.nanoseconds(since: start)) / 1e9 }
        XCTAssertFalse(times.isEmpty)
        var previous = 0.0
        for time in times {
            XCTAssertGreaterThanOrEqual(time - previous, 2 - 1e-6, "pmin: \(times)")
            XCTAssertLessThanOrEqual(time - previous, 10 + 1e-6, "pmax: \(times)")
            previous = time
        }
        let sequence = network.server.notifications.compactMap(\.message.observe)
        XCTAssertEqual(sequence, sequence.sorted(), "Observe numbers increase")
    }

    func testPmaxNotifiesAnUnchangingValue() throws {
        let network = registered()
        network.request(F.request(.put, "/3/0/0", query: ["pmax=10"]), from: .server)
        let start = network.now
        network.request(F.request(.get, "/3/0/0", observe: 0), from: .server)
        network.advance(seconds: 25)
        let times = network.server.notifications.map { Double($0.at.nanoseconds(since: start)) / 1e9 }
        XCTAssertEqual(times.count, 2, "\(times)")
        XCTAssertEqual(times.first ?? 0, 10, accuracy: 0.01)
        XCTAssertEqual(times.last ?? 0, 20, accuracy: 0.01)
    }

    func testCancelWithObserveOneStopsNotifications() throws {
        let network = registered()
        network.request(F.request(.put, "/3/0/9", query: ["pmin=1"]), from: .server)
        network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        network.advance(seconds: 3)
        let before = network.server.notifications.count
        XCTAssertGreaterThan(before, 0)
        var cancel = F.request(.get, "/3/0/9", observe: 1)
        cancel.token = network.server.notifications[0].message.token
        let answer = network.request(cancel, from: .server)
        XCTAssertEqual(network.server.responses[answer]?.code, .content)
        network.advance(seconds: 5)
        XCTAssertEqual(network.server.notifications.count, before)
    }

    /// RFC 7641 3.4, 4.4: within 128 s, a notification whose Observe value is not fresher than the
    /// last one is dropped as stale (Californium does). Registering the same token again, or
    /// cancelling and observing again with it, must not start over at a lower value.
    func testObserveValuesStayFreshWhenTheSameTokenObservesAgain() throws {
        let network = registered()
        network.request(F.request(.put, "/3/0/9", query: ["pmin=1"]), from: .server)
        network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        network.advance(seconds: 10)
        let token = try XCTUnwrap(network.server.notifications.first?.message.token)
        var values = network.server.notifications.compactMap(\.message.observe)
        XCTAssertGreaterThan(values.count, 5)
        func observe(_ value: UInt64) -> UInt32? {
            var request = F.request(.get, "/3/0/9", observe: value)
            request.token = token
            return network.server.responses[network.request(request, from: .server)]?.observe
        }
        values.append(try XCTUnwrap(observe(0), "registered again"))
        network.advance(seconds: 3)
        values += network.server.notifications.suffix(3).compactMap(\.message.observe)
        XCTAssertNil(observe(1), "cancelled")
        values.append(try XCTUnwrap(observe(0), "observed again after the cancel"))
        for (earlier, later) in zip(values, values.dropFirst()) {
            XCTAssertTrue(Self.isFresher(later, than: earlier), "\(later) after \(earlier) in \(values)")
        }
    }

    /// RFC 7641 3.4: V2 is fresher than V1 when (V1 < V2 and V2 - V1 < 2^23) or (V1 > V2 and V1 - V2 > 2^23).
    private static func isFresher(_ v2: UInt32, than v1: UInt32) -> Bool {
        (v1 < v2 && v2 - v1 < 1 << 23) || (v1 > v2 && v1 - v2 > 1 << 23)
    }

    func testResetToConfirmableNotificationCancelsTheObservation() throws {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 86_400), confirmableNotifications: true))
        network.server.handler = { request in request.uriPath == ["rd"] ? F.created() : nil }
        network.start()
        network.request(F.request(.put, "/3/0/9", query: ["pmin=1"]), from: .server)
        network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        network.server.resetNotifications = true
        network.advance(seconds: 5)
        XCTAssertEqual(network.server.notifications.count, 1, "the first one was Reset, so no more follow")
        XCTAssertEqual(network.server.notifications.first?.message.type, .confirmable)
    }

    /// RFC 7641 4.5.2: a new CON notification that replaces one still being retransmitted inherits
    /// its retransmission counter and timeout, so an observer that never acknowledges is given up
    /// on MAX_TRANSMIT_WAIT after the first unacknowledged one, however often the value changes.
    func testReplacedConfirmableNotificationsKeepTheRetransmissionCounter() throws {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 86_400), confirmableNotifications: true))
        network.server.handler = { request in request.uriPath == ["rd"] ? F.created() : nil }
        network.start()
        network.request(F.request(.put, "/3/0/9", query: ["pmin=1"]), from: .server)
        network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        let observedAt = network.now
        var lostAt: [Timestamp] = []
        network.losesFromDevice = { _, message in
            guard message.type == .confirmable, message.observe != nil else { return false }
            lostAt.append(network.now)
            return true
        }
        network.advance(seconds: 120)
        XCTAssertTrue(network.client.observations.isEmpty, "the observer that never acknowledged is gone")
        let last = try XCTUnwrap(lostAt.last)
        XCTAssertLessThanOrEqual(last.nanoseconds(since: observedAt), 63_000_000_000, "given up 62 s after the first notification")
    }

    /// RFC 7641 4.5: NON notifications, but one confirmable at least every 24 hours.
    func testNonConfirmableNotificationsGoConfirmableOnceEvery24Hours() throws {
        let network = Lockstep(client: F.client(F.serverAccount(lifetime: 86_400)))
        network.server.handler = { request in
            request.uriPath == ["rd"] ? F.created() : CoAPMessage(type: .acknowledgement, code: .changed)
        }
        network.start()
        network.request(F.request(.put, "/3/0/0", query: ["pmax=3600"]), from: .server)
        network.request(F.request(.get, "/3/0/0", observe: 0), from: .server)
        let observedAt = network.now
        network.advance(seconds: 50 * 3600 + 1)
        let hours = network.server.notifications.map { Double($0.at.nanoseconds(since: observedAt)) / 3.6e12 }
        let confirmable = network.server.notifications.filter { $0.message.type == .confirmable }
            .map { Double($0.at.nanoseconds(since: observedAt)) / 3.6e12 }
        XCTAssertEqual(hours.count, 50, "\(hours)")
        XCTAssertEqual(confirmable, [24, 48], "hours since the observation started")
    }

    func testExecuteRebootRegistersAgain() throws {
        let network = registered()
        let reboot = network.request(F.request(.post, "/3/0/4"), from: .server)
        XCTAssertEqual(network.server.responses[reboot]?.code, .changed)
        XCTAssertEqual(network.server.requests.filter { $0.uriPath == ["rd"] }.count, 2)
        XCTAssertEqual(network.client.stateName, "registered")
    }

    func testObservationsDoNotSpinWhileTheDeviceBootstraps() throws {
        let network = Lockstep(client: F.client(F.bootstrapAccount() + F.serverAccount(lifetime: 86_400)))
        network.server.handler = { request in request.uriPath == ["rd"] ? F.created() : nil }
        network.bootstrapServer.handler = { _ in CoAPMessage(type: .acknowledgement, code: .changed) }
        network.start()
        network.request(F.request(.put, "/3/0/9", query: ["pmin=1"]), from: .server)
        network.request(F.request(.get, "/3/0/9", observe: 0), from: .server)
        network.request(F.request(.post, "/1/0/9"), from: .server)
        XCTAssertEqual(network.client.stateName, "bootstrapping")
        let before = network.server.notifications.count
        network.advance(seconds: 5)
        XCTAssertEqual(network.server.notifications.count, before, "no notifications while bootstrapping")
        if let deadline = network.client.nextDeadline { XCTAssertGreaterThan(deadline, network.now) }
    }
}
