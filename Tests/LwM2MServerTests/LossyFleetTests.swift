import CoAP
import LwM2M
import LwM2MClient
import LwM2MServer
import XCTest

/// Whole fleets against the embedded servers at 20% loss each way, on the virtual clock of
/// `SimulatedFleet`: the rule's accounting and "nothing lost" (issue 14, Deliver 3 and 4).
final class LossyFleetTests: XCTestCase {
    private static let readDevice = AfterRegistrationAction(.read(LwM2MPath(objectID: 3, instanceID: 0)))
    private static let observeBattery = AfterRegistrationAction(.observe(LwM2MPath(objectID: 3, instanceID: 0, resourceID: 9)))

    private func fleet(
        _ count: Int, bootstrap: Bool = true, violation: ViolationMode? = nil,
        afterRegistration: [AfterRegistrationAction] = [], loss: Double, seed: UInt64
    ) -> SimulatedFleet {
        let configuration = ClientConfiguration(bootstrapMode: bootstrap ? .clientInitiated : .none)
        var registration = RegistrationServerConfiguration()
        registration.violation = violation
        registration.afterRegistration = afterRegistration
        let fleet = SimulatedFleet(
            devices: SimulatedFleet.devices(count, configuration: configuration, bootstrap: bootstrap, seed: seed),
            bootstrap: BootstrapServerConfiguration(), registration: registration, seed: seed)
        fleet.lossUp = loss
        fleet.lossDown = loss
        return fleet
    }

    /// Endpoints the server sent a request against the rule to.
    private func violated(_ fleet: SimulatedFleet) -> Set<String> {
        var endpoints: Set<String> = []
        for case .violationSent(_, let endpoint) in fleet.serverEvents { endpoints.insert(endpoint) }
        return endpoints
    }

    /// Devices that proved a violation, of those the server sent one to.
    private func caught(_ fleet: SimulatedFleet, among endpoints: Set<String>) -> Int {
        fleet.devices.indices.filter { endpoints.contains(fleet.devices[$0].endpointName) && !fleet.records[$0].proven.isEmpty }.count
    }

    func testAConformantServerIsChargedWithNoViolationAt20PercentLossWhateverTheDevicesIgnored() {
        let fleet = fleet(1000, afterRegistration: [Self.readDevice, Self.observeBattery], loss: 0.2, seed: 11)
        fleet.startAll(perSecond: 200)
        fleet.run(seconds: 120)
        fleet.stopAll(perSecond: 200)
        fleet.run(seconds: 300)
        let proven = fleet.records.flatMap { $0.proven }
        XCTAssertEqual(proven.count, 0, "a conformant server broke no rule: \(proven.prefix(5))")
        let unproven = fleet.records.flatMap { $0.unproven }
        XCTAssertGreaterThan(unproven.count, 100, "20% of the 2.01s are lost, and the Read after one comes too early for the device")
        let states = Set(unproven.map { $0.state })
        XCTAssertTrue(states.isSubset(of: [.registering, .waitingToRegister, .deregistering]), "\(states)")
    }

    func testAServerThatAsksDuringBootstrapIsCaughtOnEveryDeviceOnACleanNetwork() {
        let fleet = fleet(300, violation: .duringBootstrap, loss: 0, seed: 12)
        fleet.startAll(perSecond: 200)
        fleet.run(seconds: 60)
        let endpoints = violated(fleet)
        XCTAssertEqual(endpoints.count, 300)
        XCTAssertEqual(caught(fleet, among: endpoints), 300)
    }

    func testAServerThatAsksDuringBootstrapIsCaughtOnNineteenInTwentyDevicesItBrokeTheRuleOnAt20PercentLoss() {
        let fleet = fleet(1000, violation: .duringBootstrap, loss: 0.2, seed: 5)
        fleet.startAll(perSecond: 200)
        fleet.run(seconds: 120)
        let endpoints = violated(fleet)
        // A trigger whose every answer was lost leaves the server unaware of the bootstrap: it
        // sends nothing against the rule to that device, which is no miss of the device's.
        XCTAssertGreaterThan(endpoints.count, 800)
        let caught = caught(fleet, among: endpoints)
        XCTAssertGreaterThanOrEqual(Double(caught), 0.95 * Double(endpoints.count), "caught on \(caught) of \(endpoints.count)")
    }

    func testAServerThatAsksBeforeItsAcknowledgementIsCaughtOnNineteenInTwentyDevicesAt20PercentLoss() {
        let fleet = fleet(1000, bootstrap: false, violation: .beforeAcknowledgement, loss: 0.2, seed: 13)
        fleet.startAll(perSecond: 200)
        fleet.run(seconds: 120)
        let endpoints = violated(fleet)
        XCTAssertGreaterThan(endpoints.count, 990, "the server breaks the rule at every Register it hears")
        let caught = caught(fleet, among: endpoints)
        XCTAssertGreaterThanOrEqual(Double(caught), 0.95 * Double(endpoints.count), "caught on \(caught) of \(endpoints.count)")
    }

    /// Issue 14, Deliver 4: at 20% loss each way every device of a 2,000-device fleet bootstraps
    /// and registers (CoAP retransmissions, the retry resources /1/x/17-20, a refused Finish asked
    /// again), every after-registration Read is answered, and every device De-registers.
    func testNothingIsLostAt20PercentLoss() {
        let count = 2000
        let fleet = fleet(count, afterRegistration: [Self.readDevice], loss: 0.2, seed: 9)
        fleet.startAll(perSecond: 200)
        fleet.run(seconds: 600)
        let notRegistered = fleet.devices.indices.filter { !fleet.devices[$0].isRegistered }
        XCTAssertEqual(notRegistered, [], "every device registered: \(notRegistered.prefix(5).map { fleet.devices[$0].stateName })")

        fleet.stopAll(perSecond: 200)
        fleet.run(seconds: 400)
        let deregistered = fleet.records.indices.filter { fleet.records[$0].count(.deregister, .succeeded) == 1 }
        XCTAssertEqual(deregistered.count, count, "every device De-registered once")
        XCTAssertEqual(fleet.server.registrationCount, 0, "and the server holds none of them")

        var answered: Set<String> = []
        for case .operationCompleted("read", let endpoint, .content?, _) in fleet.serverEvents { answered.insert(endpoint) }
        XCTAssertEqual(answered.count, count, "every device answered the server's Read")
        XCTAssertEqual(fleet.server.counters.operationsFailed, 0, "no Read of a registration that lived went unanswered")
        XCTAssertGreaterThan(fleet.records.map { $0.count(.register, .timedOut) }.reduce(0, +), 0,
                             "the loss did cost some Registers all their retransmissions: the retries were needed")
    }
}
