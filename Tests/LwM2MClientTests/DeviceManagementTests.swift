import CoAP
import LwM2M
import LwM2MClient
import XCTest

/// The DM interface of the simulated client (LwM2M 1.1 TS Core 6.3 and Observe/Cancel of 6.4), driven
/// with requests and an object store, no I/O.
final class DeviceManagementTests: XCTestCase {
    // MARK: Fixture

    static func path(_ ids: UInt16...) -> LwM2MPath { LwM2MPath(ids)! }

    static func record(_ ids: UInt16..., value: LwM2MValue) -> LwM2MRecord {
        LwM2MRecord(path: LwM2MPath(ids)!, value: value)
    }

    /// Bootstrap account /0/0, server account /0/1 and /1/0 (SSID 1, lifetime 300, pmin 1, pmax 60),
    /// Device /3/0 with multiple /3/0/6 and /3/0/7 and a falling battery level on /3/0/9, a firmware
    /// update instance whose Package (/5/0/0) is write-only, and a location with an opaque velocity.
    static let profile = DeviceProfile(
        model: .core,
        records: [
            record(0, 0, 0, value: .string("coaps://bootstrap.example:5684")), record(0, 0, 1, value: .boolean(true)),
            record(0, 0, 2, value: .integer(3)),
            record(0, 1, 0, value: .string("coap://lwm2m.example:5683")), record(0, 1, 1, value: .boolean(false)),
            record(0, 1, 2, value: .integer(3)), record(0, 1, 10, value: .integer(1)),
            record(1, 0, 0, value: .integer(1)), record(1, 0, 1, value: .integer(300)), record(1, 0, 2, value: .integer(1)),
            record(1, 0, 3, value: .integer(60)), record(1, 0, 6, value: .boolean(true)), record(1, 0, 7, value: .string("U")),
            record(1, 0, 25, 0, value: .string("1.0")),
            record(3, 0, 0, value: .string("Open Mobile Alliance")), record(3, 0, 1, value: .string("Lightweight M2M Client")),
            record(3, 0, 2, value: .string("345000123")), record(3, 0, 3, value: .string("1.0")),
            record(3, 0, 6, 0, value: .integer(1)), record(3, 0, 6, 1, value: .integer(5)),
            record(3, 0, 7, 0, value: .integer(3800)), record(3, 0, 7, 1, value: .integer(5000)),
            record(3, 0, 9, value: .integer(100)), record(3, 0, 11, 0, value: .integer(0)),
            record(3, 0, 13, value: .time(1_367_491_215)), record(3, 0, 14, value: .string("+02:00")),
            record(3, 0, 16, value: .string("U")),
            record(5, 0, 0, value: .opaque([])), record(5, 0, 1, value: .string("")), record(5, 0, 3, value: .integer(0)),
            record(5, 0, 5, value: .integer(0)), record(5, 0, 9, value: .integer(0)),
            record(6, 0, 0, value: .float(48.85)), record(6, 0, 1, value: .float(2.35)),
            record(6, 0, 4, value: .opaque([0x00, 0x5A, 0x00, 0x10])), record(6, 0, 5, value: .time(1_367_491_215)),
        ],
        generators: [ResourceKey(objectID: 3, resourceID: 9): .counter(start: 100, step: -1, periodSeconds: 60)])

    /// Two minutes in: the battery has dropped to 98.
    static let now = Timestamp.seconds(120)

    var store = ObjectStore(profile: DeviceManagementTests.profile, seed: 7)

    func context(_ version: LwM2MVersion = .v1_1, attributes: NotificationAttributeTable = NotificationAttributeTable()) -> DeviceManagementContext {
        DeviceManagementContext(lwm2mVersion: version, now: Self.now, shortServerID: 1, attributes: attributes)
    }

    func request(
        _ code: CoAPCode, _ path: String, accept: LwM2MContentFormat? = nil, contentFormat: LwM2MContentFormat? = nil,
        observe: UInt64? = nil, query: [String] = [], payload: [UInt8] = []
    ) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: code, messageID: 1, token: .empty, payload: payload[...])
        message.setPath(path)
        if let observe { message.options.append(.observe, uint: observe) }
        if let contentFormat { message.options.append(.contentFormat, uint: UInt64(contentFormat.rawValue)) }
        for item in query { message.options.append(.uriQuery, string: item) }
        if let accept { message.options.append(.accept, uint: UInt64(accept.rawValue)) }
        return message
    }

    /// A request carrying `records` encoded in `format`.
    func request(
        _ code: CoAPCode, _ path: String, format: LwM2MContentFormat, records: [LwM2MRecord]
    ) throws -> CoAPMessage {
        let payload = try LwM2MPayloadCodec.encode(records, format: format, requestPath: LwM2MPath(parsing: path)).get()
        return request(code, path, contentFormat: format, payload: payload)
    }

    @discardableResult
    func handle(_ request: CoAPMessage, _ context: DeviceManagementContext? = nil) -> DeviceManagementResult {
        DeviceManagement.handle(request, store: &store, context: context ?? self.context())
    }

    func text(_ result: DeviceManagementResult) -> String { String(decoding: result.response.payload, as: UTF8.self) }

    func assertCode(
        _ result: DeviceManagementResult, _ code: CoAPCode, _ message: String = "", file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(result.response.code, code, "\(message) \(text(result))", file: file, line: line)
    }

    func decodedRecords(_ result: DeviceManagementResult, at path: LwM2MPath) throws -> [LwM2MRecord] {
        let format = try XCTUnwrap(result.response.contentFormat.map(LwM2MContentFormat.init(rawValue:)))
        return try LwM2MPayloadCodec.decode(Array(result.response.payload), format: format, requestPath: path, model: .core).get()
    }

    // MARK: Read

    func testReadOfDeviceInstanceInTLVAndSenMLCBORDecodesToTheStoredRecords() throws {
        let expected = try XCTUnwrap(store.records(at: Self.path(3, 0), now: Self.now))
        XCTAssertTrue(expected.contains(Self.record(3, 0, 9, value: .integer(98))), "the generator applies to reads")
        for format in [LwM2MContentFormat.tlv, .senmlCBOR, .senmlJSON, .lwm2mJSON] {
            let result = handle(request(.get, "/3/0", accept: format))
            assertCode(result, .content, "\(format)")
            XCTAssertEqual(result.response.contentFormat, format.rawValue)
            XCTAssertEqual(try decodedRecords(result, at: Self.path(3, 0)), expected, "\(format)")
            XCTAssertEqual(result.effect, .none)
            XCTAssertEqual(result.operation, .read)
        }
    }

    func testReadWithoutAcceptUsesSenMLCBORFor11AndTLVFor10() {
        XCTAssertEqual(handle(request(.get, "/3/0")).response.contentFormat, LwM2MContentFormat.senmlCBOR.rawValue)
        XCTAssertEqual(handle(request(.get, "/3")).response.contentFormat, LwM2MContentFormat.senmlCBOR.rawValue)
        XCTAssertEqual(handle(request(.get, "/3/0"), context(.v1_0)).response.contentFormat, LwM2MContentFormat.tlv.rawValue)
        XCTAssertEqual(handle(request(.get, "/3/0/6")).response.contentFormat, LwM2MContentFormat.senmlCBOR.rawValue, "a multiple resource")
    }

    func testReadOfOneValueWithoutAcceptIsPlainTextOrOpaque() {
        let battery = handle(request(.get, "/3/0/9"))
        assertCode(battery, .content)
        XCTAssertEqual(battery.response.contentFormat, LwM2MContentFormat.plainText.rawValue)
        XCTAssertEqual(text(battery), "98")

        let voltage = handle(request(.get, "/3/0/7/1"))
        XCTAssertEqual(voltage.response.contentFormat, LwM2MContentFormat.plainText.rawValue)
        XCTAssertEqual(text(voltage), "5000")

        let velocity = handle(request(.get, "/6/0/4"))
        XCTAssertEqual(velocity.response.contentFormat, LwM2MContentFormat.opaque.rawValue)
        XCTAssertEqual(Array(velocity.response.payload), [0x00, 0x5A, 0x00, 0x10])
    }

    func testReadWithAnAcceptTheClientCannotProduceIsNotAcceptable() {
        assertCode(handle(request(.get, "/3/0", accept: .cbor)), .notAcceptable, "CBOR (60) has no codec")
        assertCode(handle(request(.get, "/3/0", accept: .linkFormat)), .content, "Accept 40 is Discover")
        assertCode(handle(request(.get, "/3/0", accept: .plainText)), .notAcceptable, "plain text of an instance")
        assertCode(handle(request(.get, "/3/0/6", accept: .plainText)), .notAcceptable, "plain text of a multiple resource")
        assertCode(handle(request(.get, "/3/0/9", accept: .opaque)), .notAcceptable, "an integer as opaque")
        assertCode(handle(request(.get, "/3/0", accept: .senmlCBOR), context(.v1_0)), .notAcceptable, "SenML is LwM2M 1.1")
        assertCode(handle(request(.get, "/3/0", accept: LwM2MContentFormat(rawValue: 9999))), .notAcceptable)
        assertCode(handle(request(.get, "/3/0/9", accept: .tlv)), .content, "TLV carries one resource too")
    }

    func testReadOfMissingTargetsIsNotFound() {
        for path in ["/4", "/3/1", "/3/0/10", "/3/0/6/9", "/3/0/9/0", "/32000/0/0"] {
            let result = handle(request(.get, path))
            assertCode(result, .notFound, path)
            XCTAssertFalse(result.response.payload.isEmpty, "a diagnostic says why")
        }
    }

    func testResourcesWithoutReadPermissionAreLeftOutOfInstanceReadsAndRefusedAlone() throws {
        assertCode(handle(request(.get, "/5/0/0")), .methodNotAllowed, "Package is write-only")
        assertCode(handle(request(.get, "/3/0/4")), .methodNotAllowed, "Reboot is executable")
        let instance = handle(request(.get, "/5/0", accept: .tlv))
        assertCode(instance, .content)
        let paths = try decodedRecords(instance, at: Self.path(5, 0)).map(\.path)
        XCTAssertEqual(paths, [Self.path(5, 0, 1), Self.path(5, 0, 3), Self.path(5, 0, 5), Self.path(5, 0, 9)])
    }

    func testSecurityObjectIsUnauthorizedForServers() throws {
        let requests = [
            request(.get, "/0"), request(.get, "/0/1"), request(.get, "/0/1/0"), request(.get, "/0/1", accept: .linkFormat),
            request(.get, "/0/1", observe: 0), request(.put, "/0/1", query: ["pmin=5"]), request(.post, "/0/1/0"),
            request(.delete, "/0/1"), try request(.put, "/0/1/0", format: .plainText, records: [Self.record(0, 1, 0, value: .string("x"))]),
            try request(.post, "/0", format: .senmlCBOR, records: [Self.record(0, 5, 0, value: .string("coap://other"))]),
        ]
        for request in requests {
            assertCode(handle(request), .unauthorized, "\(request)")
        }
        XCTAssertEqual(store.instanceIDs(of: 0), [0, 1], "nothing changed")
    }

    func testPathsOutsideTheDataModelAreNotFoundAndTheRootIsNotATarget() {
        assertCode(handle(request(.get, "/rd/5a3f")), .notFound)
        assertCode(handle(request(.get, "/3/0/1/2/3")), .notFound)
        assertCode(handle(request(.get, "/3/65535")), .notFound)
        assertCode(handle(request(.get, "/")), .methodNotAllowed)
        assertCode(handle(request(.delete, "/")), .methodNotAllowed)
    }

    func testMethodsOutsideTheInterfaceAreMethodNotAllowed() {
        let fetch = handle(request(.fetch, "/3/0"))
        assertCode(fetch, .methodNotAllowed, "Read-Composite is not supported")
        assertCode(handle(request(.iPatch, "/3/0")), .methodNotAllowed, "Write-Composite is not supported")
        let patch = handle(request(.patch, "/3/0"))
        assertCode(patch, .methodNotAllowed)
        XCTAssertNil(patch.operation)
        let postOnResourceInstance = handle(request(.post, "/3/0/6/0"))
        assertCode(postOnResourceInstance, .methodNotAllowed)
        XCTAssertNil(postOnResourceInstance.operation)
    }

    func testResponsesCarryOnlyCodeOptionsAndPayload() {
        var incoming = request(.get, "/3/0/9")
        incoming.token = CoAPToken(value: 0x0102_0304, length: 4)
        incoming.messageID = 4242
        let response = handle(incoming).response
        XCTAssertEqual(response.messageID, 0)
        XCTAssertEqual(response.token, .empty)
        XCTAssertEqual(response.options.map(\.number), [.contentFormat])
    }

    // MARK: Observe and Cancel

    func testObserveAnswersLikeReadWithAPlaceholderSequenceNumber() {
        let result = handle(request(.get, "/3/0/9", observe: 0))
        assertCode(result, .content)
        XCTAssertEqual(result.effect, .observe(Self.path(3, 0, 9)))
        XCTAssertEqual(result.operation, .observe)
        XCTAssertEqual(result.response.observe, 0)
        XCTAssertEqual(text(result), "98")

        let missing = handle(request(.get, "/3/0/10", observe: 0))
        assertCode(missing, .notFound)
        XCTAssertEqual(missing.effect, .none, "no observation is made")
        XCTAssertNil(missing.response.observe)
    }

    func testCancelObservationEndsItWhateverTheAnswer() {
        let result = handle(request(.get, "/3/0", accept: .tlv, observe: 1))
        assertCode(result, .content)
        XCTAssertEqual(result.effect, .cancelObservation(Self.path(3, 0)))
        XCTAssertEqual(result.operation, .cancelObservation)
        XCTAssertNil(result.response.observe)

        let missing = handle(request(.get, "/3/1", observe: 1))
        assertCode(missing, .notFound)
        XCTAssertEqual(missing.effect, .cancelObservation(Self.path(3, 1)))
    }

    // MARK: Write

    func testReplaceOfAnInstanceRemovesWritableResourcesMissingFromThePayload() throws {
        let written = [
            Self.record(1, 0, 1, value: .integer(600)), Self.record(1, 0, 6, value: .boolean(false)),
            Self.record(1, 0, 7, value: .string("UQ")),
        ]
        let result = handle(try request(.put, "/1/0", format: .tlv, records: written))
        assertCode(result, .changed)
        XCTAssertEqual(result.effect, .written(Self.path(1, 0)))
        XCTAssertEqual(result.operation, .write)
        XCTAssertEqual(
            store.records(at: Self.path(1, 0), now: Self.now), [Self.record(1, 0, 0, value: .integer(1))] + written,
            "the read-only Short Server ID stays; pmin, pmax and /1/0/25 are gone")
    }

    func testPartialUpdateKeepsResourcesMissingFromThePayload() throws {
        assertCode(handle(try request(.post, "/1/0", format: .senmlCBOR, records: [Self.record(1, 0, 1, value: .integer(900))])), .changed)
        let records = try XCTUnwrap(store.records(at: Self.path(1, 0), now: Self.now))
        XCTAssertEqual(records.count, 7)
        XCTAssertTrue(records.contains(Self.record(1, 0, 1, value: .integer(900))))
        XCTAssertTrue(records.contains(Self.record(1, 0, 3, value: .integer(60))))
    }

    func testPartialUpdateMergesResourceInstancesIn11AndReplacesTheResourceIn10() throws {
        let update = try request(.post, "/1/0", format: .tlv, records: [Self.record(1, 0, 25, 1, value: .string("1.1"))])
        assertCode(handle(update), .changed)
        XCTAssertEqual(
            store.records(at: Self.path(1, 0, 25), now: Self.now),
            [Self.record(1, 0, 25, 0, value: .string("1.0")), Self.record(1, 0, 25, 1, value: .string("1.1"))])

        store = ObjectStore(profile: Self.profile, seed: 7)
        assertCode(handle(update, context(.v1_0)), .changed)
        XCTAssertEqual(store.records(at: Self.path(1, 0, 25), now: Self.now), [Self.record(1, 0, 25, 1, value: .string("1.1"))])
    }

    func testWriteOfAResourceReplacesAllItsInstances() throws {
        let written = [Self.record(1, 0, 25, 5, value: .string("1.2"))]
        assertCode(handle(try request(.put, "/1/0/25", format: .tlv, records: written)), .changed)
        XCTAssertEqual(store.records(at: Self.path(1, 0, 25), now: Self.now), written)

        assertCode(handle(try request(.put, "/1/0/1", format: .plainText, records: [Self.record(1, 0, 1, value: .integer(86400))])), .changed)
        XCTAssertEqual(store.value(at: Self.path(1, 0, 1), now: Self.now), .integer(86400))

        assertCode(handle(try request(.put, "/1/0/25/5", format: .plainText, records: [Self.record(1, 0, 25, 5, value: .string("2.0"))])), .changed)
        XCTAssertEqual(store.records(at: Self.path(1, 0, 25), now: Self.now), [Self.record(1, 0, 25, 5, value: .string("2.0"))])
    }

    func testWriteRefusals() throws {
        let lifetime = [Self.record(1, 0, 1, value: .integer(600))]
        let tlv = try LwM2MPayloadCodec.encode(lifetime, format: .tlv, requestPath: Self.path(1, 0)).get()
        assertCode(handle(request(.put, "/1/0", payload: tlv)), .unsupportedContentFormat, "no Content-Format")
        assertCode(handle(request(.put, "/1/0", contentFormat: .cbor, payload: tlv)), .unsupportedContentFormat)
        assertCode(handle(request(.put, "/1/0", contentFormat: .linkFormat, payload: tlv)), .unsupportedContentFormat)
        assertCode(
            handle(try request(.put, "/1/0", format: .senmlCBOR, records: lifetime), context(.v1_0)), .unsupportedContentFormat,
            "SenML is LwM2M 1.1")

        let malformed = handle(request(.put, "/1/0", contentFormat: .tlv, payload: [0xC8, 0x01]))
        assertCode(malformed, .badRequest)
        XCTAssertTrue(text(malformed).hasPrefix("TLV"), text(malformed))

        assertCode(handle(try request(.put, "/3/0/9", format: .plainText, records: [Self.record(3, 0, 9, value: .integer(5))])), .methodNotAllowed)
        assertCode(
            handle(try request(.put, "/1/0", format: .tlv, records: lifetime + [Self.record(1, 0, 0, value: .integer(7))])), .methodNotAllowed,
            "the Short Server ID is read-only")
        assertCode(handle(try request(.put, "/1/5", format: .tlv, records: [Self.record(1, 5, 1, value: .integer(600))])), .notFound)
        assertCode(handle(try request(.put, "/1/0/99", format: .plainText, records: [Self.record(1, 0, 99, value: .integer(1))])), .notFound)
        assertCode(handle(try request(.put, "/1", format: .tlv, records: [Self.record(1, 0, 1, value: .integer(600))])), .methodNotAllowed)
        assertCode(
            handle(try request(.put, "/1/0", format: .senmlCBOR, records: [Self.record(1, 0, 1, 3, value: .integer(600))])), .badRequest,
            "Lifetime is a single resource")

        let outside = try LwM2MPayloadCodec.encode([Self.record(3, 0, 14, value: .string("Z"))], format: .senmlJSON, requestPath: .root).get()
        assertCode(handle(request(.post, "/1/0", contentFormat: .senmlJSON, payload: outside)), .badRequest, "a record outside the path")
        let untouched = ObjectStore(profile: Self.profile, seed: 7)
        XCTAssertEqual(
            store.records(at: Self.path(1, 0), now: Self.now), untouched.records(at: Self.path(1, 0), now: Self.now), "refusals change nothing")
    }

    // MARK: Write-Attributes and Discover

    func testWriteAttributesThenDiscoverShowsThem() throws {
        var table = NotificationAttributeTable()
        for (path, query) in [("/3/0", ["pmin=5", "pmax=100"]), ("/3/0/9", ["pmin=10", "gt=50", "lt=20.5", "st=2"])] {
            let result = handle(request(.put, path, query: query), context(attributes: table))
            assertCode(result, .changed, path)
            XCTAssertEqual(result.operation, .writeAttributes)
            guard case .attributesWritten(let written, let attributes) = result.effect else {
                return XCTFail("\(result.effect)")
            }
            XCTAssertEqual(written, try LwM2MPath(parsing: path))
            table[written] = attributes
        }
        XCTAssertEqual(table[Self.path(3, 0, 9)], NotificationAttributes(minimumPeriodSeconds: 10, greaterThan: 50, lessThan: 20.5, step: 2))

        let instance = handle(request(.get, "/3/0", accept: .linkFormat), context(attributes: table))
        assertCode(instance, .content)
        XCTAssertEqual(instance.response.contentFormat, LwM2MContentFormat.linkFormat.rawValue)
        XCTAssertEqual(instance.operation, .discover)
        XCTAssertEqual(
            text(instance),
            "</3/0>;pmin=5;pmax=100,</3/0/0>,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/5>,</3/0/6>;dim=2,</3/0/7>;dim=2,"
                + "</3/0/9>;pmin=10;gt=50;lt=20.5;st=2,</3/0/11>;dim=1,</3/0/12>,</3/0/13>,</3/0/14>,</3/0/16>")

        let resource = handle(request(.get, "/3/0/9", accept: .linkFormat), context(attributes: table))
        XCTAssertEqual(text(resource), "</3/0/9>;pmin=10;pmax=100;gt=50;lt=20.5;st=2", "inherited attributes are included")

        let multiple = handle(request(.get, "/3/0/7", accept: .linkFormat), context(attributes: table))
        XCTAssertEqual(text(multiple), "</3/0/7>;dim=2;pmin=5;pmax=100,</3/0/7/0>,</3/0/7/1>")

        let object = handle(request(.get, "/1", accept: .linkFormat))
        XCTAssertEqual(text(object), "</1>;ver=1.2,</1/0>,</1/0/0>,</1/0/1>,</1/0/2>,</1/0/3>,</1/0/4>,</1/0/6>,</1/0/7>,</1/0/8>,</1/0/9>,</1/0/25>;dim=1")
    }

    func testDiscoverOfMissingTargetsIsNotFound() {
        assertCode(handle(request(.get, "/3/1", accept: .linkFormat)), .notFound)
        assertCode(handle(request(.get, "/3/0/10", accept: .linkFormat)), .notFound)
        assertCode(handle(request(.get, "/4", accept: .linkFormat)), .notFound)
        assertCode(handle(request(.get, "/3/0/6/0", accept: .linkFormat)), .methodNotAllowed)
    }

    func testMaximumPeriodBelowMinimumPeriodIsAcceptedAndIgnored() {
        let result = handle(request(.put, "/3/0/9", query: ["pmin=60", "pmax=10"]))
        assertCode(result, .changed)
        let written = NotificationAttributes(minimumPeriodSeconds: 60, maximumPeriodSeconds: 10)
        XCTAssertEqual(result.effect, .attributesWritten(Self.path(3, 0, 9), written))
        XCTAssertNil(written.applicableMaximumPeriodSeconds)
        XCTAssertEqual(NotificationAttributes(minimumPeriodSeconds: 10, maximumPeriodSeconds: 10).applicableMaximumPeriodSeconds, 10)
        XCTAssertEqual(NotificationAttributes(maximumPeriodSeconds: 30).applicableMaximumPeriodSeconds, 30)
    }

    func testWriteAttributesWithABareNameRemovesIt() {
        var table = NotificationAttributeTable()
        table[Self.path(3, 0, 9)] = NotificationAttributes(minimumPeriodSeconds: 10, maximumPeriodSeconds: 60)
        let result = handle(request(.put, "/3/0/9", query: ["pmin"]), context(attributes: table))
        assertCode(result, .changed)
        XCTAssertEqual(result.effect, .attributesWritten(Self.path(3, 0, 9), NotificationAttributes(maximumPeriodSeconds: 60)))
        table[Self.path(3, 0, 9)] = NotificationAttributes()
        XCTAssertNil(table[Self.path(3, 0, 9)], "empty attributes leave the table")
    }

    func testWriteAttributesRefusals() {
        let refusals: [(path: String, query: [String], code: CoAPCode, why: String)] = [
            ("/3/0/9", ["foo=1"], .badRequest, "unknown attribute"),
            ("/3/0/9", ["pmin=abc"], .badRequest, "not seconds"),
            ("/3/0/9", ["pmin=-1"], .badRequest, "negative seconds"),
            ("/3/0/9", ["gt=inf"], .badRequest, "not finite"),
            ("/3/0/9", ["st=-1"], .badRequest, "negative step"),
            ("/3/0/9", ["gt=10", "lt=20"], .badRequest, "lt >= gt"),
            ("/3/0/9", ["gt=30", "lt=20", "st=5"], .badRequest, "lt + 2 st >= gt"),
            ("/3/0/9", ["pmin=1", "pmin=2"], .badRequest, "repeated"),
            ("/3/0", ["gt=50"], .badRequest, "gt on an instance"),
            ("/3/0/0", ["st=1"], .badRequest, "st on a string"),
            ("/3/1", ["pmin=1"], .notFound, "missing instance"),
            ("/3/0/10", ["pmin=1"], .notFound, "missing resource"),
            ("/", ["pmin=1"], .methodNotAllowed, "root"),
        ]
        for refusal in refusals {
            let result = handle(request(.put, refusal.path, query: refusal.query))
            assertCode(result, refusal.code, refusal.why)
            XCTAssertEqual(result.effect, .none, refusal.why)
        }
        assertCode(handle(request(.put, "/3/0/9", query: ["epmin=1"]), context(.v1_0)), .badRequest, "epmin is LwM2M 1.1")
        var table = NotificationAttributeTable()
        table[Self.path(3, 0, 9)] = NotificationAttributes(greaterThan: 10)
        assertCode(handle(request(.put, "/3/0/9", query: ["lt=20"]), context(attributes: table)), .badRequest, "lt >= the gt written before")
        table[Self.path(3, 0, 9)] = NotificationAttributes(greaterThan: 10, lessThan: 20)
        assertCode(handle(request(.put, "/3/0/9", query: ["pmin=5"]), context(attributes: table)), .changed, "no value condition is set")
        assertCode(handle(request(.put, "/3/0/9", query: ["epmin=1", "epmax=5"])), .changed)
    }

    func testEffectiveAttributesResolveFromResourceUpToServerDefaults() {
        var table = NotificationAttributeTable()
        table[Self.path(3)] = NotificationAttributes(step: 1)
        table[Self.path(3, 0)] = NotificationAttributes(maximumPeriodSeconds: 100)
        table[Self.path(3, 0, 9)] = NotificationAttributes(minimumPeriodSeconds: 10)
        let defaults = NotificationAttributes.serverDefaults(in: store, shortServerID: 1, now: Self.now)
        XCTAssertEqual(defaults, NotificationAttributes(minimumPeriodSeconds: 1, maximumPeriodSeconds: 60))
        XCTAssertEqual(NotificationAttributes.serverDefaults(in: store, shortServerID: 2, now: Self.now), NotificationAttributes())

        XCTAssertEqual(
            table.effective(at: Self.path(3, 0, 9), serverDefaults: defaults),
            NotificationAttributes(minimumPeriodSeconds: 10, maximumPeriodSeconds: 100, step: 1))
        XCTAssertEqual(
            table.effective(at: Self.path(3, 0, 0), serverDefaults: defaults),
            NotificationAttributes(minimumPeriodSeconds: 1, maximumPeriodSeconds: 100, step: 1))
        XCTAssertEqual(table.effective(at: Self.path(1, 0), serverDefaults: defaults), defaults)

        table.removeAll(under: Self.path(3, 0))
        XCTAssertEqual(table.effective(at: Self.path(3, 0, 9)), NotificationAttributes(step: 1))
    }

    // MARK: Execute

    func testExecuteReportsWhatTheClientMustDo() {
        let cases: [(path: String, effect: DeviceManagementEffect)] = [
            ("/3/0/4", .reboot),
            ("/1/0/8", .registrationUpdateTrigger),
            ("/1/0/9", .bootstrapRequestTrigger),
            ("/3/0/5", .executed(Self.path(3, 0, 5))),
        ]
        for check in cases {
            let result = handle(request(.post, check.path, payload: Array("0='now'".utf8)))
            assertCode(result, .changed, check.path)
            XCTAssertEqual(result.effect, check.effect, check.path)
            XCTAssertEqual(result.operation, .execute)
        }
        assertCode(handle(request(.post, "/3/0/9")), .methodNotAllowed, "Battery Level is not executable")
        assertCode(handle(request(.post, "/3/0/99")), .methodNotAllowed, "not in the model")
        assertCode(handle(request(.post, "/3/1/4")), .notFound, "missing instance")
    }

    // MARK: Create and Delete

    func testCreateThenReadGivesTheCreatedInstance() throws {
        let server = [
            Self.record(1, 4, 0, value: .integer(2)), Self.record(1, 4, 1, value: .integer(120)),
            Self.record(1, 4, 6, value: .boolean(false)), Self.record(1, 4, 7, value: .string("U")),
        ]
        let created = handle(try request(.post, "/1", format: .senmlCBOR, records: server))
        assertCode(created, .created)
        XCTAssertEqual(created.response.locationPath, ["1", "4"])
        XCTAssertEqual(created.effect, .instanceCreated(Self.path(1, 4)))
        XCTAssertEqual(created.effect.changesObjectList, true)
        XCTAssertEqual(created.operation, .create)

        let read = handle(request(.get, "/1/4", accept: .tlv))
        assertCode(read, .content)
        XCTAssertEqual(try decodedRecords(read, at: Self.path(1, 4)), server)
    }

    func testCreateWithoutAnInstanceIDTakesTheLowestFreeOne() throws {
        let resources = [
            Self.record(1, 9, 1, value: .integer(120)), Self.record(1, 9, 6, value: .boolean(false)),
            Self.record(1, 9, 7, value: .string("U")),
        ]
        // Bare Resource TLVs: the instance level is left out.
        let payload = try LwM2MPayloadCodec.encode(resources, format: .tlv, requestPath: Self.path(1, 9)).get()
        let first = handle(request(.post, "/1", contentFormat: .tlv, payload: payload))
        assertCode(first, .created)
        XCTAssertEqual(first.response.locationPath, ["1", "1"])
        let second = handle(request(.post, "/1", contentFormat: .tlv, payload: payload))
        XCTAssertEqual(second.response.locationPath, ["1", "2"])
        XCTAssertEqual(store.value(at: Self.path(1, 2, 1), now: Self.now), .integer(120))
    }

    func testCreateRefusals() throws {
        let server = [
            Self.record(1, 0, 1, value: .integer(120)), Self.record(1, 0, 6, value: .boolean(false)), Self.record(1, 0, 7, value: .string("U")),
        ]
        assertCode(handle(try request(.post, "/1", format: .senmlCBOR, records: server)), .badRequest, "/1/0 exists")
        assertCode(
            handle(try request(.post, "/3", format: .senmlCBOR, records: [Self.record(3, 1, 14, value: .string("+01:00"))])), .badRequest,
            "Device is single-instance and has its instance")
        assertCode(
            handle(try request(.post, "/1", format: .senmlCBOR, records: [Self.record(1, 3, 1, value: .integer(120))])), .badRequest,
            "Binding and Notification Storing are mandatory")
        assertCode(handle(request(.post, "/1", payload: [0x01])), .unsupportedContentFormat)
        assertCode(handle(try request(.post, "/7", format: .senmlCBOR, records: [Self.record(7, 0, 0, value: .string("x"))])), .notFound)
        let two = server.map { LwM2MRecord(path: Self.path(1, 5, $0.path.resourceID!), value: $0.value) }
            + server.map { LwM2MRecord(path: Self.path(1, 6, $0.path.resourceID!), value: $0.value) }
        assertCode(handle(try request(.post, "/1", format: .senmlCBOR, records: two)), .badRequest, "one instance per Create")
        XCTAssertEqual(store.instanceIDs(of: 1), [0])
    }

    func testDeleteThenReadIsNotFound() {
        let deleted = handle(request(.delete, "/1/0"))
        assertCode(deleted, .deleted)
        XCTAssertEqual(deleted.effect, .instanceDeleted(Self.path(1, 0)))
        XCTAssertEqual(deleted.operation, .delete)
        assertCode(handle(request(.get, "/1/0")), .notFound)
        assertCode(handle(request(.delete, "/1/0")), .notFound)
        assertCode(handle(request(.get, "/1")), .content, "the object is still supported")
    }

    func testDeleteOfAnythingButADeletableInstanceIsMethodNotAllowed() {
        assertCode(handle(request(.delete, "/1")), .methodNotAllowed)
        assertCode(handle(request(.delete, "/1/0/1")), .methodNotAllowed)
        assertCode(handle(request(.delete, "/3/0")), .methodNotAllowed, "the Device instance")
        XCTAssertEqual(store.instanceIDs(of: 1), [0])
        XCTAssertEqual(store.instanceIDs(of: 3), [0])
    }
}
