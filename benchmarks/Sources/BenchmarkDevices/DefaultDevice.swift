import LwM2M
import LwM2MClient

/// The device of the capacity benchmarks: Security and Server objects holding one account for
/// the LwM2M Server at `serverURI`, the Device object with a generated battery level, and the
/// default client configuration. One definition, so every benchmark measures the same device.
public enum DefaultDevice {
    public static let configuration = ClientConfiguration()

    /// The default profile, its account pointing at `serverURI` with a registration lifetime of `lifetimeSeconds`.
    public static func profile(serverURI: String = "coap://127.0.0.1:5683", lifetimeSeconds: Int64 = 300) -> DeviceProfile {
        // Literal paths, all valid.
        func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }
        let records: [LwM2MRecord] = [
            LwM2MRecord(path: path("/0/0/0"), value: .string(serverURI)),
            LwM2MRecord(path: path("/0/0/1"), value: .boolean(false)),
            LwM2MRecord(path: path("/0/0/2"), value: .integer(3)),
            LwM2MRecord(path: path("/0/0/10"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/0"), value: .integer(1)),
            LwM2MRecord(path: path("/1/0/1"), value: .integer(lifetimeSeconds)),
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
    }
}
