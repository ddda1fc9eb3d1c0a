import CoAP
import HeapModule
import LwM2M
import LwM2MClient
import LwM2MServer
import XCTest

/// Where a server sees a device from: its index and which of its sockets (a new connection is a
/// new socket, so a new source port to the server).
struct SimulatedPeer: Hashable, Sendable {
    var device: Int
    var connection: UInt32
}

/// Devices and both embedded servers on one virtual clock, joined by a seeded lossy network: a
/// whole fleet's bootstrap, registration and de-registration at 20% loss in seconds of real time,
/// every run the same. No sockets, no threads; what the fleet's drivers do with the machines'
/// actions, reduced to delivering datagrams after a fixed latency or losing them.
final class SimulatedFleet {
    /// What happened to one device, from its own actions.
    struct DeviceRecord {
        var finished: [LwM2MOperation: [OperationOutcome]] = [:]
        var proven: [ServerViolation] = []
        var unproven: [ServerViolation] = []
        var handled: [(LwM2MOperation?, CoAPCode)] = []

        func count(_ operation: LwM2MOperation, _ outcome: OperationOutcome) -> Int {
            finished[operation, default: []].filter { $0 == outcome }.count
        }
    }

    private(set) var now = Timestamp.seconds(1_000)
    private(set) var devices: [LwM2MClient]
    private(set) var records: [DeviceRecord]
    var bootstrapServer: LwM2MBootstrapServer<SimulatedPeer>
    var server: LwM2MRegistrationServer<SimulatedPeer>
    private(set) var serverEvents: [ServerEvent] = []
    /// Loss each way, as a fraction.
    var lossUp = 0.0
    var lossDown = 0.0
    let latencyMilliseconds: UInt64 = 1

    /// Devices whose datagrams are written to `trace`, for a test that explains a failure.
    var traced: Set<Int> = []
    private(set) var trace: [String] = []

    private var random: SeededRandom
    private var connection: [[ServerRole: UInt32]]
    private var open: [Set<ServerRole>]
    private var deviceScheduled: [Timestamp?]
    private var serverScheduled: [ServerRole: Timestamp] = [:]

    private enum Event {
        case start(Int)
        case stop(Int)
        case deviceDue(Int)
        case serverDue(ServerRole)
        case toDevice(Int, ServerRole, connection: UInt32, [UInt8])
        case toServer(ServerRole, SimulatedPeer, [UInt8])
    }
    private struct Entry: Comparable {
        var time: Timestamp
        var sequence: UInt64
        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.time, lhs.sequence) < (rhs.time, rhs.sequence) }
    }
    private var queue = Heap<Entry>()
    private var pending: [UInt64: Event] = [:]
    private var sequence: UInt64 = 0

    init(
        devices: [LwM2MClient], bootstrap: BootstrapServerConfiguration, registration: RegistrationServerConfiguration, seed: UInt64,
        preSharedKeys: PreSharedKeySource? = nil
    ) {
        self.devices = devices
        records = Array(repeating: DeviceRecord(), count: devices.count)
        connection = Array(repeating: [:], count: devices.count)
        open = Array(repeating: [], count: devices.count)
        deviceScheduled = Array(repeating: nil, count: devices.count)
        bootstrapServer = LwM2MBootstrapServer(configuration: bootstrap, seed: seed &+ 1, preSharedKeys: preSharedKeys)
        server = LwM2MRegistrationServer(configuration: registration, seed: seed &+ 2)
        random = SeededRandom(seed: seed)
    }

    /// `count` devices of one configuration, with a Bootstrap-Server account (any URI: the network
    /// routes by role) or, with `bootstrap: false`, a NoSec Server account.
    static func devices(
        _ count: Int, configuration: ClientConfiguration, bootstrap: Bool, seed: UInt64, speaksDTLS: Bool = false
    ) -> [LwM2MClient] {
        func record(_ path: String, _ value: LwM2MValue) -> LwM2MRecord {
            LwM2MRecord(path: try! LwM2MPath(parsing: path), value: value)
        }
        let account = bootstrap
            ? [record("/0/0/0", .string("coap://127.0.0.1:5783")), record("/0/0/1", .boolean(true)), record("/0/0/2", .integer(3))]
            : [record("/0/0/0", .string("coap://127.0.0.1:5683")), record("/0/0/1", .boolean(false)), record("/0/0/2", .integer(3)),
               record("/0/0/10", .integer(1)), record("/1/0/0", .integer(1)), record("/1/0/1", .integer(300)),
               record("/1/0/6", .boolean(false)), record("/1/0/7", .string("U"))]
        let device = [record("/3/0/0", .string("lwm2m-fleet")), record("/3/0/9", .integer(100)), record("/3/0/16", .string("U"))]
        let profile = DeviceProfile(
            model: LwM2MModel.core, records: account + device, supportedObjects: [0, 1, 3], generators: [:], speaksDTLS: speaksDTLS)
        return (0..<count).map { LwM2MClient(configuration: configuration, profile: profile, index: UInt32($0), seed: seed &+ UInt64($0)) }
    }

    /// Starts the devices `perSecond` a second from now, in index order.
    func startAll(perSecond: Double) {
        for index in devices.indices {
            schedule(.start(index), at: now.adding(nanoseconds: UInt64(Double(index) / perSecond * 1e9)))
        }
    }

    /// Stops every device `perSecond` a second from now, De-registering those registered.
    func stopAll(perSecond: Double) {
        for index in devices.indices {
            schedule(.stop(index), at: now.adding(nanoseconds: UInt64(Double(index) / perSecond * 1e9)))
        }
    }

    /// Runs every event up to `seconds` from now.
    func run(seconds: Double) {
        let end = now.adding(nanoseconds: UInt64(seconds * 1e9))
        var steps = 0
        while let first = queue.min, first.time <= end {
            steps += 1
            guard steps < 50_000_000 else { return XCTFail("the simulation never settles at \(now)") }
            queue.removeMin()
            now = first.time
            guard let event = pending.removeValue(forKey: first.sequence) else { continue }
            handle(event)
        }
        now = end
    }

    // MARK: Events

    private func handle(_ event: Event) {
        switch event {
        case .start(let index):
            onDevice(index) { $0.start(now: now, actions: &$1) }
        case .stop(let index):
            onDevice(index) { $0.stop(now: now, deregister: true, actions: &$1) }
        case .deviceDue(let index):
            guard deviceScheduled[index] == now else { return }
            deviceScheduled[index] = nil
            onDevice(index) { device, actions in
                if let deadline = device.nextDeadlineWithoutCopy(), deadline <= now { device.handleDeadline(now: now, actions: &actions) }
            }
        case .serverDue(let role):
            guard serverScheduled[role] == now else { return }
            serverScheduled[role] = nil
            onServer(role) { output in
                switch role {
                case .bootstrapServer: bootstrapServer.handleDeadline(now: now, output: &output)
                case .server: server.handleDeadline(now: now, output: &output)
                }
            }
        case .toDevice(let index, let role, let number, let datagram):
            // A datagram for a socket that closed meets no one.
            guard open[index].contains(role), connection[index][role] == number else { return }
            onDevice(index) { $0.receive(datagram, from: role, now: now, actions: &$1) }
        case .toServer(let role, let peer, let datagram):
            onServer(role) { output in
                switch role {
                case .bootstrapServer: bootstrapServer.receive(datagram, from: peer, now: now, output: &output)
                case .server: server.receive(datagram, from: peer, now: now, output: &output)
                }
            }
        }
    }

    private func onDevice(_ index: Int, _ body: (inout LwM2MClient, inout [ClientAction]) -> Void) {
        var actions: [ClientAction] = []
        body(&devices[index], &actions)
        for action in actions {
            switch action {
            case .connect(let role, _):
                connection[index][role, default: 0] += 1
                open[index].insert(role)
            case .disconnect(let role):
                open[index].remove(role)
            case .send(let role, let datagram):
                let isLost = lost(lossUp)
                note(index, "->", role, datagram, isLost)
                guard open[index].contains(role), !isLost else { continue }
                let peer = SimulatedPeer(device: index, connection: connection[index][role, default: 0])
                schedule(.toServer(role, peer, datagram), at: now.adding(milliseconds: latencyMilliseconds))
            case .operationFinished(let operation, let outcome, _, _):
                records[index].finished[operation, default: []].append(outcome)
            case .violation(let violation):
                if violation.isProven { records[index].proven.append(violation) } else { records[index].unproven.append(violation) }
            case .requestHandled(let operation, _, let code):
                records[index].handled.append((operation, code))
            case .notificationSent, .retransmissions, .stateChanged:
                break
            }
        }
        if let deadline = devices[index].nextDeadlineWithoutCopy(), deviceScheduled[index].map({ deadline < $0 }) ?? true {
            deviceScheduled[index] = max(deadline, now)
            schedule(.deviceDue(index), at: max(deadline, now))
        }
    }

    private func onServer(_ role: ServerRole, _ body: (inout ServerOutput<SimulatedPeer>) -> Void) {
        var output = ServerOutput<SimulatedPeer>()
        body(&output)
        serverEvents += output.events
        for (peer, datagram) in output.datagrams {
            let isLost = lost(lossDown)
            note(peer.device, "<-", role, datagram, isLost)
            if isLost { continue }
            schedule(.toDevice(peer.device, role, connection: peer.connection, datagram), at: now.adding(milliseconds: latencyMilliseconds))
        }
        let next = role == .server ? server.nextDeadline : bootstrapServer.nextDeadline
        if let deadline = next, serverScheduled[role].map({ deadline < $0 }) ?? true {
            serverScheduled[role] = max(deadline, now)
            schedule(.serverDue(role), at: max(deadline, now))
        }
    }

    private func note(_ index: Int, _ direction: String, _ role: ServerRole, _ datagram: [UInt8], _ isLost: Bool) {
        guard traced.contains(index), let message = try? CoAPMessage.decode(datagram).get() else { return }
        let seconds = Double(now.nanoseconds) / 1e9 - 1000
        trace.append("\(String(format: "%9.3f", seconds)) \(index) \(direction) \(role) \(message.type) \(message.code) mid=\(message.messageID) \(message.path)\(isLost ? " LOST" : "")")
    }

    private func schedule(_ event: Event, at time: Timestamp) {
        sequence += 1
        pending[sequence] = event
        queue.insert(Entry(time: time, sequence: sequence))
    }

    private func lost(_ probability: Double) -> Bool {
        probability > 0 && Double(random.next() >> 11) / Double(1 << 53) < probability
    }
}
