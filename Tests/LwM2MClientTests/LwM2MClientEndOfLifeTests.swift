import CoAP
import LwM2M
@testable import LwM2MClient
import XCTest



/// A device stopped with an operation in flight, and a socket the driver could not open: neither
/// may lose an outcome (issue 13: every operation is accounted for, however the run ends).
final class LwM2MClientEndOfLifeTests: XCTestCase {
    typealias F = ClientFixtures

    private func finished(_ actions: [ClientAction]) -> [(LwM2MOperation, OperationOutcome, Timestamp)] {
        actions.compactMap {
            if case .operationFinished(let operation, let outcome, _, let startedAt) = $0 { (operation, outcome, startedAt) } else { nil }
        }
    }

    func testAStopWhileBootstrappingCountsTheBootstrapAsTimedOutFromItsStart() {
        var client = F.client(F.bootstrapAccount(), mode: .clientInitiated)
        var actions: [ClientAction] = []
        let started = Timestamp(nanoseconds: 1_000_000_000)
        client.start(now: started, actions: &actions)
        XCTAssertEqual(client.deviceState, .bootstrapping)
        actions.removeAll()
        client.stop(now: Timestamp(nanoseconds: 5_000_000_000), deregister: true, actions: &actions)
        XCTAssertEqual(client.deviceState, .stopped)
        let outcomes = finished(actions)
        XCTAssertEqual(outcomes.map(\.0), [.bootstrap])
        XCTAssertEqual(outcomes.map(\.1), [.timedOut])
        XCTAssertEqual(outcomes.first?.2, started, "its latency runs from when it started")
        XCTAssertTrue(actions.contains(.stateChanged(from: .bootstrapping, to: .stopped)))
    }

    func testADropWhileRegisteringCountsTheRegisterAsTimedOut() {
        var client = F.client(F.serverAccount())
        var actions: [ClientAction] = []
        client.start(now: Timestamp(nanoseconds: 1), actions: &actions)
        XCTAssertEqual(client.deviceState, .registering)
        actions.removeAll()
        client.stop(now: Timestamp(nanoseconds: 2), deregister: false, actions: &actions)
        XCTAssertEqual(finished(actions).map(\.0), [.register])
        XCTAssertEqual(finished(actions).map(\.1), [.timedOut])
    }

    func testAStopWhileWaitingToRetryHasNothingInFlight() {
        var client = F.client(F.serverAccount())
        var actions: [ClientAction] = []
        client.start(now: Timestamp(nanoseconds: 1), actions: &actions)
        // The driver could not open the server socket: the Register fails at once and waits to retry.
        actions.removeAll()
        client.connectionFailed(.server, now: Timestamp(nanoseconds: 2), actions: &actions)
        XCTAssertEqual(finished(actions).map(\.0), [.register])
        XCTAssertEqual(finished(actions).map(\.1), [.failed])
        XCTAssertEqual(client.deviceState, .waitingToRegister)
        XCTAssertNil(client.operationInFlight)
        actions.removeAll()
        client.stop(now: Timestamp(nanoseconds: 3), deregister: true, actions: &actions)
        XCTAssertTrue(finished(actions).isEmpty)
    }

    func testABootstrapSocketThatCannotOpenFailsTheBootstrapForItsRole() {
        var client = F.client(F.bootstrapAccount(), mode: .clientInitiated)
        var actions: [ClientAction] = []
        client.start(now: Timestamp(nanoseconds: 1), actions: &actions)
        actions.removeAll()
        // A failure of the other role's socket is no business of a bootstrapping device.
        client.connectionFailed(.server, now: Timestamp(nanoseconds: 2), actions: &actions)
        XCTAssertTrue(actions.isEmpty)
        XCTAssertEqual(client.deviceState, .bootstrapping)
        client.connectionFailed(.bootstrapServer, now: Timestamp(nanoseconds: 2), actions: &actions)
        XCTAssertEqual(finished(actions).map(\.0), [.bootstrap])
        XCTAssertEqual(finished(actions).map(\.1), [.failed])
        XCTAssertEqual(client.deviceState, .waitingToBootstrap)
    }

    func testRetransmissionsNameTheOperationTheyRepeat() {
        var client = F.client(F.serverAccount())
        var actions: [ClientAction] = []
        client.start(now: Timestamp(nanoseconds: 1), actions: &actions)
        actions.removeAll()
        // Nobody answers: the Register is sent again after ACK_TIMEOUT.
        client.handleDeadline(now: Timestamp(nanoseconds: 3_000_000_001), actions: &actions)
        XCTAssertTrue(actions.contains(.retransmissions(1, of: .register)), "\(actions)")
    }
}
