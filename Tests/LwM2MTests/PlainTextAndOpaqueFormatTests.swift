import LwM2M
import XCTest

/// Plain text (content format 0) and opaque (42): one value of one resource or resource instance.
final class PlainTextAndOpaqueFormatTests: XCTestCase {
    /// Security (0), Device (3) and Server (1) resources of every type plain text must handle, from the DDFs.
    static let model = LwM2MModel([
        LwM2MObjectDefinition(id: 0, name: "LwM2M Security", isMultipleInstance: true, isMandatory: true, resources: [
            resource(0, "LwM2M Server URI", .string), resource(1, "Bootstrap-Server", .boolean),
            resource(3, "Public Key or Identity", .opaque), resource(13, "Matching Type", .unsignedInteger),
            resource(16, "DTLS/TLS Ciphersuite", .unsignedInteger, multiple: true), resource(17, "OSCORE Security Mode", .objectLink),
        ]),
        LwM2MObjectDefinition(id: 3, name: "Device", isMultipleInstance: false, isMandatory: true, resources: [
            resource(4, "Reboot", .none), resource(6, "Available Power Sources", .integer, multiple: true),
            resource(9, "Battery Level", .integer), resource(13, "Current Time", .time),
        ]),
        LwM2MObjectDefinition(id: 1, name: "LwM2M Server", isMultipleInstance: true, isMandatory: true, resources: [
            resource(1, "Lifetime", .integer),
        ]),
        LwM2MObjectDefinition(id: 32769, name: "Scratch", isMultipleInstance: true, isMandatory: false, resources: [
            resource(1, "Ratio", .float), resource(2, "Links", .coreLink),
        ]),
    ])

    // MARK: Plain text

    func testEveryTypeDecodesAndEncodesBackToTheSameText() throws {
        let cases: [(path: String, text: String, value: LwM2MValue)] = [
            ("/0/0/0", "coap://[2001:db8::1]:5683", .string("coap://[2001:db8::1]:5683")),
            ("/0/0/0", "", .string("")),
            ("/0/0/0", "Zürich ✓", .string("Zürich ✓")),
            ("/3/0/9", "100", .integer(100)),
            ("/3/0/9", "-9223372036854775808", .integer(Int64.min)),
            ("/3/0/9", "9223372036854775807", .integer(Int64.max)),
            ("/3/0/6/1", "-5", .integer(-5)),
            ("/0/0/13", "18446744073709551615", .unsignedInteger(UInt64.max)),
            ("/0/0/16/0", "49320", .unsignedInteger(49320)),
            ("/32769/0/1", "1.5", .float(1.5)),
            ("/32769/0/1", "-0.987", .float(-0.987)),
            ("/32769/0/1", "1e-05", .float(0.00001)),
            ("/32769/0/1", "1e+16", .float(1e16)),
            ("/32769/0/1", "0.1", .float(0.1)),
            ("/0/0/1", "1", .boolean(true)),
            ("/0/0/1", "0", .boolean(false)),
            ("/3/0/13", "1367491215", .time(1_367_491_215)),
            ("/3/0/13", "-1", .time(-1)),
            ("/0/0/17", "65:0", .objectLink(LwM2MObjectLink(objectID: 65, instanceID: 0))),
            ("/0/0/17", "65535:65535", .objectLink(LwM2MObjectLink(objectID: 65535, instanceID: 65535))),
            ("/32769/0/2", "</3/0>;ct=0", .coreLink("</3/0>;ct=0")),
            ("/0/0/3", "AQIDBAU=", .opaque([1, 2, 3, 4, 5])),
            ("/0/0/3", "Zm9vYg==", .opaque(Array("foob".utf8))),
            ("/0/0/3", "Zm9vYmFy", .opaque(Array("foobar".utf8))),
            ("/0/0/3", "", .opaque([])),
        ]
        for check in cases {
            let path = try LwM2MPath(parsing: check.path)
            let record = LwM2MRecord(path: path, value: check.value)
            XCTAssertEqual(try PlainTextFormat.decode(Array(check.text.utf8), requestPath: path, model: Self.model).get(), [record], check.text)
            XCTAssertEqual(try PlainTextFormat.encode([record], requestPath: path).get(), Array(check.text.utf8), check.text)
        }
    }

    func testOtherSpellingsOfFloatsAndBase64AreRead() throws {
        let ratio = try LwM2MPath(parsing: "/32769/0/1")
        for (text, value) in [("1", 1.0), ("2.", 2.0), (".5", 0.5), ("-1.25E2", -125.0), ("1e3", 1000.0), ("0.00", 0.0)] {
            XCTAssertEqual(try PlainTextFormat.decode(Array(text.utf8), requestPath: ratio, model: Self.model).get(),
                           [LwM2MRecord(path: ratio, value: .float(value))], text)
        }
        let key = try LwM2MPath(parsing: "/0/0/3")
        for text in ["AQIDBAU", "-_8", "_-8="] {
            XCTAssertNoThrow(try PlainTextFormat.decode(Array(text.utf8), requestPath: key, model: Self.model).get(), text)
        }
    }

    func testTextThatIsNotItsTypeIsRefused() throws {
        let cases: [(path: String, text: String, reason: String)] = [
            ("/3/0/9", "", "needs at least one digit"),
            ("/3/0/9", "-", "needs at least one digit"),
            ("/3/0/9", "+5", "not a decimal digit"),
            ("/3/0/9", " 5", "not a decimal digit"),
            ("/3/0/9", "5\n", "not a decimal digit"),
            ("/3/0/9", "1.0", "not a decimal digit"),
            ("/3/0/9", "9223372036854775808", "out of range"),
            ("/0/0/13", "-1", "not a decimal digit"),
            ("/0/0/13", "18446744073709551616", "out of range"),
            ("/3/0/13", "2013-05-02", "not a decimal digit"),
            ("/32769/0/1", "nan", "at least one digit"),
            ("/32769/0/1", "inf", "at least one digit"),
            ("/32769/0/1", "0x1p3", "unexpected character"),
            ("/32769/0/1", "1e", "exponent needs at least one digit"),
            ("/32769/0/1", ".", "at least one digit"),
            ("/32769/0/1", "1e999", "out of range"),
            ("/32769/0/1", "+1.5", "at least one digit"),
            ("/0/0/1", "true", "\"0\" or \"1\""),
            ("/0/0/1", "", "\"0\" or \"1\""),
            ("/0/0/17", "65", "object:instance"),
            ("/0/0/17", "65:", "object:instance"),
            ("/0/0/17", "65536:0", "object:instance"),
            ("/0/0/17", "+65:0", "object:instance"),
            ("/0/0/17", "1:2:3", "object:instance"),
            ("/0/0/3", "AQIDBAV=", "not base64"),
            ("/0/0/3", "A", "not base64"),
            ("/0/0/3", "AQ*D", "not base64"),
            ("/3/0/4", "", "executable"),
        ]
        for check in cases {
            let failure = try plainTextFailure(Array(check.text.utf8), at: check.path)
            XCTAssertTrue(failure.reason.contains(check.reason), "\(check.path) \"\(check.text)\": \(failure)")
        }
        XCTAssertTrue(try plainTextFailure([0x61, 0xFF], at: "/0/0/0").reason.contains("UTF-8"))
    }

    func testARefusedNumberPointsAtTheFirstBadCharacter() throws {
        XCTAssertEqual(try plainTextFailure(Array("12a4".utf8), at: "/3/0/9").offset, 2)
        XCTAssertEqual(try plainTextFailure(Array("1.5x".utf8), at: "/32769/0/1").offset, 3)
    }

    func testAResourceWithoutDefinitionIsAStringAndMustBeUTF8() throws {
        let path = try LwM2MPath(parsing: "/1024/0/7")
        XCTAssertEqual(try PlainTextFormat.decode(Array("42".utf8), requestPath: path, model: LwM2MModel()).get(),
                       [LwM2MRecord(path: path, value: .string("42"))])
        let failure = try plainTextFailure([0xC3, 0x28], at: "/1024/0/7", model: LwM2MModel())
        XCTAssertTrue(failure.reason.contains("UTF-8"), failure.reason)
    }

    func testPlainTextCarriesOneValueAtTheRequestPathOnly() throws {
        for path in ["/3/0", "/3", "/3/0/6"] {
            XCTAssertTrue(try plainTextFailure(Array("1".utf8), at: path).reason.contains("one single resource or resource instance"), path)
        }
        let lifetime = try LwM2MPath(parsing: "/1/0/1")
        let record = LwM2MRecord(path: lifetime, value: .integer(86400))
        for (records, path, reason) in [
            ([record, record], lifetime, "exactly one value, got 2"),
            ([], lifetime, "exactly one value, got 0"),
            ([record], try LwM2MPath(parsing: "/1/0/2"), "the record is for /1/0/1"),
            ([record], try LwM2MPath(parsing: "/1/0"), "the record is for /1/0/1"),
        ] {
            XCTAssertEqual(encodingFailure(PlainTextFormat.encode(records, requestPath: path)).format, "plain text")
            XCTAssertTrue(encodingFailure(PlainTextFormat.encode(records, requestPath: path)).reason.contains(reason), reason)
        }
        let notANumber = LwM2MRecord(path: try LwM2MPath(parsing: "/32769/0/1"), value: .float(.nan))
        XCTAssertTrue(encodingFailure(PlainTextFormat.encode([notANumber], requestPath: notANumber.path)).reason.contains("no decimal form"))
    }

    func testEveryFiniteFloatEncodesToTextThatReadsBackExactly() throws {
        let path = try LwM2MPath(parsing: "/32769/0/1")
        for value: Double in [.leastNonzeroMagnitude, -.greatestFiniteMagnitude, 1 / 3, 123_456_789.125, -0.0, 6.02214076e23] {
            let record = LwM2MRecord(path: path, value: .float(value))
            let text = try PlainTextFormat.encode([record], requestPath: path).get()
            XCTAssertEqual(try PlainTextFormat.decode(text, requestPath: path, model: Self.model).get(), [record], "\(value)")
        }
    }

    // MARK: Opaque

    func testOpaqueCarriesTheBytesOfAnOpaqueResourceAsTheyAre() throws {
        let key = try LwM2MPath(parsing: "/0/0/3")
        let bytes: [UInt8] = [0x00, 0xFF, 0x80, 0x0A]
        let record = LwM2MRecord(path: key, value: .opaque(bytes))
        XCTAssertEqual(try OpaqueFormat.decode(bytes, requestPath: key, model: Self.model).get(), [record])
        XCTAssertEqual(try OpaqueFormat.encode([record], requestPath: key).get(), bytes)
        XCTAssertEqual(try OpaqueFormat.decode([], requestPath: key, model: Self.model).get(), [LwM2MRecord(path: key, value: .opaque([]))])
        let unknown = try LwM2MPath(parsing: "/1024/0/1/2")
        XCTAssertEqual(try OpaqueFormat.decode(bytes, requestPath: unknown, model: Self.model).get(), [LwM2MRecord(path: unknown, value: .opaque(bytes))])
    }

    func testOpaqueIsRefusedForResourcesOfOtherTypesAndForMoreThanOneValue() throws {
        for (path, reason) in [
            ("/0/0/0", "/0/0/0 is string"), ("/3/0/9", "/3/0/9 is integer"), ("/3/0/4", "/3/0/4 is executable"),
            ("/0/0/16/0", "/0/0/16/0 is unsigned_integer"), ("/0/0/16", "not /0/0/16"), ("/3/0", "not /3/0"), ("/3", "not /3"),
        ] {
            switch OpaqueFormat.decode([0x01], requestPath: try LwM2MPath(parsing: path), model: Self.model) {
            case .success(let records):
                XCTFail("\(path) decoded to \(records)")
            case .failure(let failure):
                XCTAssertEqual(failure.format, "opaque", path)
                XCTAssertTrue(failure.reason.contains(reason), "\(path): \(failure)")
            }
        }
        let key = try LwM2MPath(parsing: "/0/0/3")
        let record = LwM2MRecord(path: key, value: .opaque([1]))
        XCTAssertTrue(encodingFailure(OpaqueFormat.encode([record, record], requestPath: key)).reason.contains("exactly one value"))
        XCTAssertTrue(encodingFailure(OpaqueFormat.encode([record], requestPath: try LwM2MPath(parsing: "/0/0/4"))).reason.contains("request path"))
        let text = LwM2MRecord(path: key, value: .string("abc"))
        XCTAssertTrue(encodingFailure(OpaqueFormat.encode([text], requestPath: key)).reason.contains("is string"))
    }

    // MARK: Helpers

    private static func resource(_ id: UInt16, _ name: String, _ type: LwM2MResourceType, multiple: Bool = false) -> LwM2MResourceDefinition {
        LwM2MResourceDefinition(
            id: id, name: name, operations: type == .none ? .execute : [.read, .write], isMultipleInstance: multiple,
            isMandatory: false, type: type)
    }

    private func plainTextFailure(_ payload: [UInt8], at path: String, model: LwM2MModel = PlainTextAndOpaqueFormatTests.model) throws -> LwM2MDecodingError {
        switch PlainTextFormat.decode(payload, requestPath: try LwM2MPath(parsing: path), model: model) {
        case .success(let records):
            XCTFail("\(payload) at \(path) decoded to \(records)")
            return LwM2MDecodingError(format: "", reason: "", offset: nil)
        case .failure(let failure):
            XCTAssertEqual(failure.format, "plain text")
            return failure
        }
    }

    private func encodingFailure(_ result: Result<[UInt8], LwM2MEncodingError>) -> LwM2MEncodingError {
        switch result {
        case .success(let bytes):
            XCTFail("encoded to \(bytes)")
            return LwM2MEncodingError(format: "", reason: "")
        case .failure(let failure):
            return failure
        }
    }
}
