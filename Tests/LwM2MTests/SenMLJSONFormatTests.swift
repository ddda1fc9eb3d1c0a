import Foundation
import LwM2M
import SharedTestData
import XCTest

/// SenML JSON (110) against ../shared/vectors/senml-json.json, plus encoder rules and round trips.
final class SenMLJSONFormatTests: XCTestCase {
    /// What re-encoding the decoded records of each valid vector must give, so that none is skipped
    /// silently. The encoder writes one canonical form (bn = request path + "/" on the first record,
    /// relative n, bt where the time changes); inputs written otherwise are checked by round trip.
    static let reencoding: [String: SenMLReencoding] = [
        "device-instance": .payload,
        "single-resource-bn-only": .payload,
        "time-exponent-notation": .roundTrip("input writes 1.638435E9; the encoder writes 1638435000"),
        "unsigned-64bit-max": .text(#"[{"bn":"/0/0/16","v":18446744073709551615}]"#),
        "int64-near-max": .text(#"[{"bn":"/1/0/2","v":9223372036854775800}]"#),
        "empty-array": .payload,
        "several-bn-decimal-bt": .roundTrip("no request path; input has spaces and one bn per resource"),
        "timestamped-instance": .roundTrip("input uses t relative to bt; the encoder writes bt where the time changes"),
        "timestamped-object": .roundTrip("input uses t relative to bt"),
        "encode-timestamped-nodes": .roundTrip("Leshan repeats bn per timestamped node; no request path"),
        "multiple-timestamped-nodes": .roundTrip("no request path; input uses t"),
        "acl-two-bn": .text(#"[{"bn":"/2/","n":"3/0","v":3},{"n":"3/1","v":1},{"n":"3/3","v":123},{"n":"2/0","v":4},{"n":"2/1","v":2},{"n":"2/3","v":124}]"#),
        "composite-resources": .roundTrip("Leshan writes one bn per resource of a composite; no request path"),
        "composite-mixed-instance": .roundTrip("Leshan writes one bn per node of a composite; no request path"),
        "opaque-vd": .payload,
        "timestamped-relative-table-7.4.4-3": .roundTrip("input uses t; wakaama's re-encoding drops times and values"),
        "objlnk-vlo-table-7.4.4-4": .payload,
        "composite-values-table-7.4.4-7": .roundTrip("no request path; input has spaces and full names in n"),
        "composite-write-table-7.4.4-8": .roundTrip("no request path; input has spaces and full names in n"),
        "whitespace-and-key-order": .sourceReencoding,
        "empty-n": .sourceReencoding,
        "bver-10": .roundTrip("no request path; wakaama's re-encoding omits bn"),
        "unknown-label-ignored": .roundTrip("no request path (wakaama re-encoded under /34/0)"),
        "base-value": .roundTrip("no request path; bv is folded into v"),
        "opaque-vd-padded": .text(#"[{"bn":"/34/0/2","vd":"AQIDBAU"}]"#),
        "opaque-vd-one-byte": .text(#"[{"bn":"/34/0/2","vd":"MA"}]"#),
        "empty-vd": .payload,
        "string-escapes": .sourceReencoding,
    ]

    /// Path-list vectors (Read-Composite requests) whose payload is what `encodePaths` writes.
    static let canonicalPathLists: Set = ["composite-paths-only", "composite-read-request-table-7.4.4-6"]

    func testEveryVectorIsCheckedByExactlyOneKindOfTest() throws {
        let vectors = try SenMLJSONVectorFile.load().vectors
        let recordVectors = vectors.filter { !$0.error && !$0.isPathList }
        let pathLists = vectors.filter { !$0.error && $0.isPathList }
        let errors = vectors.filter(\.error)
        XCTAssertEqual(vectors.count, 34, "senml-json.json changed: review the expectations of this suite")
        XCTAssertEqual(recordVectors.count, 28)
        XCTAssertEqual(pathLists.count, 3)
        XCTAssertEqual(errors.count, 3)
        XCTAssertEqual(Set(recordVectors.map(\.id)), Set(Self.reencoding.keys), "every record vector has a re-encoding expectation")
        XCTAssertEqual(Set(vectors.map(\.id)).count, vectors.count, "vector ids are unique")
    }

    func testRecordVectorsDecodeToTheirRecords() throws {
        var checked = 0
        for vector in try SenMLJSONVectorFile.load().vectors where !vector.error && !vector.isPathList {
            let decoded = try decodeOrFail(vector)
            try SenMLVectorChecks.assert(decoded, equal: vector.records ?? [], vector.id)
            checked += 1
        }
        XCTAssertEqual(checked, 28)
    }

    func testRecordVectorsReencodeToTheirCanonicalForm() throws {
        var checked = 0
        for vector in try SenMLJSONVectorFile.load().vectors where !vector.error && !vector.isPathList {
            let decoded = try decodeOrFail(vector)
            let encoded = try SenMLJSONFormat.encode(decoded, requestPath: vector.requestPath).get()
            let text = String(decoding: encoded, as: UTF8.self)
            switch try XCTUnwrap(Self.reencoding[vector.id], vector.id) {
            case .payload:
                XCTAssertEqual(text, vector.payload, "vector \(vector.id)")
            case .sourceReencoding:
                XCTAssertEqual(text, try XCTUnwrap(vector.sourceReencoding, vector.id), "vector \(vector.id)")
            case .text(let expected):
                XCTAssertEqual(text, expected, "vector \(vector.id)")
            case .roundTrip:
                break
            }
            // Every form must read back as the same records.
            let again = try SenMLJSONFormat.decode(encoded, requestPath: vector.requestPath, model: vector.model).get()
            XCTAssertEqual(again, decoded, "vector \(vector.id): round trip through \(text)")
            checked += 1
        }
        XCTAssertEqual(checked, 28)
    }

    func testPathListVectorsDecodeToTheirPathsAndCanonicalOnesReencode() throws {
        var checked = 0
        for vector in try SenMLJSONVectorFile.load().vectors where !vector.error && vector.isPathList {
            let expected = try (vector.records ?? []).map { try LwM2MPath(parsing: $0.path) }
            let paths = try SenMLJSONFormat.decodePaths(Array(vector.payload.utf8), requestPath: vector.requestPath).get()
            XCTAssertEqual(paths, expected, "vector \(vector.id)")
            if Self.canonicalPathLists.contains(vector.id) {
                XCTAssertEqual(String(decoding: SenMLJSONFormat.encodePaths(paths), as: UTF8.self), vector.payload, "vector \(vector.id)")
            }
            // A path list is not a list of values.
            XCTAssertThrowsError(
                try SenMLJSONFormat.decode(Array(vector.payload.utf8), requestPath: .root, model: LwM2MModel()).get(),
                "vector \(vector.id)")
            checked += 1
        }
        XCTAssertEqual(checked, 3)
    }

    func testErrorVectorsAreRejectedAsRecordsAndAsPathLists() throws {
        var checked = 0
        for vector in try SenMLJSONVectorFile.load().vectors where vector.error {
            let payload = Array(vector.payload.utf8)
            XCTAssertThrowsError(
                try SenMLJSONFormat.decode(payload, requestPath: vector.requestPath, model: LwM2MModel()).get(),
                "vector \(vector.id) (\(vector.errorReason ?? ""))")
            XCTAssertThrowsError(try SenMLJSONFormat.decodePaths(payload, requestPath: vector.requestPath).get(), "vector \(vector.id)")
            checked += 1
        }
        XCTAssertEqual(checked, 3)
    }

    private func decodeOrFail(_ vector: SenMLJSONVector) throws -> [LwM2MRecord] {
        do {
            return try SenMLJSONFormat.decode(Array(vector.payload.utf8), requestPath: vector.requestPath, model: vector.model).get()
        } catch {
            XCTFail("vector \(vector.id): \(error)")
            throw error
        }
    }

    // MARK: Decoding rules

    func testValueKindMustAgreeWithTheResourceType() {
        let model = SenMLVectorChecks.deviceModel
        let wrongKinds = [
            #"[{"bn":"/3/0/0","v":1}]"#,  // string resource
            #"[{"bn":"/3/0/9","vs":"100"}]"#,  // integer resource
            #"[{"bn":"/3/0/9","v":1.5}]"#,  // integer resource, not whole
            #"[{"bn":"/3/0/33","v":1}]"#,  // boolean resource
            #"[{"bn":"/3/0/30","vs":"AQID"}]"#,  // opaque resource
            #"[{"bn":"/3/0/31","vs":"65:0"}]"#,  // objlnk resource
            #"[{"bn":"/3/0/34","v":-1}]"#,  // unsigned resource, negative
            #"[{"bn":"/3/0/4","v":1}]"#,  // executable resource
        ]
        for payload in wrongKinds {
            XCTAssertThrowsError(try SenMLJSONFormat.decode(Array(payload.utf8), requestPath: .root, model: model).get(), payload)
        }
    }

    func testNumbersConvertExactlyToTheModelsType() throws {
        let model = SenMLVectorChecks.deviceModel
        let payload = #"[{"bn":"/3/0/","n":"13","v":1.5e3},{"n":"32","v":7},{"n":"34","v":1e19},{"n":"9","v":-0.0}]"#
        let records = try SenMLJSONFormat.decode(Array(payload.utf8), requestPath: .root, model: model).get()
        XCTAssertEqual(records.map(\.value), [.time(1500), .float(7), .unsignedInteger(10_000_000_000_000_000_000), .integer(0)])
    }

    func testUntypedNumbersAreIntegersWhenWholeElseFloats() throws {
        let payload = #"[{"bn":"/9/0/","n":"1","v":22.0},{"n":"2","v":-9223372036854775808},{"n":"3","v":9223372036854775808},{"n":"4","v":0.1},{"n":"5","v":18446744073709551616},{"n":"6","v":123456789012345678901234567890.5}]"#
        let records = try SenMLJSONFormat.decode(Array(payload.utf8), requestPath: .root, model: LwM2MModel()).get()
        XCTAssertEqual(records.map(\.value), [
            .integer(22), .integer(.min), .unsignedInteger(9_223_372_036_854_775_808), .float(0.1),
            .float(18_446_744_073_709_551_616), .float(123_456_789_012_345_678_901_234_567_890.5),
        ])
    }

    func testNamesOutsideTheRequestPathOrAboveResourcesAreRejected() {
        let cases: [(String, LwM2MPath)] = [
            (#"[{"bn":"/3/0/","n":"0","vs":"a"}]"#, LwM2MPath(objectID: 3, instanceID: 1)),
            (#"[{"bn":"/3/0","vs":"a"}]"#, .root),  // an instance is not a resource
            (#"[{"bn":"/3/0/","vs":"a"}]"#, .root),  // ends with "/"
            (#"[{"vs":"a"}]"#, .root),  // no name at all
            (#"[{"n":"/3//0","vs":"a"}]"#, .root),
            (#"[{"n":"/3/0/65535","vs":"a"}]"#, .root),  // reserved id
            (#"[{"n":"/3/0/100000","vs":"a"}]"#, .root),
            (#"[{"bn":"/3/0/99999999999999999999999","vs":"a"}]"#, .root),
            (#"[{"n":"/3/0/1/2/3","vs":"a"}]"#, .root),
            (#"[{"n":"/3/0/x","vs":"a"}]"#, .root),
        ]
        for (payload, requestPath) in cases {
            XCTAssertThrowsError(
                try SenMLJSONFormat.decode(Array(payload.utf8), requestPath: requestPath, model: LwM2MModel()).get(), payload)
        }
    }

    func testMalformedJSONIsAnErrorWithACharacterOffset() throws {
        let cases: [(String, Int)] = [
            (#"{"bn":"/3/0/0"}"#, 0),
            (#"[{"bn":"/3/0/0","vs":"a"}"#, 25),
            (#"[{"bn":"/3/0/0","vs":"a"}]x"#, 26),
            (#"[{"bn":"/3/0/0","v":01}]"#, 20),
            (#"[{"bn":"/3/0/0","v":1.}]"#, 20),
            (#"[{"bn":"/3/0/0","vs":"é\u12"}]"#, 23),
            (#"[{"bn":"/3/0/0","vs":"\ud800"}]"#, 22),
            (#"[{"bn":"/3/0/0","vs":"a","vs":"b"}]"#, 25),
            (#"[{"bn":"/3/0/0","vs":"a","v":1}]"#, 25),
            (#"[{"bn":"/3/0/0","vb":1}]"#, 21),
            (#"[{"bn":"/3/0/0","vd":"A"}]"#, 21),
            (#"[{"bn":"/3/0/0","vlo":"1:70000"}]"#, 22),
            (#"[{"bn":"/3/0/0","x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"vs":"a"}]"#, 52),
        ]
        for (payload, offset) in cases {
            switch SenMLJSONFormat.decode(Array(payload.utf8), requestPath: .root, model: LwM2MModel()) {
            case .success(let records): XCTFail("\(payload) decoded to \(records)")
            case .failure(let error):
                XCTAssertEqual(error.format, "SenML JSON")
                XCTAssertEqual(error.offset, offset, "\(payload): \(error)")
            }
        }
        let controlCharacter: [UInt8] = Array(#"[{"bn":"/3/0/0","vs":""#.utf8) + [0x01] + Array(#""}]"#.utf8)
        XCTAssertThrowsError(try SenMLJSONFormat.decode(controlCharacter, requestPath: .root, model: LwM2MModel()).get())
        let invalidUTF8: [UInt8] = Array(#"[{"bn":"/3/0/0","vs":""#.utf8) + [0xC3, 0x28] + Array(#""}]"#.utf8)
        XCTAssertThrowsError(try SenMLJSONFormat.decode(invalidUTF8, requestPath: .root, model: LwM2MModel()).get())
    }

    func testEscapesAndNonASCIIDecode() throws {
        let payload = #"[{"bn":"/3/0/0","vs":"\u00e9\ud83d\ude00 \/ é"}]"#
        let records = try SenMLJSONFormat.decode(Array(payload.utf8), requestPath: .root, model: LwM2MModel()).get()
        XCTAssertEqual(records.first?.value, .string("é😀 / é"))
    }

    func testEveryPrefixOfAValidPayloadFailsCleanly() {
        // Truncation anywhere must be an error value, never a trap.
        let payload = Array(SenMLVectorChecks.deviceJSONText.utf8)
        for length in 0..<payload.count {
            let prefix = Array(payload[..<length])
            let result = SenMLJSONFormat.decode(prefix, requestPath: .root, model: SenMLVectorChecks.deviceModel)
            if length > 0, case .success = result { XCTFail("prefix of \(length) bytes decoded") }
        }
    }

    func testSeededMutationsAreErrorValuesNotTraps() {
        let payload = Array(SenMLVectorChecks.deviceJSONText.utf8)
        for mutated in SeededMutations.of(payload, count: 20_000, interestingBytes: Array(#"{}[]":,\/0123456789eE.-+tfnu "#.utf8) + [0xC3, 0xFF]) {
            _ = SenMLJSONFormat.decode(mutated, requestPath: .root, model: SenMLVectorChecks.deviceModel)
            _ = SenMLJSONFormat.decodePaths(mutated)
        }
    }

    // MARK: Encoding rules

    func testEncoderWritesBaseTimeWhereTheTimeChanges() throws {
        let path = LwM2MPath(objectID: 1024, instanceID: 0, resourceID: 1)
        let records = [
            LwM2MRecord(path: path, value: .float(22.9), time: 268_500_000),
            LwM2MRecord(path: path, value: .float(22.4), time: 268_500_000),
            LwM2MRecord(path: path, value: .float(24.1), time: 268_500_010.25),
            LwM2MRecord(path: path, value: .float(25), time: nil),
        ]
        let encoded = try SenMLJSONFormat.encode(records, requestPath: path).get()
        XCTAssertEqual(
            String(decoding: encoded, as: UTF8.self),
            #"[{"bn":"/1024/0/1","bt":268500000,"v":22.9},{"v":22.4},{"bt":268500010.25,"v":24.1},{"bt":0,"v":25.0}]"#)
        let model = LwM2MModel([SenMLVectorChecks.object(1024, resources: [(1, .float, false)])])
        XCTAssertEqual(try SenMLJSONFormat.decode(encoded, requestPath: path, model: model).get(), records)
    }

    func testEncoderRefusesRecordsItCannotPlace() {
        let resource = LwM2MPath(objectID: 3, instanceID: 0, resourceID: 0)
        let refused: [([LwM2MRecord], LwM2MPath)] = [
            ([LwM2MRecord(path: resource, value: .string("a"))], LwM2MPath(objectID: 4)),
            ([LwM2MRecord(path: LwM2MPath(objectID: 3, instanceID: 0), value: .string("a"))], .root),
            ([LwM2MRecord(path: resource, value: .float(.nan))], .root),
            ([LwM2MRecord(path: resource, value: .integer(1), time: .infinity)], .root),
            ([LwM2MRecord(path: resource, value: .integer(1)),
              LwM2MRecord(path: LwM2MPath(objectID: 3, instanceID: 0, resourceID: 0, resourceInstanceID: 1), value: .integer(1))],
             resource),
        ]
        for (records, requestPath) in refused {
            XCTAssertThrowsError(try SenMLJSONFormat.encode(records, requestPath: requestPath).get(), "\(records)")
        }
    }

    func testFloatsAreWrittenInShortestRoundTripForm() throws {
        let values: [Double] = [0.1, 1e-7, 1e21, -52.0006, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.30000000000000004, 300]
        let records = values.enumerated().map {
            LwM2MRecord(path: LwM2MPath(objectID: 9, instanceID: 0, resourceID: UInt16($0.offset)), value: .float($0.element))
        }
        let encoded = try SenMLJSONFormat.encode(records, requestPath: LwM2MPath(objectID: 9, instanceID: 0)).get()
        XCTAssertEqual(
            String(decoding: encoded, as: UTF8.self),
            #"[{"bn":"/9/0/","n":"0","v":0.1},{"n":"1","v":1e-07},{"n":"2","v":1e+21},{"n":"3","v":-52.0006},"#
                + #"{"n":"4","v":5e-324},{"n":"5","v":1.7976931348623157e+308},{"n":"6","v":0.30000000000000004},{"n":"7","v":300.0}]"#)
        let model = LwM2MModel([SenMLVectorChecks.object(9, resources: (0..<8).map { ($0, .float, false) })])
        let again = try SenMLJSONFormat.decode(encoded, requestPath: .root, model: model).get()
        XCTAssertEqual(again.map(\.value), values.map(LwM2MValue.float))
    }

    // MARK: Round trips

    func testFullDeviceInstanceRoundTrips() throws {
        let records = SenMLVectorChecks.deviceRecords
        let requestPath = LwM2MPath(objectID: 3, instanceID: 0)
        let encoded = try SenMLJSONFormat.encode(records, requestPath: requestPath).get()
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), SenMLVectorChecks.deviceJSONText)
        let decoded = try SenMLJSONFormat.decode(encoded, requestPath: requestPath, model: SenMLVectorChecks.deviceModel).get()
        XCTAssertEqual(decoded, records)
    }
}

// MARK: - Shared with SenMLCBORFormatTests

/// What re-encoding a vector's decoded records must give.
enum SenMLReencoding {
    /// The vector's own payload (it is in the encoder's canonical form).
    case payload
    /// The vector's `source_reencoding` / `source_reencoding_hex`.
    case sourceReencoding
    /// A text (or hex) spelled out in the test.
    case text(String)
    /// Only that it decodes back to the same records; the reason the bytes differ.
    case roundTrip(String)
}

/// ../shared/vectors/senml-json.json.
struct SenMLJSONVectorFile: Decodable {
    var vectors: [SenMLJSONVector]

    static func load() throws -> SenMLJSONVectorFile {
        try SharedVectors.load("senml-json.json", as: SenMLJSONVectorFile.self)
    }
}

/// One vector of senml-json.json (the fields these tests read).
struct SenMLJSONVector: Decodable {
    var id: String
    var payload: String
    var basePath: String?
    var error: Bool
    var records: [SenMLVectorRecord]?
    var sourceReencoding: String?
    var errorReason: String?

    var isPathList: Bool { SenMLVectorChecks.isPathList(records) }
    var requestPath: LwM2MPath { SenMLVectorChecks.requestPath(basePath) }
    var model: LwM2MModel { SenMLVectorChecks.model(for: records ?? []) }
}

/// A resolved record of a SenML vector: `{path, kind, value, time?, lwm2m_type?}`.
struct SenMLVectorRecord: Decodable {
    var path: String
    var kind: String?
    var value: VectorValue?
    var time: Double?
    var lwm2mType: String?
}

/// A JSON scalar of a vector, kept as exactly as JSON gives it.
enum VectorValue: Decodable {
    case boolean(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case double(Double)
    case string(String)

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .boolean(flag)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let unsigned = try? container.decode(UInt64.self) {
            self = .unsigned(unsigned)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else {
            self = .string(try container.decode(String.self))
        }
    }
}

/// Reproducible corruptions of a payload (SplitMix64, seeded), for "never a trap" tests.
enum SeededMutations {
    /// `count` copies of `payload` with 1-4 bytes replaced, half the time by one of `interestingBytes`.
    static func of(_ payload: [UInt8], count: Int, interestingBytes: [UInt8]) -> [[UInt8]] {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
        return (0..<count).map { _ in
            var mutated = payload
            for _ in 0..<(1 + next() % 4) {
                let index = Int(next() % UInt64(mutated.count))
                mutated[index] = next() % 2 == 0
                    ? interestingBytes[Int(next() % UInt64(interestingBytes.count))]
                    : UInt8(truncatingIfNeeded: next())
            }
            return mutated
        }
    }
}

/// Models, expected values and the Device instance shared by the SenML and LwM2M JSON tests.
enum SenMLVectorChecks {
    static func isPathList(_ records: [SenMLVectorRecord]?) -> Bool {
        guard let records, !records.isEmpty else { return false }
        return records.allSatisfy { $0.kind == nil }
    }

    static func requestPath(_ basePath: String?) -> LwM2MPath {
        basePath.flatMap { try? LwM2MPath(parsing: $0) } ?? .root
    }

    static func object(_ id: UInt16, resources: [(UInt16, LwM2MResourceType, Bool)]) -> LwM2MObjectDefinition {
        LwM2MObjectDefinition(
            id: id, name: "Test \(id)", isMultipleInstance: true, isMandatory: false,
            resources: resources.map {
                LwM2MResourceDefinition(
                    id: $0.0, name: "Resource \($0.0)", operations: $0.1 == .none ? .execute : [.read, .write],
                    isMultipleInstance: $0.2, isMandatory: false, type: $0.1)
            })
    }

    /// A model holding, for each record with an `lwm2m_type`, a resource of that type.
    static func model(for records: [SenMLVectorRecord]) -> LwM2MModel {
        var resources: [UInt16: [UInt16: (LwM2MResourceType, Bool)]] = [:]
        for record in records {
            guard let typeName = record.lwm2mType, let type = LwM2MResourceType(rawValue: typeName),
                  let path = try? LwM2MPath(parsing: record.path), let objectID = path.objectID, let resourceID = path.resourceID
            else { continue }
            resources[objectID, default: [:]][resourceID] = (type, path.level == .resourceInstance)
        }
        return LwM2MModel(resources.map { objectID, byID in
            object(objectID, resources: byID.map { ($0.key, $0.value.0, $0.value.1) })
        })
    }

    /// Asserts decoded records equal a vector's: path, value (typed as `lwm2m_type` says, or by
    /// the untyped rules: whole numbers are integers), and time.
    static func assert(_ decoded: [LwM2MRecord], equal expected: [SenMLVectorRecord], _ id: String, line: UInt = #line) throws {
        XCTAssertEqual(decoded.count, expected.count, "vector \(id): record count", line: line)
        for (record, vectorRecord) in zip(decoded, expected) {
            XCTAssertEqual(record.path, try LwM2MPath(parsing: vectorRecord.path), "vector \(id)", line: line)
            XCTAssertEqual(record.value, try expectedValue(vectorRecord, id), "vector \(id) \(vectorRecord.path)", line: line)
            XCTAssertEqual(record.time, vectorRecord.time, "vector \(id) \(vectorRecord.path): time", line: line)
        }
    }

    static func expectedValue(_ record: SenMLVectorRecord, _ id: String) throws -> LwM2MValue {
        let value = try XCTUnwrap(record.value, "vector \(id) \(record.path) has no value")
        if let typeName = record.lwm2mType {
            let type = try XCTUnwrap(LwM2MResourceType(rawValue: typeName), "vector \(id): unknown lwm2m_type \(typeName)")
            switch (value, type) {
            case (.string(let text), .string): return .string(text)
            case (.double(let number), .float): return .float(number)
            case (.integer(let number), .float): return .float(Double(number))
            default:
                return try XCTUnwrap(untypedNumber(value, id).converted(to: type), "vector \(id): \(value) as \(typeName)")
            }
        }
        switch (record.kind, value) {
        case ("vs", .string(let text)): return .string(text)
        case ("vb", .boolean(let flag)): return .boolean(flag)
        case ("vd", .string(let hex)): return .opaque(try bytes(fromHex: hex, in: id))
        case ("vlo", .string(let text)): return .objectLink(try XCTUnwrap(LwM2MObjectLink(text), "vector \(id)"))
        case ("v", _): return try untypedNumber(value, id)
        default: throw VectorFileError("vector \(id): kind \(record.kind ?? "none") with value \(value)")
        }
    }

    private static func untypedNumber(_ value: VectorValue, _ id: String) throws -> LwM2MValue {
        switch value {
        case .integer(let number): return .integer(number)
        case .unsigned(let number): return .unsignedInteger(number)
        case .double(let number): return Int64(exactly: number).map(LwM2MValue.integer) ?? .float(number)
        default: throw VectorFileError("vector \(id): \(value) is not a number")
        }
    }

    // MARK: The Device instance used for round trips in every format

    /// Object 3 as LwM2M 1.1 defines the resources used here, plus resources 30-35 (not in the
    /// Device object) so one instance carries every value type.
    static let deviceModel = LwM2MModel([
        object(3, resources: [
            (0, .string, false), (1, .string, false), (2, .string, false), (3, .string, false), (4, .none, false),
            (6, .integer, true), (7, .integer, true), (8, .integer, true), (9, .integer, false), (10, .integer, false),
            (11, .integer, true), (13, .time, false), (14, .string, false), (15, .string, false), (16, .string, false),
            (30, .opaque, false), (31, .objectLink, false), (32, .float, false), (33, .boolean, false),
            (34, .unsignedInteger, false), (35, .coreLink, false),
        ]),
    ])

    static let deviceRecords: [LwM2MRecord] = {
        func path(_ resource: UInt16, _ instance: UInt16? = nil) -> LwM2MPath {
            LwM2MPath(objectID: 3, instanceID: 0, resourceID: resource, resourceInstanceID: instance)
        }
        return [
            LwM2MRecord(path: path(0), value: .string("Open Mobile Alliance")),
            LwM2MRecord(path: path(1), value: .string("Lightweight M2M Client \"quoted\" \\ é\n")),
            LwM2MRecord(path: path(2), value: .string("345000123")),
            LwM2MRecord(path: path(3), value: .string("1.0")),
            LwM2MRecord(path: path(6, 0), value: .integer(1)),
            LwM2MRecord(path: path(6, 1), value: .integer(5)),
            LwM2MRecord(path: path(7, 0), value: .integer(3800)),
            LwM2MRecord(path: path(7, 1), value: .integer(5000)),
            LwM2MRecord(path: path(8, 0), value: .integer(125)),
            LwM2MRecord(path: path(8, 1), value: .integer(900)),
            LwM2MRecord(path: path(9), value: .integer(100)),
            LwM2MRecord(path: path(10), value: .integer(-15)),
            LwM2MRecord(path: path(11, 0), value: .integer(Int64.min)),
            LwM2MRecord(path: path(13), value: .time(1_367_491_215), time: 1_367_491_215.5),
            LwM2MRecord(path: path(14), value: .string("+02:00"), time: 1_367_491_215.5),
            LwM2MRecord(path: path(16), value: .string("U")),
            LwM2MRecord(path: path(30), value: .opaque([0x00, 0xFB, 0xFF, 0x10])),
            LwM2MRecord(path: path(31), value: .objectLink(LwM2MObjectLink(objectID: 65535, instanceID: 0))),
            LwM2MRecord(path: path(32), value: .float(-52.0006)),
            LwM2MRecord(path: path(33), value: .boolean(true)),
            LwM2MRecord(path: path(34), value: .unsignedInteger(.max)),
            LwM2MRecord(path: path(35), value: .coreLink("</3/0>;ver=1.1")),
        ]
    }()

    static let deviceJSONText = #"[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},"#
        + #"{"n":"1","vs":"Lightweight M2M Client \"quoted\" \\ é\n"},{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},"#
        + #"{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},"#
        + #"{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":-15},{"n":"11/0","v":-9223372036854775808},"#
        + #"{"bt":1367491215.5,"n":"13","v":1367491215},{"n":"14","vs":"+02:00"},{"bt":0,"n":"16","vs":"U"},"#
        + #"{"n":"30","vd":"APv_EA"},{"n":"31","vlo":"65535:0"},{"n":"32","v":-52.0006},{"n":"33","vb":true},"#
        + #"{"n":"34","v":18446744073709551615},{"n":"35","vs":"</3/0>;ver=1.1"}]"#
}
