/// A CoAP option number (RFC 7252 section 5.10) with what this endpoint knows about it.
public struct CoAPOptionNumber: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let ifMatch = CoAPOptionNumber(1)
    public static let uriHost = CoAPOptionNumber(3)
    public static let eTag = CoAPOptionNumber(4)
    public static let ifNoneMatch = CoAPOptionNumber(5)
    public static let observe = CoAPOptionNumber(6)
    public static let uriPort = CoAPOptionNumber(7)
    public static let locationPath = CoAPOptionNumber(8)
    public static let uriPath = CoAPOptionNumber(11)
    public static let contentFormat = CoAPOptionNumber(12)
    public static let maxAge = CoAPOptionNumber(14)
    public static let uriQuery = CoAPOptionNumber(15)
    public static let accept = CoAPOptionNumber(17)
    public static let locationQuery = CoAPOptionNumber(20)
    public static let block2 = CoAPOptionNumber(23)
    public static let block1 = CoAPOptionNumber(27)
    public static let size2 = CoAPOptionNumber(28)
    public static let proxyURI = CoAPOptionNumber(35)
    public static let proxyScheme = CoAPOptionNumber(39)
    public static let size1 = CoAPOptionNumber(60)
    public static let noResponse = CoAPOptionNumber(258)

    /// Critical options must be understood by the receiver (RFC 7252 5.4.1): odd numbers.
    public var isCritical: Bool { rawValue & 1 == 1 }

    /// The definition from the RFCs this endpoint implements, nil for an option it does not know.
    public var definition: CoAPOptionDefinition? { CoAPOptionDefinition.known(self) }

    public static func < (lhs: CoAPOptionNumber, rhs: CoAPOptionNumber) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String { definition?.name ?? "Option-\(rawValue)" }
}

/// How a known option's value is formatted and how long it may be (RFC 7252 5.10, RFC 7959, RFC 7641).
public struct CoAPOptionDefinition: Sendable {
    /// Value formats of RFC 7252 3.2.
    public enum Format: Sendable {
        case empty, opaque, uint, string
    }

    public let name: String
    public let format: Format
    public let lengths: ClosedRange<Int>
    public let isRepeatable: Bool

    static func known(_ number: CoAPOptionNumber) -> CoAPOptionDefinition? {
        switch number {
        case .ifMatch: CoAPOptionDefinition(name: "If-Match", format: .opaque, lengths: 0...8, isRepeatable: true)
        case .uriHost: CoAPOptionDefinition(name: "Uri-Host", format: .string, lengths: 1...255, isRepeatable: false)
        case .eTag: CoAPOptionDefinition(name: "ETag", format: .opaque, lengths: 1...8, isRepeatable: true)
        case .ifNoneMatch: CoAPOptionDefinition(name: "If-None-Match", format: .empty, lengths: 0...0, isRepeatable: false)
        case .observe: CoAPOptionDefinition(name: "Observe", format: .uint, lengths: 0...3, isRepeatable: false)
        case .uriPort: CoAPOptionDefinition(name: "Uri-Port", format: .uint, lengths: 0...2, isRepeatable: false)
        case .locationPath: CoAPOptionDefinition(name: "Location-Path", format: .string, lengths: 0...255, isRepeatable: true)
        case .uriPath: CoAPOptionDefinition(name: "Uri-Path", format: .string, lengths: 0...255, isRepeatable: true)
        case .contentFormat: CoAPOptionDefinition(name: "Content-Format", format: .uint, lengths: 0...2, isRepeatable: false)
        case .maxAge: CoAPOptionDefinition(name: "Max-Age", format: .uint, lengths: 0...4, isRepeatable: false)
        case .uriQuery: CoAPOptionDefinition(name: "Uri-Query", format: .string, lengths: 0...255, isRepeatable: true)
        case .accept: CoAPOptionDefinition(name: "Accept", format: .uint, lengths: 0...2, isRepeatable: false)
        case .locationQuery: CoAPOptionDefinition(name: "Location-Query", format: .string, lengths: 0...255, isRepeatable: true)
        case .block2: CoAPOptionDefinition(name: "Block2", format: .uint, lengths: 0...3, isRepeatable: false)
        case .block1: CoAPOptionDefinition(name: "Block1", format: .uint, lengths: 0...3, isRepeatable: false)
        case .size2: CoAPOptionDefinition(name: "Size2", format: .uint, lengths: 0...4, isRepeatable: false)
        case .proxyURI: CoAPOptionDefinition(name: "Proxy-Uri", format: .string, lengths: 1...1034, isRepeatable: false)
        case .proxyScheme: CoAPOptionDefinition(name: "Proxy-Scheme", format: .string, lengths: 1...255, isRepeatable: false)
        case .size1: CoAPOptionDefinition(name: "Size1", format: .uint, lengths: 0...4, isRepeatable: false)
        case .noResponse: CoAPOptionDefinition(name: "No-Response", format: .uint, lengths: 0...1, isRepeatable: false)
        default: nil
        }
    }
}
