import CoAP
import LwM2M
import LwM2MClient

/// The device of the capacity benchmarks (`client-memory`): the default profile, with Security and
/// Server objects holding one account for the LwM2M Server and the Device object with a generated
/// battery level, and the default client configuration.
enum DefaultDevice {
    static let configuration = ClientConfiguration()

    static let profile: DeviceProfile = {
        // Literal paths, all valid.
        func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }
        let records: [LwM2MRecord] = [
            LwM2MRecord(path: path("/0/0/0"), value: .string("coap://127.0.0.1:5683")),
            LwM2MRecord(path: path("/0/0/1"), value: .boolean(false)),
            LwM2MRecord(path: path("/0/0/2"), value: .integer(3)),
            LwM2MRecord(path: path("/0/0/10"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/0"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/1"), value: .integer(300)),
            LwM2MRecord(path: path("/1/0/6"), value: .boolean(false)),
            LwM2MRecord(path: path("/1/0/7"), value: .string("U")),
            LwM2MRecord(path: path("/3/0/0"), value: .string("lwm2m-fleet")),
            LwM2MRecord(path: path("/3/0/1"), value: .string("simulated device")),
            LwM2MRecord(path: path("/3/0/9"), value: .integer(100)),
            LwM2MRecord(path: path("/3/0/16"), value: .string("U")),
        ]
        return DeviceProfile(
            model: .core, records: records, supportedObjects: [0, 1, 3],
            generators: [ResourceKey(objectID: 3, resourceID: 9): .uniform(minimum: 0, maximum: 100, periodSeconds: 60)])
    }()

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
