import LwM2M
import XCTest

/// Every resource of every core object, populated and sent through every LwM2M value format.
final class CoreObjectRoundTripTests: XCTestCase {
    /// A value of `type` that exercises the format: long strings, extreme integers, fractions.
    private func sampleValue(_ type: LwM2MResourceType, seed: Int) -> LwM2MValue? {
        switch type {
        case .string: .string("value \(seed) \u{e9}\u{4e2d} \"quoted\" \\ /")
        case .integer: .integer(seed.isMultiple(of: 2) ? Int64.min + Int64(seed) : Int64(seed) * 100_003)
        case .unsignedInteger: .unsignedInteger(UInt64.max - UInt64(seed))
        case .float: .float(seed.isMultiple(of: 2) ? 3.25 * Double(seed) : -1.0e-7 * Double(seed + 1))
        case .boolean: .boolean(seed.isMultiple(of: 2))
        case .opaque: .opaque((0..<(seed % 40 + 1)).map { UInt8(truncatingIfNeeded: $0 * 37 + seed) })
        case .time: .time(1_700_000_000 + Int64(seed))
        case .objectLink: .objectLink(LwM2MObjectLink(objectID: UInt16(seed % 65_000), instanceID: UInt16(seed % 7)))
        case .coreLink: .coreLink("</3/0>;ver=1.1,</1/\(seed)>")
        case .none: nil
        }
    }

    /// An instance of `definition` with every resource that has a value; multiple ones get two instances.
    private func populatedInstance(_ definition: LwM2MObjectDefinition) -> [LwM2MRecord] {
        var records: [LwM2MRecord] = []
        for (index, resource) in definition.resources.enumerated() {
            let resourcePath = LwM2MPath(objectID: definition.id, instanceID: 0, resourceID: resource.id)
            if resource.isMultipleInstance {
                for instance in [UInt16(0), 7] {
                    guard let value = sampleValue(resource.type, seed: index * 10 + Int(instance)) else { continue }
                    records.append(LwM2MRecord(path: resourcePath.appending(instance)!, value: value))
                }
            } else if let value = sampleValue(resource.type, seed: index) {
                records.append(LwM2MRecord(path: resourcePath, value: value))
            }
        }
        return records
    }

    func testFullyPopulatedCoreInstancesRoundTripInEveryFormat() throws {
        let model = LwM2MModel.core
        XCTAssertEqual(model.objects.keys.sorted(), Array(0...7))
        let formats: [LwM2MContentFormat] = [.tlv, .senmlJSON, .senmlCBOR, .lwm2mJSON]
        for objectID in UInt16(0)...7 {
            let definition = try XCTUnwrap(model.object(objectID))
            let records = populatedInstance(definition)
            XCTAssertFalse(records.isEmpty, "object \(objectID)")
            for requestPath in [LwM2MPath(objectID: objectID), LwM2MPath(objectID: objectID, instanceID: 0)] {
                for format in formats {
                    let encoded = try LwM2MPayloadCodec.encode(records, format: format, requestPath: requestPath).get()
                    let decoded = try LwM2MPayloadCodec.decode(encoded, format: format, requestPath: requestPath, model: model).get()
                    XCTAssertEqual(decoded, records, "object \(objectID) via \(format) at \(requestPath)")
                    XCTAssertEqual(LwM2MObject.objects(from: decoded), LwM2MObject.objects(from: records))
                }
            }
        }
    }

    func testSingleResourcesRoundTripInTextAndOpaque() throws {
        let model = LwM2MModel.core
        for objectID in UInt16(0)...7 {
            let definition = try XCTUnwrap(model.object(objectID))
            for (index, resource) in definition.resources.enumerated() where !resource.isMultipleInstance {
                guard let value = sampleValue(resource.type, seed: index) else { continue }
                let path = LwM2MPath(objectID: objectID, instanceID: 0, resourceID: resource.id)
                let record = [LwM2MRecord(path: path, value: value)]
                let format: LwM2MContentFormat = resource.type == .opaque ? .opaque : .plainText
                let encoded = try LwM2MPayloadCodec.encode(record, format: format, requestPath: path).get()
                let decoded = try LwM2MPayloadCodec.decode(encoded, format: format, requestPath: path, model: model).get()
                XCTAssertEqual(decoded, record, "\(path) via \(format)")
            }
        }
    }
}
