/// A reference to an object instance, the value of an Objlnk resource ("65:0").
public struct LwM2MObjectLink: Hashable, Sendable, CustomStringConvertible {
    public var objectID: UInt16
    public var instanceID: UInt16

    public init(objectID: UInt16, instanceID: UInt16) {
        self.objectID = objectID
        self.instanceID = instanceID
    }

    /// Parses "65:0".
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        // Digits only: UInt16("+65") would accept a sign the format does not allow.
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }),
              let object = UInt16(parts[0]), let instance = UInt16(parts[1])
        else { return nil }
        self.init(objectID: object, instanceID: instance)
    }

    public var description: String { "\(objectID):\(instanceID)" }
}

/// The value of one resource or resource instance, typed as LwM2M types it.
public enum LwM2MValue: Hashable, Sendable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case unsignedInteger(UInt64)
    case float(Double)
    case boolean(Bool)
    case opaque([UInt8])
    /// Seconds since the Unix epoch.
    case time(Int64)
    case objectLink(LwM2MObjectLink)
    /// CoRE link-format text (RFC 6690).
    case coreLink(String)

    public var type: LwM2MResourceType {
        switch self {
        case .string: .string
        case .integer: .integer
        case .unsignedInteger: .unsignedInteger
        case .float: .float
        case .boolean: .boolean
        case .opaque: .opaque
        case .time: .time
        case .objectLink: .objectLink
        case .coreLink: .coreLink
        }
    }

    /// The value as `type` when it can be represented exactly (an integer read from a format
    /// that only knows numbers, say); nil otherwise.
    public func converted(to type: LwM2MResourceType) -> LwM2MValue? {
        if type == self.type { return self }
        switch (self, type) {
        case (.integer(let value), .unsignedInteger): return UInt64(exactly: value).map(LwM2MValue.unsignedInteger)
        case (.integer(let value), .time): return .time(value)
        case (.integer(let value), .float): return Double(exactly: value).map(LwM2MValue.float)
        case (.unsignedInteger(let value), .integer): return Int64(exactly: value).map(LwM2MValue.integer)
        case (.unsignedInteger(let value), .time): return Int64(exactly: value).map(LwM2MValue.time)
        case (.unsignedInteger(let value), .float): return Double(exactly: value).map(LwM2MValue.float)
        case (.float(let value), .integer): return Int64(exactly: value).map(LwM2MValue.integer)
        case (.float(let value), .unsignedInteger): return UInt64(exactly: value).map(LwM2MValue.unsignedInteger)
        case (.float(let value), .time): return Int64(exactly: value).map(LwM2MValue.time)
        case (.time(let value), .integer): return .integer(value)
        case (.time(let value), .unsignedInteger): return UInt64(exactly: value).map(LwM2MValue.unsignedInteger)
        case (.time(let value), .float): return Double(exactly: value).map(LwM2MValue.float)
        case (.string(let text), .coreLink): return .coreLink(text)
        case (.coreLink(let text), .string): return .string(text)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .string(let text): "\"\(text)\""
        case .integer(let value): "\(value)"
        case .unsignedInteger(let value): "\(value)u"
        case .float(let value): "\(value)"
        case .boolean(let value): "\(value)"
        case .opaque(let bytes): "0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        case .time(let seconds): "time(\(seconds))"
        case .objectLink(let link): "objlnk(\(link))"
        case .coreLink(let text): "corelnk(\(text))"
        }
    }
}

/// One resource or resource-instance value at its full path: the unit every content format
/// encodes and decodes, in payload order.
public struct LwM2MRecord: Hashable, Sendable, CustomStringConvertible {
    /// A resource path (`/o/i/r`) or resource-instance path (`/o/i/r/ri`).
    public var path: LwM2MPath
    public var value: LwM2MValue
    /// SenML time of the value in seconds (absolute, or relative to now when negative), if any.
    public var time: Double?

    public init(path: LwM2MPath, value: LwM2MValue, time: Double? = nil) {
        self.path = path
        self.value = value
        self.time = time
    }

    public var description: String { "\(path)=\(value)" + (time.map { "@\($0)" } ?? "") }

    /// The one record a single-value format (plain text, opaque) carries: exactly one, at the
    /// request path, which names a resource or resource instance.
    static func single(in records: [LwM2MRecord], at requestPath: LwM2MPath, format: String) -> Result<LwM2MRecord, LwM2MEncodingError> {
        guard records.count == 1, let record = records.first else {
            return .failure(LwM2MEncodingError(format: format, reason: "carries exactly one value, got \(records.count) records"))
        }
        guard record.path == requestPath, requestPath.level >= .resource else {
            return .failure(LwM2MEncodingError(
                format: format, reason: "carries the value of request path \(requestPath) only, the record is for \(record.path)"))
        }
        return .success(record)
    }
}

extension Character {
    /// 0-9 only; `isNumber` would also accept other scripts' digits and fractions.
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
