/// Groups records by object instance and resource and writes them as minimal TLVs.
///
/// Two passes over one sorted index, no tree: the first computes every container's length
/// (a TLV header needs it before the content), the second writes into one buffer of the
/// exact size. A Device instance encodes with a handful of allocations.
enum TLVEncoder {
    /// The largest value a TLV length field holds (24 bits).
    static let maximumValueLength = 0xFF_FFFF

    static func error(_ reason: String) -> LwM2MEncodingError {
        LwM2MEncodingError(format: TLVFormat.name, reason: reason)
    }

    static func encode(_ records: [LwM2MRecord], requestPath: LwM2MPath) throws(LwM2MEncodingError) -> [UInt8] {
        guard requestPath.level != .root else {
            throw error("TLV has no object level: the request path must name at least an object")
        }
        let order = try groupedOrder(records, requestPath: requestPath)
        var output: [UInt8] = []
        switch requestPath.level {
        case .root:
            break
        case .object:
            var start = 0
            var total = 0
            while start < order.count {
                let end = runEnd(order, records, from: start, sameResource: false)
                let instanceID = records[order[start]].path.instanceID!
                total += try containerSize(valueLength: instanceBodySize(order, records, start..<end), id: instanceID)
                start = end
            }
            output.reserveCapacity(total)
            start = 0
            while start < order.count {
                let end = runEnd(order, records, from: start, sameResource: false)
                let instanceID = records[order[start]].path.instanceID!
                try writeHeader(.objectInstance, id: instanceID, length: instanceBodySize(order, records, start..<end), to: &output)
                try writeResources(order, records, start..<end, to: &output)
                start = end
            }
        case .objectInstance:
            output.reserveCapacity(try instanceBodySize(order, records, 0..<order.count))
            try writeResources(order, records, 0..<order.count, to: &output)
        case .resource:
            output.reserveCapacity(try resourceSize(order, records, 0..<order.count))
            try writeResources(order, records, 0..<order.count, to: &output)
        case .resourceInstance:
            guard let only = order.first else {
                throw error("resource instance \(requestPath) needs a record, there is none")
            }
            let record = records[only]
            try writeHeader(.resourceInstance, id: record.path.resourceInstanceID!, length: valueSize(record.value), to: &output)
            writeValue(record.value, to: &output)
        }
        return output
    }

    // MARK: Grouping

    /// Record indices ordered by object instance, then resource (each in order of first
    /// appearance), then record order; after checking every record belongs and none repeats.
    private static func groupedOrder(_ records: [LwM2MRecord], requestPath: LwM2MPath) throws(LwM2MEncodingError) -> [Int] {
        var instanceRanks: [UInt16] = []
        var resourceRanks: [(instanceID: UInt16, resourceID: UInt16, isMultiple: Bool)] = []
        var keys: [(instance: Int, resource: Int, position: Int)] = []
        keys.reserveCapacity(records.count)
        for (position, record) in records.enumerated() {
            let path = record.path
            guard let instanceID = path.instanceID, let resourceID = path.resourceID else {
                throw error("record \(path) is not a resource or resource instance")
            }
            guard requestPath.contains(path) else {
                throw error("record \(path) lies outside the request path \(requestPath)")
            }
            let isMultiple = path.resourceInstanceID != nil
            let instanceRank = instanceRanks.firstIndex(of: instanceID) ?? {
                instanceRanks.append(instanceID)
                return instanceRanks.count - 1
            }()
            let resourceRank: Int
            if let known = resourceRanks.firstIndex(where: { $0.instanceID == instanceID && $0.resourceID == resourceID }) {
                switch (resourceRanks[known].isMultiple, isMultiple) {
                case (true, true): break
                case (false, false): throw error("two records for \(path)")
                case (true, false): throw error("record \(path) gives a single value to a resource that also has instances")
                case (false, true):
                    throw error("record \(path) gives instances to resource \(path.parent), which also has a single value")
                }
                resourceRank = known
            } else {
                resourceRanks.append((instanceID, resourceID, isMultiple))
                resourceRank = resourceRanks.count - 1
            }
            keys.append((instanceRank, resourceRank, position))
        }
        keys.sort { ($0.instance, $0.resource, $0.position) < ($1.instance, $1.resource, $1.position) }
        var order: [Int] = []
        order.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            if index > 0, keys[index - 1].resource == key.resource,
               records[keys[index - 1].position].path.resourceInstanceID == records[key.position].path.resourceInstanceID {
                throw error("two records for \(records[key.position].path)")
            }
            order.append(key.position)
        }
        return order
    }

    /// Where the run that starts at `start` ends: same object instance, and same resource if asked.
    private static func runEnd(_ order: [Int], _ records: [LwM2MRecord], from start: Int, sameResource: Bool) -> Int {
        let first = records[order[start]].path
        var end = start + 1
        while end < order.count {
            let path = records[order[end]].path
            guard path.instanceID == first.instanceID, !sameResource || path.resourceID == first.resourceID else { break }
            end += 1
        }
        return end
    }

    // MARK: Sizes

    private static func instanceBodySize(_ order: [Int], _ records: [LwM2MRecord], _ run: Range<Int>) throws(LwM2MEncodingError) -> Int {
        var size = 0
        var start = run.lowerBound
        while start < run.upperBound {
            let end = runEnd(order, records, from: start, sameResource: true)
            size += try resourceSize(order, records, start..<end)
            start = end
        }
        return size
    }

    /// The bytes of one resource's TLV, header included.
    private static func resourceSize(_ order: [Int], _ records: [LwM2MRecord], _ run: Range<Int>) throws(LwM2MEncodingError) -> Int {
        guard !run.isEmpty else { return 0 }
        return try containerSize(valueLength: resourceBodyLength(order, records, run), id: records[order[run.lowerBound]].path.resourceID!)
    }

    /// The value length of one resource's TLV: its value, or its resource-instance TLVs.
    private static func resourceBodyLength(_ order: [Int], _ records: [LwM2MRecord], _ run: Range<Int>) throws(LwM2MEncodingError) -> Int {
        let first = records[order[run.lowerBound]]
        guard first.path.resourceInstanceID != nil else { return valueSize(first.value) }
        var body = 0
        for index in run {
            let record = records[order[index]]
            body += try containerSize(valueLength: valueSize(record.value), id: record.path.resourceInstanceID!)
        }
        return body
    }

    /// Header plus value bytes of a TLV holding `valueLength` bytes.
    private static func containerSize(valueLength: Int, id: UInt16) throws(LwM2MEncodingError) -> Int {
        guard valueLength <= maximumValueLength else {
            throw error("a TLV of \(valueLength) bytes is more than a 24-bit TLV length can say")
        }
        let lengthField = valueLength < 8 ? 0 : valueLength <= 0xFF ? 1 : valueLength <= 0xFFFF ? 2 : 3
        return 1 + (id > 0xFF ? 2 : 1) + lengthField + valueLength
    }

    // MARK: Writing

    private static func writeResources(
        _ order: [Int], _ records: [LwM2MRecord], _ run: Range<Int>, to output: inout [UInt8]
    ) throws(LwM2MEncodingError) {
        var start = run.lowerBound
        while start < run.upperBound {
            let end = runEnd(order, records, from: start, sameResource: true)
            let first = records[order[start]]
            if first.path.resourceInstanceID == nil {
                try writeHeader(.resourceWithValue, id: first.path.resourceID!, length: valueSize(first.value), to: &output)
                writeValue(first.value, to: &output)
            } else {
                let bodyLength = try resourceBodyLength(order, records, start..<end)
                try writeHeader(.multipleResource, id: first.path.resourceID!, length: bodyLength, to: &output)
                for index in start..<end {
                    let record = records[order[index]]
                    try writeHeader(.resourceInstance, id: record.path.resourceInstanceID!, length: valueSize(record.value), to: &output)
                    writeValue(record.value, to: &output)
                }
            }
            start = end
        }
    }

    /// One TLV header: type byte, 8- or 16-bit identifier, the smallest length field (TS Core 7.4.3).
    private static func writeHeader(_ kind: TLVKind, id: UInt16, length: Int, to output: inout [UInt8]) throws(LwM2MEncodingError) {
        guard length <= maximumValueLength else {
            throw error("\(kind) \(id) holds \(length) bytes, more than a 24-bit TLV length can say")
        }
        var type = kind.rawValue << 6
        if id > 0xFF { type |= 0x20 }
        let lengthFieldLength: Int
        switch length {
        case 0..<8:
            type |= UInt8(length)
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
        var index = lengthFieldLength
        while index > 0 {
            index -= 1
            output.append(UInt8(truncatingIfNeeded: length >> (8 * index)))
        }
    }

    // MARK: Values (LwM2M 1.1 TS Core Appendix C, TLV column)

    /// The encoded bytes of one value (tests compare them with the vectors).
    static func valueBytes(_ value: LwM2MValue) -> [UInt8] {
        var bytes: [UInt8] = []
        writeValue(value, to: &bytes)
        return bytes
    }

    static func valueSize(_ value: LwM2MValue) -> Int {
        switch value {
        case .string(let text), .coreLink(let text): text.utf8.count
        case .integer(let number), .time(let number): signedWidth(number)
        case .unsignedInteger(let number): unsignedWidth(number)
        case .float: 8
        case .boolean: 1
        case .opaque(let bytes): bytes.count
        case .objectLink: 4
        }
    }

    static func writeValue(_ value: LwM2MValue, to output: inout [UInt8]) {
        switch value {
        case .string(let text), .coreLink(let text):
            output.append(contentsOf: text.utf8)
        case .integer(let number), .time(let number):
            writeBigEndian(UInt64(bitPattern: number), count: signedWidth(number), to: &output)
        case .unsignedInteger(let number):
            writeBigEndian(number, count: unsignedWidth(number), to: &output)
        case .float(let number):
            writeBigEndian(number.bitPattern, count: 8, to: &output)
        case .boolean(let flag):
            output.append(flag ? 1 : 0)
        case .opaque(let bytes):
            output.append(contentsOf: bytes)
        case .objectLink(let link):
            writeBigEndian(UInt64(link.objectID) << 16 | UInt64(link.instanceID), count: 4, to: &output)
        }
    }

    /// The fewest of 1, 2, 4 or 8 bytes that hold `number` in two's complement.
    private static func signedWidth(_ number: Int64) -> Int {
        if Int8(exactly: number) != nil { return 1 }
        if Int16(exactly: number) != nil { return 2 }
        if Int32(exactly: number) != nil { return 4 }
        return 8
    }

    /// The fewest of 1, 2, 4 or 8 bytes that hold `number` unsigned (as wakaama writes 60876 as `edcc`).
    private static func unsignedWidth(_ number: UInt64) -> Int {
        number <= 0xFF ? 1 : number <= 0xFFFF ? 2 : number <= 0xFFFF_FFFF ? 4 : 8
    }

    /// The low `count` bytes of `number`, most significant first.
    private static func writeBigEndian(_ number: UInt64, count: Int, to output: inout [UInt8]) {
        var index = count
        while index > 0 {
            index -= 1
            output.append(UInt8(truncatingIfNeeded: number >> (8 * UInt64(index))))
        }
    }
}
