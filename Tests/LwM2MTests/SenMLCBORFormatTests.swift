import Foundation
import LwM2M
import SharedTestData
import XCTest

/// SenML CBOR (112) against ../shared/vectors/senml-cbor.json, plus reader robustness, float
/// widths and round trips. Vector helpers live in SenMLJSONFormatTests.swift.
final class SenMLCBORFormatTests: XCTestCase {
    override func setUpWithError() throws {
        try SharedVectors.requireVectors()
    }

    /// What re-encoding the decoded records of each valid vector must give (see SenMLJSONFormatTests).
    static let reencoding: [String: SenMLReencoding] = [
        "device-instance": .payload,
        "opaque-vd": .payload,
        "half-float": .roundTrip("v comes before bn and 300.0 is a half float; untyped, 300 is the integer 300"),
        "bt-decimal-fraction": .roundTrip("Leshan writes bt as tag 4 and one bn per node; no request path"),
        "empty-array": .payload,
        "timestamped-relative-table-7.4.4-3": .roundTrip("input uses t; wakaama's re-encoding drops times and values"),
        "objlnk-vlo-table-7.4.4-4": .payload,
        "single-resource-table-7.4.4-5": .payload,
        "composite-write-table-7.4.4-8": .roundTrip("no request path; full names in n"),
        "bn-without-slash-n-with-slash": .sourceReencoding,
        "bn-bt-not-first-key": .text(
            "84a421662f31322f302f221a0012d687006131021904d2a200613302fb404c64fdf3b645a2"
                + "a20063322f3002fb3fcd70a3d70a3d71a20063322f3102fbc04a0013a92a3055"),
        "bn-plus-n-concat": .sourceReencoding,
        "bn-reset-and-leading-zero": .roundTrip("no request path; wakaama writes full names without bn"),
        "bver-10": .roundTrip("no request path; wakaama writes full names without bn"),
        "unknown-label-ignored": .roundTrip("no request path (wakaama re-encoded under /34/0)"),
        "opaque-vd-5": .payload,
        "opaque-vd-1": .payload,
        "empty-vs": .payload,
        "empty-vd": .payload,
        "encode-depth-4_0": .payload,
        "encode-depth-4_0_1_0": .payload,
    ]

    /// Error vectors whose input is valid CBOR that wakaama refuses as an implementation
    /// restriction (the vectors' notes say "Treat as optional"); this decoder reads indefinite lengths.
    static let acceptedOptionalErrors: Set = ["indefinite-array", "indefinite-map"]

    /// `json_equivalent` ids that senml-json.json does not contain (reported as a doubt about the vectors).
    static let danglingJSONEquivalents: Set = [
        "bn-without-slash-n-with-slash", "bn-bt-not-first-key", "bn-plus-n-concat", "bn-reset-and-leading-zero", "empty-vs",
    ]

    func testEveryVectorIsCheckedByExactlyOneKindOfTest() throws {
        let vectors = try SenMLCBORVectorFile.load().vectors
        let recordVectors = vectors.filter { !$0.error && !$0.isPathList }
        XCTAssertEqual(vectors.count, 29, "senml-cbor.json changed: review the expectations of this suite")
        XCTAssertEqual(recordVectors.count, 21)
        XCTAssertEqual(vectors.filter { !$0.error && $0.isPathList }.count, 1)
        XCTAssertEqual(vectors.filter(\.error).count, 7)
        XCTAssertEqual(Set(recordVectors.map(\.id)), Set(Self.reencoding.keys), "every record vector has a re-encoding expectation")
        XCTAssertEqual(Set(vectors.map(\.id)).count, vectors.count, "vector ids are unique")
    }

    func testRecordVectorsDecodeToTheirRecords() throws {
        var checked = 0
        for vector in try SenMLCBORVectorFile.load().vectors where !vector.error && !vector.isPathList {
            let decoded = try decodeOrFail(vector)
            try SenMLVectorChecks.assert(decoded, equal: vector.records ?? [], vector.id)
            checked += 1
        }
        XCTAssertEqual(checked, 21)
    }

    func testRecordVectorsReencodeToTheirCanonicalForm() throws {
        var checked = 0
        for vector in try SenMLCBORVectorFile.load().vectors where !vector.error && !vector.isPathList {
            let decoded = try decodeOrFail(vector)
            let encoded = try SenMLCBORFormat.encode(decoded, requestPath: vector.requestPath).get()
            switch try XCTUnwrap(Self.reencoding[vector.id], vector.id) {
            case .payload:
                XCTAssertEqual(encoded.hexString, vector.hex, "vector \(vector.id)")
            case .sourceReencoding:
                XCTAssertEqual(encoded.hexString, try XCTUnwrap(vector.sourceReencodingHex, vector.id), "vector \(vector.id)")
            case .text(let expected):
                XCTAssertEqual(encoded.hexString, expected, "vector \(vector.id)")
            case .roundTrip:
                break
            }
            let again = try SenMLCBORFormat.decode(encoded, requestPath: vector.requestPath, model: vector.model).get()
            XCTAssertEqual(again, decoded, "vector \(vector.id): round trip through \(encoded.hexString)")
            checked += 1
        }
        XCTAssertEqual(checked, 21)
    }

    func testTimeFreeReencodingMatchesWakaamaWhichHasNoTimes() throws {
        // wakaama drops bt when it re-encodes bn-bt-not-first-key; without times the bytes agree.
        let vector = try XCTUnwrap(SenMLCBORVectorFile.load().vectors.first { $0.id == "bn-bt-not-first-key" })
        let untimed = try decodeOrFail(vector).map { LwM2MRecord(path: $0.path, value: $0.value) }
        let encoded = try SenMLCBORFormat.encode(untimed, requestPath: vector.requestPath).get()
        XCTAssertEqual(encoded.hexString, vector.sourceReencodingHex)
    }

    func testPathListVectorDecodesAndReencodes() throws {
        var checked = 0
        for vector in try SenMLCBORVectorFile.load().vectors where !vector.error && vector.isPathList {
            let payload = try bytes(fromHex: vector.hex, in: vector.id)
            let expected = try (vector.records ?? []).map { try LwM2MPath(parsing: $0.path) }
            let paths = try SenMLCBORFormat.decodePaths(payload, requestPath: vector.requestPath).get()
            XCTAssertEqual(paths, expected, "vector \(vector.id)")
            XCTAssertEqual(SenMLCBORFormat.encodePaths(paths).hexString, vector.hex, "vector \(vector.id)")
            XCTAssertThrowsError(try SenMLCBORFormat.decode(payload, requestPath: .root, model: LwM2MModel()).get())
            checked += 1
        }
        XCTAssertEqual(checked, 1)
    }

    func testErrorVectorsAreRejectedExceptValidIndefiniteLengths() throws {
        var checked = 0
        for vector in try SenMLCBORVectorFile.load().vectors where vector.error {
            let payload = try bytes(fromHex: vector.hex, in: vector.id)
            let result = SenMLCBORFormat.decode(payload, requestPath: vector.requestPath, model: LwM2MModel())
            if Self.acceptedOptionalErrors.contains(vector.id) {
                XCTAssertEqual(try result.get(), [LwM2MRecord(path: LwM2MPath(objectID: 34, instanceID: 0, resourceID: 2), value: .string(""))],
                               "vector \(vector.id)")
            } else {
                XCTAssertThrowsError(try result.get(), "vector \(vector.id) (\(vector.errorReason ?? ""))")
                XCTAssertThrowsError(try SenMLCBORFormat.decodePaths(payload, requestPath: vector.requestPath).get(), "vector \(vector.id)")
            }
            checked += 1
        }
        XCTAssertEqual(checked, 7)
    }

    func testVectorsDecodeLikeTheirJSONEquivalents() throws {
        let jsonVectors = try SenMLJSONVectorFile.load().vectors
        var dangling: Set<String> = []
        for vector in try SenMLCBORVectorFile.load().vectors {
            guard let equivalent = vector.jsonEquivalent else { continue }
            guard let json = jsonVectors.first(where: { $0.id == equivalent }) else {
                dangling.insert(equivalent)
                continue
            }
            let fromCBOR = SenMLCBORFormat.decode(try bytes(fromHex: vector.hex, in: vector.id), requestPath: vector.requestPath, model: vector.model)
            let fromJSON = SenMLJSONFormat.decode(Array(json.payload.utf8), requestPath: json.requestPath, model: json.model)
            switch (fromCBOR, fromJSON) {
            case (.success(let cbor), .success(let json)): XCTAssertEqual(cbor, json, "vector \(vector.id)")
            case (.failure, .failure): break
            default: XCTFail("vector \(vector.id): CBOR \(fromCBOR), JSON \(fromJSON)")
            }
        }
        XCTAssertEqual(dangling, Self.danglingJSONEquivalents)
    }

    private func decodeOrFail(_ vector: SenMLCBORVector) throws -> [LwM2MRecord] {
        do {
            return try SenMLCBORFormat.decode(bytes(fromHex: vector.hex, in: vector.id), requestPath: vector.requestPath, model: vector.model).get()
        } catch {
            XCTFail("vector \(vector.id): \(error)")
            throw error
        }
    }

    // MARK: Reader

    private func decode(_ hex: String, model: LwM2MModel = LwM2MModel()) -> Result<[LwM2MRecord], LwM2MDecodingError> {
        SenMLCBORFormat.decode([UInt8](hex: hex)!, requestPath: .root, model: model)
    }

    /// `[{0: "/3/0/0", <label>: <value>}]` with the label and value given in hex.
    private func record(_ fieldsHex: String, pairs: Int = 2) -> String {
        "81" + String(format: "%02x", 0xA0 + pairs) + "00662f332f302f30" + fieldsHex
    }

    func testEveryMajorTypeIsSkippedInsideAnUnknownLabel() throws {
        // "x": [0, -1, h'01', "a", [_ 1], {_ 1: 2}, 1(0), 4([-1, 5]), false, null, undefined, simple(32),
        //       1.5 (half), 1.5 (single), 1.5 (double), (_ h'01', h'02'), (_ "a", "b")]
        let unknown = "6178" + "91" + "00" + "20" + "4101" + "6161" + "9f01ff" + "bf0102ff" + "c100" + "c4822005"
            + "f4" + "f6" + "f7" + "f820" + "f93e00" + "fa3fc00000" + "fb3ff8000000000000" + "5f41014102ff" + "7f61616162ff"
        let records = try decode(record(unknown + "036161", pairs: 3)).get()
        XCTAssertEqual(records, [LwM2MRecord(path: LwM2MPath(objectID: 3, instanceID: 0, resourceID: 0), value: .string("a"))])
    }

    func testNumbersInEveryEncodingDecode() throws {
        let cases: [(String, LwM2MValue)] = [
            ("1b00000000000000ff", .integer(255)),  // not the shortest form, still valid
            ("3bffffffffffffffff", .float(-0x1p64)),  // -1 - UInt64.max
            ("3b7fffffffffffffff", .integer(.min)),
            ("1bffffffffffffffff", .unsignedInteger(.max)),
            ("f97bff", .integer(65504)),
            ("f90001", .float(0x1p-24)),
            ("f9c400", .integer(-4)),
            ("fa47c35000", .integer(100_000)),
            ("fb3ff199999999999a", .float(1.1)),
            ("c48221196ab3", .float(273.15)),  // 4([-2, 27315])
            ("c11a5182428f", .integer(1_367_491_215)),  // tag 1 (epoch time) is skipped
        ]
        for (hex, expected) in cases {
            let records = try decode(record("02" + hex)).get()
            let value = try XCTUnwrap(records.first?.value, hex)
            if case .float(let number) = expected, let whole = Int64(exactly: number) {
                XCTAssertEqual(value, .integer(whole), hex)
            } else {
                XCTAssertEqual(value, expected, hex)
            }
        }
    }

    func testMalformedCBORIsAnErrorAtItsByteOffset() {
        let cases: [(String, Int)] = [
            ("a0", 0),  // a map, not an array
            ("81a2", 1),  // map of two pairs, no data
            ("81a200662f332f302f300361", 11),  // text longer than the data
            ("81a200662f332f302f3003fc", 11),  // reserved additional information 28
            ("81a200662f332f302f30031f", 11),  // indefinite unsigned integer
            ("81a200662f332f302f3003f810", 11),  // simple value below 32 in two bytes
            ("81a200662f332f302f300362c328", 11),  // invalid UTF-8
            ("81a200662f332f302f3002ff", 11),  // break outside an indefinite container
            ("81a200662f332f302f30037f4161ff", 12),  // byte-string chunk in a text string
            ("81a200662f332f302f3003c48201", 14),  // truncated decimal fraction
            ("81a200662f332f302f3004f6", 11),  // vb is not a boolean
            ("81a200662f332f302f3041004100", 10),  // a byte string as a label
            ("81a300662f332f302f30036161036161", 13),  // two values
            ("81a200662f332f302f3003616100", 13),  // data after the pack
        ]
        for (hex, offset) in cases {
            switch SenMLCBORFormat.decode([UInt8](hex: hex)!, requestPath: .root, model: LwM2MModel()) {
            case .success(let records): XCTFail("\(hex) decoded to \(records)")
            case .failure(let error):
                XCTAssertEqual(error.format, "SenML CBOR")
                XCTAssertEqual(error.offset, offset, "\(hex): \(error)")
            }
        }
    }

    func testDeepNestingAndTagChainsAreRefusedNotRecursed() {
        let deepArrays = record("6178" + String(repeating: "81", count: 10_000) + "00", pairs: 2)
        XCTAssertThrowsError(try decode(deepArrays).get())
        let tagChain = record("02" + String(repeating: "c1", count: 10_000) + "00", pairs: 2)
        XCTAssertThrowsError(try decode(tagChain).get())
        let nestedDecimalFractions = record("02" + String(repeating: "c482", count: 5_000) + "0000", pairs: 2)
        XCTAssertThrowsError(try decode(nestedDecimalFractions).get())
    }

    func testEveryTruncationAndSeededMutationIsAnErrorValueNotATrap() throws {
        let payload = try SenMLCBORFormat.encode(SenMLVectorChecks.deviceRecords, requestPath: LwM2MPath(objectID: 3, instanceID: 0)).get()
        for length in 1..<payload.count {
            if case .success = SenMLCBORFormat.decode(Array(payload[..<length]), requestPath: .root, model: SenMLVectorChecks.deviceModel) {
                XCTFail("prefix of \(length) bytes decoded")
            }
        }
        for mutated in SeededMutations.of(payload, count: 20_000, interestingBytes: [0x00, 0x17, 0x18, 0x1F, 0x5F, 0x7F, 0x9F, 0xBF, 0xC4, 0xF9, 0xFF]) {
            _ = SenMLCBORFormat.decode(mutated, requestPath: .root, model: SenMLVectorChecks.deviceModel)
            _ = SenMLCBORFormat.decodePaths(mutated)
        }
    }

    // MARK: Writer

    func testFloatsUseTheShortestExactWidth() throws {
        let cases: [(Double, String)] = [
            (0.5, "f93800"), (-0.0, "f98000"), (65504, "f97bff"), (0x1p-24, "f90001"), (0x1p-14, "f90400"),
            (.infinity, "f97c00"), (-.infinity, "f9fc00"), (.nan, "f97e00"),
            (100_000, "fa47c35000"), (0x1p-149, "fa00000001"), (3.4028234663852886e38, "fa7f7fffff"),
            (1.1, "fb3ff199999999999a"), (65505, "fa477fe100"), (0x1p-25, "fa33000000"),
        ]
        for (value, hex) in cases {
            let path = LwM2MPath(objectID: 3, instanceID: 0, resourceID: 32)
            let encoded = try SenMLCBORFormat.encode([LwM2MRecord(path: path, value: .float(value))], requestPath: path).get()
            XCTAssertEqual(encoded.hexString, "81a221672f332f302f333202" + hex, "\(value)")
            let decoded = try SenMLCBORFormat.decode(encoded, requestPath: path, model: SenMLVectorChecks.deviceModel).get()
            guard case .float(let back)? = decoded.first?.value else { return XCTFail("\(value): \(decoded)") }
            XCTAssertEqual(back.bitPattern == value.bitPattern || (back.isNaN && value.isNaN), true, "\(value) read back as \(back)")
        }
    }

    func testIntegersUseTheShortestHead() throws {
        let cases: [(LwM2MValue, String)] = [
            (.integer(23), "17"), (.integer(24), "1818"), (.integer(255), "18ff"), (.integer(256), "190100"),
            (.integer(65536), "1a00010000"), (.integer(4_294_967_296), "1b0000000100000000"),
            (.integer(-1), "20"), (.integer(-25), "3818"), (.integer(.min), "3b7fffffffffffffff"),
            (.unsignedInteger(.max), "1bffffffffffffffff"),
        ]
        for (value, hex) in cases {
            let path = LwM2MPath(objectID: 3, instanceID: 0, resourceID: 9)
            let encoded = try SenMLCBORFormat.encode([LwM2MRecord(path: path, value: value)], requestPath: path).get()
            XCTAssertEqual(encoded.hexString, "81a221662f332f302f3902" + hex, "\(value)")
        }
    }

    // MARK: Round trips

    func testFullDeviceInstanceRoundTrips() throws {
        let requestPath = LwM2MPath(objectID: 3, instanceID: 0)
        let encoded = try SenMLCBORFormat.encode(SenMLVectorChecks.deviceRecords, requestPath: requestPath).get()
        let decoded = try SenMLCBORFormat.decode(encoded, requestPath: requestPath, model: SenMLVectorChecks.deviceModel).get()
        XCTAssertEqual(decoded, SenMLVectorChecks.deviceRecords)
        // Same records, same layout as the JSON text: compare through the JSON encoder.
        XCTAssertEqual(
            String(decoding: try SenMLJSONFormat.encode(decoded, requestPath: requestPath).get(), as: UTF8.self),
            SenMLVectorChecks.deviceJSONText)
    }
}

/// ../shared/vectors/senml-cbor.json.
struct SenMLCBORVectorFile: Decodable {
    var vectors: [SenMLCBORVector]

    static func load() throws -> SenMLCBORVectorFile {
        try SharedVectors.load("senml-cbor.json", as: SenMLCBORVectorFile.self)
    }
}

/// One vector of senml-cbor.json (the fields these tests read).
struct SenMLCBORVector: Decodable {
    var id: String
    var hex: String
    var basePath: String?
    var error: Bool
    var records: [SenMLVectorRecord]?
    var jsonEquivalent: String?
    var sourceReencodingHex: String?
    var errorReason: String?

    var isPathList: Bool { SenMLVectorChecks.isPathList(records) }
    var requestPath: LwM2MPath { SenMLVectorChecks.requestPath(basePath) }
    var model: LwM2MModel { SenMLVectorChecks.model(for: records ?? []) }
}
