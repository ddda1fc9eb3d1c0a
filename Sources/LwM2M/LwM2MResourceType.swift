/// The data type of a resource (LwM2M 1.1 TS Core Appendix C), as DDF files name it.
public enum LwM2MResourceType: String, CaseIterable, Hashable, Sendable {
    case string
    case integer
    case unsignedInteger = "unsigned_integer"
    case float
    case boolean
    case opaque
    case time
    case objectLink = "objlnk"
    case coreLink = "corelnk"
    /// Executable resources carry no value.
    case none

    /// Reads the type as written in a DDF `<Type>` element ("Unsigned Integer", "Objlnk", ...).
    public init?(ddfName: String) {
        switch String(ddfName.filter { !$0.isWhitespace || $0 == " " }).trimmedSpaces.lowercased() {
        case "string": self = .string
        case "integer": self = .integer
        case "unsigned integer", "unsignedinteger": self = .unsignedInteger
        case "float": self = .float
        case "boolean": self = .boolean
        case "opaque": self = .opaque
        case "time": self = .time
        case "objlnk": self = .objectLink
        case "corelnk": self = .coreLink
        case "", "none": self = .none
        default: return nil
        }
    }
}

extension String {
    /// The text without leading and trailing white space (DDF values are often padded).
    var trimmedSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
