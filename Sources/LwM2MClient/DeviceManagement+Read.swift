import CoAP
import LwM2M

extension DeviceManagement {
    /// Read (LwM2M 1.1 TS Core 6.3.1), also the answer to Observe and Cancel (6.4.1, 6.4.2): 2.05 with
    /// the values at `path` in the Accept format; without Accept, plain text (opaque for an opaque
    /// value) for one value and `context.defaultFormat` for anything larger.
    static func read(
        _ request: CoAPMessage, at path: LwM2MPath, store: ObjectStore, context: DeviceManagementContext
    ) throws(Refusal) -> CoAPMessage {
        try requireInstance(of: path, in: store)
        let model = store.model
        if let definition = model.resource(at: path), !definition.operations.contains(.read) {
            throw Refusal(.methodNotAllowed, "resource \(path) is not readable (operations: \(definition.operations))")
        }
        guard let found = store.records(at: path, now: context.now) else {
            throw Refusal(.notFound, "\(path) does not exist")
        }
        // Resources without R (Package /5/0/0, say) are left out of object and instance reads.
        let records = found.filter { model.resource(at: $0.path)?.operations.contains(.read) ?? true }
        let isSingleValue = path.level == .resourceInstance || records.count == 1 && records[0].path == path
        let format: LwM2MContentFormat
        if let accept = request.accept {
            format = LwM2MContentFormat(rawValue: accept)
            guard context.supportedFormats.contains(format) else {
                throw Refusal(.notAcceptable, "\(format) is not a value format of an LwM2M \(context.lwm2mVersion) client")
            }
            guard isSingleValue || (format != .plainText && format != .opaque) else {
                throw Refusal(.notAcceptable, "\(format) carries a single value; \(path) holds \(records.count)")
            }
        } else if isSingleValue {
            format = records.first?.value.type == .opaque ? .opaque : .plainText
        } else {
            format = context.defaultFormat
        }
        switch LwM2MPayloadCodec.encode(records, format: format, requestPath: path) {
        case .success(let payload):
            return response(.content, format: format, payload: payload)
        case .failure(let error):
            // A value the asked format cannot carry (an integer as opaque) is the server's choice; in the default format, ours.
            throw Refusal(request.accept == nil ? .internalServerError : .notAcceptable, error.description)
        }
    }

    /// Discover (TS Core 6.3.2): the link-format description of an object, instance or resource, with
    /// `dim` for multiple resources and the attributes written on each link (inherited ones included
    /// for a resource target). Executable resources hold no value but are listed as present.
    static func discover(
        _ request: CoAPMessage, at path: LwM2MPath, store: ObjectStore, context: DeviceManagementContext
    ) throws(Refusal) -> CoAPMessage {
        guard path.level <= .resource else {
            throw Refusal(.methodNotAllowed, "Discover targets an object, instance or resource, not resource instance \(path)")
        }
        try requireInstance(of: path, in: store)
        let objectID = path.objectID!
        let table = context.attributes
        let instanceIDs = path.instanceID.map { [$0] } ?? store.instanceIDs(of: objectID)
        let instances = instanceIDs.map { instanceID in
            let key = InstanceKey(objectID: objectID, instanceID: instanceID)
            return DiscoverResponse.InstanceDescription(
                id: instanceID, attributes: table[key.path]?.linkAttributes ?? [],
                resources: resourceDescriptions(of: key, store: store) { resourcePath in
                    let attributes = resourcePath == path ? table.effective(at: path) : table[resourcePath]
                    return attributes?.linkAttributes ?? []
                })
        }
        let definition = store.model.object(objectID)
        let object = DiscoverResponse.ObjectDescription(
            id: objectID, version: definition.flatMap { LwM2MVersion($0.objectVersion) } ?? .v1_0,
            attributes: table[LwM2MPath(objectID: objectID)]?.linkAttributes ?? [], instances: instances)
        guard let answer = DiscoverResponse.discover(path, in: object, lwm2mVersion: context.lwm2mVersion) else {
            throw Refusal(.notFound, "resource \(path) does not exist")
        }
        return response(.content, format: .linkFormat, payload: Array(answer.text.utf8))
    }

    /// The resources an instance has, by id: those with values, and the executable ones of its definition.
    private static func resourceDescriptions(
        of key: InstanceKey, store: ObjectStore, attributes: (LwM2MPath) -> [LwM2MLinkAttribute]
    ) -> [DiscoverResponse.ResourceDescription] {
        var resources: [DiscoverResponse.ResourceDescription] = []
        // Stored records are sorted by path, so the instances of one resource are adjacent.
        for record in store.storedRecords(key) ?? [] {
            let resourceID = record.path.resourceID!
            if let instanceID = record.path.resourceInstanceID {
                if resources.last?.id == resourceID {
                    resources[resources.count - 1].instanceIDs?.append(instanceID)
                    continue
                }
                resources.append(DiscoverResponse.ResourceDescription(
                    id: resourceID, instanceIDs: [instanceID], attributes: attributes(record.path.parent)))
            } else {
                resources.append(DiscoverResponse.ResourceDescription(id: resourceID, attributes: attributes(record.path)))
            }
        }
        for definition in store.model.object(key.objectID)?.resources ?? []
        where definition.operations.contains(.execute) && !resources.contains(where: { $0.id == definition.id }) {
            let path = LwM2MPath(objectID: key.objectID, instanceID: key.instanceID, resourceID: definition.id)
            resources.append(DiscoverResponse.ResourceDescription(id: definition.id, attributes: attributes(path)))
        }
        return resources.sorted { $0.id < $1.id }
    }
}
