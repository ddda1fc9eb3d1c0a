import LwM2M

/// What every device of a profile starts with: the object model, the initial instances and
/// the value generators. One per profile, shared by reference by all its devices.
public final class DeviceProfile: Sendable {
    public let model: LwM2MModel
    /// Initial instances by (object, instance), ordered; each holds its records sorted by path.
    let instances: [InstanceKey: [LwM2MRecord]]
    /// Object ids the device supports (listed at registration even without instances).
    public let objectIDs: [UInt16]
    /// The initial instances in order, so an untouched device lists them without sorting.
    let sortedInstanceKeys: [InstanceKey]
    /// Generators by (object id, resource id); they apply to every instance.
    public let generators: [ResourceKey: ValueGenerator]
    /// Register payloads already built for devices of this profile.
    let registrationLinks = SharedCache<RegistrationLinks.Key, RegistrationLinks>(capacity: 64)
    /// The LwM2M Server accounts of a device that was not written to, read once (one entry, keyed `true`).
    let untouchedServerAccounts = SharedCache<Bool, [ServerAccount]>(capacity: 1)
    /// The device speaks DTLS with pre-shared keys (Security Mode PSK, `coaps://`), besides plain
    /// CoAP: an account that needs it is usable (its group has `security:` in the fleet file).
    public let speaksDTLS: Bool

    /// A profile with `records` as its initial values (resource or resource-instance paths).
    public init(
        model: LwM2MModel, records: [LwM2MRecord], supportedObjects: [UInt16] = [],
        generators: [ResourceKey: ValueGenerator] = [:], speaksDTLS: Bool = false
    ) {
        self.model = model
        self.speaksDTLS = speaksDTLS
        var instances: [InstanceKey: [LwM2MRecord]] = [:]
        for record in records {
            guard let key = InstanceKey(record.path) else { continue }
            instances[key, default: []].append(record)
        }
        self.instances = instances.mapValues { $0.sorted { $0.path < $1.path } }
        self.objectIDs = Set(supportedObjects + instances.keys.map(\.objectID)).sorted()
        sortedInstanceKeys = instances.keys.sorted()
        self.generators = generators
    }
}

/// An object instance address, small enough to key tables by.
public struct InstanceKey: Hashable, Comparable, Sendable {
    public var objectID: UInt16
    public var instanceID: UInt16

    public init(objectID: UInt16, instanceID: UInt16) {
        self.objectID = objectID
        self.instanceID = instanceID
    }

    /// The instance a path at instance level or below lies in.
    public init?(_ path: LwM2MPath) {
        guard let objectID = path.objectID, let instanceID = path.instanceID else { return nil }
        self.init(objectID: objectID, instanceID: instanceID)
    }

    public var path: LwM2MPath { LwM2MPath(objectID: objectID, instanceID: instanceID) }

    public static func < (lhs: InstanceKey, rhs: InstanceKey) -> Bool {
        (lhs.objectID, lhs.instanceID) < (rhs.objectID, rhs.instanceID)
    }
}

/// A resource of an object, whatever the instance: the key of value generators.
public struct ResourceKey: Hashable, Sendable {
    public var objectID: UInt16
    public var resourceID: UInt16

    public init(objectID: UInt16, resourceID: UInt16) {
        self.objectID = objectID
        self.resourceID = resourceID
    }
}
