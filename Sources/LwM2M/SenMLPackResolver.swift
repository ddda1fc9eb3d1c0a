/// Turns the records of a SenML pack, in order, into LwM2M records.
///
/// RFC 8428 4.6: a base name, time or value applies to its own record and every later one until
/// replaced; name = bn + n, time = bt + t, value = bv + v. LwM2M 1.1 TS Core 7.4.4/7.4.5: a name
/// is a resource or resource-instance path inside the request path, and the value kind must agree
/// with the resource type the model gives. Errors carry byte offsets.
struct SenMLPackResolver {
    let format: String
    let requestPath: LwM2MPath
    let model: LwM2MModel
    private var baseName = SenMLNameParser()
    /// The base name as written, for error messages.
    private var baseNameText: PayloadText?
    private var baseTime: SenMLNumber?
    private var baseValue: SenMLNumber?
    // Consecutive records nearly always share an object: look its resources up once.
    private var cachedObjectID: UInt16?
    private var cachedResources: [LwM2MResourceDefinition] = []

    /// The SenML version this decoder implements (RFC 8428 4.4).
    static let senMLVersion = 10

    /// Whether a string value of an Opaque resource is base64 (LwM2M JSON `sv`, LwM2M 1.0 TS
    /// 6.4.4); SenML has `vd` for opaque data instead.
    let opaqueStringsAreBase64: Bool

    init(format: String, requestPath: LwM2MPath, model: LwM2MModel, opaqueStringsAreBase64: Bool = false) {
        self.format = format
        self.requestPath = requestPath
        self.model = model
        self.opaqueStringsAreBase64 = opaqueStringsAreBase64
    }

    /// The LwM2M record a SenML record with a value stands for.
    mutating func record(from record: SenMLRecord, in payload: UnsafeBufferPointer<UInt8>) throws(LwM2MDecodingError) -> LwM2MRecord {
        let path = try resolvedPath(of: record, in: payload)
        guard path.level >= .resource else {
            throw error("name \(path) is not a resource or resource-instance path", record)
        }
        guard var value = record.value else { throw error("record for \(path) has no value", record) }
        if case .number(let number) = value, let baseValue {
            value = .number(baseValue.adding(number))
        }
        if case .number(let number) = value, number.overflowsDouble {
            throw error("number for \(path) is out of range", record)
        }
        let type = resourceType(at: path)
        if type == LwM2MResourceType.none {
            throw error("\(path) is executable and carries no value", record)
        }
        if opaqueStringsAreBase64, type == .opaque, case .string(var text) = value {
            guard let data = text.withUTF8({ Base64.decode($0) }) else {
                throw error("value of opaque resource \(path) is not base64", record)
            }
            value = .data(data)
        }
        guard let typed = value.lwm2mValue(as: type) else {
            if case .number = value, let type {
                throw error("number for \(path) is not exactly representable as \(type.rawValue)", record)
            }
            throw error("\(path) is of type \(type?.rawValue ?? "unknown"), the record has \(value.kindDescription)", record)
        }
        return LwM2MRecord(path: path, value: typed, time: try resolvedTime(of: record))
    }

    /// The path a record of a path list names (a Read-Composite or Observe-Composite request,
    /// LwM2M 1.1 TS Core 7.4.4 Table 7.4.4-6); such records carry no value.
    mutating func path(from record: SenMLRecord, in payload: UnsafeBufferPointer<UInt8>) throws(LwM2MDecodingError) -> LwM2MPath {
        let path = try resolvedPath(of: record, in: payload)
        guard record.value == nil else { throw error("path list record for \(path) carries a value", record) }
        return path
    }

    /// Applies the record's base fields, then resolves its name inside the request path.
    private mutating func resolvedPath(of record: SenMLRecord, in payload: UnsafeBufferPointer<UInt8>) throws(LwM2MDecodingError) -> LwM2MPath {
        if let version = record.baseVersion {
            guard case .integer(let number)? = version.integerValue, (1...Int64(Self.senMLVersion)).contains(number) else {
                throw error("SenML version (bver) \(version.doubleValue) is not supported; this decoder reads version \(Self.senMLVersion)", record)
            }
        }
        if let text = record.baseName {
            var parser = SenMLNameParser()
            text.withBytes(in: payload) { parser.feed($0) }
            guard !parser.isInvalid else {
                throw error("base name '\(text.string(in: payload))' is not the start of an LwM2M path", record)
            }
            baseName = parser
            baseNameText = text
        }
        if let time = record.baseTime { baseTime = time }
        if let value = record.baseValue { baseValue = value }

        var parser = baseName
        if let text = record.name {
            text.withBytes(in: payload) { parser.feed($0) }
        } else if baseName.isEmpty {
            throw error("record has no name (neither bn nor n)", record)
        }
        guard let path = parser.path() else {
            throw error("name '\(nameText(of: record, in: payload))' is not an LwM2M path", record)
        }
        guard Self.path(path, isInside: requestPath) else {
            throw error("name \(path) is outside the request path \(requestPath)", record)
        }
        return path
    }

    /// bt + t in seconds; nil when neither is given or they add up to 0, which RFC 8428 4.5.3
    /// reads as "now", like an absent time.
    private func resolvedTime(of record: SenMLRecord) throws(LwM2MDecodingError) -> Double? {
        let sum: SenMLNumber
        switch (baseTime, record.time) {
        case (nil, nil): return nil
        case (let base?, nil): sum = base
        case (nil, let time?): sum = time
        case (let base?, let time?): sum = base.adding(time)
        }
        let seconds = sum.doubleValue
        guard seconds.isFinite else { throw error("time is out of range", record) }
        return seconds == 0 ? nil : seconds
    }

    private mutating func resourceType(at path: LwM2MPath) -> LwM2MResourceType? {
        guard let objectID = path.objectID, let resourceID = path.resourceID else { return nil }
        if objectID != cachedObjectID {
            cachedObjectID = objectID
            cachedResources = model.object(objectID)?.resources ?? []
        }
        // LwM2MObjectDefinition.resource(_:) without copying the definition it finds (its strings
        // would be retained and released for each record).
        var low = 0
        var high = cachedResources.count
        while low < high {
            let middle = (low + high) / 2
            if cachedResources[middle].id < resourceID { low = middle + 1 } else { high = middle }
        }
        return low < cachedResources.count && cachedResources[low].id == resourceID ? cachedResources[low].type : nil
    }

    /// `outer.contains(path)` without building component arrays.
    static func path(_ path: LwM2MPath, isInside outer: LwM2MPath) -> Bool {
        path.level >= outer.level
            && (outer.objectID == nil || outer.objectID == path.objectID)
            && (outer.instanceID == nil || outer.instanceID == path.instanceID)
            && (outer.resourceID == nil || outer.resourceID == path.resourceID)
            && (outer.resourceInstanceID == nil || outer.resourceInstanceID == path.resourceInstanceID)
    }

    private func nameText(of record: SenMLRecord, in payload: UnsafeBufferPointer<UInt8>) -> String {
        (baseNameText?.string(in: payload) ?? "") + (record.name?.string(in: payload) ?? "")
    }

    private func error(_ reason: String, _ record: SenMLRecord) -> LwM2MDecodingError {
        LwM2MDecodingError(format: format, reason: reason, offset: record.offset)
    }
}
