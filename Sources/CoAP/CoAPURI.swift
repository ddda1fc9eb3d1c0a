/// A `coap://` or `coaps://` URI taken apart into what CoAP options carry (RFC 7252 6.4).
public struct CoAPURI: Hashable, Sendable, CustomStringConvertible {
    public var scheme: String
    /// The host as written, without the brackets of an IPv6 literal.
    public var host: String
    public var port: UInt16
    /// Percent-decoded path segments; empty for "" and "/".
    public var path: [String]
    /// Percent-decoded query parts, split at "&".
    public var query: [String]

    /// Why a text is not a CoAP URI, for an error message that names the input.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var uri: String
        public var reason: String
        public var description: String { "'\(uri)' is not a CoAP URI: \(reason)" }
    }

    public init(_ text: String) throws(ParseError) {
        func failure(_ reason: String) -> ParseError { ParseError(uri: text, reason: reason) }
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else {
            throw failure("expected coap://host[:port][/path][?query]")
        }
        scheme = text[..<colon].lowercased()
        guard scheme == "coap" || scheme == "coaps" else {
            throw failure("scheme '\(scheme)' is not coap or coaps")
        }
        guard !text.contains("#") else { throw failure("a fragment (#) is not allowed (RFC 7252 6.4)") }
        var rest = text[text.index(colon, offsetBy: 3)...]
        var queryText: Substring?
        if let mark = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        let pathStart = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<pathStart]
        let pathText = rest[pathStart...]

        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw failure("unclosed IPv6 literal") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let afterClose = authority[authority.index(after: close)...]
            if afterClose.hasPrefix(":") {
                portText = afterClose.dropFirst()
            } else if !afterClose.isEmpty {
                throw failure("unexpected text after the IPv6 literal")
            }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                portText = authority[authority.index(after: colon)...]
                authority = authority[..<colon]
            }
            host = String(authority)
        }
        guard !host.isEmpty else { throw failure("the host is missing") }
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else { throw failure("port '\(portText)' is not 1-65535") }
            port = parsed
        } else {
            port = scheme == "coaps" ? 5684 : 5683
        }

        path = []
        if pathText.count > 1 {
            for segment in pathText.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
                path.append(try Self.percentDecoded(segment, in: text))
            }
        }
        query = []
        if let queryText, !queryText.isEmpty {
            for part in queryText.split(separator: "&", omittingEmptySubsequences: false) {
                query.append(try Self.percentDecoded(part, in: text))
            }
        }
    }

    /// Whether the URI asks for DTLS: `coaps` (RFC 7252 6.2), default port 5684.
    public var isSecure: Bool { scheme == "coaps" }

    /// Adds the Uri-Path and Uri-Query options this URI stands for.
    public func addOptions(to options: inout CoAPOptions) {
        for segment in path { options.append(.uriPath, string: segment) }
        for part in query { options.append(.uriQuery, string: part) }
    }

    public var description: String {
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(hostText):\(port)" + path.map { "/" + $0 }.joined()
            + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    private static func percentDecoded(_ text: Substring, in uri: String) throws(ParseError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw ParseError(uri: uri, reason: "bad percent-encoding in '\(text)'")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
