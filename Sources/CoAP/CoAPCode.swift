/// A CoAP code (RFC 7252 section 12.1): a request method, a response code, or Empty.
public struct CoAPCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The byte on the wire: class in the top 3 bits, detail in the low 5.
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public init(codeClass: UInt8, detail: UInt8) {
        rawValue = (codeClass & 0x07) << 5 | (detail & 0x1F)
    }

    /// Parses the dotted form used in specs and logs, such as "2.05".
    public init?(_ dotted: String) {
        let parts = dotted.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 2,
              let codeClass = UInt8(parts[0]), codeClass < 8,
              let detail = UInt8(parts[1]), detail < 32
        else { return nil }
        self.init(codeClass: codeClass, detail: detail)
    }

    public var codeClass: UInt8 { rawValue >> 5 }
    public var detail: UInt8 { rawValue & 0x1F }

    public var isEmpty: Bool { rawValue == 0 }
    public var isRequest: Bool { codeClass == 0 && rawValue != 0 }
    public var isResponse: Bool { codeClass >= 2 && codeClass <= 5 }
    public var isSuccess: Bool { codeClass == 2 }

    public var description: String {
        "\(codeClass).\(detail < 10 ? "0" : "")\(detail)"
    }

    public static let empty = CoAPCode(rawValue: 0)

    // Methods (RFC 7252 12.1.1, RFC 8132)
    public static let get = CoAPCode(codeClass: 0, detail: 1)
    public static let post = CoAPCode(codeClass: 0, detail: 2)
    public static let put = CoAPCode(codeClass: 0, detail: 3)
    public static let delete = CoAPCode(codeClass: 0, detail: 4)
    public static let fetch = CoAPCode(codeClass: 0, detail: 5)
    public static let patch = CoAPCode(codeClass: 0, detail: 6)
    public static let iPatch = CoAPCode(codeClass: 0, detail: 7)

    // Responses (RFC 7252 12.1.2, RFC 7959 2.9)
    public static let created = CoAPCode(codeClass: 2, detail: 1)
    public static let deleted = CoAPCode(codeClass: 2, detail: 2)
    public static let valid = CoAPCode(codeClass: 2, detail: 3)
    public static let changed = CoAPCode(codeClass: 2, detail: 4)
    public static let content = CoAPCode(codeClass: 2, detail: 5)
    public static let `continue` = CoAPCode(codeClass: 2, detail: 31)
    public static let badRequest = CoAPCode(codeClass: 4, detail: 0)
    public static let unauthorized = CoAPCode(codeClass: 4, detail: 1)
    public static let badOption = CoAPCode(codeClass: 4, detail: 2)
    public static let forbidden = CoAPCode(codeClass: 4, detail: 3)
    public static let notFound = CoAPCode(codeClass: 4, detail: 4)
    public static let methodNotAllowed = CoAPCode(codeClass: 4, detail: 5)
    public static let notAcceptable = CoAPCode(codeClass: 4, detail: 6)
    public static let requestEntityIncomplete = CoAPCode(codeClass: 4, detail: 8)
    public static let preconditionFailed = CoAPCode(codeClass: 4, detail: 12)
    public static let requestEntityTooLarge = CoAPCode(codeClass: 4, detail: 13)
    public static let unsupportedContentFormat = CoAPCode(codeClass: 4, detail: 15)
    public static let internalServerError = CoAPCode(codeClass: 5, detail: 0)
    public static let notImplemented = CoAPCode(codeClass: 5, detail: 1)
    public static let badGateway = CoAPCode(codeClass: 5, detail: 2)
    public static let serviceUnavailable = CoAPCode(codeClass: 5, detail: 3)
    public static let gatewayTimeout = CoAPCode(codeClass: 5, detail: 4)
    public static let proxyingNotSupported = CoAPCode(codeClass: 5, detail: 5)
}
