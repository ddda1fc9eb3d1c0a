import Foundation
@testable import LwM2M
import SharedTestData
import XCTest

/// Object definitions read from DDF XML: the OMA registry, the bundled core objects, and users' own files.
final class DDFLoadingTests: XCTestCase {
    /// A user-defined object; `<Type>` is on line 15. LWM2MVersion, ObjectVersion and
    /// RangeEnumeration are left out on purpose: they default.
    private static func customObjectDDF(type: String = "Integer", id: UInt16 = 32769) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <LWM2M>
          <Object ObjectType="MODefinition">
            <Name>Fleet Test Counter</Name>
            <ObjectID>\(id)</ObjectID>
            <ObjectURN>urn:oma:lwm2m:x:\(id)</ObjectURN>
            <MultipleInstances>Multiple</MultipleInstances>
            <Mandatory>Optional</Mandatory>
            <Resources>
              <Item ID="0">
                <Name>Count</Name>
                <Operations>RW</Operations>
                <MultipleInstances>Single</MultipleInstances>
                <Mandatory>Mandatory</Mandatory>
                <Type>\(type)</Type>
                <Units>events</Units>
              </Item>
            </Resources>
          </Object>
        </LWM2M>

        """
    }

    private func parseError(_ text: String, source: String) -> DDFError? {
        do {
            let objects = try LwM2MObjectDefinition.parseDDF(Data(text.utf8), source: source)
            XCTFail("\(source) loaded \(objects.count) objects, expected an error")
            return nil
        } catch {
            return error
        }
    }

    func testEveryRegistryFileLoads() throws {
        let directory = try SharedVectors.registryDirectory()
        // The registry folder also holds files that are not object definitions; each must be refused.
        let nonObjectFiles: [String: String] = [
            "Common.xml": "reusable resources 4000+ (ObjectType CommonResources) with no ObjectID",
            "DDF.xml": "the registry index: a <DDFList> of every object version",
            "LWM2M_senml_units.xml": "extra SenML units: a <units> document",
        ]
        let fileNames = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".xml") }
            .sorted()
        var loadedFileCount = 0
        var fileOfObject: [UInt16: String] = [:]
        var duplicates: [String] = []
        var failures: [String] = []
        var resourceCount = 0
        var typesSeen: Set<LwM2MResourceType> = []
        for fileName in fileNames {
            let data = try Data(contentsOf: directory.appendingPathComponent(fileName))
            if let reason = nonObjectFiles[fileName] {
                XCTAssertThrowsError(
                    try LwM2MObjectDefinition.parseDDF(data, source: fileName), "\(fileName) is \(reason)"
                ) { error in
                    XCTAssertTrue("\(error)".hasPrefix(fileName), "\(error)")
                }
                continue
            }
            do {
                let objects = try LwM2MObjectDefinition.parseDDF(data, source: fileName)
                loadedFileCount += 1
                // Registry files are named after the one object they define.
                XCTAssertEqual(objects.map { "\($0.id).xml" }, [fileName])
                for object in objects {
                    if let earlier = fileOfObject[object.id] {
                        duplicates.append("\(object.id) in \(earlier) and \(fileName)")
                    }
                    fileOfObject[object.id] = fileName
                    resourceCount += object.resources.count
                    typesSeen.formUnion(object.resources.map(\.type))
                }
            } catch {
                failures.append("\(error)")
            }
        }
        // The registry README says 332 objects; the folder holds 327 object files. None fails,
        // although 18 (3410, 3416, ..., 3461) omit RangeEnumeration, which LWM2M.xsd requires, and
        // some name LWM2M.xsd while using the 1.1 types: the loader accepts both, as Leshan does.
        XCTAssertEqual(failures, [])
        XCTAssertEqual(loadedFileCount, 327)
        XCTAssertEqual(fileOfObject.count, 327)
        XCTAssertEqual(duplicates, [])
        XCTAssertEqual(resourceCount, 3464)
        XCTAssertEqual(typesSeen, Set(LwM2MResourceType.allCases))
    }

    func testDeviceObjectHasTheResourcesItsXMLLists() throws {
        let data = try Data(contentsOf: try SharedVectors.registryDirectory().appendingPathComponent("3.xml"))
        let objects = try LwM2MObjectDefinition.parseDDF(data, source: "3.xml")
        XCTAssertEqual(objects.count, 1)
        let device = try XCTUnwrap(objects.first)
        XCTAssertEqual(device.id, 3)
        XCTAssertEqual(device.name, "Device")
        XCTAssertFalse(device.isMultipleInstance)
        XCTAssertTrue(device.isMandatory)
        XCTAssertEqual(device.objectVersion, "1.2")
        XCTAssertEqual(device.lwm2mVersion, "1.1")
        XCTAssertEqual(device.urn, "urn:oma:lwm2m:oma:3:1.2")
        XCTAssertEqual(device.resources.map(\.id), Array(0...22))

        XCTAssertEqual(
            device.resource(0),
            LwM2MResourceDefinition(
                id: 0, name: "Manufacturer", operations: .read, isMultipleInstance: false, isMandatory: false,
                type: .string))
        let reboot = try XCTUnwrap(device.resource(4))
        XCTAssertEqual(reboot.name, "Reboot")
        XCTAssertEqual(reboot.operations, .execute)
        XCTAssertEqual(reboot.type, .none)
        XCTAssertTrue(reboot.isMandatory)
        let powerSources = try XCTUnwrap(device.resource(6))
        XCTAssertEqual(powerSources.name, "Available Power Sources")
        XCTAssertEqual(powerSources.operations, .read)
        XCTAssertEqual(powerSources.type, .integer)
        XCTAssertTrue(powerSources.isMultipleInstance)
        XCTAssertEqual(powerSources.rangeEnumeration, "0..7")
        let batteryLevel = try XCTUnwrap(device.resource(9))
        XCTAssertEqual(batteryLevel.rangeEnumeration, "0..100")
        XCTAssertEqual(batteryLevel.units, "/100")
        let currentTime = try XCTUnwrap(device.resource(13))
        XCTAssertEqual(currentTime.name, "Current Time")
        XCTAssertEqual(currentTime.operations, [.read, .write])
        XCTAssertEqual(currentTime.type, .time)
        XCTAssertEqual(device.resource(22)?.type, .objectLink)
    }

    func testCoreModelHoldsObjectsZeroToSevenFromTheBundle() throws {
        // Needs no ../shared: the core model comes from the module's resource bundle.
        let core = LwM2MModel.core
        XCTAssertEqual(Set(core.objects.keys), Set(0...7))
        XCTAssertEqual(core.object(3)?.name, "Device")
        XCTAssertEqual(core.object(0)?.name, "LWM2M Security")
        XCTAssertEqual(core.resourceType(at: LwM2MPath(objectID: 1, instanceID: 0, resourceID: 1)), .integer)

        let bundledCopies = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Sources/LwM2M/CoreObjects")
        XCTAssertEqual(core.objects, LwM2MModel(try LwM2MModel.loadingDirectory(bundledCopies)).objects)
    }

    /// The package ships its own minimal DDF files for objects 0-7 (the registry's files may not
    /// be copied into the tree); they must define exactly what the registry defines.
    func testBuiltInCoreObjectsMatchTheRegistry() throws {
        let directory = try SharedVectors.registryDirectory()
        for objectID in UInt16(0)...7 {
            let data = try Data(contentsOf: directory.appendingPathComponent("\(objectID).xml"))
            let registry = try LwM2MObjectDefinition.parseDDF(data, source: "\(objectID).xml")
            XCTAssertEqual(registry.count, 1)
            XCTAssertEqual(LwM2MModel.core.object(objectID), registry.first, "object \(objectID)")
        }
    }

    func testBadTypeNamesFileLineAndTheAllowedTypes() {
        let error = parseError(Self.customObjectDDF(type: "Strng"), source: "counter.xml")
        XCTAssertEqual(error?.source, "counter.xml")
        XCTAssertEqual(error?.line, 15)
        let message = error.map { "\($0)" } ?? ""
        XCTAssertTrue(
            message.hasPrefix("counter.xml line 15: resource 0 has Type 'Strng', expected one of String, Integer"),
            message)
        XCTAssertTrue(message.contains("Unsigned Integer"), message)
    }

    func testTruncatedXMLNamesFileAndLine() {
        let lines = Self.customObjectDDF().split(separator: "\n", omittingEmptySubsequences: false)
        let truncated = lines.prefix(12).joined(separator: "\n")
        XCTAssertEqual(
            parseError(truncated, source: "cut.xml")?.description,
            "cut.xml line 12: the file ends inside <Item> (opened at line 10); is it truncated?")
        let mismatched = Self.customObjectDDF().replacingOccurrences(of: "</Units>", with: "</Unit>")
        XCTAssertEqual(
            parseError(mismatched, source: "mismatch.xml")?.description,
            "mismatch.xml line 16: is not well-formed XML: an end tag does not match its start tag")
    }

    func testMissingAndMisspelledElementsAreNamed() {
        let noMandatory = Self.customObjectDDF()
            .replacingOccurrences(of: "<Mandatory>Mandatory</Mandatory>", with: "")
        XCTAssertEqual(
            parseError(noMandatory, source: "a.xml")?.description, "a.xml line 10: resource 0 has no <Mandatory> element")
        let badMultiple = Self.customObjectDDF()
            .replacingOccurrences(of: "<MultipleInstances>Multiple<", with: "<MultipleInstances>Many<")
        XCTAssertEqual(
            parseError(badMultiple, source: "b.xml")?.description,
            "b.xml line 7: object 32769 has MultipleInstances 'Many', expected Multiple or Single")
        let notDDF = "<?xml version=\"1.0\"?>\n<DDFList><Item/></DDFList>\n"
        XCTAssertEqual(
            parseError(notDDF, source: "DDF.xml")?.description,
            "DDF.xml line 2: root element is <DDFList>, expected <LWM2M>: not an object definition (DDF) file")
    }

    /// `--ddf` and a fleet's `ddf:` may name the registry's own folder: the files in it that
    /// define no object are skipped, each with its reason, and every object loads.
    func testTheRegistryDirectoryLoadsAsItIsSkippingTheFilesThatDefineNoObject() throws {
        let directory = try SharedVectors.registryDirectory()
        var skipped: [String: String] = [:]
        let objects = try LwM2MModel.loadingDirectory(directory) { file, reason in
            skipped[URL(fileURLWithPath: file).lastPathComponent] = reason
        }
        XCTAssertEqual(objects.count, 327)
        XCTAssertEqual(skipped, [
            "Common.xml": "it defines no object (no <ObjectID>)",
            "DDF.xml": "its root element is <DDFList>, not <LWM2M>",
            "LWM2M_senml_units.xml": "its root element is <units>, not <LWM2M>",
        ])
    }

    func testAnObjectFileIsToldApartByItsRootAndItsObjectID() {
        let object = Data(Self.customObjectDDF().utf8)
        XCTAssertNil(LwM2MModel.notAnObjectFile(object))
        XCTAssertEqual(LwM2MModel.notAnObjectFile(Data("<?xml version=\"1.0\"?>\n<!-- <LWM2M> in a comment -->\n<units/>".utf8)),
                       "its root element is <units>, not <LWM2M>")
        XCTAssertEqual(LwM2MModel.notAnObjectFile(Data("<LWM2M><Object ObjectType=\"CommonResources\"></Object></LWM2M>".utf8)),
                       "it defines no object (no <ObjectID>)")
        XCTAssertEqual(LwM2MModel.notAnObjectFile(Data("not xml at all".utf8)), "no root element")
    }

    func testLoadingDirectoryReadsAUsersCustomObject() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("DDFLoadingTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(Self.customObjectDDF().utf8).write(to: directory.appendingPathComponent("counter.xml"))
        try Data("not a DDF".utf8).write(to: directory.appendingPathComponent("notes.txt"))

        let objects = try LwM2MModel.loadingDirectory(directory)
        XCTAssertEqual(objects.count, 1)
        let counter = try XCTUnwrap(objects.first)
        XCTAssertEqual(counter.id, 32769)
        XCTAssertEqual(counter.name, "Fleet Test Counter")
        XCTAssertEqual(counter.objectVersion, "1.0")
        XCTAssertEqual(counter.lwm2mVersion, "1.0")
        XCTAssertTrue(counter.isMultipleInstance)
        XCTAssertFalse(counter.isMandatory)
        XCTAssertEqual(
            counter.resources,
            [
                LwM2MResourceDefinition(
                    id: 0, name: "Count", operations: [.read, .write], isMultipleInstance: false, isMandatory: true,
                    type: .integer, units: "events")
            ])

        let model = LwM2MModel.withCore(adding: objects)
        XCTAssertEqual(Set(model.objects.keys), Set(0...7).union([32769]))

        try Data(Self.customObjectDDF(type: "Float").utf8).write(to: directory.appendingPathComponent("copy.xml"))
        XCTAssertThrowsError(try LwM2MModel.loadingDirectory(directory)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("counter.xml") && message.contains("copy.xml"), message)
            XCTAssertTrue(message.contains("object 32769"), message)
        }
    }
}
