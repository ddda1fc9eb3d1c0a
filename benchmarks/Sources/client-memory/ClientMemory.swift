import BenchmarkDevices
import CoAP
import Foundation
import LwM2M
import LwM2MClient

/// Bytes of our own state per registered device: N devices of the default profile (Security,
/// Server with one account, Device) are created and registered in this process, and the RSS
/// growth is divided by N.
///
/// `client-memory N cycle` first runs every device through two sessions that repeat
/// (Register, Update, De-register, Register again), as `session-repeat` devices do, so what a
/// device keeps after its requests (buffers that outlive an exchange) is counted too.
@main
enum ClientMemory {
    static func residentBytes() -> Int {
        // /proc/self/statm: size resident shared ... in pages.
        let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The answer a server gives to each of a device's requests: 2.01 with a location for a
    /// Register, 2.04 for an Update, 2.02 for a De-register.
    static func answer(_ datagram: [UInt8], index: UInt32) -> [UInt8]? {
        guard let request = try? CoAPMessage.decode(datagram).get(), request.type == .confirmable else { return nil }
        let isRegister = request.code == .post && request.options.strings(.uriPath) == ["rd"]
        let code: CoAPCode = request.code == .delete ? .deleted : isRegister ? .created : .changed
        var response = CoAPMessage(type: .acknowledgement, code: code, messageID: request.messageID, token: request.token)
        if isRegister {
            response.options.append(.locationPath, string: "rd")
            response.options.append(.locationPath, string: String(index, radix: 16))
        }
        return response.encoded()
    }

    /// Starts a device and answers what it sends, as a server would, until `until`; counts the
    /// requests answered in `requestsAnswered`.
    static func runDevice(
        index: UInt32, configuration: ClientConfiguration, profile: DeviceProfile, until: Timestamp, requestsAnswered: inout Int
    ) -> LwM2MClient {
        var client = LwM2MClient(configuration: configuration, profile: profile, index: index, seed: 1)
        var actions: [ClientAction] = []
        var now = Timestamp.seconds(1)
        client.start(now: now, actions: &actions)
        var rounds = 0
        while rounds < 1_000 {
            rounds += 1
            let sent = actions.compactMap { action -> [UInt8]? in
                if case .send(.server, let datagram) = action { datagram } else { nil }
            }
            actions.removeAll()
            for datagram in sent {
                requestsAnswered += 1
                if let reply = answer(datagram, index: index) {
                    client.receive(reply, from: .server, now: now, actions: &actions)
                }
            }
            if !actions.isEmpty { continue }
            guard let deadline = client.nextDeadline, deadline <= until else { break }
            now = max(now, deadline)
            client.handleDeadline(now: now, actions: &actions)
        }
        guard client.isRegistered else { fatalError("device \(index) did not end registered: \(client.stateName)") }
        return client
    }

    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        let count = arguments.first.flatMap { Int($0) } ?? 100_000
        let cycles = arguments.dropFirst().first == "cycle"
        // Sessions of 0.6 s that repeat with a 1 s lifetime: Update at 0.5 s, De-register at 0.6 s.
        let configuration = cycles
            ? ClientConfiguration(sessionSeconds: 0.6, sessionRepeats: true)
            : ClientConfiguration()
        // Two whole sessions, then the third Register: the device ends registered.
        let until = Timestamp.seconds(1).adding(milliseconds: cycles ? 1_250 : 0)
        let profile = DefaultDevice.profile(lifetimeSeconds: cycles ? 1 : 300)
        // Warm up allocator and lazily loaded model outside the measurement.
        var warmUpRequests = 0
        _ = runDevice(index: 0, configuration: configuration, profile: profile, until: until, requestsAnswered: &warmUpRequests)
        var requestsAnswered = 0
        var devices: [LwM2MClient] = []
        devices.reserveCapacity(count)
        let before = residentBytes()
        for index in 0..<count {
            devices.append(runDevice(
                index: UInt32(index + 1), configuration: configuration, profile: profile, until: until, requestsAnswered: &requestsAnswered))
        }
        let after = residentBytes()
        let perDevice = Double(after - before) / Double(count)
        print("devices: \(count)\(cycles ? ", each after two repeating sessions" : ""), all registered: \(devices.allSatisfy(\.isRegistered))")
        print("requests answered per device: \(Double(requestsAnswered) / Double(count))")
        print("RSS before: \(before / 1024) KiB, after: \(after / 1024) KiB")
        print("bytes of our own state per registered device: \(String(format: "%.0f", perDevice))")
        print("MemoryLayout<LwM2MClient>.size: \(MemoryLayout<LwM2MClient>.size)")
        print("MemoryLayout<LwM2MClient.State>.size: \(MemoryLayout<LwM2MClient.State>.size)")
        print("MemoryLayout<LwM2MClient.Registration>.size: \(MemoryLayout<LwM2MClient.Registration>.size)")
        print("MemoryLayout<ObjectStore>.size: \(MemoryLayout<ObjectStore>.size)")
        print("MemoryLayout<CoAPEndpoint?>.size: \(MemoryLayout<CoAPEndpoint?>.size)")
        print("MemoryLayout<CoAPTransmissionParameters>.size: \(MemoryLayout<CoAPTransmissionParameters>.size)")
        print("MemoryLayout<ServerAccount?>.size: \(MemoryLayout<ServerAccount?>.size)")
    }
}
