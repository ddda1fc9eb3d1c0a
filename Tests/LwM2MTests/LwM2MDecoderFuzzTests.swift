import CoAP
import LwM2M
import SharedTestData
import XCTest

/// Random and mutated payloads into every LwM2M decoder: each input decodes or is refused with
/// an error value; nothing traps.
final class LwM2MDecoderFuzzTests: XCTestCase {
    private func seedPayloads() throws -> [[UInt8]] {
        let model = LwM2MModel.core
        var seeds: [[UInt8]] = []
        let device = LwM2MPath(objectID: 3, instanceID: 0)
        let records: [LwM2MRecord] = [
            LwM2MRecord(path: device.appending(0)!, value: .string("Open Mobile Alliance")),
            LwM2MRecord(path: device.appending(6)!.appending(0)!, value: .integer(1)),
            LwM2MRecord(path: device.appending(6)!.appending(1)!, value: .integer(5)),
            LwM2MRecord(path: device.appending(9)!, value: .integer(100)),
            LwM2MRecord(path: device.appending(13)!, value: .time(1_367_491_215)),
            LwM2MRecord(path: device.appending(16)!, value: .string("U")),
        ]
        for format in [LwM2MContentFormat.tlv, .senmlJSON, .senmlCBOR, .lwm2mJSON] {
            seeds.append(try LwM2MPayloadCodec.encode(records, format: format, requestPath: device).get())
            _ = try LwM2MPayloadCodec.decode(seeds.last!, format: format, requestPath: device, model: model).get()
        }
        seeds.append(Array(#"</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</3/0>,</0/1>;ssid=101;uri="coap://a:5683""#.utf8))
        seeds.append(Array("ep=sim-000001".utf8))
        // Every wire vector of the shared files, when they are there.
        if let directory = try? FileManager.default.contentsOfDirectory(atPath: SharedVectors.directory.path) {
            for name in directory where name.hasSuffix(".json") {
                let data = try Data(contentsOf: SharedVectors.directory.appendingPathComponent(name))
                let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                for vector in json?["vectors"] as? [[String: Any]] ?? [] {
                    if let hex = vector["hex"] as? String, let bytes = [UInt8](hex: hex) { seeds.append(bytes) }
                    if let text = (vector["payload"] ?? vector["text"]) as? String { seeds.append(Array(text.utf8)) }
                }
            }
        }
        return seeds
    }

    private func mutate(_ seed: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + Int(random.next() % 4)) {
            switch random.next() % 6 {
            case 0 where !bytes.isEmpty:
                bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(1 << (random.next() % 8))
            case 1 where !bytes.isEmpty:
                bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            case 2 where !bytes.isEmpty:
                bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
            case 3:
                bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: Int(random.next() % UInt64(bytes.count + 1)))
            case 4 where !bytes.isEmpty:
                let interesting: [UInt8] = [0x00, 0xFF, 0x7F, 0x80, 0x22, 0x5C, 0x5B, 0x7B, 0x3A, 0x2C, 0xC0, 0x1F, 0x9F, 0xBF]
                bytes[Int(random.next() % UInt64(bytes.count))] = interesting[Int(random.next() % UInt64(interesting.count))]
            default:
                let cut = Int(random.next() % UInt64(bytes.count + 1))
                bytes = Array(bytes[..<cut] + bytes[cut...].prefix(Int(random.next() % 16)) + bytes[cut...])
            }
        }
        return bytes
    }

    func testHundredThousandInputsToEveryDecoderNeverTrap() throws {
        let model = LwM2MModel.core
        let seeds = try seedPayloads()
        var random = SeededRandom(seed: 0x4C77_324D)
        let paths = ["/", "/3", "/3/0", "/3/0/6", "/3/0/6/1", "/0", "/1/0", "/5/0/0", "/42000/1"].map { try! LwM2MPath(parsing: $0) }
        var accepted = 0
        var refused = 0
        for iteration in 0..<100_000 {
            let input: [UInt8]
            if iteration % 5 == 0 {
                input = (0..<Int(random.next() % 48)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                input = mutate(seeds[Int(random.next() % UInt64(seeds.count))], &random)
            }
            let path = paths[Int(random.next() % UInt64(paths.count))]
            for format in LwM2MPayloadCodec.supportedFormats {
                switch LwM2MPayloadCodec.decode(input, format: format, requestPath: path, model: model) {
                case .success(let records):
                    accepted += 1
                    XCTAssertTrue(records.allSatisfy { path.contains($0.path) }, "\(format) left the request path \(path)")
                case .failure(let error):
                    refused += 1
                    XCTAssertFalse(error.reason.isEmpty)
                }
            }
            if case .failure(let error) = LinkFormat.parse(String(decoding: input, as: UTF8.self)) {
                XCTAssertFalse(error.reason.isEmpty)
            }
            _ = try? RegistrationParameters(queryItems: [String(decoding: input, as: UTF8.self)])
        }
        XCTAssertGreaterThan(accepted, 1_000, "mutations of valid payloads must often still decode")
        XCTAssertGreaterThan(refused, 100_000)
    }
}
