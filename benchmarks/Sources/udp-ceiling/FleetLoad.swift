import CoAP
import EventLoop
import Fleet
import LwM2M
import LwM2MClient

/// The whole device path at full speed: N simulated devices (LwM2MClient state machines on the
/// DeviceDriver, each with its connected socket) registering again the moment a registration
/// is acknowledged. Against the same trivial responder as the raw ceiling, so what differs from
/// it is the fleet's own cost per round trip.
final class FleetLoad {
    private let loop: EventLoop
    private let driver: DeviceDriver
    private let configuration = ClientConfiguration()
    private let profile: DeviceProfile
    private var completed = 0

    init(sockets count: Int, port: UInt16) throws {
        func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }
        profile = DeviceProfile(model: .core, records: [
            LwM2MRecord(path: path("/0/0/0"), value: .string("coap://127.0.0.1:\(port)")),
            LwM2MRecord(path: path("/0/0/1"), value: .boolean(false)),
            LwM2MRecord(path: path("/0/0/10"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/0"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/1"), value: .integer(86_400)),
            LwM2MRecord(path: path("/1/0/7"), value: .string("U")),
            LwM2MRecord(path: path("/3/0/0"), value: .string("lwm2m-fleet")),
        ], supportedObjects: [0, 1, 3])
        loop = try EventLoop()
        let configuration = configuration
        let profile = profile
        let devices = (0..<count).map { LwM2MClient(configuration: configuration, profile: profile, index: UInt32($0), seed: 1) }
        driver = DeviceDriver(loop: loop, devices: devices, localAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 0))
    }

    /// What the measured window cost: CPU time of this process per registration.
    private(set) var cpuPerRegistration = ProcessCPUTime(userMicroseconds: 0, systemMicroseconds: 0)

    /// Registrations per second over `seconds`, after one second of warm-up.
    func measure(seconds: Double) throws -> Double {
        var measuring = false
        var windowStart: UInt64 = 0
        var windowEnd: UInt64 = 0
        var cpuAtStart = ProcessCPUTime.now()
        var cpuAtEnd = cpuAtStart
        driver.observer = { [unowned self] device, action, now in
            guard case .operationFinished(.register, .succeeded, _, _) = action else { return }
            if measuring { completed += 1 }
            // Register again at once, on the same socket, as a rebooted device does.
            driver.registerAgain(device: device, now: now)
        }
        let warmUp = DeviceDriver.firstOwnerTag
        let end = warmUp + 1
        driver.install { [unowned self] tag, now in
            switch tag {
            case warmUp:
                measuring = true
                windowStart = now
                cpuAtStart = ProcessCPUTime.now()
            case end:
                windowEnd = now
                cpuAtEnd = ProcessCPUTime.now()
                loop.stop()
            default:
                break
            }
        }
        let start = loop.now
        for device in 0..<driver.devices.count { driver.start(device: device, now: Timestamp(nanoseconds: start)) }
        _ = loop.schedule(at: start + 1_000_000_000, tag: warmUp)
        _ = loop.schedule(at: start + 1_000_000_000 + UInt64(seconds * 1e9), tag: end)
        loop.run()
        cpuPerRegistration = cpuAtEnd.perOperation(since: cpuAtStart, operations: completed)
        // A loop too slow to run the warm-up and end timers apart (under strace, say) measured nothing.
        guard windowEnd > windowStart else { return 0 }
        return Double(completed) / (Double(windowEnd - windowStart) / 1e9)
    }
}
