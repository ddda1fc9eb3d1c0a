import BenchmarkDevices
import CoAP
import LwM2M
import LwM2MClient

/// The Register of the benchmarks' default device (`BenchmarkDevices.DefaultDevice`).
extension DefaultDevice {
    static let profile = DefaultDevice.profile()

    /// The first datagram device `index` sends to its LwM2M Server once started: its Register.
    static func firstRegister(index: UInt32) -> [UInt8]? {
        var client = LwM2MClient(configuration: configuration, profile: profile, index: index, seed: 1)
        var actions: [ClientAction] = []
        client.start(now: .seconds(1), actions: &actions)
        return actions.sentDatagram(to: .server)
    }
}

extension [ClientAction] {
    /// The first datagram among these actions that goes to `role`.
    func sentDatagram(to role: ServerRole) -> [UInt8]? {
        for action in self {
            if case .send(role, let datagram) = action { return datagram }
        }
        return nil
    }
}
