import Foundation
@testable import LwM2M
import SharedTestData
import XCTest

/// OMA TLV against ../shared/vectors/lwm2m-tlv.json, plus edge cases the vectors do not reach.
final class TLVFormatTests: XCTestCase {
    override func setUpWithError() throws {
        try SharedVectors.requireVectors()
    }

    /// The README of ../shared/vectors counts 22 TLV vectors; a new one must get a test here.
    static let vectorCount = 22

    static let checkedKinds: Set = ["payload", "header-cases", "value-cases", "resource-cases", "empty-payload-cases"]

    /// Valid payloads whose bytes are not what the encoder writes for the same records: what it writes, and why.
    static let nonCanonicalPayloads: [String: (hex: String, why: String)] = [
        "resource-instances-only": (
            "8606410001410105",
            "a multiple resource is written as a Multiple Resource TLV (as in multiple-resource-wrapped); bare instances are read"
        ),
        "resource-in-instance-wrapper": (
            "c601636c69656e74",
            "a resource is written without the Object Instance TLV that Leshan tolerates on input"
        ),
    ]

    /// The one valid vector this decoder refuses at its request path; `testBareResourcesOfAMultiInstanceObject...` checks it.
    static let refusedValidPayloads: Set = ["instance-without-instance-tlv"]

    /// Error vectors with the words their rejection must contain, so each is refused for its own reason.
    static let errorReasonMarkers: [String: String] = [
        "resource-in-wrong-instance": "Object Instance TLV id 1 does not match request path /3/0/1",
        "duplicate-instance-ids": "two Object Instance TLVs with id 1",
        "duplicate-resource-instance-ids": "two resource instances with id 0",
        "broken-tlv": "truncated",
    ]

    /// The object the wakaama vectors' TLVs are decoded in: their tests give no request path and no model.
    static let wakaamaObjectID: UInt16 = 1024

    // MARK: Coverage

    func testEveryVectorHasAKindThisSuiteChecks() throws {
        let vectors = try TLVVectorFile.load().vectors
        XCTAssertEqual(vectors.count, Self.vectorCount, "a vector was added or removed: check it here")
        XCTAssertEqual(Set(vectors.map(\.id)).count, vectors.count, "vector ids are unique")
        for vector in vectors {
            XCTAssertTrue(Self.checkedKinds.contains(vector.kind), "vector \(vector.id): no test checks kind \"\(vector.kind)\"")
        }
        let payloads = vectors.filter { $0.kind == "payload" }
        XCTAssertEqual(Set(payloads.filter { $0.error == true }.map(\.id)), Set(Self.errorReasonMarkers.keys))
        let valid = Set(payloads.filter { $0.error != true }.map(\.id))
        XCTAssertTrue(Set(Self.nonCanonicalPayloads.keys).isSubset(of: valid))
        XCTAssertTrue(Self.refusedValidPayloads.isSubset(of: valid))
    }

    // MARK: Valid payloads

    func testValidPayloadsDecodeToTheirTLVTreeAsOpaqueWithoutAModel() throws {
        var handled = 0
        for vector in try TLVVectorFile.load().validPayloads() {
            let requestPath = try requestPath(of: vector)
            let expected = try treeRecords(of: vector, requestPath: requestPath)
            XCTAssertFalse(expected.isEmpty, "vector \(vector.id)")
            let decoded = try decode(vector, at: requestPath, model: LwM2MModel())
            XCTAssertEqual(decoded, expected, "vector \(vector.id)")
            handled += 1
        }
        XCTAssertEqual(handled, 13)
    }

    func testValidPayloadsDecodeToTheirExpectedTypedValues() throws {
        var handled = 0
        for vector in try TLVVectorFile.load().validPayloads() {
            guard let expectedValues = vector.expected else { continue }
            let requestPath = try requestPath(of: vector)
            let decoded = try decode(vector, at: requestPath, model: TLVTestModel.model)
            let expected = try expectedRecords(expectedValues, of: vector, requestPath: requestPath)
            XCTAssertEqual(decoded.map(\.path), try treeRecords(of: vector, requestPath: requestPath).map(\.path), "vector \(vector.id)")
            // Every expected value is checked; a vector may leave some decoded values unasserted.
            let decodedByPath = Dictionary(decoded.map { ($0.path, $0.value) }, uniquingKeysWith: { first, _ in first })
            for record in expected {
                XCTAssertEqual(decodedByPath[record.path], record.value, "vector \(vector.id): \(record.path)")
            }
            handled += 1
        }
        XCTAssertEqual(handled, 12, "valid payload vectors with expected values (device-instance-res15 has none)")
    }

    func testValidPayloadsReencodeFromOpaqueTypedAndExpectedRecords() throws {
        var handled = 0
        for vector in try TLVVectorFile.load().validPayloads() {
            let requestPath = try requestPath(of: vector)
            let canonicalHex = try Self.nonCanonicalPayloads[vector.id]?.hex ?? XCTUnwrap(vector.hex)
            let opaque = try decode(vector, at: requestPath, model: LwM2MModel())
            XCTAssertEqual(try encode(opaque, at: requestPath), canonicalHex, "vector \(vector.id): opaque records")
            let typed = try decode(vector, at: requestPath, model: TLVTestModel.model)
            XCTAssertEqual(try encode(typed, at: requestPath), canonicalHex, "vector \(vector.id): typed records")
            if let expectedValues = vector.expected {
                let expected = try expectedRecords(expectedValues, of: vector, requestPath: requestPath)
                XCTAssertEqual(try encode(expected, at: requestPath), canonicalHex, "vector \(vector.id): expected values")
            }
            handled += 1
        }
        XCTAssertEqual(handled, 13)
    }

    func testBareResourcesOfAMultiInstanceObjectAreRefusedAndReadAtTheInstanceTheCallerPicks() throws {
        let vector = try XCTUnwrap(TLVVectorFile.load().vectors.first { $0.id == "instance-without-instance-tlv" })
        let payload = try bytes(fromHex: XCTUnwrap(vector.hex), in: vector.id)
        // Leshan gives the instance an UNDEFINED id ("/2/?/1"), which no LwM2MPath can hold.
        let refusal = try decodeFailure(payload, at: "/2", model: TLVTestModel.model)
        XCTAssertTrue(refusal.reason.contains("where an Object Instance TLV is required"), refusal.reason)
        XCTAssertEqual(refusal.offset, 0)
        // The case it comes from is a Create on /2 without an instance id: the client picks one and reads there.
        let created = try TLVFormat.decode(payload, requestPath: LwM2MPath(parsing: "/2/5"), model: TLVTestModel.model).get()
        let expected = try XCTUnwrap(vector.expected).map { value in
            LwM2MRecord(
                path: try LwM2MPath(parsing: value.path.replacingOccurrences(of: "?", with: "5")),
                value: try value.lwm2mValue(in: vector.id))
        }
        XCTAssertEqual(created, expected)
    }

    func testBareResourcesOfASingleInstanceObjectAreInstanceZero() throws {
        let payload = try XCTUnwrap([UInt8](hex: "c10964c10a0f"))
        let records = try TLVFormat.decode(payload, requestPath: LwM2MPath(parsing: "/3"), model: TLVTestModel.model).get()
        XCTAssertEqual(records, [
            LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/9"), value: .integer(100)),
            LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/10"), value: .integer(15)),
        ])
        // Without a definition the object may have several instances: no guess.
        XCTAssertNotNil(try decodeFailure(payload, at: "/3", model: LwM2MModel()))
    }

    // MARK: Error payloads

    func testErrorPayloadsAreRejectedForTheirOwnReason() throws {
        var handled = 0
        for vector in try TLVVectorFile.load().vectors where vector.kind == "payload" && vector.error == true {
            let payload = try bytes(fromHex: XCTUnwrap(vector.hex), in: vector.id)
            let marker = try XCTUnwrap(Self.errorReasonMarkers[vector.id], "vector \(vector.id) has no reason marker")
            // A vector without a request path must fail at every level.
            let paths = vector.requestPath.map { [$0] } ?? Self.everyLevel(of: Self.wakaamaObjectID)
            for path in paths {
                let failure = try decodeFailure(payload, at: path, model: TLVTestModel.model)
                XCTAssertTrue(failure.reason.contains(marker), "vector \(vector.id) at \(path): \(failure)")
                XCTAssertNotNil(failure.offset, "vector \(vector.id) at \(path): \(failure)")
            }
            handled += 1
        }
        XCTAssertEqual(handled, Self.errorReasonMarkers.count)
    }

    // MARK: Grouped cases

    func testHeaderCasesReadTheirTypeIdAndLengths() throws {
        let vector = try TLVVectorFile.load().group("header-cases")
        let cases = try XCTUnwrap(vector.cases)
        var handled = 0
        for (index, headerCase) in cases.enumerated() {
            let label = "\(vector.id) case \(index)"
            let payload = try headerCase.payload(in: label)
            if headerCase.error == true {
                XCTAssertThrowsError(try TLVElement.read(payload, at: 0, end: payload.count), label) { error in
                    XCTAssertTrue("\(error)".contains("truncated"), "\(label): \(error)")
                }
                for path in Self.everyLevel(of: Self.wakaamaObjectID) {
                    XCTAssertNotNil(try decodeFailure(payload, at: path, model: LwM2MModel()), label)
                }
            } else {
                let element = try TLVElement.read(payload, at: 0, end: payload.count)
                XCTAssertEqual(element.kind, try TLVKind(vectorName: XCTUnwrap(headerCase.type)), label)
                XCTAssertEqual(element.id, headerCase.id, label)
                XCTAssertEqual(element.headerLength, headerCase.headerLength, label)
                XCTAssertEqual(element.value.count, headerCase.valueLength, label)
                XCTAssertEqual(element.value.upperBound, headerCase.totalLength, label)
            }
            handled += 1
        }
        XCTAssertEqual(handled, 6)
        // The first case is a whole Resource TLV: the public decoder reads it too.
        let resource = try TLVFormat.decode(
            XCTUnwrap([UInt8](hex: "c337010203")), requestPath: LwM2MPath(parsing: "/1024/0"), model: LwM2MModel()
        ).get()
        XCTAssertEqual(resource, [LwM2MRecord(path: try LwM2MPath(parsing: "/1024/0/55"), value: .opaque([1, 2, 3]))])
    }

    func testValueCasesDecodeByTypeAndEncodeInTheFewestBytes() throws {
        let vector = try TLVVectorFile.load().group("value-cases")
        let cases = try XCTUnwrap(vector.cases)
        var handled = 0
        for (index, valueCase) in cases.enumerated() {
            let label = "\(vector.id) case \(index) (\(valueCase.sourceTest ?? ""))"
            let type = try XCTUnwrap(valueCase.type)
            let value = try XCTUnwrap(valueCase.value).lwm2mValue(type: type, in: label)
            let valueBytes = try bytes(fromHex: XCTUnwrap(valueCase.valueHex), in: label)
            XCTAssertEqual(TLVEncoder.valueBytes(value).hexString, valueBytes.hexString, label)
            // Round trip through a whole Resource TLV 1 of an object typed as the case says.
            let model = try TLVTestModel.singleResource(id: 1, type: type)
            let path = try LwM2MPath(parsing: "/\(TLVTestModel.scratchObjectID)/0/1")
            let tlv = (valueBytes.count < 8 ? [0xC0 | UInt8(valueBytes.count), 0x01] : [0xC8, 0x01, UInt8(valueBytes.count)]) + valueBytes
            XCTAssertEqual(try TLVFormat.decode(tlv, requestPath: path, model: model).get(), [LwM2MRecord(path: path, value: value)], label)
            XCTAssertEqual(try encode([LwM2MRecord(path: path, value: value)], at: path), tlv.hexString, label)
            handled += 1
        }
        XCTAssertEqual(handled, 26)
    }

    func testZephyrResourceCasesDecodeAndReencodeByteExact() throws {
        let vector = try TLVVectorFile.load().group("resource-cases")
        let cases = try XCTUnwrap(vector.cases)
        var handled = 0
        for (index, resourceCase) in cases.enumerated() {
            let label = "\(vector.id) case \(index)"
            let type = try XCTUnwrap(resourceCase.type)
            let id = try XCTUnwrap(resourceCase.id)
            let value = try XCTUnwrap(resourceCase.value).lwm2mValue(type: type, in: label)
            let payload = try bytes(fromHex: XCTUnwrap(resourceCase.hex), in: label)
            let path = try LwM2MPath(parsing: "/\(TLVTestModel.scratchObjectID)/0/\(id)")
            let model = try TLVTestModel.singleResource(id: id, type: type)
            XCTAssertEqual(try TLVFormat.decode(payload, requestPath: path, model: model).get(), [LwM2MRecord(path: path, value: value)], label)
            XCTAssertEqual(try encode([LwM2MRecord(path: path, value: value)], at: path), payload.hexString, label)
            handled += 1
        }
        XCTAssertEqual(handled, 23)
    }

    func testEmptyPayloadCasesFollowTheResourceDefinition() throws {
        let vector = try TLVVectorFile.load().group("empty-payload-cases")
        XCTAssertEqual(vector.hex, "")
        var handled = 0
        for emptyCase in try XCTUnwrap(vector.cases) {
            let path = try XCTUnwrap(emptyCase.requestPath)
            let label = "\(vector.id) at \(path): \(emptyCase.result ?? "")"
            if emptyCase.error == true {
                let failure = try decodeFailure([], at: path, model: TLVTestModel.model)
                XCTAssertTrue(failure.reason.contains("needs a value"), "\(label): \(failure)")
            } else {
                XCTAssertEqual(try TLVFormat.decode([], requestPath: LwM2MPath(parsing: path), model: TLVTestModel.model).get(), [], label)
                XCTAssertEqual(try encode([], at: LwM2MPath(parsing: path)), "", label)
            }
            handled += 1
        }
        XCTAssertEqual(handled, 4)
    }

    // MARK: Edge cases

    func testLengthsUse3BitThen8Then16Then24BitFields() throws {
        let path = try LwM2MPath(parsing: "/1024/0/1")
        for (length, header) in [(7, "c701"), (8, "c80108"), (255, "c801ff"), (256, "d0010100"), (65535, "d001ffff"), (65536, "d801010000"), (70000, "d801011170")] {
            let value = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
            let encoded = try TLVFormat.encode([LwM2MRecord(path: path, value: .opaque(value))], requestPath: path).get()
            XCTAssertEqual(encoded.prefix(header.count / 2).hexString, header, "length \(length)")
            XCTAssertEqual(encoded.count, header.count / 2 + length, "length \(length)")
            XCTAssertEqual(try TLVFormat.decode(encoded, requestPath: path, model: LwM2MModel()).get(), [LwM2MRecord(path: path, value: .opaque(value))])
        }
        // A length field longer than needed is still read.
        XCTAssertEqual(
            try TLVFormat.decode(XCTUnwrap([UInt8](hex: "d80100000201ff")), requestPath: path, model: LwM2MModel()).get(),
            [LwM2MRecord(path: path, value: .opaque([0x01, 0xFF]))])
    }

    func testSixteenBitIdentifiersAtEveryLevel() throws {
        let object = try LwM2MPath(parsing: "/1024")
        let records = [
            LwM2MRecord(path: try LwM2MPath(parsing: "/1024/515/43707"), value: .opaque([0xAB])),
            LwM2MRecord(path: try LwM2MPath(parsing: "/1024/515/300/310"), value: .opaque([0x01])),
            LwM2MRecord(path: try LwM2MPath(parsing: "/1024/255/255/255"), value: .opaque([])),
        ]
        // Bit 5 of the type byte marks a 16-bit id; ids up to 255 keep the 8-bit form.
        let encoded = try encode(records, at: object)
        XCTAssertEqual(encoded, "2802030b" + "e1aabbab" + "a4012c" + "61013601" + "04ff" + "82ff" + "40ff")
        XCTAssertEqual(try TLVFormat.decode(XCTUnwrap([UInt8](hex: encoded)), requestPath: object, model: LwM2MModel()).get(), records)
    }

    func testNestedMultipleResourcesAreGroupedPerInstanceInOrderOfFirstAppearance() throws {
        let object = try LwM2MPath(parsing: "/2")
        let records: [LwM2MRecord] = try [
            ("/2/0/2/1", LwM2MValue.integer(7)), ("/2/1/0", .integer(3)), ("/2/0/0", .integer(1)), ("/2/0/2/2", .integer(-1)),
            ("/2/1/2/0", .integer(15)),
        ].map { LwM2MRecord(path: try LwM2MPath(parsing: $0.0), value: $0.1) }
        let encoded = try encode(records, at: object)
        // Instance 0: multiple resource 2 {1: 07, 2: ff}, then resource 0; instance 1: resource 0, multiple resource 2 {0: 0f}.
        XCTAssertEqual(encoded, "08000b" + "8602" + "410107" + "4102ff" + "c10001" + "080108" + "c10003" + "8302" + "41000f")
        let decoded = try TLVFormat.decode(XCTUnwrap([UInt8](hex: encoded)), requestPath: object, model: TLVTestModel.model).get()
        XCTAssertEqual(decoded.map(\.path.description), ["/2/0/2/1", "/2/0/2/2", "/2/0/0", "/2/1/0", "/2/1/2/0"])
    }

    func testFloatsReadFrom4Or8BytesAndAreWrittenAs8() throws {
        let path = try LwM2MPath(parsing: "/\(TLVTestModel.scratchObjectID)/0/1")
        let model = try TLVTestModel.singleResource(id: 1, type: "float")
        for (hex, value) in [("c4013fc00000", 1.5), ("c80108bff8000000000000", -1.5), ("c4017f800000", Double.infinity)] {
            XCTAssertEqual(try TLVFormat.decode(XCTUnwrap([UInt8](hex: hex)), requestPath: path, model: model).get(), [LwM2MRecord(path: path, value: .float(value))], hex)
        }
        // 1.5 fits a binary32 exactly, but 8 bytes are written, as Leshan and Zephyr do.
        XCTAssertEqual(try encode([LwM2MRecord(path: path, value: .float(1.5))], at: path), "c801083ff8000000000000")
        XCTAssertEqual(try encode([LwM2MRecord(path: path, value: .float(0.1))], at: path), "c801083fb999999999999a")
        for hex in ["c301000000", "c2010000", "c001"] {
            let failure = try decodeFailure(XCTUnwrap([UInt8](hex: hex)), at: path.description, model: model)
            XCTAssertTrue(failure.reason.contains("float needs 4 or 8 bytes"), "\(hex): \(failure)")
            XCTAssertEqual(failure.offset, 2, hex)
        }
    }

    func testWrongValueLengthsAndBadTextAreRefusedWithTheValueOffset() throws {
        let cases: [(type: String, hex: String, reason: String)] = [
            ("integer", "c301000000", "integer needs 1, 2, 4 or 8 bytes, got 3"),
            ("integer", "c001", "integer needs 1, 2, 4 or 8 bytes, got 0"),
            ("time", "c50100000000ff", "time needs 1, 2, 4 or 8 bytes, got 5"),
            ("unsigned_integer", "c3010000ff", "unsigned integer needs 1, 2, 4 or 8 bytes, got 3"),
            ("boolean", "c2010000", "boolean needs 1 byte, got 2"),
            ("boolean", "c10102", "boolean byte is 2"),
            ("objlnk", "c301000000", "objlnk needs 4 bytes, got 3"),
            ("string", "c201c328", "not valid UTF-8"),
            ("corelnk", "c101ff", "not valid UTF-8"),
        ]
        for check in cases {
            let model = try TLVTestModel.singleResource(id: 1, type: check.type)
            let failure = try decodeFailure(XCTUnwrap([UInt8](hex: check.hex)), at: "/\(TLVTestModel.scratchObjectID)/0/1", model: model)
            XCTAssertEqual(failure.format, "TLV")
            XCTAssertTrue(failure.reason.contains(check.reason), "\(check.hex): \(failure)")
            XCTAssertEqual(failure.offset, 2, "\(check.hex): the value starts after type and id")
        }
        let executable = try decodeFailure(XCTUnwrap([UInt8](hex: "c004")), at: "/3/0/4", model: TLVTestModel.model)
        XCTAssertTrue(executable.reason.contains("executable"), executable.reason)
    }

    func testIdsThatDisagreeWithTheRequestPathAreRefused() throws {
        let cases: [(path: String, hex: String, reason: String)] = [
            ("/3/0/9", "c10a0f", "Resource TLV id 10 does not match request path /3/0/9"),
            ("/3/0/6", "8607410001410105", "Multiple Resource TLV id 7 does not match request path /3/0/6"),
            ("/3/0/6/1", "410001", "Resource Instance TLV id 0 does not match request path /3/0/6/1"),
            ("/3/0", "080103c10964", "Object Instance TLV id 1 does not match request path /3/0"),
            ("/3/0/6/1", "410101410201", "takes one TLV, the payload has 2"),
            ("/3/0/6/1", "c10101", "Resource TLV 1 where a Resource Instance TLV is required"),
            ("/3", "080003c10964c10a0f", "Resource TLV 10 where an Object Instance TLV is required"),
            ("/3/0", "c10964c109ff", "two resources with id 9"),
            ("/3/0", "c10964410101", "Resource Instance TLV 1 where a Resource or Multiple Resource TLV is required"),
            ("/3/0/6", "c10601410101", "Resource TLV 6 where a Resource Instance TLV is required"),
            ("/3/0", "8306c10101", "Resource TLV 1 where a Resource Instance TLV is required"),
            ("/3/0", "e1ffff01", "id 65535 is reserved"),
        ]
        for check in cases {
            let payload = try XCTUnwrap([UInt8](hex: check.hex), check.hex)
            let failure = try decodeFailure(payload, at: check.path, model: TLVTestModel.model)
            XCTAssertTrue(failure.reason.contains(check.reason), "\(check.path) \(check.hex): \(failure)")
            XCTAssertNotNil(failure.offset)
        }
        XCTAssertNotNil(try decodeFailure([0xC1, 0x09, 0x64], at: "/", model: TLVTestModel.model))
    }

    func testEveryTruncationOfAnObjectIsRefusedNeverTrapped() throws {
        let vector = try XCTUnwrap(TLVVectorFile.load().vectors.first { $0.id == "acl-two-instances" })
        let payload = try bytes(fromHex: XCTUnwrap(vector.hex), in: vector.id)
        // Both instances are ACL instances: a cut at the boundary between them is a valid shorter payload.
        let boundary = 17
        for length in 1..<payload.count where length != boundary {
            let failure = try decodeFailure(Array(payload.prefix(length)), at: "/2", model: TLVTestModel.model)
            XCTAssertTrue(failure.reason.contains("truncated"), "prefix \(length): \(failure)")
            XCTAssertNotNil(failure.offset)
        }
        XCTAssertEqual(try TLVFormat.decode(Array(payload.prefix(boundary)), requestPath: LwM2MPath(parsing: "/2"), model: TLVTestModel.model).get().count, 4)
    }

    func testRandomBytesGiveRecordsOrTLVErrorsAtEveryLevel() throws {
        var state: UInt64 = 0x5EED_7157
        func next() -> UInt64 {
            // SplitMix64: deterministic, so a failing input can be replayed.
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
        let paths = try ["/3", "/3/0", "/3/0/6", "/3/0/6/0", "/2", "/1024/0"].map { try LwM2MPath(parsing: $0) }
        for _ in 0..<5000 {
            let payload = (0..<Int(next() % 24)).map { _ in UInt8(truncatingIfNeeded: next()) }
            for path in paths {
                switch TLVFormat.decode(payload, requestPath: path, model: TLVTestModel.model) {
                case .success(let records):
                    XCTAssertTrue(records.allSatisfy { path.contains($0.path) }, "\(payload.hexString) at \(path)")
                case .failure(let failure):
                    XCTAssertEqual(failure.format, "TLV")
                    if let offset = failure.offset { XCTAssertTrue((0...payload.count).contains(offset), "\(failure)") }
                }
            }
        }
    }

    func testIntegersUseTheFewestBytesSignedAndUnsigned() {
        let cases: [(LwM2MValue, String)] = [
            (.integer(0), "00"), (.integer(-1), "ff"), (.integer(128), "0080"), (.integer(Int64.min), "8000000000000000"),
            (.integer(Int64.max), "7fffffffffffffff"), (.unsignedInteger(255), "ff"), (.unsignedInteger(256), "0100"),
            (.unsignedInteger(65536), "00010000"), (.unsignedInteger(UInt64.max), "ffffffffffffffff"), (.time(-1), "ff"),
            (.boolean(false), "00"), (.objectLink(LwM2MObjectLink(objectID: 65, instanceID: 0)), "00410000"),
            (.string(""), ""), (.coreLink("</3>"), "3c2f333e"),
        ]
        for (value, hex) in cases {
            XCTAssertEqual(TLVEncoder.valueBytes(value).hexString, hex, "\(value)")
        }
    }

    func testEncodingRefusesRecordsTheRequestPathCannotCarry() throws {
        func reason(_ records: [(String, LwM2MValue)], at path: String) throws -> String {
            let built = try records.map { LwM2MRecord(path: try LwM2MPath(parsing: $0.0), value: $0.1) }
            switch TLVFormat.encode(built, requestPath: try LwM2MPath(parsing: path)) {
            case .success(let bytes):
                XCTFail("\(records) at \(path) encoded to \(bytes.hexString)")
                return ""
            case .failure(let error):
                XCTAssertEqual(error.format, "TLV")
                return error.reason
            }
        }
        XCTAssertTrue(try reason([("/3/0/9", .integer(1))], at: "/3/1").contains("outside the request path /3/1"))
        XCTAssertTrue(try reason([("/3/0/9", .integer(1))], at: "/3/0/10").contains("outside"))
        XCTAssertTrue(try reason([("/3/0", .integer(1))], at: "/3").contains("not a resource or resource instance"))
        XCTAssertTrue(try reason([("/3/0/9", .integer(1))], at: "/").contains("at least an object"))
        XCTAssertTrue(try reason([("/3/0/6/0", .integer(1)), ("/3/0/6", .integer(1))], at: "/3/0").contains("also has instances"))
        XCTAssertTrue(try reason([("/3/0/6", .integer(1)), ("/3/0/6/0", .integer(1))], at: "/3/0").contains("also has a single value"))
        XCTAssertTrue(try reason([("/3/0/9", .integer(1)), ("/3/0/9", .integer(2))], at: "/3/0").contains("two records for /3/0/9"))
        XCTAssertTrue(try reason([], at: "/3/0/6/0").contains("needs a record"))
        XCTAssertTrue(
            try reason([("/1024/0/1", .opaque([UInt8](repeating: 0, count: TLVEncoder.maximumValueLength + 1)))], at: "/1024/0/1")
                .contains("24-bit"))
    }

    func testResourceAndResourceInstanceRequestsEncodeTheirOwnLevel() throws {
        let single = [LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/9"), value: .integer(100))]
        XCTAssertEqual(try encode(single, at: LwM2MPath(parsing: "/3/0/9")), "c10964")
        XCTAssertEqual(try encode(single, at: LwM2MPath(parsing: "/3/0")), "c10964")
        XCTAssertEqual(try encode(single, at: LwM2MPath(parsing: "/3")), "0300c10964")
        let instance = [LwM2MRecord(path: try LwM2MPath(parsing: "/3/0/6/1"), value: .integer(5))]
        XCTAssertEqual(try encode(instance, at: LwM2MPath(parsing: "/3/0/6/1")), "410105")
        XCTAssertEqual(try encode(instance, at: LwM2MPath(parsing: "/3/0/6")), "8306410105")
    }

    // MARK: Helpers

    static func everyLevel(of objectID: UInt16) -> [String] {
        ["/\(objectID)", "/\(objectID)/0", "/\(objectID)/0/0", "/\(objectID)/0/0/0"]
    }

    /// The vector's request path; the wakaama vectors have none, so their top-level TLV kind picks one.
    private func requestPath(of vector: TLVVector) throws -> LwM2MPath {
        if let text = vector.requestPath { return try LwM2MPath(parsing: text) }
        let object = Self.wakaamaObjectID
        switch try XCTUnwrap(vector.tlv?.first?.type, "vector \(vector.id)") {
        case "object_instance": return LwM2MPath(objectID: object)
        case "resource", "multiple_resource": return LwM2MPath(objectID: object, instanceID: 0)
        default: throw VectorFileError("vector \(vector.id): no request path for its top-level TLV")
        }
    }

    /// The records the `tlv` tree describes, values opaque, at paths below the request path.
    private func treeRecords(of vector: TLVVector, requestPath: LwM2MPath) throws -> [LwM2MRecord] {
        let nodes = try XCTUnwrap(vector.tlv, "vector \(vector.id) has no tlv tree")
        // The level above the top-level TLVs: an Object Instance TLV lies in the object, and so on.
        let containerLevel: Int = switch nodes.first?.type {
        case "object_instance": 1
        case "resource", "multiple_resource": 2
        default: 3
        }
        let container = try XCTUnwrap(LwM2MPath(Array(requestPath.components.prefix(containerLevel))))
        var records: [LwM2MRecord] = []
        func walk(_ nodes: [TLVVectorNode], in parent: LwM2MPath) throws {
            for node in nodes {
                let path = try XCTUnwrap(parent.appending(node.id), "vector \(vector.id): id \(node.id) below \(parent)")
                if let children = node.children {
                    try walk(children, in: path)
                } else {
                    records.append(LwM2MRecord(path: path, value: .opaque(try bytes(fromHex: XCTUnwrap(node.valueHex), in: vector.id))))
                }
            }
        }
        try walk(nodes, in: container)
        return records
    }

    /// The typed values a vector asserts; wakaama's paths are relative to the request path it did not have.
    private func expectedRecords(_ values: [TLVVectorTypedValue], of vector: TLVVector, requestPath: LwM2MPath) throws -> [LwM2MRecord] {
        try values.map { value in
            var path = try LwM2MPath(parsing: value.path)
            if vector.requestPath == nil {
                path = try XCTUnwrap(LwM2MPath(requestPath.components + path.components), "vector \(vector.id): \(value.path)")
            }
            return LwM2MRecord(path: path, value: try value.lwm2mValue(in: vector.id))
        }
    }

    private func decode(_ vector: TLVVector, at requestPath: LwM2MPath, model: LwM2MModel) throws -> [LwM2MRecord] {
        let payload = try bytes(fromHex: XCTUnwrap(vector.hex), in: vector.id)
        switch TLVFormat.decode(payload, requestPath: requestPath, model: model) {
        case .success(let records): return records
        case .failure(let error): throw VectorFileError("vector \(vector.id) at \(requestPath): \(error)")
        }
    }

    private func decodeFailure(_ payload: [UInt8], at path: String, model: LwM2MModel) throws -> LwM2MDecodingError {
        switch TLVFormat.decode(payload, requestPath: try LwM2MPath(parsing: path), model: model) {
        case .success(let records):
            throw VectorFileError("\(payload.hexString) at \(path) decoded to \(records), expected an error")
        case .failure(let error):
            XCTAssertEqual(error.format, "TLV")
            return error
        }
    }

    private func encode(_ records: [LwM2MRecord], at requestPath: LwM2MPath) throws -> String {
        try TLVFormat.encode(records, requestPath: requestPath).get().hexString
    }
}

// MARK: - Model

/// Definitions the vectors' sources type their values with, transcribed from the DDFs (no loader needed).
enum TLVTestModel {
    /// An object no test defines globally, given one resource per test.
    static let scratchObjectID: UInt16 = 32769

    static let model = LwM2MModel([
        LwM2MObjectDefinition(id: 1, name: "LwM2M Server", isMultipleInstance: true, isMandatory: true, resources: [
            resource(0, "Short Server ID", .integer), resource(1, "Lifetime", .integer),
            resource(6, "Notification Storing When Disabled or Offline", .boolean), resource(7, "Binding", .string),
        ]),
        LwM2MObjectDefinition(id: 2, name: "LwM2M Access Control", isMultipleInstance: true, isMandatory: false, resources: [
            resource(0, "Object ID", .integer), resource(1, "Object Instance ID", .integer),
            resource(2, "ACL", .integer, multiple: true), resource(3, "Access Control Owner", .integer),
        ]),
        LwM2MObjectDefinition(id: 3, name: "Device", isMultipleInstance: false, isMandatory: true, resources: [
            resource(0, "Manufacturer", .string), resource(1, "Model Number", .string), resource(2, "Serial Number", .string),
            resource(3, "Firmware Version", .string), resource(4, "Reboot", .none),
            resource(6, "Available Power Sources", .integer, multiple: true),
            resource(7, "Power Source Voltage", .integer, multiple: true),
            resource(8, "Power Source Current", .integer, multiple: true), resource(9, "Battery Level", .integer),
            resource(10, "Memory Free", .integer), resource(11, "Error Code", .integer, multiple: true),
            resource(13, "Current Time", .time), resource(14, "UTC Offset", .string), resource(15, "Timezone", .string),
            resource(16, "Supported Binding and Modes", .string), resource(22, "ExtDevInfo", .objectLink, multiple: true),
        ]),
        // Leshan's test model for the TS Object-Link example (objects 65 and 66).
        LwM2MObjectDefinition(id: 66, name: "Leshan test object 66", isMultipleInstance: true, isMandatory: false, resources: [
            resource(0, "Name", .string), resource(1, "Address", .string), resource(2, "Link", .objectLink),
        ]),
    ])

    /// A model whose scratch object has one resource `id` of the type a vector names.
    static func singleResource(id: UInt16, type: String) throws -> LwM2MModel {
        let resourceType = try XCTUnwrap(LwM2MResourceType(rawValue: type), "vector type \(type)")
        return LwM2MModel([LwM2MObjectDefinition(
            id: scratchObjectID, name: "Scratch", isMultipleInstance: true, isMandatory: false,
            resources: [resource(id, "Scratch", resourceType)])])
    }

    private static func resource(_ id: UInt16, _ name: String, _ type: LwM2MResourceType, multiple: Bool = false) -> LwM2MResourceDefinition {
        LwM2MResourceDefinition(
            id: id, name: name, operations: type == .none ? .execute : [.read, .write], isMultipleInstance: multiple,
            isMandatory: false, type: type)
    }
}

// MARK: - Vector file schema

/// ../shared/vectors/lwm2m-tlv.json
struct TLVVectorFile: Decodable {
    var description: String
    var vectors: [TLVVector]

    static func load() throws -> TLVVectorFile {
        try SharedVectors.load("lwm2m-tlv.json", as: TLVVectorFile.self)
    }

    func validPayloads() -> [TLVVector] {
        vectors.filter { $0.kind == "payload" && $0.error != true && !TLVFormatTests.refusedValidPayloads.contains($0.id) }
    }

    func group(_ kind: String) throws -> TLVVector {
        let groups = vectors.filter { $0.kind == kind }
        XCTAssertEqual(groups.count, 1, "one \(kind) vector")
        return try XCTUnwrap(groups.first, "no \(kind) vector")
    }
}

struct TLVVector: Decodable {
    var id: String
    var kind: String
    var source: String
    var notes: String?
    var hex: String?
    var error: Bool?
    var requestPath: String?
    var tlv: [TLVVectorNode]?
    var expected: [TLVVectorTypedValue]?
    var errorReason: String?
    var errorLayer: String?
    var hexDerived: Bool?
    var cases: [TLVVectorCase]?
}

struct TLVVectorNode: Decodable {
    var type: String
    var id: UInt16
    var valueHex: String?
    var children: [TLVVectorNode]?
}

struct TLVVectorTypedValue: Decodable {
    var path: String
    var type: String
    var value: TLVVectorScalar

    func lwm2mValue(in vectorID: String) throws -> LwM2MValue {
        try value.lwm2mValue(type: type, in: "vector \(vectorID) \(path)")
    }
}

/// One case of a grouped vector; which fields are set depends on the group.
struct TLVVectorCase: Decodable {
    var hex: String?
    var hexPrefix: String?
    var thenZeroBytes: Int?
    var type: String?
    var id: UInt16?
    var headerLength: Int?
    var valueLength: Int?
    var totalLength: Int?
    var error: Bool?
    var reason: String?
    var value: TLVVectorScalar?
    var valueHex: String?
    var sourceTest: String?
    var requestPath: String?
    var result: String?

    func payload(in label: String) throws -> [UInt8] {
        if let hex { return try bytes(fromHex: hex, in: label) }
        return try bytes(fromHex: XCTUnwrap(hexPrefix, label), in: label) + [UInt8](repeating: 0, count: XCTUnwrap(thenZeroBytes, label))
    }
}

/// A JSON scalar read every way it can be; the vector's `type` says which reading counts.
struct TLVVectorScalar: Decodable {
    var bool: Bool?
    var signed: Int64?
    var unsigned: UInt64?
    var double: Double?
    var string: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        bool = try? container.decode(Bool.self)
        signed = try? container.decode(Int64.self)
        unsigned = try? container.decode(UInt64.self)
        double = try? container.decode(Double.self)
        string = try? container.decode(String.self)
    }

    func lwm2mValue(type: String, in label: String) throws -> LwM2MValue {
        switch LwM2MResourceType(rawValue: type) {
        case .integer: .integer(try XCTUnwrap(signed, label))
        case .unsignedInteger: .unsignedInteger(try XCTUnwrap(unsigned, label))
        case .float: .float(try XCTUnwrap(double, label))
        case .boolean: .boolean(try XCTUnwrap(bool, label))
        case .string: .string(try XCTUnwrap(string, label))
        case .coreLink: .coreLink(try XCTUnwrap(string, label))
        case .opaque: .opaque(try bytes(fromHex: XCTUnwrap(string, label), in: label))
        case .time: .time(try XCTUnwrap(signed, label))
        case .objectLink: .objectLink(try XCTUnwrap(LwM2MObjectLink(XCTUnwrap(string, label)), label))
        case LwM2MResourceType.none?, nil: throw VectorFileError("\(label): no value type \"\(type)\"")
        }
    }
}

extension TLVKind {
    /// The kind as the vector file names it.
    init(vectorName: String) throws {
        switch vectorName {
        case "object_instance": self = .objectInstance
        case "resource_instance": self = .resourceInstance
        case "multiple_resource": self = .multipleResource
        case "resource": self = .resourceWithValue
        default: throw VectorFileError("no TLV type \"\(vectorName)\"")
        }
    }
}
