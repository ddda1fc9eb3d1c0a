/// What an LwM2M object is, as its DDF file (OMA LWM2M.xsd) defines it.
public struct LwM2MObjectDefinition: Hashable, Sendable {
    public var id: UInt16
    public var name: String
    /// The object's own version ("1.0" when the DDF gives none).
    public var objectVersion: String
    /// The LwM2M enabler version the object is defined for ("1.0", "1.1", ...).
    public var lwm2mVersion: String
    public var isMultipleInstance: Bool
    public var isMandatory: Bool
    /// The object's URN ("urn:oma:lwm2m:oma:3:1.1"), when the DDF gives one.
    public var urn: String?
    /// Resources ordered by id.
    public var resources: [LwM2MResourceDefinition]

    public init(
        id: UInt16, name: String, objectVersion: String = "1.0", lwm2mVersion: String = "1.0",
        isMultipleInstance: Bool, isMandatory: Bool, urn: String? = nil, resources: [LwM2MResourceDefinition]
    ) {
        self.id = id
        self.name = name
        self.objectVersion = objectVersion
        self.lwm2mVersion = lwm2mVersion
        self.isMultipleInstance = isMultipleInstance
        self.isMandatory = isMandatory
        self.urn = urn
        self.resources = resources.sorted { $0.id < $1.id }
    }

    /// The definition of resource `id`, if the object has one.
    public func resource(_ id: UInt16) -> LwM2MResourceDefinition? {
        // Resources are few and sorted: a binary search beats hashing for this size.
        var low = 0
        var high = resources.count
        while low < high {
            let middle = (low + high) / 2
            if resources[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low < resources.count && resources[low].id == id ? resources[low] : nil
    }
}

/// One resource of an object definition.
public struct LwM2MResourceDefinition: Hashable, Sendable {
    public var id: UInt16
    public var name: String
    public var operations: LwM2MOperations
    public var isMultipleInstance: Bool
    public var isMandatory: Bool
    public var type: LwM2MResourceType
    /// The DDF `RangeEnumeration` text as written ("0..100", "1-65534"), empty when unbounded.
    public var rangeEnumeration: String
    public var units: String

    public init(
        id: UInt16, name: String, operations: LwM2MOperations, isMultipleInstance: Bool, isMandatory: Bool,
        type: LwM2MResourceType, rangeEnumeration: String = "", units: String = ""
    ) {
        self.id = id
        self.name = name
        self.operations = operations
        self.isMultipleInstance = isMultipleInstance
        self.isMandatory = isMandatory
        self.type = type
        self.rangeEnumeration = rangeEnumeration
        self.units = units
    }
}

/// The operations a resource allows: R, W, RW, E, or none (an object-level or bootstrap-only resource).
public struct LwM2MOperations: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let read = LwM2MOperations(rawValue: 1)
    public static let write = LwM2MOperations(rawValue: 2)
    public static let execute = LwM2MOperations(rawValue: 4)

    /// Reads the DDF `<Operations>` text ("R", "W", "RW", "E", or empty); nil for anything else.
    public init?(ddfText: String) {
        var operations: LwM2MOperations = []
        for character in ddfText.trimmedSpaces.uppercased() {
            switch character {
            case "R": operations.insert(.read)
            case "W": operations.insert(.write)
            case "E": operations.insert(.execute)
            default: return nil
            }
        }
        self = operations
    }

    public var description: String {
        (contains(.read) ? "R" : "") + (contains(.write) ? "W" : "") + (contains(.execute) ? "E" : "")
    }
}
