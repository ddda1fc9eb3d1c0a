import CoAP
import LwM2M

extension DeviceManagement {
    /// Write (LwM2M 1.1 TS Core 6.3.3): PUT on an instance replaces it, PUT on a resource or resource
    /// instance replaces that (all instances of a resource), POST on an instance is a partial update.
    /// 2.04 Changed.
    static func write(
        _ request: CoAPMessage, at path: LwM2MPath, store: inout ObjectStore, context: DeviceManagementContext
    ) throws(Refusal) -> DeviceManagementResult {
        let isReplace = request.code == .put
        // POST on a resource is Execute, so a POST that reaches here targets an instance.
        guard path.level >= .objectInstance else {
            throw Refusal(.methodNotAllowed, "Write targets an object instance, resource or resource instance, not object \(path)")
        }
        try requireInstance(of: path, in: store)
        let model = store.model
        let objectDefinition = model.object(path.objectID!)
        if let resourceID = path.resourceID, let objectDefinition {
            guard let definition = objectDefinition.resource(resourceID) else {
                throw Refusal(.notFound, "object \(objectDefinition.id) has no resource \(resourceID)")
            }
            guard definition.operations.contains(.write) else {
                throw Refusal(.methodNotAllowed, "resource \(path) is not writable (operations: \(definition.operations))")
            }
        }
        let format = try payloadFormat(of: request, context: context)
        let records = try decodePayload(of: request, format: format, at: path, model: model)
        try check(records, against: objectDefinition, requiringWrite: true)

        let key = InstanceKey(path)!
        let stored = store.storedRecords(key) ?? []
        let kept: [LwM2MRecord]
        switch path.level {
        case .objectInstance where isReplace:
            // The instance becomes the payload; what a server cannot write stays (the Short Server ID /1/x/0, say).
            kept = stored.filter { record in
                !(objectDefinition?.resource(record.path.resourceID!)?.operations.contains(.write) ?? true)
            }
        case .objectInstance where context.lwm2mVersion >= .v1_1:
            // 1.1: adds or updates the resources and resource instances given, leaves the others unchanged.
            let written = Set(records.map(\.path))
            let wholeResources = Set(records.filter { $0.path.level == .resource }.map { $0.path.resourceID! })
            kept = stored.filter { !written.contains($0.path) && !wholeResources.contains($0.path.resourceID!) }
        case .objectInstance:
            // 1.0: each resource given is replaced whole, the others are unchanged.
            let touched = Set(records.map { $0.path.resourceID! })
            kept = stored.filter { !touched.contains($0.path.resourceID!) }
        default:
            kept = stored.filter { !path.contains($0.path) }
        }
        store.replaceInstance(key, with: kept + records)
        return DeviceManagementResult(response: response(.changed), effect: .written(path))
    }

    /// Checks decoded records against the object's definition (none for an object the model lacks):
    /// each resource defined (4.04), writable when asked (4.05), and single or multiple as defined (4.00).
    static func check(
        _ records: [LwM2MRecord], against objectDefinition: LwM2MObjectDefinition?, requiringWrite: Bool
    ) throws(Refusal) {
        guard let objectDefinition else { return }
        for record in records {
            guard let definition = objectDefinition.resource(record.path.resourceID!) else {
                throw Refusal(.notFound, "object \(objectDefinition.id) has no resource \(record.path.resourceID!) (record \(record.path))")
            }
            if requiringWrite, !definition.operations.contains(.write) {
                throw Refusal(.methodNotAllowed, "resource \(record.path) is not writable (operations: \(definition.operations))")
            }
            guard definition.isMultipleInstance == (record.path.level == .resourceInstance) else {
                let kind = definition.isMultipleInstance ? "multiple" : "single"
                throw Refusal(.badRequest, "record \(record.path) does not fit \(kind) resource \(definition.id) (\(definition.name))")
            }
        }
    }

    /// Write-Attributes (TS Core 6.3.4): sets or removes notification attributes on an object,
    /// instance, resource or resource instance; `gt`, `lt` and `st` only on a numeric resource (5.1.2).
    /// 2.04 Changed, and the attributes now on the path as the effect.
    static func writeAttributes(
        _ request: CoAPMessage, at path: LwM2MPath, store: ObjectStore, context: DeviceManagementContext
    ) throws(Refusal) -> DeviceManagementResult {
        try requireInstance(of: path, in: store)
        if path.level >= .resource, let key = InstanceKey(path),
           !(store.storedRecords(key) ?? []).contains(where: { path.contains($0.path) }) {
            throw Refusal(.notFound, "\(path) does not exist")
        }
        let written: NotificationAttributes
        do {
            written = try (context.attributes[path] ?? NotificationAttributes())
                .writing(queryItems: request.uriQuery, lwm2mVersion: context.lwm2mVersion)
        } catch {
            throw Refusal(.badRequest, error.description)
        }
        if written.hasValueConditions {
            let type = store.model.resourceType(at: path)
            guard path.level >= .resource, type == nil || type == .integer || type == .unsignedInteger || type == .float else {
                throw Refusal(.badRequest, "gt, lt and st apply to numeric resources only, not \(path)")
            }
        }
        return DeviceManagementResult(response: response(.changed), effect: .attributesWritten(path, written))
    }
}
