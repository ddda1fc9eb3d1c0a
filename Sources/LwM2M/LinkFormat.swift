/// CoRE link-format (RFC 6690, content format 40): the text of Register/Update payloads and of
/// (Bootstrap-)Discover answers.
///
/// Quoted-string values follow Leshan, whose vectors we share: `\"` stands for `"`, and any other
/// backslash pair (`\\`, `\x`) is kept as written rather than resolved as RFC 2616 would.
public enum LinkFormat {
    static let formatName = "link-format"

    /// Parses a link-format document; the empty text is the empty list.
    ///
    /// The grammar is RFC 6690's: URI references are any RFC 3986 URI-reference (relative, absolute,
    /// empty), no white space anywhere. LwM2M readers (`RegistrationPayload`, `DiscoverResponse`) add
    /// the LwM2M restrictions on top. `allowingTrailingWhitespace` accepts the trailing space Wakaama
    /// clients send after a Register payload.
    public static func parse(_ text: String, allowingTrailingWhitespace: Bool = false) -> Result<[CoRELink], LwM2MDecodingError> {
        var bytes = Array(text.utf8)
        if allowingTrailingWhitespace {
            let whitespace = [ASCII.space, ASCII.tab, ASCII.carriageReturn, ASCII.lineFeed]
            while let last = bytes.last, whitespace.contains(last) { bytes.removeLast() }
        }
        var parser = Parser(bytes: bytes)
        do throws(Failure) {
            return .success(try parser.links())
        } catch {
            // Offsets are character offsets, as for every text format.
            let offset = String(decoding: bytes[..<error.byteOffset], as: UTF8.self).count
            return .failure(LwM2MDecodingError(format: formatName, reason: error.reason, offset: offset))
        }
    }

    /// Writes links as one link-format document, in order, separated by ",".
    ///
    /// A value is written as a quoted-string when `isQuoted` says so or when it is not a valid
    /// ptoken (empty, or holding a space, ",", ";", a quote...), so the output always parses.
    public static func serialize(_ links: [CoRELink]) -> String {
        var text = ""
        for (index, link) in links.enumerated() {
            if index > 0 { text += "," }
            text += "<" + link.uri + ">"
            for attribute in link.attributes {
                text += ";" + serialize(attribute)
            }
        }
        return text
    }

    /// One parameter as written after its ";".
    static func serialize(_ attribute: CoRELinkAttribute) -> String {
        guard let value = attribute.value else { return attribute.name }
        if !attribute.isQuoted, !value.isEmpty, value.utf8.allSatisfy(isPtokenCharacter) {
            return attribute.name + "=" + value
        }
        return attribute.name + "=" + quoted(value)
    }

    /// `value` as a quoted-string that parses back to `value`. A backslash followed by `"`, or one
    /// ending the value, has no such form under Leshan's escaping; it is written as the RFC 2616
    /// quoted-pair `\\`, so the output stays valid and RFC parsers read it right.
    private static func quoted(_ value: String) -> String {
        let scalars = Array(value.unicodeScalars)
        var text = "\""
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\"" {
                text += "\\\""
            } else if scalar == "\\" {
                if index + 1 < scalars.count, scalars[index + 1] != "\"" {
                    // A pair the parser keeps as written; consuming both stops "\\" from escaping what follows.
                    text.unicodeScalars.append(scalar)
                    text.unicodeScalars.append(scalars[index + 1])
                    index += 2
                    continue
                }
                text += "\\\\"
            } else {
                text.unicodeScalars.append(scalar)
            }
            index += 1
        }
        return text + "\""
    }

    /// RFC 6690 ptokenchar.
    static func isPtokenCharacter(_ byte: UInt8) -> Bool { byte < 128 && ptokenCharacters[Int(byte)] }

    /// RFC 5987 attr-char, the characters of a parmname.
    static func isParameterNameCharacter(_ byte: UInt8) -> Bool { byte < 128 && parameterNameCharacters[Int(byte)] }

    /// RFC 3986 unreserved, gen-delims and sub-delims: every character a URI-reference holds outside pct-encoded.
    static func isURICharacter(_ byte: UInt8) -> Bool { byte < 128 && uriCharacters[Int(byte)] }

    static func isHexDigit(_ byte: UInt8) -> Bool { byte < 128 && hexDigits[Int(byte)] }

    // Lookup tables over ASCII, built once: parsing runs per Register on a server facing thousands of clients.
    private static let ptokenCharacters = asciiTable(alphanumeric: true, "!#$%&'()*+-./:<=>?@[]^_`{|}~")
    private static let parameterNameCharacters = asciiTable(alphanumeric: true, "!#$&+-.^_`|~")
    private static let uriCharacters = asciiTable(alphanumeric: true, "-._~:/?#[]@!$&'()*+,;=")
    private static let hexDigits = asciiTable(alphanumeric: false, "0123456789abcdefABCDEF")

    private static func asciiTable(alphanumeric: Bool, _ others: String) -> [Bool] {
        var table = [Bool](repeating: false, count: 128)
        if alphanumeric {
            for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
            for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
            for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
        }
        for byte in others.utf8 { table[Int(byte)] = true }
        return table
    }
}

extension LinkFormat {
    /// Where and why parsing stopped, before the byte offset becomes a character offset.
    private struct Failure: Error {
        var reason: String
        var byteOffset: Int
    }

    /// A recursive-descent reader of RFC 6690 section 2, one byte at a time (every delimiter is ASCII).
    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        // Link = link-value-list; link-value-list = [ link-value *[ "," link-value ] ]
        mutating func links() throws(Failure) -> [CoRELink] {
            var links: [CoRELink] = []
            guard !bytes.isEmpty else { return links }
            while true {
                links.append(try link())
                guard index < bytes.count else { return links }
                // link() stops only at the end or at ",".
                index += 1
            }
        }

        // link-value = "<" URI-Reference ">" *( ";" link-param )
        private mutating func link() throws(Failure) -> CoRELink {
            guard index < bytes.count else {
                throw Failure(reason: "expected a link after ',', found the end", byteOffset: index)
            }
            guard bytes[index] == ASCII.lessThan else {
                throw Failure(reason: "expected '<' to start a link, found \(found(at: index))", byteOffset: index)
            }
            let uri = try uriReference()
            var attributes: [CoRELinkAttribute] = []
            while index < bytes.count, bytes[index] == ASCII.semicolon {
                index += 1
                attributes.append(try parameter())
            }
            if index < bytes.count, bytes[index] != ASCII.comma {
                throw Failure(
                    reason: "expected ',' or ';' after a link or parameter, found \(found(at: index))", byteOffset: index)
            }
            return CoRELink(uri: uri, attributes: attributes)
        }

        private mutating func uriReference() throws(Failure) -> String {
            let opening = index
            index += 1
            let start = index
            var sawFragment = false
            while index < bytes.count, bytes[index] != ASCII.greaterThan {
                let byte = bytes[index]
                if byte == ASCII.percent {
                    guard index + 2 < bytes.count, isHexDigit(bytes[index + 1]), isHexDigit(bytes[index + 2]) else {
                        throw Failure(reason: "'%' in a URI reference must be followed by two hex digits", byteOffset: index)
                    }
                    index += 3
                    continue
                }
                guard isURICharacter(byte), !(byte == ASCII.hash && sawFragment) else {
                    throw Failure(reason: "\(found(at: index)) is not allowed in a URI reference (RFC 3986)", byteOffset: index)
                }
                sawFragment = sawFragment || byte == ASCII.hash
                index += 1
            }
            guard index < bytes.count else {
                throw Failure(reason: "the URI reference is not closed with '>'", byteOffset: opening)
            }
            let uri = String(decoding: bytes[start..<index], as: UTF8.self)
            index += 1
            return uri
        }

        // link-extension = ( parmname [ "=" ( ptoken / quoted-string ) ] ) / ( ext-name-star "=" ext-value )
        private mutating func parameter() throws(Failure) -> CoRELinkAttribute {
            let start = index
            while index < bytes.count, isParameterNameCharacter(bytes[index]) { index += 1 }
            // ext-name-star ("title*"): its ext-value is made of ptoken characters.
            if index > start, index < bytes.count, bytes[index] == ASCII.asterisk { index += 1 }
            guard index > start else {
                throw Failure(reason: "expected a parameter name after ';', found \(found(at: index))", byteOffset: index)
            }
            let name = String(decoding: bytes[start..<index], as: UTF8.self)
            guard index < bytes.count, bytes[index] == ASCII.equals else {
                return CoRELinkAttribute(name: name, value: nil)
            }
            index += 1
            if index < bytes.count, bytes[index] == ASCII.quote {
                return CoRELinkAttribute(name: name, value: try quotedString(), isQuoted: true)
            }
            let valueStart = index
            while index < bytes.count, isPtokenCharacter(bytes[index]) { index += 1 }
            guard index > valueStart else {
                throw Failure(reason: "parameter '\(name)' has '=' but no value, found \(found(at: index))", byteOffset: index)
            }
            let value = String(decoding: bytes[valueStart..<index], as: UTF8.self)
            return CoRELinkAttribute(name: name, value: value, isQuoted: false)
        }

        // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 2616 2.2); only \" is resolved, as Leshan does.
        private mutating func quotedString() throws(Failure) -> String {
            let opening = index
            index += 1
            var value: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case ASCII.quote:
                    index += 1
                    return String(decoding: value, as: UTF8.self)
                case ASCII.backslash:
                    guard index + 1 < bytes.count else { index += 1; continue }
                    let escaped = bytes[index + 1]
                    if escaped != ASCII.quote { value.append(byte) }
                    value.append(escaped)
                    index += 2
                case 0..<0x20 where byte != ASCII.tab, ASCII.delete:
                    throw Failure(reason: "control character \(byte) is not allowed in a quoted string", byteOffset: index)
                default:
                    value.append(byte)
                    index += 1
                }
            }
            throw Failure(reason: "the quoted string is not closed with '\"'", byteOffset: opening)
        }

        /// The character at `offset` for an error message, or "the end".
        private func found(at offset: Int) -> String {
            guard offset < bytes.count else { return "the end" }
            let character = String(decoding: bytes[offset...].prefix(4), as: UTF8.self).first.map(String.init) ?? "?"
            return "'\(character)'"
        }
    }
}

extension LinkFormat {
    /// The delimiters of the grammar.
    private enum ASCII {
        static let tab = UInt8(ascii: "\t")
        static let lineFeed = UInt8(ascii: "\n")
        static let carriageReturn = UInt8(ascii: "\r")
        static let space = UInt8(ascii: " ")
        static let quote = UInt8(ascii: "\"")
        static let hash = UInt8(ascii: "#")
        static let percent = UInt8(ascii: "%")
        static let asterisk = UInt8(ascii: "*")
        static let comma = UInt8(ascii: ",")
        static let semicolon = UInt8(ascii: ";")
        static let lessThan = UInt8(ascii: "<")
        static let equals = UInt8(ascii: "=")
        static let greaterThan = UInt8(ascii: ">")
        static let backslash = UInt8(ascii: "\\")
        static let delete: UInt8 = 0x7F
    }
}
