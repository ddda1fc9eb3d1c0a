import BenchmarkDevices
import CoAP
import Foundation
import LwM2M
import LwM2MClient

/// Bytes of our own state per registered device: N devices of the default profile (Security,
/// Server with one account, Device) are created and registered in this process, and the RSS
/// growth is divided by N.
@main
enum ClientMemory {
    static func residentBytes() -> Int {
        // /proc/self/statm: size resident shared ... in pages.
        let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Starts a device and answers its Register with 2.01, as a server would.
    static func registeredDevice(index: UInt32, configuration: ClientConfiguration, profile: DeviceProfile) -> LwM2MClient {
        var client = LwM2MClient(configuration: configuration, profile: profile, index: index, seed: 1)
        var actions: [ClientAction] = []
        let now = Timestamp.seconds(1)
        client.start(now: now, actions: &actions)
        guard case .send(.server, let datagram)? = actions.first(where: { if case .send = $0 { true } else { false } }),
              let register = try? CoAPMessage.decode(datagram).get()
        else { fatalError("device \(index) sent no Register") }
        var created = CoAPMessage(type: .acknowledgement, code: .created, messageID: register.messageID, token: register.token)
        created.options.append(.locationPath, string: "rd")
        created.options.append(.locationPath, string: String(index, radix: 16))
        actions.removeAll()
        client.receive(created.encoded(), from: .server, now: now, actions: &actions)
        guard client.isRegistered else { fatalError("device \(index) did not register: \(client.stateName)") }
        return client
    }

    static func main() {
        let count = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 100_000
        let configuration = ClientConfiguration()
        let profile = DefaultDevice.profile()
        // Warm up allocator and lazily loaded model outside the measurement.
        _ = registeredDevice(index: 0, configuration: configuration, profile: profile)
        var devices: [LwM2MClient] = []
        devices.reserveCapacity(count)
        let before = residentBytes()
        for index in 0..<count {
            devices.append(registeredDevice(index: UInt32(index + 1), configuration: configuration, profile: profile))
        }
        let after = residentBytes()
        let perDevice = Double(after - before) / Double(count)
        print("devices: \(count), all registered: \(devices.allSatisfy(\.isRegistered))")
        print("RSS before: \(before / 1024) KiB, after: \(after / 1024) KiB")
        print("bytes of our own state per registered device: \(String(format: "%.0f", perDevice))")
        print("MemoryLayout<LwM2MClient>.size: \(MemoryLayout<LwM2MClient>.size)")
        print("MemoryLayout<LwM2MClient.State>.size: \(MemoryLayout<LwM2MClient.State>.size)")
        print("MemoryLayout<ObjectStore>.size: \(MemoryLayout<ObjectStore>.size)")
        print("MemoryLayout<CoAPEndpoint>.size: \(MemoryLayout<CoAPEndpoint>.size)")
        print("MemoryLayout<ServerAccount>.size: \(MemoryLayout<ServerAccount>.size)")
    }
}
