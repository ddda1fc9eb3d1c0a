/// A path in the LwM2M data model: `/`, `/o`, `/o/i`, `/o/i/r` or `/o/i/r/ri`.
public struct LwM2MPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// How deep a path goes.
    public enum Level: Int, Sendable, Comparable {
        case root = 0, object, objectInstance, resource, resourceInstance

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    // Unused components hold 65535, the id LwM2M reserves, so a path is 10 bytes inline.
    private var ids: (UInt16, UInt16, UInt16, UInt16)
    public let level: Level

    /// The largest valid id; 65535 is reserved (LwM2M 1.1 TS Core 7.1).
    public static let maximumID: UInt16 = 65534
    private static let absent: UInt16 = 65535

    public static let root = LwM2MPath(unchecked: [])

    private init(unchecked ids: [UInt16]) {
        var all = (Self.absent, Self.absent, Self.absent, Self.absent)
        if ids.count > 0 { all.0 = ids[0] }
        if ids.count > 1 { all.1 = ids[1] }
        if ids.count > 2 { all.2 = ids[2] }
        if ids.count > 3 { all.3 = ids[3] }
        self.ids = all
        level = Level(rawValue: ids.count)!
    }

    /// A path from ids, outermost first; nil for more than four ids or an id of 65535.
    public init?(_ ids: [UInt16]) {
        guard ids.count <= 4, ids.allSatisfy({ $0 <= Self.maximumID }) else { return nil }
        self.init(unchecked: ids)
    }

    /// A path from its ids; an inner id is used only when the outer ones are given.
    public init(objectID: UInt16, instanceID: UInt16? = nil, resourceID: UInt16? = nil, resourceInstanceID: UInt16? = nil) {
        // Filled in place, no array: decoders build a path per record.
        var ids = (objectID, Self.absent, Self.absent, Self.absent)
        var level = Level.object
        if let instanceID {
            (ids.1, level) = (instanceID, .objectInstance)
            if let resourceID {
                (ids.2, level) = (resourceID, .resource)
                if let resourceInstanceID { (ids.3, level) = (resourceInstanceID, .resourceInstance) }
            }
        }
        precondition(max(ids.0, level >= .objectInstance ? ids.1 : 0, level >= .resource ? ids.2 : 0,
                         level >= .resourceInstance ? ids.3 : 0) <= Self.maximumID, "LwM2M ids are 0-65534")
        self.ids = ids
        self.level = level
    }

    /// Parses "/3/0/1" (the leading slash optional, a trailing one allowed, "/" is the root).
    public init(parsing text: String) throws(LwM2MPathError) {
        var body = Substring(text)
        if body.hasPrefix("/") { body = body.dropFirst() }
        if body.hasSuffix("/") { body = body.dropLast() }
        try self.init(segments: body.isEmpty ? [] : body.split(separator: "/", omittingEmptySubsequences: false), text: text)
    }

    /// Builds a path from CoAP Uri-Path segments (`["3", "0", "1"]`).
    public init(segments: [String]) throws(LwM2MPathError) {
        try self.init(segments: segments.map { Substring($0) }, text: "/" + segments.joined(separator: "/"))
    }

    private init(segments: [Substring], text: String) throws(LwM2MPathError) {
        guard segments.count <= 4 else {
            throw LwM2MPathError(path: text, reason: "has \(segments.count) segments, at most 4 (/object/instance/resource/resource-instance)")
        }
        var ids: [UInt16] = []
        for segment in segments {
            guard !segment.isEmpty, segment.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let value = Int(segment)
            else {
                throw LwM2MPathError(path: text, reason: "segment '\(segment)' is not a decimal id")
            }
            guard value <= Int(Self.maximumID) else {
                throw LwM2MPathError(path: text, reason: "id \(value) is out of range (0-65534; 65535 is reserved)")
            }
            ids.append(UInt16(value))
        }
        self.init(unchecked: ids)
    }

    public var objectID: UInt16? { level >= .object ? ids.0 : nil }
    public var instanceID: UInt16? { level >= .objectInstance ? ids.1 : nil }
    public var resourceID: UInt16? { level >= .resource ? ids.2 : nil }
    public var resourceInstanceID: UInt16? { level >= .resourceInstance ? ids.3 : nil }

    /// The ids, outermost first.
    public var components: [UInt16] {
        Array([ids.0, ids.1, ids.2, ids.3].prefix(level.rawValue))
    }

    /// This path with one more id appended; nil below a resource instance.
    public func appending(_ id: UInt16) -> LwM2MPath? {
        guard id <= Self.maximumID else { return nil }
        switch level {
        case .root: return LwM2MPath(objectID: id)
        case .object: return LwM2MPath(objectID: ids.0, instanceID: id)
        case .objectInstance: return LwM2MPath(objectID: ids.0, instanceID: ids.1, resourceID: id)
        case .resource: return LwM2MPath(objectID: ids.0, instanceID: ids.1, resourceID: ids.2, resourceInstanceID: id)
        case .resourceInstance: return nil
        }
    }

    /// The path one level up; the root's parent is the root.
    public var parent: LwM2MPath {
        switch level {
        case .root, .object: .root
        case .objectInstance: LwM2MPath(objectID: ids.0)
        case .resource: LwM2MPath(objectID: ids.0, instanceID: ids.1)
        case .resourceInstance: LwM2MPath(objectID: ids.0, instanceID: ids.1, resourceID: ids.2)
        }
    }

    /// Whether `other` is this path or lies below it.
    public func contains(_ other: LwM2MPath) -> Bool {
        // Compared id by id, no arrays: encoders check this for every record.
        guard other.level >= level else { return false }
        switch level {
        case .root: return true
        case .object: return other.ids.0 == ids.0
        case .objectInstance: return other.ids.0 == ids.0 && other.ids.1 == ids.1
        case .resource: return other.ids.0 == ids.0 && other.ids.1 == ids.1 && other.ids.2 == ids.2
        case .resourceInstance: return other == self
        }
    }

    /// The path's ids as CoAP Uri-Path segments.
    public var segments: [String] { components.map { String($0) } }

    public var description: String { "/" + segments.joined(separator: "/") }

    public static func == (lhs: LwM2MPath, rhs: LwM2MPath) -> Bool {
        lhs.level == rhs.level && lhs.ids == rhs.ids
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ids.0)
        hasher.combine(ids.1)
        hasher.combine(ids.2)
        hasher.combine(ids.3)
    }

    /// Orders paths as a tree walk: a parent before its children, siblings by id.
    public static func < (lhs: LwM2MPath, rhs: LwM2MPath) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components)
    }
}

/// Coded as its text (`"/3/0/9"`), as people write it in files and on the command line.
extension LwM2MPath: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Why a text is not an LwM2M path.
public struct LwM2MPathError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "LwM2M path '\(path)' \(reason)" }
}
