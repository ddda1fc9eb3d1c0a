/// One link of a CoRE link-format document (RFC 6690): `<uri>;name=value;...`.
public struct CoRELink: Hashable, Sendable, CustomStringConvertible {
    /// The URI reference between `<` and `>`, as written (percent-encoding is kept).
    public var uri: String
    /// The link parameters in the order written; a name may repeat.
    public var attributes: [CoRELinkAttribute]

    public init(uri: String, attributes: [CoRELinkAttribute] = []) {
        self.uri = uri
        self.attributes = attributes
    }

    /// The link to an LwM2M path below `rootPath` ("/" or an alternate path such as "/lwm2m/"),
    /// carrying typed LwM2M attributes so their quoting is right by construction.
    public init(path: LwM2MPath, rootPath: String = "/", attributes: [LwM2MLinkAttribute] = []) {
        let prefix = rootPath.hasSuffix("/") ? rootPath : rootPath + "/"
        let uri = path.level == .root && prefix != "/" ? String(prefix.dropLast()) : prefix + path.segments.joined(separator: "/")
        self.init(uri: uri, attributes: attributes.map(\.coreLinkAttribute))
    }

    /// The first attribute called `name`, if any.
    public func attribute(named name: String) -> CoRELinkAttribute? {
        attributes.first { $0.name == name }
    }

    public var description: String { LinkFormat.serialize([self]) }
}

/// One link parameter: `name`, `name=ptoken` or `name="quoted string"`.
public struct CoRELinkAttribute: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// The value with quoted-string escapes resolved; nil for a valueless attribute (`;obs`).
    public var value: String?
    /// Whether the value is written as a quoted-string.
    public var isQuoted: Bool

    public init(name: String, value: String?, isQuoted: Bool = false) {
        self.name = name
        self.value = value
        self.isQuoted = value != nil && isQuoted
    }

    public var description: String { LinkFormat.serialize(self) }
}

/// An attribute LwM2M gives a link (LwM2M 1.1 TS Core 5.1.2, 6.2.1, 6.1.7.3), typed so that its value
/// is in range and written with the quoting peers expect.
public enum LwM2MLinkAttribute: Hashable, Sendable {
    /// `ver=1.1`: the object's version, unquoted (Leshan, Wakaama, Zephyr).
    case objectVersion(LwM2MVersion)
    /// `lwm2m=1.1`: the enabler version on the first link of a Bootstrap-Discover answer, unquoted as Leshan writes it.
    case enablerVersion(LwM2MVersion)
    /// `ssid=101`: the Short Server ID of a Security or Server instance in Bootstrap-Discover (1-65534).
    case shortServerID(UInt16)
    /// `uri="coap://server:5683"`: the server URI of a Security instance in Bootstrap-Discover, quoted.
    case serverURI(String)
    /// `dim=3`: the number of instances of a multiple resource (0-255).
    case dimension(UInt8)
    /// `pmin=10`: minimum period between notifications, in seconds.
    case minimumPeriod(UInt32)
    /// `pmax=60`: maximum period between notifications, in seconds.
    case maximumPeriod(UInt32)
    /// `gt=50`: notify when the value rises above this (a finite number, as for `lt` and `st`).
    case greaterThan(Double)
    /// `lt=42.2`: notify when the value falls below this.
    case lessThan(Double)
    /// `st=0.5`: notify when the value moves by at least this much (not negative).
    case step(Double)
    /// `epmin=1`: minimum evaluation period in seconds (LwM2M 1.1).
    case minimumEvaluationPeriod(UInt32)
    /// `epmax=5`: maximum evaluation period in seconds (LwM2M 1.1).
    case maximumEvaluationPeriod(UInt32)
    /// `rt="oma.lwm2m"`: the resource type (RFC 6690 3.1), quoted; may be a space-separated list.
    case resourceType(String)
    /// `ct=110` or `ct="110 11542"`: content formats (RFC 7252 7.2.1); one is unquoted, several are quoted.
    case contentFormats([LwM2MContentFormat])
    /// Any other attribute, kept as written.
    case other(CoRELinkAttribute)

    /// The attribute's name on the wire.
    public var name: String {
        switch self {
        case .objectVersion: "ver"
        case .enablerVersion: "lwm2m"
        case .shortServerID: "ssid"
        case .serverURI: "uri"
        case .dimension: "dim"
        case .minimumPeriod: "pmin"
        case .maximumPeriod: "pmax"
        case .greaterThan: "gt"
        case .lessThan: "lt"
        case .step: "st"
        case .minimumEvaluationPeriod: "epmin"
        case .maximumEvaluationPeriod: "epmax"
        case .resourceType: "rt"
        case .contentFormats: "ct"
        case .other(let attribute): attribute.name
        }
    }

    /// The attribute as written in a link.
    public var coreLinkAttribute: CoRELinkAttribute {
        switch self {
        case .objectVersion(let version), .enablerVersion(let version): unquoted(version.description)
        case .shortServerID(let id): unquoted(String(id))
        case .serverURI(let uri): CoRELinkAttribute(name: name, value: uri, isQuoted: true)
        case .dimension(let count): unquoted(String(count))
        case .minimumPeriod(let seconds), .maximumPeriod(let seconds), .minimumEvaluationPeriod(let seconds),
             .maximumEvaluationPeriod(let seconds):
            unquoted(String(seconds))
        case .greaterThan(let number), .lessThan(let number), .step(let number): unquoted(Self.text(of: number))
        case .resourceType(let type): CoRELinkAttribute(name: name, value: type, isQuoted: true)
        case .contentFormats(let formats):
            CoRELinkAttribute(
                name: name, value: formats.map { String($0.rawValue) }.joined(separator: " "), isQuoted: formats.count != 1)
        case .other(let attribute): attribute
        }
    }

    private func unquoted(_ value: String) -> CoRELinkAttribute {
        CoRELinkAttribute(name: name, value: value, isQuoted: false)
    }

    /// Reads an attribute from a link: known LwM2M and CoRE names are checked and typed, whether or
    /// not their value was quoted (Zephyr quotes `lwm2m`, Leshan accepts a quoted `ver`); any other
    /// name becomes `.other`.
    public init(_ attribute: CoRELinkAttribute) throws(LwM2MDecodingError) {
        let name = attribute.name
        guard Self.knownNames.contains(name) else {
            self = .other(attribute)
            return
        }
        guard let value = attribute.value else {
            // A valueless pmin is only meaningful in a Write-Attributes query, never in a link.
            throw Self.invalid(name, "needs a value in a link")
        }
        func integer<Number: FixedWidthInteger>(
            _: Number.Type, in range: ClosedRange<Number>
        ) throws(LwM2MDecodingError) -> Number {
            guard value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let number = Number(value),
                  range.contains(number)
            else {
                throw Self.invalid(name, "'\(value)' is not an integer in \(range.lowerBound)-\(range.upperBound)")
            }
            return number
        }
        func decimal() throws(LwM2MDecodingError) -> Double {
            guard let number = Self.number(from: value) else { throw Self.invalid(name, "'\(value)' is not a decimal number") }
            return number
        }
        func version() throws(LwM2MDecodingError) -> LwM2MVersion {
            guard let version = LwM2MVersion(value) else { throw Self.invalid(name, "'\(value)' is not a MAJOR.MINOR version") }
            return version
        }
        switch name {
        case "ver": self = .objectVersion(try version())
        case "lwm2m": self = .enablerVersion(try version())
        case "ssid": self = .shortServerID(try integer(UInt16.self, in: 1...LwM2MPath.maximumID))
        case "uri": self = .serverURI(value)
        case "dim": self = .dimension(try integer(UInt8.self, in: 0...255))
        case "pmin": self = .minimumPeriod(try integer(UInt32.self, in: 0...UInt32.max))
        case "pmax": self = .maximumPeriod(try integer(UInt32.self, in: 0...UInt32.max))
        case "epmin": self = .minimumEvaluationPeriod(try integer(UInt32.self, in: 0...UInt32.max))
        case "epmax": self = .maximumEvaluationPeriod(try integer(UInt32.self, in: 0...UInt32.max))
        case "gt": self = .greaterThan(try decimal())
        case "lt": self = .lessThan(try decimal())
        case "st":
            let step = try decimal()
            guard step >= 0 else { throw Self.invalid(name, "'\(value)' is negative") }
            self = .step(step)
        case "rt": self = .resourceType(value)
        default:
            var formats: [LwM2MContentFormat] = []
            for code in value.split(separator: " ", omittingEmptySubsequences: false) {
                guard !code.isEmpty, code.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                      let number = UInt16(code)
                else {
                    throw Self.invalid(name, "'\(value)' is not a space-separated list of content-format numbers")
                }
                formats.append(LwM2MContentFormat(rawValue: number))
            }
            self = .contentFormats(formats)
        }
    }

    private static let knownNames: Set<String> = [
        "ver", "lwm2m", "ssid", "uri", "dim", "pmin", "pmax", "gt", "lt", "st", "epmin", "epmax", "rt", "ct",
    ]

    private static func invalid(_ name: String, _ reason: String) -> LwM2MDecodingError {
        LwM2MDecodingError(format: LinkFormat.formatName, reason: "attribute '\(name)' \(reason)", offset: nil)
    }

    /// `-12`, `42.2`, `1e-05`: the decimal forms `text(of:)` writes, nothing Swift alone would accept ("inf", "0x1p3").
    private static func number(from text: String) -> Double? {
        var bytes = Substring(text).utf8[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        func digits() -> Int {
            let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        guard digits() > 0 else { return nil }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            guard digits() > 0 else { return nil }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            guard digits() > 0 else { return nil }
        }
        return bytes.isEmpty ? Double(text).flatMap { $0.isFinite ? $0 : nil } : nil
    }

    /// Integral values without a fraction ("50", not "50.0"); others in Swift's shortest exact form.
    private static func text(of number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return "\(number)"
    }
}
