import CoAP
import LwM2M

extension DeviceManagement {
    /// Create (LwM2M 1.1 TS Core 6.3.6): POST on an object makes one instance from the payload, with the
    /// id the payload gives or else the lowest free one. 2.01 Created with Location-Path /o/i; 4.00 when
    /// the instance exists, when a single-instance object has its instance already, or when a
    /// mandatory writable resource is missing (as Leshan checks).
    static func create(
        _ request: CoAPMessage, at path: LwM2MPath, store: inout ObjectStore, context: DeviceManagementContext
    ) throws(Refusal) -> DeviceManagementResult {
        try requireInstance(of: path, in: store)
        let objectID = path.objectID!
        let definition = store.model.object(objectID)
        let existing = Set(store.instanceIDs(of: objectID))
        if definition?.isMultipleInstance == false, !existing.isEmpty {
            throw Refusal(.badRequest, "single-instance object \(objectID) has its instance already")
        }
        guard let freeID = (0...LwM2MPath.maximumID).first(where: { !existing.contains($0) }) else {
            throw Refusal(.badRequest, "object \(objectID) has no free instance id")
        }
        var records: [LwM2MRecord] = []
        if !request.payload.isEmpty {
            let format = try payloadFormat(of: request, context: context)
            // TS Core 7.4.3: a TLV payload may start with the resources themselves (type bits not 00,
            // Object Instance), leaving the instance id to the client.
            let leavesIDToClient = (format == .tlv || format == .legacyTLV) && request.payload.first! >> 6 != 0
            let target = leavesIDToClient ? path.appending(freeID)! : path
            records = try decodePayload(of: request, format: format, at: target, model: store.model)
        }
        let instanceIDs = Set(records.map { $0.path.instanceID! })
        guard instanceIDs.count <= 1 else {
            throw Refusal(.badRequest, "Create makes one instance, the payload holds \(instanceIDs.count)")
        }
        let key = InstanceKey(objectID: objectID, instanceID: instanceIDs.first ?? freeID)
        guard !existing.contains(key.instanceID) else {
            throw Refusal(.badRequest, "object instance \(key.path) exists already")
        }
        try check(records, against: definition, requiringWrite: false)
        let given = Set(records.map { $0.path.resourceID! })
        let missing = (definition?.resources ?? []).filter { $0.isMandatory && $0.operations.contains(.write) && !given.contains($0.id) }
        guard missing.isEmpty else {
            throw Refusal(.badRequest, "mandatory resources missing: " + missing.map { "\($0.id) (\($0.name))" }.joined(separator: ", "))
        }
        store.replaceInstance(key, with: records)
        var created = response(.created)
        for segment in key.path.segments { created.options.append(.locationPath, string: segment) }
        return DeviceManagementResult(response: created, effect: .instanceCreated(key.path))
    }

    /// Delete (TS Core 6.3.7): DELETE on an object instance. 2.02 Deleted; 4.05 on any other level and
    /// for the instance of a mandatory single-instance object (Device /3/0), which a client cannot
    /// be without (Leshan answers 4.05 too).
    static func delete(at path: LwM2MPath, store: inout ObjectStore) throws(Refusal) -> DeviceManagementResult {
        guard path.level == .objectInstance, let key = InstanceKey(path) else {
            throw Refusal(.methodNotAllowed, "Delete targets an object instance, not \(path)")
        }
        try requireInstance(of: path, in: store)
        if let definition = store.model.object(key.objectID), definition.isMandatory, !definition.isMultipleInstance {
            throw Refusal(
                .methodNotAllowed, "the instance of mandatory single-instance object \(key.objectID) (\(definition.name)) cannot be deleted")
        }
        store.deleteInstance(key)
        return DeviceManagementResult(response: response(.deleted), effect: .instanceDeleted(path))
    }

    /// Execute (TS Core 6.3.5): POST on a resource the model marks E. 2.04 Changed; the arguments in
    /// the payload are accepted as they are.
    static func execute(at path: LwM2MPath, store: ObjectStore) throws(Refusal) -> DeviceManagementResult {
        try requireInstance(of: path, in: store)
        guard let definition = store.model.resource(at: path), definition.operations.contains(.execute) else {
            throw Refusal(.methodNotAllowed, "resource \(path) is not executable")
        }
        let effect: DeviceManagementEffect = switch (path.objectID!, path.resourceID!) {
        case (3, 4): .reboot
        case (1, 8): .registrationUpdateTrigger
        case (1, 9): .bootstrapRequestTrigger
        default: .executed(path)
        }
        return DeviceManagementResult(response: response(.changed), effect: effect)
    }
}
