import CoAP

/// Where the server keeps a registration (the Location-Path of its 2.01, TS Core 6.2.1), as the
/// URI path text `rd/5a3f`: one small string per device instead of an array of segments, which
/// costs every registered device a heap block of its own.
public struct RegistrationLocation: Hashable, Sendable, CustomStringConvertible {
    /// The segments joined by `/`, a `/` or `%` inside a segment percent-encoded as in a URI.
    /// Empty: no segment (a lone empty segment reads back as none, as in a URI).
    public private(set) var path: String

    /// The location given by the Location-Path options of `response`.
    public init(of response: CoAPMessage) {
        var path = ""
        var first = true
        for option in response.options where option.number == .locationPath {
            if !first { path += "/" }
            first = false
            Self.appendEncoded(option.value, to: &path)
        }
        self.path = path
    }

    public init(segments: [String]) {
        var path = ""
        for (index, segment) in segments.enumerated() {
            if index > 0 { path += "/" }
            Self.appendEncoded(Array(segment.utf8)[...], to: &path)
        }
        self.path = path
    }

    /// The segments as the server gave them.
    public var segments: [String] {
        var segments: [String] = []
        forEachSegment { segments.append(Self.decoded(Substring($0))) }
        return segments
    }

    /// Adds one Uri-Path option per segment: the target of Update and De-register. Reads the
    /// segments in place, so an Update allocates nothing for its path.
    public func appendURIPath(to options: inout CoAPOptions) {
        forEachSegment { segment in
            if segment.contains(UInt8(ascii: "%")) {
                options.append(.uriPath, string: Self.decoded(Substring(segment)))
            } else {
                options.append(.uriPath, bytes: segment)
            }
        }
    }

    /// Calls `body` with each segment of `path`, still encoded, without copying it.
    private func forEachSegment(_ body: (Substring.UTF8View) -> Void) {
        guard !path.isEmpty else { return }
        let utf8 = path.utf8
        var start = utf8.startIndex
        while true {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            body(utf8[start..<end])
            guard end < utf8.endIndex else { return }
            start = utf8.index(after: end)
        }
    }

    public var description: String { path }

    private static func appendEncoded(_ bytes: ArraySlice<UInt8>, to path: inout String) {
        guard bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "%") }) else {
            return path += String(decoding: bytes, as: UTF8.self)
        }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "/"): path += "%2F"
            case UInt8(ascii: "%"): path += "%25"
            default: path += String(decoding: [byte], as: UTF8.self)
            }
        }
    }

    private static func decoded(_ segment: Substring) -> String {
        guard segment.contains("%") else { return String(segment) }
        return String(segment).replacingOccurrences(of: "%2F", with: "/").replacingOccurrences(of: "%25", with: "%")
    }
}
