/// How a client is reachable, as the `b` parameter writes it ("U", "UQ", "US", "UT"): a list of
/// transport letters, in the order written.
public struct LwM2MBinding: Hashable, Sendable, CustomStringConvertible {
    /// One letter of a binding.
    public enum Mode: Character, Hashable, Sendable, CaseIterable {
        case udp = "U"
        case tcp = "T"
        case sms = "S"
        case nonIP = "N"
        case mqtt = "M"
        case http = "H"
        /// Queue mode, a binding letter only in LwM2M 1.0 ("UQ").
        case queue = "Q"
    }

    public var modes: [Mode]

    public init(_ modes: [Mode]) {
        self.modes = modes
    }

    /// Reads "UQS"; nil for an empty text, an unknown letter or a letter given twice.
    public init?(_ text: String) {
        // Nearly every device has "U": share one array rather than build one per Register.
        if text == "U" {
            self = .udp
            return
        }
        var modes: [Mode] = []
        for byte in text.utf8 {
            // Every mode letter is ASCII, so a byte outside ASCII (part of any other letter) is refused here.
            guard byte < 0x80, let mode = Mode(rawValue: Character(Unicode.Scalar(byte))), !modes.contains(mode) else { return nil }
            modes.append(mode)
        }
        guard !modes.isEmpty else { return nil }
        self.init(modes)
    }

    public static let udp = LwM2MBinding([.udp])

    public var description: String { String(modes.map(\.rawValue)) }

    /// Why a client of `version` cannot send this binding, or nil when it can.
    public func problem(forLwM2MVersion version: LwM2MVersion) -> String? {
        if version < .v1_1 {
            // LwM2M 1.0 lists the only valid values, Q meaning queue mode on the transport before it.
            let valid = ["U", "UQ", "S", "SQ", "US", "UQS"]
            return valid.contains(description)
                ? nil : "binding '\(self)' is not one of the LwM2M 1.0 bindings \(valid.joined(separator: ", "))"
        }
        for mode in modes {
            switch mode {
            case .queue:
                return "Q is not a binding since LwM2M 1.1; queue mode is the separate valueless Q parameter"
            case .mqtt, .http:
                if version < .v1_2 { return "\(mode.rawValue) is a binding since LwM2M 1.2, not in \(version)" }
            case .udp, .tcp, .sms, .nonIP:
                continue
            }
        }
        return nil
    }
}

/// Coded as its letters (`"UQ"`), as the `b` parameter writes it.
extension LwM2MBinding: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let binding = LwM2MBinding(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a binding (U, T, S, N, M, H, Q each once)")
        }
        self = binding
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
