import LwM2M
import XCTest

/// LwM2M JSON (11543, and 1543 on input). There are no shared vectors for it: the examples below
/// are written by hand, from the LwM2M 1.0 TS 6.4.4 examples as remembered (marked "TS 1.0,
/// from memory": not compared against the TS text) and from Leshan's LwM2mNodeEncoderTest
/// expectations (marked "Leshan"), plus round trips.
final class LwM2MJSONFormatTests: XCTestCase {
    private func decode(_ text: String, _ requestPath: LwM2MPath = .root, model: LwM2MModel = SenMLVectorChecks.deviceModel) throws -> [LwM2MRecord] {
        try LwM2MJSONFormat.decode(Array(text.utf8), requestPath: requestPath, model: model).get()
    }

    private func encode(_ records: [LwM2MRecord], _ requestPath: LwM2MPath) throws -> String {
        String(decoding: try LwM2MJSONFormat.encode(records, requestPath: requestPath).get(), as: UTF8.self)
    }

    private static func device(_ resource: UInt16, _ instance: UInt16? = nil) -> LwM2MPath {
        LwM2MPath(objectID: 3, instanceID: 0, resourceID: resource, resourceInstanceID: instance)
    }

    /// Read /3/0 (TS 1.0, from memory; resource 16 as Leshan's json_encode_device_object_instance has it).
    static let deviceExample = """
        {"bn":"/3/0/",
         "e":[
          {"n":"0","sv":"Open Mobile Alliance"},
          {"n":"1","sv":"Lightweight M2M Client"},
          {"n":"2","sv":"345000123"},
          {"n":"3","sv":"1.0"},
          {"n":"6/0","v":1},
          {"n":"6/1","v":5},
          {"n":"7/0","v":3800},
          {"n":"7/1","v":5000},
          {"n":"8/0","v":125},
          {"n":"8/1","v":900},
          {"n":"9","v":100},
          {"n":"10","v":15},
          {"n":"11/0","v":0},
          {"n":"13","v":1367491215},
          {"n":"14","sv":"+02:00"},
          {"n":"16","sv":"U"}]
        }
        """

    static let deviceExampleRecords: [LwM2MRecord] = [
        LwM2MRecord(path: device(0), value: .string("Open Mobile Alliance")),
        LwM2MRecord(path: device(1), value: .string("Lightweight M2M Client")),
        LwM2MRecord(path: device(2), value: .string("345000123")),
        LwM2MRecord(path: device(3), value: .string("1.0")),
        LwM2MRecord(path: device(6, 0), value: .integer(1)),
        LwM2MRecord(path: device(6, 1), value: .integer(5)),
        LwM2MRecord(path: device(7, 0), value: .integer(3800)),
        LwM2MRecord(path: device(7, 1), value: .integer(5000)),
        LwM2MRecord(path: device(8, 0), value: .integer(125)),
        LwM2MRecord(path: device(8, 1), value: .integer(900)),
        LwM2MRecord(path: device(9), value: .integer(100)),
        LwM2MRecord(path: device(10), value: .integer(15)),
        LwM2MRecord(path: device(11, 0), value: .integer(0)),
        LwM2MRecord(path: device(13), value: .time(1_367_491_215)),
        LwM2MRecord(path: device(14), value: .string("+02:00")),
        LwM2MRecord(path: device(16), value: .string("U")),
    ]

    func testDeviceExampleDecodesWithTypesFromTheModel() throws {
        XCTAssertEqual(try decode(Self.deviceExample, LwM2MPath(objectID: 3, instanceID: 0)), Self.deviceExampleRecords)
    }

    func testDeviceInstanceEncodesAsLeshanDoes() throws {
        // Leshan: LwM2mNodeEncoderTest.json_encode_device_object_instance.
        let expected = #"{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},"#
            + #"{"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},"#
            + #"{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},"#
            + #"{"n":"11/0","v":0},{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]}"#
        XCTAssertEqual(try encode(Self.deviceExampleRecords, LwM2MPath(objectID: 3, instanceID: 0)), expected)
    }

    func testTimestampedExampleResolvesBaseTimePlusTime() throws {
        // TS 1.0, from memory: the temperature example that SenML Table 7.4.4-3 carries over.
        let text = #"{"bn":"/72/","bt":25462634,"e":[{"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30},{"n":"1/2","v":24.1,"t":-50}]}"#
        let path = LwM2MPath(objectID: 72, instanceID: 1, resourceID: 2)
        XCTAssertEqual(try decode(text, LwM2MPath(objectID: 72)), [
            LwM2MRecord(path: path, value: .float(22.4), time: 25_462_629),
            LwM2MRecord(path: path, value: .float(22.9), time: 25_462_604),
            LwM2MRecord(path: path, value: .float(24.1), time: 25_462_584),
        ])
    }

    func testObjectLinkExampleDecodesAndReencodes() throws {
        // TS 1.0, from memory: objects 65, 66 and 67 read from the root, objlnk values in "ov".
        let text = #"{"bn":"/","e":[{"n":"65/0/0/0","ov":"66:0"},{"n":"65/0/0/1","ov":"66:1"},{"n":"65/0/1","sv":"8613800755500"},"#
            + #"{"n":"65/0/2","v":1},{"n":"66/0/0","sv":"myService 1"},{"n":"66/0/1","sv":"Internet.15.234"},{"n":"66/0/2","ov":"67:0"},"#
            + #"{"n":"66/1/0","sv":"myService 2"},{"n":"66/1/1","sv":"Internet.15.235"},{"n":"66/1/2","ov":"65535:65535"},"#
            + #"{"n":"67/0/0","sv":"85.76.76.84"},{"n":"67/0/1","sv":"85.76.255.255"}]}"#
        let records = try decode(text, model: LwM2MModel())
        XCTAssertEqual(records.count, 12)
        XCTAssertEqual(records[0], LwM2MRecord(
            path: LwM2MPath(objectID: 65, instanceID: 0, resourceID: 0, resourceInstanceID: 0),
            value: .objectLink(LwM2MObjectLink(objectID: 66, instanceID: 0))))
        XCTAssertEqual(records[9].value, .objectLink(LwM2MObjectLink(objectID: 65535, instanceID: 65535)))
        XCTAssertEqual(records[3].value, .integer(1))
        XCTAssertEqual(try encode(records, .root), text)
    }

    func testTimestampedValuesEncodeAsLeshanDoes() throws {
        // Leshan: json_encode_timestamped_resources and json_encode_timestamped_instances.
        let resource = LwM2MPath(objectID: 1024, instanceID: 0, resourceID: 1)
        XCTAssertEqual(
            try encode([
                LwM2MRecord(path: resource, value: .float(22.9), time: 500),
                LwM2MRecord(path: resource, value: .float(22.4), time: 510),
                LwM2MRecord(path: resource, value: .float(24.1), time: 520),
            ], resource),
            #"{"bn":"/1024/0/1","e":[{"v":22.9,"t":500},{"v":22.4,"t":510},{"v":24.1,"t":520}]}"#)
        let instance = LwM2MPath(objectID: 1024, instanceID: 0)
        XCTAssertEqual(
            try encode([
                LwM2MRecord(path: resource, value: .float(22.9), time: 110),
                LwM2MRecord(path: LwM2MPath(objectID: 1024, instanceID: 0, resourceID: 0), value: .string("a string"), time: 120),
                LwM2MRecord(path: resource, value: .float(22.4), time: 120),
                LwM2MRecord(path: resource, value: .float(24.1), time: 130),
            ], instance),
            #"{"bn":"/1024/0/","e":[{"n":"1","v":22.9,"t":110},{"n":"0","sv":"a string","t":120},{"n":"1","v":22.4,"t":120},{"n":"1","v":24.1,"t":130}]}"#)
    }

    func testOpaqueIsStandardBase64InAStringValue() throws {
        let path = Self.device(30)
        let records = [LwM2MRecord(path: path, value: .opaque([0x01, 0x02, 0x03, 0x04, 0x05, 0xFB, 0xFF]))]
        let text = try encode(records, path)
        XCTAssertEqual(text, #"{"bn":"/3/0/30","e":[{"sv":"AQIDBAX7/w=="}]}"#)
        XCTAssertEqual(try decode(text, path), records)
        XCTAssertEqual(try decode(#"{"bn":"/3/0/30","e":[{"sv":"AQIDBAX7_w"}]}"#, path), records, "unpadded base64url accepted")
        XCTAssertThrowsError(try decode(#"{"bn":"/3/0/30","e":[{"sv":"not base64!"}]}"#, path))
        // Without a model the string cannot be known to be opaque.
        XCTAssertEqual(try decode(text, path, model: LwM2MModel()).first?.value, .string("AQIDBAX7/w=="))
    }

    func testMembersMayComeInAnyOrder() throws {
        let text = #"{"e":[{"t":5,"v":1,"n":"9"},{"bv":true,"n":"33"}],"bt":100,"x":{"y":[1]},"bn":"/3/0/"}"#
        let expected = [
            LwM2MRecord(path: Self.device(9), value: .integer(1), time: 105),
            LwM2MRecord(path: Self.device(33), value: .boolean(true), time: 100),
        ]
        XCTAssertEqual(try decode(text), expected)
        XCTAssertEqual(try decode(#"{"bn":"/3/0/","e":[{"n":"9","v":1,"t":5},{"n":"33","bv":true}],"bt":100}"#), expected)
    }

    func testEmptyPayloadAndEmptyEntriesHaveNoRecords() throws {
        XCTAssertEqual(try decode(""), [])
        XCTAssertEqual(try decode(#"{"bn":"/3/0/6/","e":[]}"#, Self.device(6)), [])
        XCTAssertEqual(try encode([], Self.device(6)), #"{"bn":"/3/0/6/","e":[]}"#)
    }

    func testMalformedOrMistypedInputIsAnError() {
        let cases: [(String, Int?)] = [
            (#"[{"n":"/3/0/0","sv":"a"}]"#, 0),  // SenML, not LwM2M JSON
            (#"{"bn":"/3/0/"}"#, 0),  // no entries
            (#"{"bn":"/3/0/","e":{}}"#, 18),
            (#"{"bn":"/3/0/","e":[{"n":"0","sv":"a"}],"e":[]}"#, 39),
            (#"{"bn":"/3/0/","e":[{"n":"0","v":1}]}"#, 19),  // string resource
            (#"{"bn":"/3/0/","e":[{"n":"9","v":1,"sv":"1"}]}"#, 34),
            (#"{"bn":"/3/0/","e":[{"n":"31","ov":"65"}]}"#, 34),
            (#"{"bn":"/3/0/","e":[{"n":"9","v":1}]} x"#, 37),
            (#"{"bn":"/3/0/","e":[{"n":"9","v":1}"#, 34),
            (#"{"bn":"/3/0/","e":[{"n":"é","v":1}]}"#, 19),
        ]
        for (text, offset) in cases {
            switch LwM2MJSONFormat.decode(Array(text.utf8), requestPath: .root, model: SenMLVectorChecks.deviceModel) {
            case .success(let records): XCTFail("\(text) decoded to \(records)")
            case .failure(let error):
                XCTAssertEqual(error.format, "LwM2M JSON")
                XCTAssertEqual(error.offset, offset, "\(text): \(error)")
            }
        }
    }

    func testTruncationsAndSeededMutationsAreErrorValuesNotTraps() throws {
        let payload = try LwM2MJSONFormat.encode(SenMLVectorChecks.deviceRecords, requestPath: LwM2MPath(objectID: 3, instanceID: 0)).get()
        for length in 1..<payload.count {
            if case .success = LwM2MJSONFormat.decode(Array(payload[..<length]), requestPath: .root, model: SenMLVectorChecks.deviceModel) {
                XCTFail("prefix of \(length) bytes decoded")
            }
        }
        for mutated in SeededMutations.of(payload, count: 20_000, interestingBytes: Array(#"{}[]":,\/0123456789.-tfnu "#.utf8)) {
            _ = LwM2MJSONFormat.decode(mutated, requestPath: .root, model: SenMLVectorChecks.deviceModel)
        }
    }

    func testFullDeviceInstanceRoundTrips() throws {
        let requestPath = LwM2MPath(objectID: 3, instanceID: 0)
        let records = SenMLVectorChecks.deviceRecords
        let encoded = try LwM2MJSONFormat.encode(records, requestPath: requestPath).get()
        let text = String(decoding: encoded, as: UTF8.self)
        XCTAssertTrue(text.contains(#"{"n":"13","v":1367491215,"t":1367491215.5}"#), text)
        XCTAssertTrue(text.contains(#"{"n":"30","sv":"APv/EA=="}"#), text)
        XCTAssertTrue(text.contains(#"{"n":"34","v":18446744073709551615}"#), text)
        XCTAssertEqual(try LwM2MJSONFormat.decode(encoded, requestPath: requestPath, model: SenMLVectorChecks.deviceModel).get(), records)
    }
}
