import Benchmark
import BenchmarkDevices
import CoAP
import LwM2MClient

/// One registered device of the default profile, driven as `DeviceDriver` drives it but with no
/// socket: each request it sends is answered at once by a piggybacked response rewritten in place,
/// so the allocations counted are the device's own (state machine, CoAP endpoint, codec).
struct RegisteredDevice {
    private(set) var client: LwM2MClient
    private(set) var now = Timestamp.seconds(1_000)
    /// Reused for every event, as the driver reuses its list.
    private var actions: [ClientAction] = []
    /// 2.01 Created with Location-Path rd/1a2b, the answer to Register (LwM2M 1.1 TS Core 6.2.1).
    private var created: PiggybackedResponse
    /// 2.04 Changed, the answer to Update (TS Core 6.2.2).
    private var changed: PiggybackedResponse

    /// Starts device `index` and answers its first Register, so it is registered.
    init(index: UInt32 = 1) {
        client = LwM2MClient(configuration: DefaultDevice.configuration, profile: DefaultDevice.profile, index: index, seed: 1)
        client.start(now: now, actions: &actions)
        let tokenLength = actions.sentDatagram(to: .server).map { $0[0] & 0x0F } ?? 0
        created = PiggybackedResponse(code: .created, locationPath: ["rd", "1a2b"], tokenLength: tokenLength)
        changed = PiggybackedResponse(code: .changed, tokenLength: tokenLength)
        guard let register = actions.sentDatagram(to: .server), created.answer(register) else {
            fatalError("device \(index) sent no Register when started")
        }
        actions.removeAll(keepingCapacity: true)
        client.receive(created.datagram, from: .server, now: now, actions: &actions)
        guard client.isRegistered else { fatalError("device \(index) did not register: \(client.stateName)") }
    }

    /// One Register round trip: `registerAgain` hands out the Register datagram, the 2.01 comes
    /// back and the device is registered again. True when it ended registered.
    mutating func registerRoundTrip() -> Bool {
        actions.removeAll(keepingCapacity: true)
        client.registerAgain(now: now, actions: &actions)
        guard let register = actions.sentDatagram(to: .server), created.answer(register) else { return false }
        blackHole(register)
        // The driver reads the next deadline after every event to set the device's timer.
        blackHole(client.nextDeadline)
        actions.removeAll(keepingCapacity: true)
        client.receive(created.datagram, from: .server, now: now, actions: &actions)
        blackHole(client.nextDeadline)
        return client.isRegistered
    }

    /// One Update round trip: the clock moves to the device's next deadline (its lifetime
    /// refresh), `handleDeadline` hands out the Update, the 2.04 comes back and the registration
    /// is refreshed. True when the registration was refreshed at that time.
    mutating func updateRoundTrip() -> Bool {
        guard let deadline = client.nextDeadline else { return false }
        now = deadline
        actions.removeAll(keepingCapacity: true)
        client.handleDeadline(now: now, actions: &actions)
        guard let update = actions.sentDatagram(to: .server), changed.answer(update) else { return false }
        blackHole(update)
        blackHole(client.nextDeadline)
        actions.removeAll(keepingCapacity: true)
        client.receive(changed.datagram, from: .server, now: now, actions: &actions)
        blackHole(client.nextDeadline)
        guard case .registered(let registration) = client.state else { return false }
        return registration.update == nil && registration.refreshedAt == now
    }
}
