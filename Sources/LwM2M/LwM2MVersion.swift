/// A MAJOR.MINOR version: of the LwM2M enabler (`lwm2m=1.1`) or of an object (`ver=1.1`).
public struct LwM2MVersion: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var major: UInt16
    public var minor: UInt16

    public init(major: UInt16, minor: UInt16) {
        self.major = major
        self.minor = minor
    }

    /// Parses "1.1"; nil for anything else ("1", "1.1.1", "v1.1", "1.01").
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Self.number(parts[0]), let minor = Self.number(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    private static func number(_ text: some StringProtocol) -> UInt16? {
        // No sign and no leading zero, so the text is exactly what `description` writes back.
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              text == "0" || !text.hasPrefix("0")
        else { return nil }
        return UInt16(text)
    }

    public static let v1_0 = LwM2MVersion(major: 1, minor: 0)
    public static let v1_1 = LwM2MVersion(major: 1, minor: 1)
    public static let v1_2 = LwM2MVersion(major: 1, minor: 2)

    public static func < (lhs: LwM2MVersion, rhs: LwM2MVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    public var description: String { "\(major).\(minor)" }
}

/// Coded as its text (`"1.1"`), as the `lwm2m` parameter writes it.
extension LwM2MVersion: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let version = LwM2MVersion(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a MAJOR.MINOR version")
        }
        self = version
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
