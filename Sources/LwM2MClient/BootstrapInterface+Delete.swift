import CoAP
import LwM2M

extension BootstrapInterface {
    /// The Device object instance, which Bootstrap-Delete never removes (LwM2M 1.1 TS Core 6.1.7).
    static let deviceInstance = InstanceKey(objectID: 3, instanceID: 0)

    /// Bootstrap-Delete (LwM2M 1.1 TS Core 6.1.7, 1.0 TS 5.2): DELETE on /, /o or /o/i.
    ///
    /// Never removes a Bootstrap-Server account (a Security instance whose `/0/x/1` is true,
    /// whatever its instance id) nor /3/0: on / and /o they are skipped, deleting one by name is
    /// 4.00. /3/0 is protected for 1.0 clients too (1.1 wrote the rule down; a 1.0 device without a
    /// Device object is no more usable). The TS lists 2.02 and 4.00 only for this operation, so an
    /// unknown object or instance is 4.00 "bad or unknown URI" as well, as in Leshan.
    static func delete(_ path: LwM2MPath, store: inout ObjectStore) -> BootstrapResult {
        func isProtected(_ key: InstanceKey) -> Bool {
            key == deviceInstance || (key.objectID == SecurityResource.object && store.isBootstrapAccount(key.instanceID))
        }
        switch path.level {
        case .root, .object:
            if let objectID = path.objectID, store.model.object(objectID) == nil, !store.objectIDs.contains(objectID) {
                return .answer(.badRequest, .bootstrapDelete, reason: "object \(objectID) is not supported")
            }
            for key in store.instanceKeys where path.contains(key.path) && !isProtected(key) {
                store.deleteInstance(key)
            }
        case .objectInstance:
            guard let key = InstanceKey(path), store.hasInstance(key) else {
                return .answer(.badRequest, .bootstrapDelete, reason: "there is no instance \(path)")
            }
            guard !isProtected(key) else {
                let what = key == deviceInstance ? "the Device object instance" : "the Bootstrap-Server account"
                return .answer(.badRequest, .bootstrapDelete, reason: "\(path) is \(what), which Bootstrap-Delete keeps")
            }
            store.deleteInstance(key)
        case .resource, .resourceInstance:
            return .answer(.badRequest, .bootstrapDelete, reason: "Bootstrap-Delete targets /, an object or an instance, not \(path)")
        }
        return .answer(.deleted, .bootstrapDelete)
    }
}
