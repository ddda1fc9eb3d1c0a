import CoAP
import LwM2M
import LwM2MClient
import XCTest

final class BootstrapInterfaceTests: XCTestCase {
    // A device with its Bootstrap-Server account at Security instance 5 (not 0), an old LwM2M
    // Server account /0/0 + /1/0, an Access Control instance and the Device object.
    private static let profile = makeProfile(speaksDTLS: false)
    /// The same device, speaking DTLS with pre-shared keys too.
    private static let dtlsProfile = makeProfile(speaksDTLS: true)

    private static func makeProfile(speaksDTLS: Bool) -> DeviceProfile {
        DeviceProfile(
            model: .core,
            records: [
                record("/0/0/0", .string("coap://old.example:5683")),
                record("/0/0/1", .boolean(false)),
                record("/0/0/2", .integer(3)),
                record("/0/0/10", .integer(1)),
                record("/0/5/0", .string("coap://bs.example:5683")),
                record("/0/5/1", .boolean(true)),
                record("/0/5/2", .integer(3)),
                record("/0/5/11", .integer(7)),
                record("/1/0/0", .integer(1)),
                record("/1/0/1", .integer(300)),
                record("/1/0/7", .string("U")),
                record("/2/0/0", .integer(3)),
                record("/2/0/1", .integer(0)),
                record("/2/0/3", .integer(1)),
                record("/3/0/0", .string("ACME")),
                record("/3/0/16", .string("U")),
            ],
            supportedObjects: [0, 1, 2, 3, 4], speaksDTLS: speaksDTLS)
    }

    private var store = ObjectStore(profile: BootstrapInterfaceTests.profile, seed: 1)

    // MARK: Bootstrap-Delete

    func testBootstrapDeleteRootKeepsBootstrapAccountAndDevice() {
        let result = handle(request(.delete, "/"))
        XCTAssertEqual(result.response.code, .deleted)
        XCTAssertEqual(result.operation, .bootstrapDelete)
        XCTAssertEqual(store.instanceKeys, [key(0, 5), key(3, 0)])
        XCTAssertEqual(store.bootstrapAccount?.instanceID, 5)
    }

    func testBootstrapDeleteSecurityObjectKeepsOnlyBootstrapAccount() {
        XCTAssertEqual(handle(request(.delete, "/0")).response.code, .deleted)
        XCTAssertEqual(store.instanceIDs(of: 0), [5])
        XCTAssertEqual(store.instanceIDs(of: 1), [0], "other objects are untouched")
    }

    func testBootstrapDeleteOfProtectedInstanceIsBadRequest() {
        let bootstrapAccount = handle(request(.delete, "/0/5"))
        XCTAssertEqual(bootstrapAccount.response.code, .badRequest)
        XCTAssertEqual(text(bootstrapAccount), "/0/5 is the Bootstrap-Server account, which Bootstrap-Delete keeps")
        XCTAssertEqual(handle(request(.delete, "/3/0")).response.code, .badRequest)
        XCTAssertEqual(store.instanceKeys.count, 5, "nothing was deleted")
    }

    func testBootstrapDeleteOfOneInstanceAndOfMissingOne() {
        XCTAssertEqual(handle(request(.delete, "/1/0")).response.code, .deleted)
        XCTAssertEqual(store.instanceIDs(of: 1), [])
        XCTAssertEqual(handle(request(.delete, "/1/0")).response.code, .badRequest)
        XCTAssertEqual(handle(request(.delete, "/1/0/1")).response.code, .badRequest)
    }

    // MARK: Bootstrap-Write

    func testBootstrapWriteCreatesMissingInstance() throws {
        let payload = try encode(serverInstance(id: 3, ssid: 9, lifetime: 120), .tlv, "/1/3")
        let result = handle(request(.put, "/1/3", contentFormat: .tlv, payload: payload))
        XCTAssertEqual(result.response.code, .changed)
        XCTAssertEqual(result.operation, .bootstrapWrite)
        XCTAssertEqual(store.instanceIDs(of: 1), [0, 3])
        XCTAssertEqual(store.value(at: path("/1/3/1"), now: .zero), .integer(120))
    }

    func testBootstrapWriteOfObjectWritesEachInstance() throws {
        let records = securityInstance(id: 1, uri: "coap://a.example", ssid: 2) + securityInstance(id: 2, uri: "coap://b.example", ssid: 3)
        let payload = try encode(records, .senmlCBOR, "/0")
        XCTAssertEqual(handle(request(.put, "/0", contentFormat: .senmlCBOR, payload: payload)).response.code, .changed)
        XCTAssertEqual(store.instanceIDs(of: 0), [0, 1, 2, 5])
        XCTAssertEqual(store.value(at: path("/0/2/0"), now: .zero), .string("coap://b.example"))
    }

    func testBootstrapWriteOnExistingInstanceKeepsResourcesNotInPayload() throws {
        let payload = try encode([record("/1/0/1", .integer(60))], .tlv, "/1/0/1")
        XCTAssertEqual(handle(request(.put, "/1/0/1", contentFormat: .tlv, payload: payload)).response.code, .changed)
        XCTAssertEqual(store.records(at: path("/1/0"), now: .zero), [
            record("/1/0/0", .integer(1)), record("/1/0/1", .integer(60)), record("/1/0/7", .string("U")),
        ])
    }

    func testBootstrapWriteAcceptsTLVAndSenMLCBORAlike() throws {
        let records = serverInstance(id: 4, ssid: 4, lifetime: 86400)
        var viaTLV = store
        let tlv = try encode(records, .tlv, "/1/4")
        let senml = try encode(records, .senmlCBOR, "/1/4")
        XCTAssertEqual(BootstrapInterface.handle(
            request(.put, "/1/4", contentFormat: .tlv, payload: tlv), store: &viaTLV, lwm2mVersion: .v1_1, now: .zero
        ).response.code, .changed)
        XCTAssertEqual(handle(request(.put, "/1/4", contentFormat: .senmlCBOR, payload: senml)).response.code, .changed)
        XCTAssertEqual(store.records(at: path("/1/4"), now: .zero), records)
        XCTAssertEqual(viaTLV.records(at: path("/1/4"), now: .zero), records)
    }

    func testBootstrapWriteWithOtherObjectVersionIsBadRequest() throws {
        let payload = try encode(serverInstance(id: 3, ssid: 9, lifetime: 120), .tlv, "/1/3")
        let result = handle(request(.put, "/1/3", query: ["ver=1.1"], contentFormat: .tlv, payload: payload))
        XCTAssertEqual(result.response.code, .badRequest)
        XCTAssertEqual(text(result), "object 1 is version 1.2 here, the write is for version 1.1")
        XCTAssertFalse(store.hasInstance(key(1, 3)))
        let matching = handle(request(.put, "/1/3", query: ["ver=1.2"], contentFormat: .tlv, payload: payload))
        XCTAssertEqual(matching.response.code, .changed)
    }

    func testBootstrapWriteRefusals() throws {
        let payload = try encode(serverInstance(id: 3, ssid: 9, lifetime: 120), .tlv, "/1/3")
        XCTAssertEqual(handle(request(.put, "/1/3", payload: payload)).response.code, .unsupportedContentFormat)
        XCTAssertEqual(handle(request(.put, "/1/3", contentFormat: .linkFormat, payload: payload)).response.code, .unsupportedContentFormat)
        let malformed = handle(request(.put, "/1/3", contentFormat: .tlv, payload: [0xC8, 0x00]))
        XCTAssertEqual(malformed.response.code, .badRequest)
        XCTAssertTrue(text(malformed).hasPrefix("TLV:"), text(malformed))
        XCTAssertFalse(store.hasInstance(key(1, 3)))
    }

    /// The TS lists 2.04, 4.00 and 4.15 for Bootstrap-Write (1.1 TS Transport 6.7): a path the
    /// client does not have is a bad request, not 4.04 as a DM Write would answer.
    func testBootstrapWriteToAnUnknownPathIsBadRequest() throws {
        let payload = try encode(serverInstance(id: 3, ssid: 9, lifetime: 120), .tlv, "/1/3")
        for target in ["/4242/0", "/1/3/4242", "/rd"] {
            let result = handle(request(.put, target, contentFormat: .tlv, payload: payload))
            XCTAssertEqual(result.response.code, .badRequest, target)
            XCTAssertEqual(result.operation, .bootstrapWrite, target)
        }
        XCTAssertFalse(store.hasInstance(key(1, 3)))
    }

    func testBootstrapDeleteOfWhatIsNoLwM2MPathIsBadRequest() {
        // Bootstrap-Delete answers 2.02 or 4.00, never 4.04 (1.1 TS Transport 6.7).
        let result = handle(request(.delete, "/rd"))
        XCTAssertEqual(result.response.code, .badRequest)
        XCTAssertEqual(result.operation, .bootstrapDelete)
    }

    func testBootstrapWriteOfSenMLToLwM2M10ClientIsUnsupported() throws {
        let payload = try encode(serverInstance(id: 3, ssid: 9, lifetime: 120), .senmlCBOR, "/1/3")
        let result = BootstrapInterface.handle(
            request(.put, "/1/3", contentFormat: .senmlCBOR, payload: payload), store: &store, lwm2mVersion: .v1_0, now: .zero)
        XCTAssertEqual(result.response.code, .unsupportedContentFormat)
    }

    // MARK: Bootstrap-Finish

    func testBootstrapFinishWithoutServerAccountIsNotAcceptable() throws {
        XCTAssertEqual(handle(request(.delete, "/")).response.code, .deleted)
        let payload = try encode(securityInstance(id: 1, uri: "coap://lwm2m.example", ssid: 2), .tlv, "/0/1")
        XCTAssertEqual(handle(request(.put, "/0/1", contentFormat: .tlv, payload: payload)).response.code, .changed)
        let result = handle(request(.post, "/bs"))
        XCTAssertEqual(result.response.code, .notAcceptable)
        XCTAssertEqual(result.operation, .bootstrapFinish)
        XCTAssertFalse(result.finished)
        XCTAssertEqual(text(result), "no LwM2M Server account: Security instance 1 has Short Server ID 2 but no Server instance has it")
    }

    func testBootstrapFinishWithOnlyBootstrapAccountIsNotAcceptable() {
        XCTAssertEqual(handle(request(.delete, "/")).response.code, .deleted)
        let result = handle(request(.post, "/bs"))
        XCTAssertEqual(result.response.code, .notAcceptable)
        XCTAssertEqual(text(result), "no LwM2M Server account: there is no Security instance other than the Bootstrap-Server account")
    }

    func testBootstrapFinishAcceptsMatchingSecurityAndServer() throws {
        XCTAssertEqual(handle(request(.delete, "/")).response.code, .deleted)
        let security = try encode(securityInstance(id: 1, uri: "coap://lwm2m.example:5683", ssid: 2), .tlv, "/0/1")
        XCTAssertEqual(handle(request(.put, "/0/1", contentFormat: .tlv, payload: security)).response.code, .changed)
        let server = serverInstance(id: 7, ssid: 2, lifetime: 120) + [record("/1/7/17", .integer(3))]
        XCTAssertEqual(handle(request(.put, "/1/7", contentFormat: .tlv, payload: try encode(server, .tlv, "/1/7"))).response.code, .changed)
        let result = handle(request(.post, "/bs"))
        XCTAssertEqual(result.response.code, .changed)
        XCTAssertTrue(result.finished)
        XCTAssertEqual(store.serverAccounts, [
            ServerAccount(
                shortServerID: 2, serverURI: "coap://lwm2m.example:5683", securityInstanceID: 1, serverInstanceID: 7,
                lifetimeSeconds: 120, binding: "U", communicationRetryCount: 3),
        ])
    }

    /// `securityInstance` with another Security Mode (`/0/x/2`).
    private func securityInstance(id: UInt16, uri: String, ssid: Int64, mode: Int64) -> [LwM2MRecord] {
        securityInstance(id: id, uri: uri, ssid: ssid).filter { $0.path.resourceID != 2 } + [Self.record("/0/\(id)/2", .integer(mode))]
    }

    func testBootstrapFinishRefusesAnAccountTheDeviceCannotConnectWith() throws {
        let psk = securityInstance(id: 1, uri: "coaps://lwm2m.example:5684", ssid: 2, mode: 0)
        let cases: [(security: [LwM2MRecord], speaksDTLS: Bool, reason: String)] = [
            (psk, false,
             "Security instance 1: LwM2M Server URI 'coaps://lwm2m.example:5684' needs DTLS, and this device speaks plain CoAP only"),
            (securityInstance(id: 1, uri: "coap://lwm2m.example:5683", ssid: 2, mode: 0), true,
             "Security instance 1: Security Mode PSK (0) needs a coaps:// URI, and 'coap://lwm2m.example:5683' is plain CoAP"),
            (securityInstance(id: 1, uri: "coaps://lwm2m.example:5684", ssid: 2), true,
             "Security instance 1: LwM2M Server URI 'coaps://lwm2m.example:5684' needs DTLS, and Security Mode NoSec (3) gives it no key"),
            (securityInstance(id: 1, uri: "coaps://lwm2m.example:5684", ssid: 2, mode: 2), true,
             "Security instance 1: Security Mode 2 is not supported: PSK (0) over coaps:// and NoSec (3) over coap:// are"),
        ]
        for testCase in cases {
            store = ObjectStore(profile: testCase.speaksDTLS ? Self.dtlsProfile : Self.profile, seed: 1)
            XCTAssertEqual(handle(request(.delete, "/")).response.code, .deleted)
            let security = try encode(testCase.security, .tlv, "/0/1")
            XCTAssertEqual(handle(request(.put, "/0/1", contentFormat: .tlv, payload: security)).response.code, .changed)
            let server = try encode(serverInstance(id: 7, ssid: 2, lifetime: 120), .tlv, "/1/7")
            XCTAssertEqual(handle(request(.put, "/1/7", contentFormat: .tlv, payload: server)).response.code, .changed)
            let result = handle(request(.post, "/bs"))
            XCTAssertEqual(result.response.code, .notAcceptable, testCase.reason)
            XCTAssertFalse(result.finished)
            XCTAssertEqual(text(result), "no LwM2M Server account: " + testCase.reason)
            XCTAssertTrue(store.serverAccounts.isEmpty, "the device registers with none of them")
        }
    }

    func testAPSKAccountOverCoAPSIsUsableOnADeviceThatSpeaksDTLSWithTheKeyItWasGiven() throws {
        store = ObjectStore(profile: Self.dtlsProfile, seed: 1)
        XCTAssertEqual(handle(request(.delete, "/")).response.code, .deleted)
        let identity = Array("sim-000001".utf8)
        let key: [UInt8] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]
        let security = securityInstance(id: 1, uri: "coaps://lwm2m.example:5684", ssid: 2, mode: 0)
            + [Self.record("/0/1/3", .opaque(identity)), Self.record("/0/1/5", .opaque(key))]
        XCTAssertEqual(handle(request(.put, "/0/1", contentFormat: .tlv, payload: try encode(security, .tlv, "/0/1"))).response.code, .changed)
        let server = try encode(serverInstance(id: 7, ssid: 2, lifetime: 120), .tlv, "/1/7")
        XCTAssertEqual(handle(request(.put, "/1/7", contentFormat: .tlv, payload: server)).response.code, .changed)
        XCTAssertTrue(handle(request(.post, "/bs")).finished)
        XCTAssertEqual(store.serverAccounts.map(\.serverURI), ["coaps://lwm2m.example:5684"])
        let written = try XCTUnwrap(store.preSharedKey(securityInstance: 1))
        XCTAssertEqual(written.identity, identity)
        XCTAssertEqual(written.key, key)
        XCTAssertNil(store.preSharedKey(securityInstance: 5), "the Bootstrap-Server account was given none")
    }

    func testBootstrapAccountAndExistingServerAccount() {
        XCTAssertEqual(store.bootstrapAccount?.instanceID, 5)
        XCTAssertEqual(store.bootstrapAccount?.serverURI, "coap://bs.example:5683")
        XCTAssertEqual(store.bootstrapAccount?.clientHoldOffSeconds, 7)
        XCTAssertEqual(store.serverAccounts.map(\.securityInstanceID), [0])
        XCTAssertEqual(store.serverAccounts.first?.lifetimeSeconds, 300)
    }

    // MARK: Bootstrap-Discover

    func testBootstrapDiscoverRootListsInstancesWithSsidAndURI() {
        let result = handle(request(.get, "/", accept: .linkFormat))
        XCTAssertEqual(result.response.code, .content)
        XCTAssertEqual(result.operation, .bootstrapDiscover)
        XCTAssertEqual(result.response.contentFormat, LwM2MContentFormat.linkFormat.rawValue)
        // Objects 0, 1 and 3 of the bundled DDFs are version 1.2 and object 2 is 1.1, above the 1.1 defaults.
        XCTAssertEqual(text(result), """
            </>;lwm2m=1.1,</0>;ver=1.2,</0/0>;ssid=1;uri="coap://old.example:5683",</0/5>;uri="coap://bs.example:5683",\
            </1>;ver=1.2,</1/0>;ssid=1,</2>;ver=1.1,</2/0>,</3>;ver=1.2,</3/0>,</4>;ver=1.3
            """)
    }

    func testBootstrapDiscoverObjectAndRefusals() {
        let result = BootstrapInterface.handle(request(.get, "/1", accept: .linkFormat), store: &store, lwm2mVersion: .v1_0, now: .zero)
        XCTAssertEqual(text(result), "</>;lwm2m=1.0,</1>;ver=1.2,</1/0>;ssid=1")
        XCTAssertEqual(handle(request(.get, "/9", accept: .linkFormat)).response.code, .notFound)
        XCTAssertEqual(handle(request(.get, "/1/0", accept: .linkFormat)).response.code, .badRequest)
    }

    // MARK: Bootstrap-Read

    func testBootstrapReadOfServerObjectDecodesBack() throws {
        let result = handle(request(.get, "/1"))
        XCTAssertEqual(result.response.code, .content)
        XCTAssertEqual(result.operation, .bootstrapRead)
        XCTAssertEqual(result.response.contentFormat, LwM2MContentFormat.senmlCBOR.rawValue)
        let decoded = try LwM2MPayloadCodec.decode(
            Array(result.response.payload), format: .senmlCBOR, requestPath: path("/1"), model: .core).get()
        XCTAssertEqual(decoded, store.records(at: path("/1"), now: .zero))
        let tlv = handle(request(.get, "/1/0", accept: .tlv))
        XCTAssertEqual(tlv.response.contentFormat, LwM2MContentFormat.tlv.rawValue)
        XCTAssertEqual(
            try LwM2MPayloadCodec.decode(Array(tlv.response.payload), format: .tlv, requestPath: path("/1/0"), model: .core).get(),
            store.records(at: path("/1/0"), now: .zero))
    }

    func testBootstrapReadRefusals() {
        XCTAssertEqual(handle(request(.get, "/0")).response.code, .unauthorized)
        XCTAssertEqual(handle(request(.get, "/3/0")).response.code, .unauthorized)
        XCTAssertEqual(handle(request(.get, "/1/0/1")).response.code, .badRequest)
        XCTAssertEqual(handle(request(.get, "/1/9")).response.code, .notFound)
        XCTAssertEqual(handle(request(.get, "/1", accept: .plainText)).response.code, .notAcceptable)
        let oldClient = BootstrapInterface.handle(request(.get, "/1"), store: &store, lwm2mVersion: .v1_0, now: .zero)
        XCTAssertEqual(oldClient.response.code, .methodNotAllowed)
    }

    // MARK: Requests that are no bootstrap operation

    func testRequestsOutsideTheBootstrapInterface() {
        let execute = handle(request(.post, "/1/0/8"))
        XCTAssertEqual(execute.response.code, .methodNotAllowed)
        XCTAssertNil(execute.operation)
        XCTAssertEqual(handle(request(.fetch, "/1")).response.code, .methodNotAllowed)
        XCTAssertEqual(handle(request(.get, "/rd", accept: .linkFormat)).response.code, .notFound)
        XCTAssertEqual(handle(request(.put, "/", contentFormat: .tlv)).response.code, .badRequest)
    }

    // MARK: Helpers

    private func handle(_ request: CoAPMessage) -> BootstrapResult {
        BootstrapInterface.handle(request, store: &store, lwm2mVersion: .v1_1, now: .zero)
    }

    private func request(
        _ code: CoAPCode, _ path: String, query: [String] = [], contentFormat: LwM2MContentFormat? = nil,
        accept: LwM2MContentFormat? = nil, payload: [UInt8] = []
    ) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: code, payload: payload[...])
        message.setPath(path)
        for item in query { message.options.append(.uriQuery, string: item) }
        if let contentFormat { message.options.append(.contentFormat, uint: UInt64(contentFormat.rawValue)) }
        if let accept { message.options.append(.accept, uint: UInt64(accept.rawValue)) }
        return message
    }

    private func text(_ result: BootstrapResult) -> String {
        String(decoding: result.response.payload, as: UTF8.self)
    }

    private func encode(_ records: [LwM2MRecord], _ format: LwM2MContentFormat, _ requestPath: String) throws -> [UInt8] {
        try LwM2MPayloadCodec.encode(records, format: format, requestPath: path(requestPath)).get()
    }

    private func securityInstance(id: UInt16, uri: String, ssid: Int64) -> [LwM2MRecord] {
        [
            Self.record("/0/\(id)/0", .string(uri)),
            Self.record("/0/\(id)/1", .boolean(false)),
            Self.record("/0/\(id)/2", .integer(3)),
            Self.record("/0/\(id)/10", .integer(ssid)),
        ]
    }

    private func serverInstance(id: UInt16, ssid: Int64, lifetime: Int64) -> [LwM2MRecord] {
        [
            Self.record("/1/\(id)/0", .integer(ssid)),
            Self.record("/1/\(id)/1", .integer(lifetime)),
            Self.record("/1/\(id)/7", .string("U")),
        ]
    }

    private func record(_ text: String, _ value: LwM2MValue) -> LwM2MRecord { Self.record(text, value) }

    private static func record(_ text: String, _ value: LwM2MValue) -> LwM2MRecord {
        LwM2MRecord(path: try! LwM2MPath(parsing: text), value: value)
    }

    private func path(_ text: String) -> LwM2MPath { try! LwM2MPath(parsing: text) }

    private func key(_ objectID: UInt16, _ instanceID: UInt16) -> InstanceKey {
        InstanceKey(objectID: objectID, instanceID: instanceID)
    }
}
