/// Walks a TLV payload against a request path and a model, collecting records in payload order.
struct TLVDecoder {
    let payload: [UInt8]
    let model: LwM2MModel
    private var records: [LwM2MRecord] = []

    init(payload: [UInt8], model: LwM2MModel) {
        self.payload = payload
        self.model = model
    }

    static func error(_ reason: String, at offset: Int?) -> LwM2MDecodingError {
        LwM2MDecodingError(format: TLVFormat.name, reason: reason, offset: offset)
    }

    mutating func decode(requestPath: LwM2MPath) throws(LwM2MDecodingError) -> [LwM2MRecord] {
        // A record takes at least 3 payload bytes; reserving avoids regrowing on large reads.
        records.reserveCapacity(min(payload.count / 3, 256))
        let top = try elements(in: payload.indices)
        switch requestPath.level {
        case .root:
            throw Self.error("TLV has no object level: the request path must name at least an object", at: nil)
        case .object:
            try decodeObject(top, objectPath: requestPath)
        case .objectInstance:
            if top.count == 1, top[0].kind == .objectInstance {
                let instance = try unwrap(top[0], expectedID: requestPath.instanceID, requestPath: requestPath)
                try decodeResources(instance, instancePath: requestPath)
            } else {
                try decodeResources(top, instancePath: requestPath)
            }
        case .resource:
            try decodeResource(top, requestPath: requestPath)
        case .resourceInstance:
            try decodeResourceInstance(top, requestPath: requestPath)
        }
        return records
    }

    /// The TLVs that lie side by side in `range`.
    private func elements(in range: Range<Int>) throws(LwM2MDecodingError) -> [TLVElement] {
        var found: [TLVElement] = []
        var position = range.lowerBound
        while position < range.upperBound {
            let element = try TLVElement.read(payload, at: position, end: range.upperBound)
            found.append(element)
            position = element.value.upperBound
        }
        return found
    }

    /// The children of an Object Instance TLV that the request path already names.
    private func unwrap(
        _ instance: TLVElement, expectedID: UInt16?, requestPath: LwM2MPath
    ) throws(LwM2MDecodingError) -> [TLVElement] {
        guard instance.id == expectedID else {
            throw Self.error("Object Instance TLV id \(instance.id) does not match request path \(requestPath)", at: instance.offset)
        }
        return try elements(in: instance.value)
    }

    private mutating func decodeObject(_ top: [TLVElement], objectPath: LwM2MPath) throws(LwM2MDecodingError) {
        if let first = top.first, first.kind != .objectInstance {
            // Leshan tolerates bare resources for a single-instance object, whose only instance is 0
            // (LwM2M 1.1 TS Core 7.1). For any other object the instance id would be a guess.
            guard let objectID = objectPath.objectID, let definition = model.object(objectID), !definition.isMultipleInstance,
                  let instancePath = objectPath.appending(0)
            else {
                throw Self.error(
                    "\(first.kind) \(first.id) where an Object Instance TLV is required (request path \(objectPath))",
                    at: first.offset)
            }
            try decodeResources(top, instancePath: instancePath)
            return
        }
        for (index, instance) in top.enumerated() {
            guard instance.kind == .objectInstance else {
                throw Self.error(
                    "\(instance.kind) \(instance.id) where an Object Instance TLV is required (request path \(objectPath))",
                    at: instance.offset)
            }
            guard !Self.repeatsID(top, at: index) else {
                throw Self.error("two Object Instance TLVs with id \(instance.id)", at: instance.offset)
            }
            let instancePath = try path(objectPath, appending: instance)
            try decodeResources(elements(in: instance.value), instancePath: instancePath)
        }
    }

    /// Resource and Multiple Resource TLVs of one object instance.
    private mutating func decodeResources(_ resources: [TLVElement], instancePath: LwM2MPath) throws(LwM2MDecodingError) {
        for (index, resource) in resources.enumerated() {
            guard !Self.repeatsID(resources, at: index) else {
                throw Self.error("two resources with id \(resource.id) in object instance \(instancePath)", at: resource.offset)
            }
            try decodeResource(resource, resourcePath: path(instancePath, appending: resource))
        }
    }

    /// The payload of a request for one resource.
    private mutating func decodeResource(_ top: [TLVElement], requestPath: LwM2MPath) throws(LwM2MDecodingError) {
        var items = top
        // Not in the TS, but Leshan tolerates the instance level when its id matches the path.
        if items.count == 1, items[0].kind == .objectInstance {
            items = try unwrap(items[0], expectedID: requestPath.instanceID, requestPath: requestPath)
        }
        if items.isEmpty {
            // Nothing at all is a multiple resource with no instances; a single resource needs a value.
            if let definition = model.resource(at: requestPath), !definition.isMultipleInstance {
                throw Self.error("single-instance resource \(requestPath) needs a value, the payload has none", at: 0)
            }
            return
        }
        if items.count == 1, items[0].kind != .resourceInstance {
            guard items[0].id == requestPath.resourceID else {
                throw Self.error("\(items[0].kind) id \(items[0].id) does not match request path \(requestPath)", at: items[0].offset)
            }
            try decodeResource(items[0], resourcePath: requestPath)
        } else {
            try decodeResourceInstances(items, resourcePath: requestPath)
        }
    }

    /// A Resource TLV, or a Multiple Resource TLV and its instances, at a path already checked.
    private mutating func decodeResource(_ resource: TLVElement, resourcePath: LwM2MPath) throws(LwM2MDecodingError) {
        switch resource.kind {
        case .resourceWithValue:
            records.append(LwM2MRecord(path: resourcePath, value: try value(of: resource, at: resourcePath)))
        case .multipleResource:
            try decodeResourceInstances(elements(in: resource.value), resourcePath: resourcePath)
        case .objectInstance, .resourceInstance:
            throw Self.error(
                "\(resource.kind) \(resource.id) where a Resource or Multiple Resource TLV is required (in \(resourcePath.parent))",
                at: resource.offset)
        }
    }

    private mutating func decodeResourceInstances(_ instances: [TLVElement], resourcePath: LwM2MPath) throws(LwM2MDecodingError) {
        for (index, instance) in instances.enumerated() {
            guard instance.kind == .resourceInstance else {
                throw Self.error(
                    "\(instance.kind) \(instance.id) where a Resource Instance TLV is required (in \(resourcePath))",
                    at: instance.offset)
            }
            guard !Self.repeatsID(instances, at: index) else {
                throw Self.error("two resource instances with id \(instance.id) in resource \(resourcePath)", at: instance.offset)
            }
            let instancePath = try path(resourcePath, appending: instance)
            records.append(LwM2MRecord(path: instancePath, value: try value(of: instance, at: instancePath)))
        }
    }

    private mutating func decodeResourceInstance(_ top: [TLVElement], requestPath: LwM2MPath) throws(LwM2MDecodingError) {
        guard let instance = top.first else {
            throw Self.error("resource instance \(requestPath) needs a value, the payload has none", at: 0)
        }
        guard top.count == 1 else {
            throw Self.error("a request for resource instance \(requestPath) takes one TLV, the payload has \(top.count)", at: top[1].offset)
        }
        guard instance.kind == .resourceInstance else {
            throw Self.error("\(instance.kind) \(instance.id) where a Resource Instance TLV is required", at: instance.offset)
        }
        guard instance.id == requestPath.resourceInstanceID else {
            throw Self.error("Resource Instance TLV id \(instance.id) does not match request path \(requestPath)", at: instance.offset)
        }
        records.append(LwM2MRecord(path: requestPath, value: try value(of: instance, at: requestPath)))
    }

    /// TLV integers are 1, 2, 4 or 8 bytes.
    private static func isIntegerWidth(_ count: Int) -> Bool {
        count == 1 || count == 2 || count == 4 || count == 8
    }

    /// Whether an earlier sibling has the same id; siblings are few, so a scan beats hashing.
    private static func repeatsID(_ siblings: [TLVElement], at index: Int) -> Bool {
        siblings[..<index].contains { $0.id == siblings[index].id }
    }

    private func path(_ parent: LwM2MPath, appending element: TLVElement) throws(LwM2MDecodingError) -> LwM2MPath {
        guard let path = parent.appending(element.id) else {
            throw Self.error("\(element.kind) id \(element.id) is reserved (LwM2M 1.1 TS Core 7.1)", at: element.offset)
        }
        return path
    }

    // MARK: Values (LwM2M 1.1 TS Core Appendix C, TLV column)

    private func value(of element: TLVElement, at path: LwM2MPath) throws(LwM2MDecodingError) -> LwM2MValue {
        let bytes = payload[element.value]
        let offset = element.value.lowerBound
        guard let type = model.resourceType(at: path) else { return .opaque(Array(bytes)) }
        switch type {
        case .string, .coreLink:
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw Self.error("\(path): \(type.rawValue) value is not valid UTF-8", at: offset)
            }
            return type == .string ? .string(text) : .coreLink(text)
        case .integer, .time:
            guard Self.isIntegerWidth(bytes.count) else {
                throw Self.error("\(path): \(type.rawValue) needs 1, 2, 4 or 8 bytes, got \(bytes.count)", at: offset)
            }
            let shift = UInt64(64 - 8 * bytes.count)
            let number = Int64(bitPattern: Self.bigEndian(bytes) << shift) >> shift
            return type == .integer ? .integer(number) : .time(number)
        case .unsignedInteger:
            guard Self.isIntegerWidth(bytes.count) else {
                throw Self.error("\(path): unsigned integer needs 1, 2, 4 or 8 bytes, got \(bytes.count)", at: offset)
            }
            return .unsignedInteger(Self.bigEndian(bytes))
        case .float:
            switch bytes.count {
            case 4: return .float(Double(Float(bitPattern: UInt32(truncatingIfNeeded: Self.bigEndian(bytes)))))
            case 8: return .float(Double(bitPattern: Self.bigEndian(bytes)))
            default: throw Self.error("\(path): float needs 4 or 8 bytes, got \(bytes.count)", at: offset)
            }
        case .boolean:
            guard bytes.count == 1, let byte = bytes.first else {
                throw Self.error("\(path): boolean needs 1 byte, got \(bytes.count)", at: offset)
            }
            guard byte <= 1 else { throw Self.error("\(path): boolean byte is \(byte), not 0 or 1", at: offset) }
            return .boolean(byte == 1)
        case .objectLink:
            guard bytes.count == 4 else {
                throw Self.error("\(path): objlnk needs 4 bytes, got \(bytes.count)", at: offset)
            }
            let link = Self.bigEndian(bytes)
            return .objectLink(LwM2MObjectLink(
                objectID: UInt16(truncatingIfNeeded: link >> 16), instanceID: UInt16(truncatingIfNeeded: link)))
        case .opaque:
            return .opaque(Array(bytes))
        case .none:
            throw Self.error("\(path) is executable and carries no value", at: element.offset)
        }
    }

    /// At most 8 bytes as a big-endian number.
    private static func bigEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
