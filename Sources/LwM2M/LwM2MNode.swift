/// One resource in tree form: a single value, or instances of a multiple-instance resource.
public struct LwM2MResource: Hashable, Sendable {
    /// What a resource holds.
    public enum Content: Hashable, Sendable {
        case single(LwM2MValue)
        /// Resource instances by id, in order; may be empty.
        case multiple([(id: UInt16, value: LwM2MValue)])

        public static func == (lhs: Content, rhs: Content) -> Bool {
            switch (lhs, rhs) {
            case (.single(let left), .single(let right)): left == right
            case (.multiple(let left), .multiple(let right)):
                left.count == right.count && zip(left, right).allSatisfy { $0.id == $1.id && $0.value == $1.value }
            default: false
            }
        }

        public func hash(into hasher: inout Hasher) {
            switch self {
            case .single(let value): hasher.combine(value)
            case .multiple(let instances):
                for instance in instances {
                    hasher.combine(instance.id)
                    hasher.combine(instance.value)
                }
            }
        }
    }

    public var id: UInt16
    public var content: Content

    public init(id: UInt16, _ value: LwM2MValue) {
        self.id = id
        content = .single(value)
    }

    public init(id: UInt16, instances: [(id: UInt16, value: LwM2MValue)]) {
        self.id = id
        content = .multiple(instances)
    }
}

/// One object instance in tree form: its resources in order.
public struct LwM2MObjectInstance: Hashable, Sendable {
    public var id: UInt16
    public var resources: [LwM2MResource]

    public init(id: UInt16, resources: [LwM2MResource]) {
        self.id = id
        self.resources = resources
    }

    /// The instance's values as records under `/objectID/id`, in order.
    public func records(objectID: UInt16) -> [LwM2MRecord] {
        var records: [LwM2MRecord] = []
        for resource in resources {
            let resourcePath = LwM2MPath(objectID: objectID, instanceID: id, resourceID: resource.id)
            switch resource.content {
            case .single(let value):
                records.append(LwM2MRecord(path: resourcePath, value: value))
            case .multiple(let instances):
                for instance in instances {
                    records.append(LwM2MRecord(
                        path: LwM2MPath(objectID: objectID, instanceID: id, resourceID: resource.id, resourceInstanceID: instance.id),
                        value: instance.value))
                }
            }
        }
        return records
    }
}

/// An object in tree form: its instances in order.
public struct LwM2MObject: Hashable, Sendable {
    public var id: UInt16
    public var instances: [LwM2MObjectInstance]

    public init(id: UInt16, instances: [LwM2MObjectInstance]) {
        self.id = id
        self.instances = instances
    }

    /// Every value of the object as records, in order.
    public var records: [LwM2MRecord] {
        instances.flatMap { $0.records(objectID: id) }
    }

    /// Groups records into objects, instances and resources, keeping first-seen order.
    ///
    /// A record with a resource-instance path makes its resource a multiple-instance one.
    /// Records must have resource or resource-instance paths; others are ignored.
    public static func objects(from records: [LwM2MRecord]) -> [LwM2MObject] {
        var objects: [LwM2MObject] = []
        for record in records {
            guard let objectID = record.path.objectID, let instanceID = record.path.instanceID,
                  let resourceID = record.path.resourceID
            else { continue }
            let objectIndex = objects.firstIndex { $0.id == objectID } ?? {
                objects.append(LwM2MObject(id: objectID, instances: []))
                return objects.count - 1
            }()
            let instanceIndex = objects[objectIndex].instances.firstIndex { $0.id == instanceID } ?? {
                objects[objectIndex].instances.append(LwM2MObjectInstance(id: instanceID, resources: []))
                return objects[objectIndex].instances.count - 1
            }()
            var resources = objects[objectIndex].instances[instanceIndex].resources
            if let resourceInstanceID = record.path.resourceInstanceID {
                if let index = resources.firstIndex(where: { $0.id == resourceID }),
                   case .multiple(var instances) = resources[index].content {
                    instances.append((resourceInstanceID, record.value))
                    resources[index].content = .multiple(instances)
                } else {
                    resources.removeAll { $0.id == resourceID }
                    resources.append(LwM2MResource(id: resourceID, instances: [(resourceInstanceID, record.value)]))
                }
            } else {
                resources.removeAll { $0.id == resourceID }
                resources.append(LwM2MResource(id: resourceID, record.value))
            }
            objects[objectIndex].instances[instanceIndex].resources = resources
        }
        return objects
    }
}
