/// The object definitions a client or server knows: the core objects plus any the user adds.
///
/// Formats that carry no type (TLV, plain text, opaque, and numbers in JSON) ask the model
/// for a resource's type by path.
public struct LwM2MModel: Sendable {
    public private(set) var objects: [UInt16: LwM2MObjectDefinition]

    public init(_ definitions: [LwM2MObjectDefinition] = []) {
        objects = [:]
        for definition in definitions { objects[definition.id] = definition }
    }

    /// Adds definitions; a later definition of the same object id replaces the earlier one.
    public mutating func add(_ definitions: [LwM2MObjectDefinition]) {
        for definition in definitions { objects[definition.id] = definition }
    }

    public func object(_ id: UInt16) -> LwM2MObjectDefinition? { objects[id] }

    /// The definition of the resource a path points at (or lies in), if known.
    public func resource(at path: LwM2MPath) -> LwM2MResourceDefinition? {
        guard let objectID = path.objectID, let resourceID = path.resourceID else { return nil }
        return objects[objectID]?.resource(resourceID)
    }

    /// The type of the resource a path points at, if known.
    public func resourceType(at path: LwM2MPath) -> LwM2MResourceType? {
        resource(at: path)?.type
    }
}
