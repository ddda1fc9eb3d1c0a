import CoAP
import LwM2M

extension BootstrapInterface {
    /// Bootstrap-Discover (LwM2M 1.1 TS Core 6.1.7.3): GET with Accept link-format on / or /o.
    ///
    /// The answer starts with `</>;lwm2m=X.Y`, then lists each object with its instances: Security
    /// instances carry `ssid` (from `/0/x/10`, not on a Bootstrap-Server account) and `uri` (`/0/x/0`),
    /// Server instances `ssid` (`/1/x/0`). Quoting and order are Leshan's, as the shared link-format
    /// vectors show. A deeper path is 4.00, as the operation takes no other.
    static func discover(_ path: LwM2MPath, store: ObjectStore, lwm2mVersion: LwM2MVersion) -> BootstrapResult {
        let objectIDs: [UInt16]
        switch path.level {
        case .root:
            objectIDs = store.objectIDs
        case .object:
            guard let objectID = path.objectID, store.objectIDs.contains(objectID) else {
                return .answer(.notFound, .bootstrapDiscover, reason: "object \(path) is not supported")
            }
            objectIDs = [objectID]
        default:
            return .answer(.badRequest, .bootstrapDiscover, reason: "Bootstrap-Discover targets / or an object, not \(path)")
        }
        let objects = objectIDs.map { objectID in
            let version = store.model.object(objectID).flatMap { LwM2MVersion($0.objectVersion) }
                ?? RegistrationPayload.defaultObjectVersion(objectID: objectID, lwm2mVersion: lwm2mVersion)
            let instances = store.instanceIDs(of: objectID).map { instanceID in
                DiscoverResponse.InstanceDescription(
                    id: instanceID, attributes: bootstrapAttributes(of: InstanceKey(objectID: objectID, instanceID: instanceID), in: store))
            }
            return DiscoverResponse.ObjectDescription(id: objectID, version: version, instances: instances)
        }
        let text = DiscoverResponse.bootstrapDiscover(objects: objects, lwm2mVersion: lwm2mVersion).text
        return .content(Array(text.utf8), format: .linkFormat, .bootstrapDiscover)
    }

    /// `ssid` and `uri` of a Security instance, `ssid` of a Server instance, nothing for others.
    private static func bootstrapAttributes(of key: InstanceKey, in store: ObjectStore) -> [LwM2MLinkAttribute] {
        var attributes: [LwM2MLinkAttribute] = []
        switch key.objectID {
        case SecurityResource.object:
            if !store.isBootstrapAccount(key.instanceID),
               let ssid = store.storedValue(key, SecurityResource.shortServerID).flatMap(ObjectStore.shortServerID) {
                attributes.append(.shortServerID(ssid))
            }
            if case .string(let uri)? = store.storedValue(key, SecurityResource.serverURI) {
                attributes.append(.serverURI(uri))
            }
        case ServerResource.object:
            if let ssid = store.storedValue(key, ServerResource.shortServerID).flatMap(ObjectStore.shortServerID) {
                attributes.append(.shortServerID(ssid))
            }
        default:
            break
        }
        return attributes
    }
}
