/// Groups records by object instance and resource and writes them as minimal TLVs.
enum TLVEncoder {
    /// The largest value a TLV length field holds (24 bits).
    static let maximumValueLength = 0xFF_FFFF

    /// One resource of the records: a single value, or resource instances in record order.
    private struct Resource {
        var id: UInt16
        var single: LwM2MValue?
        var instances: [(id: UInt16, value: LwM2MValue)] = []
    }

    /// One object instance of the records, its resources in order of first appearance.
    private struct Instance {
        var id: UInt16
        var resources: [Resource] = []
        var resourceIndex: [UInt16: Int] = [:]

        mutating func add(
            _ value: LwM2MValue, resourceID: UInt16, resourceInstanceID: UInt16?, path: LwM2MPath
        ) throws(LwM2MEncodingError) {
            let position: Int
            if let known = resourceIndex[resourceID] {
                position = known
            } else {
                position = resources.count
                resourceIndex[resourceID] = position
                resources.append(Resource(id: resourceID))
            }
            if let resourceInstanceID {
                guard resources[position].single == nil else {
                    throw TLVEncoder.error("record \(path) gives instances to resource \(path.parent), which also has a single value")
                }
                resources[position].instances.append((resourceInstanceID, value))
            } else {
                guard resources[position].instances.isEmpty else {
                    throw TLVEncoder.error("record \(path) gives a single value to a resource that also has instances")
                }
                resources[position].single = value
            }
        }
    }

    static func error(_ reason: String) -> LwM2MEncodingError {
        LwM2MEncodingError(format: TLVFormat.name, reason: reason)
    }

    static func encode(_ records: [LwM2MRecord], requestPath: LwM2MPath) throws(LwM2MEncodingError) -> [UInt8] {
        let instances = try group(records, requestPath: requestPath)
        var output: [UInt8] = []
        switch requestPath.level {
        case .root:
            throw error("TLV has no object level: the request path must name at least an object")
        case .object:
            for instance in instances {
                var body: [UInt8] = []
                for resource in instance.resources { try append(resource, to: &body) }
                try append(.objectInstance, id: instance.id, value: body, to: &output)
            }
        case .objectInstance:
            for resource in instances.first?.resources ?? [] { try append(resource, to: &output) }
        case .resource:
            if let resource = instances.first?.resources.first { try append(resource, to: &output) }
        case .resourceInstance:
            guard let instance = instances.first?.resources.first?.instances.first else {
                throw error("resource instance \(requestPath) needs a record, there is none")
            }
            try append(.resourceInstance, id: instance.id, value: valueBytes(instance.value), to: &output)
        }
        return output
    }

    /// The records as a tree; every record must be a resource or resource instance below `requestPath`.
    private static func group(_ records: [LwM2MRecord], requestPath: LwM2MPath) throws(LwM2MEncodingError) -> [Instance] {
        var instances: [Instance] = []
        var instanceIndex: [UInt16: Int] = [:]
        var seenPaths = Set<LwM2MPath>()
        for record in records {
            let path = record.path
            guard let instanceID = path.instanceID, let resourceID = path.resourceID else {
                throw error("record \(path) is not a resource or resource instance")
            }
            guard requestPath.contains(path) else {
                throw error("record \(path) lies outside the request path \(requestPath)")
            }
            guard seenPaths.insert(path).inserted else { throw error("two records for \(path)") }
            let instancePosition: Int
            if let known = instanceIndex[instanceID] {
                instancePosition = known
            } else {
                instancePosition = instances.count
                instanceIndex[instanceID] = instancePosition
                instances.append(Instance(id: instanceID))
            }
            try instances[instancePosition].add(record.value, resourceID: resourceID, resourceInstanceID: path.resourceInstanceID, path: path)
        }
        return instances
    }

    private static func append(_ resource: Resource, to output: inout [UInt8]) throws(LwM2MEncodingError) {
        if let single = resource.single {
            try append(.resourceWithValue, id: resource.id, value: valueBytes(single), to: &output)
            return
        }
        var body: [UInt8] = []
        for instance in resource.instances {
            try append(.resourceInstance, id: instance.id, value: valueBytes(instance.value), to: &body)
        }
        try append(.multipleResource, id: resource.id, value: body, to: &output)
    }

    /// One TLV: type byte, 8- or 16-bit identifier, the smallest length field, value (TS Core 7.4.3).
    private static func append(
        _ kind: TLVKind, id: UInt16, value: [UInt8], to output: inout [UInt8]
    ) throws(LwM2MEncodingError) {
        guard value.count <= maximumValueLength else {
            throw error("\(kind) \(id) holds \(value.count) bytes, more than a 24-bit TLV length can say")
        }
        var type = kind.rawValue << 6
        if id > 0xFF { type |= 0x20 }
        let lengthFieldLength: Int
        switch value.count {
        case 0..<8:
            type |= UInt8(value.count)
            lengthFieldLength = 0
        case 8...0xFF:
            type |= 0x08
            lengthFieldLength = 1
        case 0x100...0xFFFF:
            type |= 0x10
            lengthFieldLength = 2
        default:
            type |= 0x18
            lengthFieldLength = 3
        }
        output.append(type)
        if id > 0xFF { output.append(UInt8(id >> 8)) }
        output.append(UInt8(truncatingIfNeeded: id))
        for index in stride(from: lengthFieldLength - 1, through: 0, by: -1) {
            output.append(UInt8(truncatingIfNeeded: value.count >> (8 * index)))
        }
        output.append(contentsOf: value)
    }

    // MARK: Values (LwM2M 1.1 TS Core Appendix C, TLV column)

    static func valueBytes(_ value: LwM2MValue) -> [UInt8] {
        switch value {
        case .string(let text), .coreLink(let text):
            Array(text.utf8)
        case .integer(let number), .time(let number):
            bigEndian(UInt64(bitPattern: number), count: signedWidth(number))
        case .unsignedInteger(let number):
            bigEndian(number, count: number <= 0xFF ? 1 : number <= 0xFFFF ? 2 : number <= 0xFFFF_FFFF ? 4 : 8)
        case .float(let number):
            bigEndian(number.bitPattern, count: 8)
        case .boolean(let flag):
            [flag ? 1 : 0]
        case .opaque(let bytes):
            bytes
        case .objectLink(let link):
            bigEndian(UInt64(link.objectID) << 16 | UInt64(link.instanceID), count: 4)
        }
    }

    /// The fewest of 1, 2, 4 or 8 bytes that hold `number` in two's complement.
    private static func signedWidth(_ number: Int64) -> Int {
        if Int8(exactly: number) != nil { return 1 }
        if Int16(exactly: number) != nil { return 2 }
        if Int32(exactly: number) != nil { return 4 }
        return 8
    }

    /// The low `count` bytes of `number`, most significant first.
    private static func bigEndian(_ number: UInt64, count: Int) -> [UInt8] {
        (0..<count).reversed().map { UInt8(truncatingIfNeeded: number >> (8 * UInt64($0))) }
    }
}
