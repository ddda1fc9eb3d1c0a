import LwM2M
import SharedTestData
import XCTest

/// `../shared/vectors/link-format.json`.
struct LinkFormatVectorFile: Decodable {
    var vectors: [LinkFormatVector]

    static func load() throws -> [LinkFormatVector] {
        try SharedVectors.load("link-format.json", as: LinkFormatVectorFile.self).vectors
    }
}

struct LinkFormatVector: Decodable {
    var id: String
    var direction: String
    var text: String?
    var error: Bool?
    var links: [VectorLink]?
    var cases: [LinkFormatVectorCase]?
    var lwm2m: LwM2MInterpretation?
    var errorReason: String?

    /// Which check a vector belongs to; every vector has exactly one.
    enum Category: CaseIterable {
        case parse, serialize, quotedStringEscapes, invalid, attributeValidation, serializeFragments
    }

    var category: Category? {
        switch (direction, error ?? false, links != nil, cases != nil) {
        case ("parse", false, true, false): .parse
        case ("serialize", false, true, false), ("parse+serialize", false, true, false): .serialize
        case ("parse", true, false, _): .invalid
        case ("parse", false, false, true) where cases!.contains { $0.paramValue != nil }: .quotedStringEscapes
        case ("parse", false, false, true) where cases!.contains { $0.path != nil }: .attributeValidation
        case ("serialize", false, false, true): .serializeFragments
        default: nil
        }
    }

    var coreLinks: [CoRELink] { (links ?? []).map(\.coreLink) }
}

struct VectorLink: Decodable {
    var uri: String
    var attributes: [VectorAttribute]

    var coreLink: CoRELink {
        CoRELink(uri: uri, attributes: attributes.map { CoRELinkAttribute(name: $0.name, value: $0.value, isQuoted: $0.quoted ?? false) })
    }
}

struct VectorAttribute: Decodable {
    var name: String
    var value: String?
    var quoted: Bool?
}

struct LinkFormatVectorCase: Decodable {
    var text: String
    var paramValue: String?
    var rfc6690Syntax: String?
    var why: String?
    var error: Bool?
    var path: String?
    var attributes: [String: Int]?
}

/// What the source derives from a registration payload.
struct LwM2MInterpretation: Decodable {
    var lwm2mVersion: String?
    var rootPath: String?
    var supportedObjects: [String: String]?
    var availableInstances: [String]?
    var supportedContentFormats: [UInt16]?
    var serverResponse: String?
}

final class LinkFormatTests: XCTestCase {
    private func vectors(_ category: LinkFormatVector.Category) throws -> [LinkFormatVector] {
        try LinkFormatVectorFile.load().filter { $0.category == category }
    }

    func testEveryLinkFormatVectorHasACheck() throws {
        let vectors = try LinkFormatVectorFile.load()
        XCTAssertEqual(vectors.count, 42, "link-format.json changed: review the categories")
        XCTAssertEqual(vectors.filter { $0.category == nil }.map(\.id), [], "vectors no test checks")
        let counts = Dictionary(grouping: vectors.compactMap(\.category), by: { $0 }).mapValues(\.count)
        XCTAssertEqual(counts, [.parse: 24, .serialize: 12, .quotedStringEscapes: 1, .invalid: 3, .attributeValidation: 1, .serializeFragments: 1])
    }

    func testParseVectorsGiveTheListedLinksInOrder() throws {
        let vectors = try vectors(.parse)
        XCTAssertEqual(vectors.count, 24)
        for vector in vectors {
            let text = try XCTUnwrap(vector.text, vector.id)
            if vector.id.hasPrefix("wakaama-") {
                // Wakaama clients end the payload with a space: RFC 6690 has no white space, so only
                // the tolerant mode a registration server uses accepts it.
                XCTAssertEqual(LinkFormat.parse(text).rejection?.offset, text.count - 1, vector.id)
                XCTAssertEqual(try LinkFormat.parse(text, allowingTrailingWhitespace: true).get(), vector.coreLinks, vector.id)
            } else {
                XCTAssertEqual(try LinkFormat.parse(text).get(), vector.coreLinks, vector.id)
            }
        }
    }

    func testSerializeVectorsGiveTheExactTextAndParseBack() throws {
        let vectors = try vectors(.serialize)
        XCTAssertEqual(vectors.count, 12)
        for vector in vectors {
            let text = try XCTUnwrap(vector.text, vector.id)
            XCTAssertEqual(LinkFormat.serialize(vector.coreLinks), text, vector.id)
            XCTAssertEqual(try LinkFormat.parse(text).get(), vector.coreLinks, vector.id)
        }
    }

    func testQuotedStringsResolveOnlyEscapedQuotesAsLeshanDoes() throws {
        let cases = try vectors(.quotedStringEscapes).flatMap { $0.cases ?? [] }
        XCTAssertEqual(cases.count, 8)
        for vectorCase in cases {
            let links = try LinkFormat.parse(vectorCase.text).get()
            XCTAssertEqual(links.map(\.uri), ["/foo", "/bar"], vectorCase.text)
            let parameter = try XCTUnwrap(links.first?.attribute(named: "param"), vectorCase.text)
            XCTAssertEqual(parameter.value, vectorCase.paramValue, vectorCase.text)
            XCTAssertTrue(parameter.isQuoted, vectorCase.text)
            XCTAssertEqual(LinkFormat.serialize(links), vectorCase.text, "round trip of \(vectorCase.text)")
        }
    }

    /// RFC 6690 decides what the link-format parser takes; the five references Leshan alone refuses
    /// (scheme, query, fragment, empty, network-path) are legal link-format but not LwM2M object
    /// links, so the registration reader refuses them as Leshan does.
    func testInvalidLinkFormatsAreRejectedAtTheirLayer() throws {
        let vectors = try vectors(.invalid)
        XCTAssertEqual(vectors.map(\.id), ["invalid-link-formats", "reg-invalid", "wakaama-register-two-rt"])
        let cases = try XCTUnwrap(vectors.first?.cases)
        XCTAssertEqual(cases.count, 28)
        XCTAssertEqual(cases.filter { $0.rfc6690Syntax == "valid" }.count, 5)
        for vectorCase in cases {
            let registration = RegistrationPayload.parse(vectorCase.text, lwm2mVersion: .v1_1)
            XCTAssertNotNil(registration.rejection, "registration reader accepted \(vectorCase.text)")
            switch vectorCase.rfc6690Syntax {
            case "valid":
                XCTAssertNoThrow(try LinkFormat.parse(vectorCase.text).get(), vectorCase.text)
                XCTAssertTrue(registration.rejection?.reason.contains("not an absolute path") ?? false, "\(registration)")
            case "invalid":
                let failure = LinkFormat.parse(vectorCase.text).rejection
                XCTAssertNotNil(failure, "parser accepted \(vectorCase.text)")
                XCTAssertEqual(failure?.format, "link-format")
                XCTAssertNotNil(failure?.offset, vectorCase.text)
            default:
                XCTFail("\(vectorCase.text): rfc6690_syntax '\(vectorCase.rfc6690Syntax ?? "nil")'")
            }
        }
        let regInvalid = try XCTUnwrap(vectors[1].text)
        XCTAssertEqual(LinkFormat.parse(regInvalid).rejection?.offset, 27, "'empty' is not a <link>")
        // wakaama-register-two-rt is valid link-format; RegistrationPayloadTests checks its LwM2M refusal.
        XCTAssertNoThrow(try LinkFormat.parse(try XCTUnwrap(vectors[2].text), allowingTrailingWhitespace: true).get())
    }

    func testZephyrFragmentsAreWrittenByTypedAttributes() throws {
        let cases = try vectors(.serializeFragments).flatMap { $0.cases ?? [] }
        XCTAssertEqual(cases.count, 5)
        let built = [
            CoRELink(path: .root, attributes: [.contentFormats([.lwm2mJSON])]),
            // 65535 is reserved as an LwM2M id (LwM2MPath refuses it); Zephyr's test uses it anyway.
            CoRELink(uri: "/65535", attributes: [LwM2MLinkAttribute.objectVersion(.v1_1).coreLinkAttribute]),
            CoRELink(uri: "/65535/0/0", attributes: [LwM2MLinkAttribute.minimumPeriod(5), .maximumPeriod(200)].map(\.coreLinkAttribute)),
            CoRELink(path: LwM2MPath(objectID: 0, instanceID: 0), attributes: [.shortServerID(101)]),
            CoRELink(path: LwM2MPath(objectID: 1, instanceID: 0), attributes: [.shortServerID(101)]),
        ]
        XCTAssertEqual(built.map { LinkFormat.serialize([$0]) }, cases.map(\.text))
        for vectorCase in cases {
            XCTAssertEqual(LinkFormat.serialize(try LinkFormat.parse(vectorCase.text).get()), vectorCase.text)
        }
    }

    func testErrorOffsetsCountCharactersNotBytes() {
        let failure = LinkFormat.parse("</ą>").rejection
        XCTAssertEqual(failure?.offset, 2)
        XCTAssertTrue(failure?.reason.contains("'ą'") ?? false, "\(String(describing: failure))")
        XCTAssertEqual(LinkFormat.parse("</a>;p=\"ąę\",</b c>").rejection?.offset, 15)
        XCTAssertEqual(LinkFormat.parse("</a>;p=\"open").rejection?.offset, 7)
    }

    func testEmptyDocumentHasNoLinks() throws {
        XCTAssertEqual(try LinkFormat.parse("").get(), [])
        XCTAssertEqual(LinkFormat.serialize([]), "")
    }

    func testSerializerQuotesValuesThatAreNotPtokens() throws {
        let links = [CoRELink(uri: "/a", attributes: [
            CoRELinkAttribute(name: "title", value: "two words"), CoRELinkAttribute(name: "e", value: ""),
            CoRELinkAttribute(name: "q", value: "say \"hi\""), CoRELinkAttribute(name: "obs", value: nil, isQuoted: true),
        ])]
        let text = LinkFormat.serialize(links)
        XCTAssertEqual(text, #"</a>;title="two words";e="";q="say \"hi\"";obs"#)
        let parsed = try LinkFormat.parse(text).get()
        XCTAssertEqual(parsed.first?.attributes.map(\.value), ["two words", "", "say \"hi\"", nil])
    }

    func testBackslashesThatLeshanEscapingCannotCarryStillGiveValidText() throws {
        // "\x" survives as written; a backslash before a quote or at the end becomes the RFC pair "\\".
        let kept = CoRELink(uri: "/a", attributes: [CoRELinkAttribute(name: "p", value: #"a\x"#, isQuoted: true)])
        XCTAssertEqual(LinkFormat.serialize([kept]), #"</a>;p="a\x""#)
        for value in [#"a\"#, #"a\"b"#] {
            let text = LinkFormat.serialize([CoRELink(uri: "/a", attributes: [CoRELinkAttribute(name: "p", value: value, isQuoted: true)])])
            XCTAssertNoThrow(try LinkFormat.parse(text).get(), text)
        }
    }

    func testTypedAttributesCarryTheQuotingPeersExpect() {
        let attributes: [LwM2MLinkAttribute] = [
            .objectVersion(.v1_1), .enablerVersion(.v1_1), .shortServerID(101), .serverURI("coap://server:5683"),
            .dimension(8), .minimumPeriod(10), .maximumPeriod(60), .greaterThan(50), .lessThan(42.2), .step(0.5),
            .minimumEvaluationPeriod(1), .maximumEvaluationPeriod(5), .resourceType("oma.lwm2m"), .contentFormats([.senmlJSON]),
            .contentFormats([.tlv, .senmlJSON]),
        ]
        XCTAssertEqual(
            LinkFormat.serialize([CoRELink(path: LwM2MPath(objectID: 3), attributes: attributes)]),
            #"</3>;ver=1.1;lwm2m=1.1;ssid=101;uri="coap://server:5683";dim=8;pmin=10;pmax=60;gt=50;lt=42.2;st=0.5;"#
                + #"epmin=1;epmax=5;rt="oma.lwm2m";ct=110;ct="11542 110""#)
    }

    func testTypedAttributesReadQuotedOrNotAndCheckRanges() throws {
        let accepted: [(CoRELinkAttribute, LwM2MLinkAttribute)] = [
            (CoRELinkAttribute(name: "lwm2m", value: "1.0", isQuoted: true), .enablerVersion(.v1_0)),
            (CoRELinkAttribute(name: "ver", value: "2.2", isQuoted: true), .objectVersion(LwM2MVersion(major: 2, minor: 2))),
            (CoRELinkAttribute(name: "ct", value: "42", isQuoted: true), .contentFormats([.opaque])),
            (CoRELinkAttribute(name: "gt", value: "-12.5"), .greaterThan(-12.5)),
            (CoRELinkAttribute(name: "lt", value: "1e-05"), .lessThan(0.00001)),
            (CoRELinkAttribute(name: "ssid", value: "65534"), .shortServerID(65534)),
            (CoRELinkAttribute(name: "obs", value: nil), .other(CoRELinkAttribute(name: "obs", value: nil))),
        ]
        for (attribute, expected) in accepted {
            XCTAssertEqual(try LwM2MLinkAttribute(attribute), expected, "\(attribute)")
        }
        let refused: [(CoRELinkAttribute, String)] = [
            (CoRELinkAttribute(name: "ver", value: "1.1.1"), "MAJOR.MINOR"), (CoRELinkAttribute(name: "ssid", value: "65535"), "1-65534"),
            (CoRELinkAttribute(name: "dim", value: "-1"), "0-255"), (CoRELinkAttribute(name: "st", value: "-1"), "negative"),
            (CoRELinkAttribute(name: "gt", value: "inf"), "decimal"), (CoRELinkAttribute(name: "ct", value: "110  112"), "content-format"),
            (CoRELinkAttribute(name: "pmax", value: nil), "needs a value"),
        ]
        for (attribute, expected) in refused {
            XCTAssertThrowsError(try LwM2MLinkAttribute(attribute), "\(attribute)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should mention \(expected)")
                XCTAssertTrue("\(error)".contains(attribute.name), "\(error) should name the attribute")
            }
        }
    }
}

extension Result {
    /// The error, or nil on success.
    var rejection: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
