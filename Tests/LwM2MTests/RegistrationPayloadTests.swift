import LwM2M
import SharedTestData
import XCTest

/// Register/Update payloads and (Bootstrap-)Discover answers, built and read as LwM2M, checked
/// against `../shared/vectors/link-format.json`.
final class RegistrationPayloadTests: XCTestCase {
    override func setUpWithError() throws {
        try SharedVectors.requireVectors()
    }

    private func vector(_ id: String) throws -> LinkFormatVector {
        try XCTUnwrap(try LinkFormatVectorFile.load().first { $0.id == id }, "no vector \(id)")
    }

    private func version(_ text: String?) throws -> LwM2MVersion {
        try XCTUnwrap(LwM2MVersion(text ?? "1.0"), "bad version \(text ?? "")")
    }

    func testRegistrationReadingMatchesTheVectorsInterpretation() throws {
        let vectors = try LinkFormatVectorFile.load().filter { $0.lwm2m != nil && $0.lwm2m?.serverResponse == nil }
        XCTAssertEqual(vectors.count, 9)
        for vector in vectors {
            let expected = try XCTUnwrap(vector.lwm2m)
            let payload = try RegistrationPayload.parse(try XCTUnwrap(vector.text), lwm2mVersion: try version(expected.lwm2mVersion)).get()
            if let rootPath = expected.rootPath { XCTAssertEqual(payload.rootPath, rootPath, vector.id) }
            if let objects = expected.supportedObjects {
                let expectedObjects = Dictionary(uniqueKeysWithValues: try objects.map { (try XCTUnwrap(UInt16($0.key)), try version($0.value)) })
                XCTAssertEqual(payload.supportedObjects, expectedObjects, vector.id)
            }
            if let instances = expected.availableInstances {
                XCTAssertEqual(payload.availableInstances, try instances.map { try LwM2MPath(parsing: $0) }, vector.id)
            }
            if let formats = expected.supportedContentFormats {
                // The vectors list a set (Leshan's), some sorted and some in payload order.
                XCTAssertEqual(payload.supportedContentFormats, Set(formats.map(LwM2MContentFormat.init(rawValue:))), vector.id)
            }
            // What was read writes a payload that reads the same.
            XCTAssertEqual(try RegistrationPayload.parse(payload.text, lwm2mVersion: payload.lwm2mVersion).get(), payload, vector.id)
        }
    }

    /// Wakaama registers these with lwm2m=1.1 and answers 2.01 or 4.00.
    func testWakaamaServerAnswersFollowFromTheReader() throws {
        let vectors = try LinkFormatVectorFile.load().filter { $0.lwm2m?.serverResponse != nil }
        XCTAssertEqual(vectors.map(\.id), ["wakaama-register-with-rt", "wakaama-register-without-rt", "wakaama-register-two-rt"])
        for vector in vectors {
            let result = RegistrationPayload.parse(try XCTUnwrap(vector.text), lwm2mVersion: .v1_1)
            switch vector.lwm2m?.serverResponse {
            case "2.01 Created":
                let payload = try result.get()
                XCTAssertEqual(payload.contentFormats, [.senmlJSON], vector.id)
                XCTAssertEqual(payload.declaresRootPath, vector.id == "wakaama-register-with-rt")
                XCTAssertEqual(payload.supportedObjects[28180], LwM2MVersion(major: 0, minor: 4))
                XCTAssertEqual(payload.supportedObjects[1], .v1_1, "default of the Server object in 1.1")
                XCTAssertEqual(payload.supportedObjects[3], .v1_0, "explicit ver wins")
                XCTAssertEqual(payload.availableInstances, [])
            case "4.00 Bad Request":
                XCTAssertTrue(result.rejection?.reason.contains("'rt' more than once") ?? false, "\(result)")
            default:
                XCTFail("\(vector.id): unexpected server_response")
            }
        }
    }

    func testRegisterPayloadsAreBuiltAsLeshanWritesThem() throws {
        let root = RegistrationPayload(lwm2mVersion: .v1_0, objects: [.init(id: 6, instanceIDs: [0])])
        XCTAssertEqual(root.text, try vector("register-v1.0").text)
        let two = RegistrationPayload(lwm2mVersion: .v1_0, objects: [.init(id: 6, version: LwM2MVersion(major: 2, minor: 0), instanceIDs: [0, 1])])
        XCTAssertEqual(two.text, try vector("register-ver-2-instances").text)
        let none = RegistrationPayload(lwm2mVersion: .v1_0, objects: [.init(id: 6, version: LwM2MVersion(major: 2, minor: 0))])
        XCTAssertEqual(none.text, try vector("register-ver-no-instance").text)
    }

    func testRegisterPayloadWithContentFormatsRoundTripsExactly() throws {
        let text = try XCTUnwrap(try vector("corelnk-value").text)
        let payload = try RegistrationPayload.parse(text, lwm2mVersion: .v1_0).get()
        XCTAssertEqual(payload.contentFormats.map(\.rawValue), [60, 110, 112, 1542, 1543, 11542, 11543])
        XCTAssertEqual(payload.objects, [
            .init(id: 1, version: .v1_1, instanceIDs: [0]), .init(id: 2), .init(id: 3, version: .v1_1, instanceIDs: [0]),
            .init(id: 3442, instanceIDs: [0]),
        ])
        XCTAssertEqual(payload.text, text)
        let wakaamaStart = RegistrationPayload(
            lwm2mVersion: .v1_1, objects: [.init(id: 1, version: .v1_1, instanceIDs: [0]), .init(id: 3, version: .v1_1, instanceIDs: [0])],
            contentFormats: [.senmlJSON])
        XCTAssertEqual(wakaamaStart.text, #"</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>"#)
        let noRoot = RegistrationPayload(lwm2mVersion: .v1_1, objects: [.init(id: 3, version: .v1_1, instanceIDs: [0])], declaresRootPath: false)
        XCTAssertEqual(noRoot.text, "</3/0>")
    }

    func testAlternateRootPathIsAlwaysDeclared() throws {
        let payload = RegistrationPayload(
            lwm2mVersion: .v1_0, objects: [.init(id: 1, instanceIDs: [0])], rootPath: "/root", declaresRootPath: false)
        XCTAssertEqual(payload.rootPath, "/root/")
        XCTAssertEqual(payload.text, #"</root>;rt="oma.lwm2m",</root/1/0>"#)
        let read = try RegistrationPayload.parse(try XCTUnwrap(try vector("reg-alternate-root").text), lwm2mVersion: .v1_0).get()
        XCTAssertEqual(read.text, payload.text, "</3/0> outside the root path is not an LwM2M object")
    }

    func testRegistrationReaderRefusesWhatIsNotAnObjectList() {
        let refused = [
            "": "lists no object", #"</>;rt="oma.lwm2m""#: "lists no object", "</3/0/1>": "is a resource",
            "</3/0>,</3/0>": "listed twice", "</3>,</3>;ver=1.1": "listed twice", "</1/text/0>": "segment 'text'",
            "</4/0/0/>": "segment ''", "</3>;ver=1.1.1": "MAJOR.MINOR", "</3/0>;dim=300": "0-255",
            #"</lwm2m>;rt="oma.lwm2m",</lwm2m/x>"#: "below root path /lwm2m/",
        ]
        for (text, reason) in refused {
            let rejection = RegistrationPayload.parse(text, lwm2mVersion: .v1_1).rejection
            XCTAssertTrue(rejection?.reason.contains(reason) ?? false, "\(text): \(String(describing: rejection)) should mention \(reason)")
            XCTAssertEqual(rejection?.format, "link-format")
        }
    }

    func testDefaultObjectVersionsFollowTheEnablerVersion() {
        XCTAssertEqual((0...7).map { RegistrationPayload.defaultObjectVersion(objectID: $0, lwm2mVersion: .v1_0) }, Array(repeating: .v1_0, count: 8))
        XCTAssertEqual(
            [0, 1, 2, 3, 4, 5, 6, 7, 21, 3442].map { RegistrationPayload.defaultObjectVersion(objectID: $0, lwm2mVersion: .v1_1).description },
            ["1.1", "1.1", "1.0", "1.1", "1.2", "1.0", "1.0", "1.0", "1.0", "1.0"])
    }

    func testMandatoryContentFormatsJoinTheAdvertisedOnes() {
        let payload = RegistrationPayload(
            lwm2mVersion: .v1_1, objects: [.init(id: 3, version: .v1_1, instanceIDs: [0])], contentFormats: [.senmlCBOR])
        XCTAssertEqual(payload.supportedContentFormats, [.senmlCBOR, .plainText, .opaque, .linkFormat])
    }

    // MARK: Discover and Bootstrap-Discover

    private let locationObject = DiscoverResponse.ObjectDescription(
        id: 6, instances: [.init(id: 0, resources: (0...6).map { DiscoverResponse.ResourceDescription(id: $0) })])

    func testDiscoverOnAnObjectListsInstancesAndResources() throws {
        let response = try XCTUnwrap(DiscoverResponse.discover(LwM2MPath(objectID: 6), in: locationObject, lwm2mVersion: .v1_0))
        XCTAssertEqual(response.text, try vector("discover-object-6").text)
        let rooted = try XCTUnwrap(DiscoverResponse.discover(LwM2MPath(objectID: 6), in: locationObject, lwm2mVersion: .v1_0, rootPath: "/rp"))
        XCTAssertEqual(rooted.text, try vector("discover-object-6-rootpath").text)
        var versioned = locationObject
        versioned.version = LwM2MVersion(major: 2, minor: 0)
        let withVersion = try XCTUnwrap(DiscoverResponse.discover(LwM2MPath(objectID: 6), in: versioned, lwm2mVersion: .v1_0))
        XCTAssertEqual(withVersion.text, try vector("discover-object-6-ver").text)
        for response in [response, withVersion] {
            XCTAssertEqual(try DiscoverResponse.parse(response.text).get(), response)
        }
        XCTAssertEqual(try DiscoverResponse.parse(rooted.text, rootPath: "/rp/").get(), rooted)
    }

    func testDiscoverOnInstanceAndResourceShowsDimensionAndAttributes() throws {
        let device = DiscoverResponse.ObjectDescription(id: 3, version: .v1_1, instances: [
            .init(id: 0, attributes: [.minimumPeriod(10), .maximumPeriod(60)], resources: [
                .init(id: 1), .init(id: 6, instanceIDs: [0, 1]), .init(id: 7, instanceIDs: [0, 1], attributes: [.greaterThan(50), .lessThan(42.2)]),
            ]),
        ])
        let instance = try XCTUnwrap(DiscoverResponse.discover(LwM2MPath(objectID: 3, instanceID: 0), in: device, lwm2mVersion: .v1_1))
        XCTAssertEqual(instance.text, "</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/6>;dim=2,</3/0/7>;dim=2;gt=50;lt=42.2")
        let resourcePath = LwM2MPath(objectID: 3, instanceID: 0, resourceID: 7)
        let resource = try XCTUnwrap(DiscoverResponse.discover(resourcePath, in: device, lwm2mVersion: .v1_1))
        XCTAssertEqual(resource.text, "</3/0/7>;dim=2;gt=50;lt=42.2,</3/0/7/0>,</3/0/7/1>")
        let object = try XCTUnwrap(DiscoverResponse.discover(LwM2MPath(objectID: 3), in: device, lwm2mVersion: .v1_0))
        XCTAssertTrue(object.text.hasPrefix("</3>;ver=1.1,</3/0>;pmin=10"), object.text)
        XCTAssertNil(DiscoverResponse.discover(LwM2MPath(objectID: 3, instanceID: 1), in: device, lwm2mVersion: .v1_1), "4.04")
        XCTAssertNil(DiscoverResponse.discover(LwM2MPath(objectID: 4), in: device, lwm2mVersion: .v1_1))
        XCTAssertEqual(try DiscoverResponse.parse(instance.text).get(), instance)
    }

    func testBootstrapDiscoverIsBuiltAsLeshanWritesIt() throws {
        let device = DiscoverResponse.ObjectDescription(id: 3, instances: [.init(id: 0)])
        XCTAssertEqual(DiscoverResponse.bootstrapDiscover(objects: [device], lwm2mVersion: .v1_0).text, try vector("bs-discover-device").text)
        let server = DiscoverResponse.ObjectDescription(id: 1, instances: [.init(id: 0, attributes: [.shortServerID(333)])])
        XCTAssertEqual(DiscoverResponse.bootstrapDiscover(objects: [server], lwm2mVersion: .v1_0).text, try vector("bs-discover-server").text)

        func account(_ ssid: UInt16?, _ port: Int?) -> [LwM2MLinkAttribute] {
            (ssid.map { [.shortServerID($0)] } ?? []) + (port.map { [.serverURI("coap://localhost:\($0)")] } ?? [])
        }
        let two = LwM2MVersion(major: 2, minor: 0)
        let objects: [DiscoverResponse.ObjectDescription] = [
            .init(id: 0, version: .v1_2, instances: [
                .init(id: 0, attributes: account(111, 11)), .init(id: 1, attributes: account(nil, 1)),
                .init(id: 2, attributes: account(222, 22)),
            ]),
            .init(id: 1, version: two, instances: [.init(id: 0, attributes: account(333, nil))]),
            .init(id: 3, instances: [.init(id: 0)]),
            .init(id: 21, version: two, instances: [.init(id: 10, attributes: account(111, 11)), .init(id: 11, attributes: account(nil, 1))]),
        ]
        let root = DiscoverResponse.bootstrapDiscover(objects: objects, lwm2mVersion: .v1_0)
        XCTAssertEqual(root.text, try vector("bs-discover-root-oscore").text)
        let read = try DiscoverResponse.parse(root.text).get()
        XCTAssertEqual(read, root)
        XCTAssertEqual(read.enablerVersion, .v1_0)
        XCTAssertEqual(read.entries[2].attributes, [.shortServerID(111), .serverURI("coap://localhost:11")])
        XCTAssertEqual(try DiscoverResponse.parse(#"</>;lwm2m="1.1",</3/0>"#).get().enablerVersion, .v1_1, "Zephyr quotes lwm2m")
    }

    func testDiscoverReaderChecksLwM2MAttributeValues() throws {
        let cases = try vector("lwm2m-attribute-validation").cases ?? []
        XCTAssertEqual(cases.count, 6)
        for vectorCase in cases {
            let result = DiscoverResponse.parse(vectorCase.text)
            if vectorCase.error == true {
                XCTAssertNotNil(result.rejection, "accepted \(vectorCase.text): \(vectorCase.why ?? "")")
                continue
            }
            let entry = try XCTUnwrap(try result.get().entries.first, vectorCase.text)
            XCTAssertEqual(entry.path.description, vectorCase.path)
            let expected = try XCTUnwrap(vectorCase.attributes)
            XCTAssertEqual(entry.attributes.count, expected.count, vectorCase.text)
            for attribute in entry.attributes {
                XCTAssertEqual(attribute.coreLinkAttribute.value, expected[attribute.name].map(String.init), vectorCase.text)
            }
        }
        XCTAssertTrue(DiscoverResponse.parse("</3/0/11>;dim=256").rejection?.reason.contains("0-255") ?? false)
        XCTAssertTrue(DiscoverResponse.parse("</other/3>").rejection?.reason.contains("</other/3>") ?? false)
        XCTAssertTrue(DiscoverResponse.parse("</3>;pmin=1;pmin=2").rejection?.reason.contains("more than once") ?? false)
    }
}
