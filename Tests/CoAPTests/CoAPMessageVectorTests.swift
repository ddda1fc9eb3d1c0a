import CoAP
import SharedTestData
import XCTest

/// The CoAP codec against the transcribed vectors of ../shared/vectors/coap-messages.json.
final class CoAPMessageVectorTests: XCTestCase {
    /// Reject vectors whose source refuses a message that RFC 7252 lets us accept, with the reason.
    /// They are checked, not skipped: the message must decode with an elective option of bad length.
    static let rejectedOnlyByStricterSources: [String: String] = [
        "wk-content-format-3byte":
            "Content-Format (12) is elective: RFC 7252 5.4.3 ignores it when its length is bad; wakaama refuses the message",
    ]

    static let checkedKinds: Set = [
        "message", "option-sequence", "option-header-cases", "uint-option-values", "block-option-values",
        "uri-to-options",
    ]

    private static let requestHeader: [UInt8] = [0x40, 0x01, 0x00, 0x00]

    // MARK: Coverage

    func testEveryVectorHasAKindThisSuiteChecks() throws {
        let vectors = try CoAPVectorFile.load().vectors
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            XCTAssertTrue(Self.checkedKinds.contains(vector.kind), "vector \(vector.id): no test checks kind \"\(vector.kind)\"")
            if vector.kind == "message" {
                XCTAssertNotNil(vector.error, "vector \(vector.id): a message vector must say whether it is an error")
            }
        }
        XCTAssertEqual(Set(vectors.map(\.id)).count, vectors.count, "vector ids are unique")
    }

    // MARK: Valid messages

    func testValidMessagesDecodeToTheirFieldsAndReencodeByteExact() throws {
        let vectors = try CoAPVectorFile.load().messages(error: false)
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            let fields = try XCTUnwrap(vector.decoded, "vector \(vector.id) has no decoded fields")
            let datagram = try vector.datagram()
            XCTAssertEqual(fields.version, 1, "vector \(vector.id): only CoAP version 1 exists")
            switch CoAPMessage.decode(datagram) {
            case .failure(let error):
                XCTFail("vector \(vector.id): decoding failed: \(error)")
            case .success(let message):
                try assertMessage(message, matches: fields, vector.id)
                XCTAssertEqual(message.encoded().hexString, datagram.hexString, "vector \(vector.id): re-encoding")
            }
        }
    }

    func testValidMessagesBuiltFromTheirFieldsEncodeByteExact() throws {
        let vectors = try CoAPVectorFile.load().messages(error: false)
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            let datagram = try vector.datagram()
            let message = try buildMessage(XCTUnwrap(vector.decoded), vector.id)
            XCTAssertEqual(message.encoded().hexString, datagram.hexString, "vector \(vector.id)")
            XCTAssertEqual(message.encodedSize, datagram.count, "vector \(vector.id): encodedSize")
            var buffer: [UInt8] = [0xAA]
            message.encode(into: &buffer)
            XCTAssertEqual(buffer.hexString, "aa" + datagram.hexString, "vector \(vector.id): encode(into:) appends")
        }
    }

    // MARK: Malformed and refused messages

    func testMalformedMessagesAreRejectedByDecodingOrByTheOptionCheck() throws {
        let vectors = try CoAPVectorFile.load().messages(error: true)
        XCTAssertFalse(vectors.isEmpty)
        var refusedByDecoding = 0
        var refusedByOptionCheck = 0
        var acceptedAsRFC7252Allows = 0
        for vector in vectors {
            let datagram = try vector.datagram()
            let label = "vector \(vector.id) (\(vector.errorReason ?? "no error_reason"))"
            let layer = vector.errorLayer
            XCTAssertTrue(layer == "syntax" || layer == "semantic", "\(label): error_layer \(layer ?? "missing")")
            switch CoAPMessage.decode(datagram) {
            case .failure(let error):
                XCTAssertFalse(error.description.isEmpty, label)
                XCTAssertTrue((0...datagram.count).contains(error.offset), "\(label): offset \(error.offset)")
                refusedByDecoding += 1
            case .success(let message):
                XCTAssertEqual(layer, "semantic", "\(label): malformed bytes decoded as \(message)")
                if let problem = message.firstUnacceptableOption {
                    XCTAssertFalse(problem.reason.isEmpty, label)
                    refusedByOptionCheck += 1
                } else if let reason = Self.rejectedOnlyByStricterSources[vector.id] {
                    let ignorable = message.options.filter { option in
                        !option.number.isCritical
                            && option.number.definition.map { !$0.lengths.contains(option.value.count) } ?? false
                    }
                    XCTAssertFalse(ignorable.isEmpty, "\(label): \(reason), yet no elective option has a bad length")
                    acceptedAsRFC7252Allows += 1
                } else {
                    XCTFail("\(label): decoded as \(message) and no option was refused")
                }
            }
        }
        XCTAssertEqual(refusedByDecoding + refusedByOptionCheck + acceptedAsRFC7252Allows, vectors.count)
        XCTAssertEqual(
            acceptedAsRFC7252Allows, Self.rejectedOnlyByStricterSources.count,
            "every entry of rejectedOnlyByStricterSources names a vector that still needs it")
    }

    func testBadCriticalOptionVectorsGetBadOptionPiggybackedOnTheAck() throws {
        let vectors = try CoAPVectorFile.load().messages(error: true)
            .filter { $0.expectedResponse?.hasPrefix("4.02") ?? false }
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            let datagram = try vector.datagram()
            let request = try CoAPMessage.decode(datagram).get()
            let problem = try XCTUnwrap(request.firstUnacceptableOption, "vector \(vector.id)")
            XCTAssertEqual(request.type, .confirmable, "vector \(vector.id): 4.02 is piggybacked only on a CON")
            var endpoint = CoAPEndpoint(seed: 1)
            var output = CoAPEndpointOutput()
            endpoint.receive(datagram, now: .seconds(1), output: &output)
            XCTAssertEqual(output.events, [.rejected(.badOption(problem))], "vector \(vector.id)")
            XCTAssertEqual(output.datagrams.count, 1, "vector \(vector.id)")
            let reply = try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get()
            XCTAssertEqual(reply.type, .acknowledgement, "vector \(vector.id)")
            XCTAssertEqual(reply.code, CoAPCode("4.02"), "vector \(vector.id)")
            XCTAssertEqual(reply.messageID, request.messageID, "vector \(vector.id)")
            XCTAssertEqual(reply.token, request.token, "vector \(vector.id)")
        }
    }

    func testMalformedDatagramsAreCountedByTheEndpointAndNeverDelivered() throws {
        let vectors = try CoAPVectorFile.load().messages(error: true).filter { $0.errorLayer == "syntax" }
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            let datagram = try vector.datagram()
            guard case .failure(let error) = CoAPMessage.decode(datagram) else { continue }
            var endpoint = CoAPEndpoint(seed: 1)
            var output = CoAPEndpointOutput()
            endpoint.receive(datagram, now: .seconds(1), output: &output)
            XCTAssertEqual(output.events, [.rejected(.malformed(error))], "vector \(vector.id)")
            // RFC 7252 4.2: a CON that cannot be processed gets a Reset; anything else is dropped.
            for reply in output.datagrams {
                let reset = try CoAPMessage.decode(reply).get()
                XCTAssertEqual(reset.type, .reset, "vector \(vector.id)")
                XCTAssertEqual(reset.encoded(), [0x70, 0x00, datagram[2], datagram[3]], "vector \(vector.id)")
            }
        }
    }

    // MARK: Option sequences and option headers

    func testOptionSequencesDecodeAndReencodeByteExact() throws {
        let vectors = try CoAPVectorFile.load().vectors(kind: "option-sequence")
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            let datagram = try vector.datagram()
            switch CoAPMessage.decode(datagram) {
            case .failure(let error):
                XCTFail("vector \(vector.id): decoding failed: \(error)")
            case .success(let message):
                XCTAssertEqual(message.token.bytes.hexString, vector.tokenHex ?? "", "vector \(vector.id): token")
                assertOptions(message.options, match: try XCTUnwrap(vector.options), vector.id)
                XCTAssertEqual(message.payload.hexString, vector.payloadHex ?? "", "vector \(vector.id): payload")
                XCTAssertEqual(message.encoded().hexString, datagram.hexString, "vector \(vector.id): re-encoding")
            }
        }
    }

    /// Every valid case is the shortest encoding of its delta and length, so the encoder must produce
    /// it too; decoding is checked where the option number and the datagram fit their 16-bit limits.
    func testOptionHeaderCasesDecodeToTheirDeltaAndLengthAndEncodeAlike() throws {
        let groups = try CoAPVectorFile.load().vectors(kind: "option-header-cases")
        XCTAssertFalse(groups.isEmpty)
        var decoded = 0
        var beyondDatagramLimits = 0
        var refused = 0
        var total = 0
        for group in groups {
            for (index, headerCase) in try XCTUnwrap(group.cases, "vector \(group.id)").enumerated() {
                total += 1
                let label = "vector \(group.id), case \(index) (\(headerCase.sourceTest ?? "?"))"
                let header = try bytes(fromHex: XCTUnwrap(headerCase.hex, label), in: group.id)
                if headerCase.error == true {
                    if case .success(let message) = CoAPMessage.decode(Self.requestHeader + header) {
                        XCTFail("\(label): \(headerCase.reason ?? "invalid header") decoded as \(message)")
                    }
                    refused += 1
                    continue
                }
                let delta = try XCTUnwrap(headerCase.delta, label)
                let length = try XCTUnwrap(headerCase.length, label)
                XCTAssertEqual(header.count, headerCase.headerLength, label)
                guard let number = UInt16(exactly: delta) else {
                    beyondDatagramLimits += 1
                    continue
                }
                var message = CoAPMessage(type: .confirmable, code: .get)
                message.options.append(CoAPOptionNumber(number), bytes: repeatElement(0, count: length))
                let encoded = message.encoded()
                XCTAssertEqual(encoded.count, 4 + header.count + length, label)
                XCTAssertEqual(encoded.dropFirst(4).prefix(header.count).hexString, header.hexString, label)

                let datagram = Self.requestHeader + header + repeatElement(0, count: length)
                guard datagram.count <= Int(UInt16.max) else {
                    beyondDatagramLimits += 1
                    continue
                }
                switch CoAPMessage.decode(datagram) {
                case .failure(let error):
                    XCTFail("\(label): decoding failed: \(error)")
                case .success(let message):
                    XCTAssertEqual(message.options.count, 1, label)
                    XCTAssertEqual(message.options.first?.number.rawValue, number, label)
                    XCTAssertEqual(message.options.first?.value.count, length, label)
                    XCTAssertTrue(message.payload.isEmpty, label)
                    decoded += 1
                }
            }
        }
        XCTAssertGreaterThan(decoded, 0)
        XCTAssertGreaterThan(refused, 0)
        XCTAssertEqual(decoded + beyondDatagramLimits + refused, total, "every header case is decoded, refused or out of range")
    }

    func testReservedNibble15InAnOptionHeaderIsRefusedWithItsReason() throws {
        let groups = try CoAPVectorFile.load().vectors(kind: "option-header-cases")
        var checked = 0
        for group in groups {
            for headerCase in group.cases ?? [] where headerCase.error == true {
                let header = try bytes(fromHex: XCTUnwrap(headerCase.hex), in: group.id)
                guard let first = header.first, first != 0xFF, first >> 4 == 15 || first & 0x0F == 15 else { continue }
                let expected: CoAPDecodingError.Reason = first >> 4 == 15 ? .reservedOptionDelta : .reservedOptionLength
                guard case .failure(let error) = CoAPMessage.decode(Self.requestHeader + header) else {
                    XCTFail("vector \(group.id): header \(header.hexString) decoded")
                    continue
                }
                XCTAssertEqual(error, CoAPDecodingError(expected, at: 4), "vector \(group.id): header \(header.hexString)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0)
    }

    // MARK: Option values

    func testUintOptionValuesAreMinimalBigEndianAndReadBack() throws {
        let groups = try CoAPVectorFile.load().vectors(kind: "uint-option-values")
        XCTAssertFalse(groups.isEmpty)
        for group in groups {
            for valueCase in try XCTUnwrap(group.cases, "vector \(group.id)") {
                let value = try XCTUnwrap(valueCase.uint, "vector \(group.id)")
                let valueHex = try XCTUnwrap(valueCase.valueHex, "vector \(group.id)")
                let label = "vector \(group.id), uint \(value)"
                var options = CoAPOptions()
                options.append(.maxAge, uint: value)
                XCTAssertEqual(options.first?.value.hexString, valueHex, label)
                XCTAssertEqual(options.uint(.maxAge), value, label)

                let fromBytes = CoAPOptions([CoAPOption(number: .maxAge, value: try bytes(fromHex: valueHex, in: group.id)[...])])
                XCTAssertEqual(fromBytes.uint(.maxAge), value, "\(label): reading the vector's bytes")

                let message = CoAPMessage(type: .acknowledgement, code: .content, options: options)
                XCTAssertEqual(try CoAPMessage.decode(message.encoded()).get().options.uint(.maxAge), value, "\(label): on the wire")
            }
        }
    }

    func testBlockOptionValuesPackNumberMoreFlagAndSizeExponent() throws {
        let groups = try CoAPVectorFile.load().vectors(kind: "block-option-values")
        XCTAssertFalse(groups.isEmpty)
        for group in groups {
            for blockCase in try XCTUnwrap(group.cases, "vector \(group.id)") {
                let block = CoAPBlockOption(
                    number: try XCTUnwrap(blockCase.num), more: try XCTUnwrap(blockCase.m),
                    sizeExponent: try XCTUnwrap(blockCase.szx))
                let valueHex = try XCTUnwrap(blockCase.valueHex)
                let label = "vector \(group.id), block \(block.number)/\(block.more)/szx \(block.sizeExponent)"
                var options = CoAPOptions()
                options.append(.block2, uint: block.value)
                XCTAssertEqual(options.first?.value.hexString, valueHex, label)

                let vectorValue = CoAPOptions([CoAPOption(number: .block2, value: try bytes(fromHex: valueHex, in: group.id)[...])])
                    .uint(.block2)
                XCTAssertEqual(vectorValue.flatMap(CoAPBlockOption.init(value:)), block, "\(label): decoding the vector's bytes")

                var message = CoAPMessage(type: .confirmable, code: .put)
                message.setBlock1(block)
                XCTAssertEqual(try CoAPMessage.decode(message.encoded()).get().block1, block, "\(label): on the wire")
            }
            for (exponentText, size) in try XCTUnwrap(group.szxToSize, "vector \(group.id)") {
                let exponent = try XCTUnwrap(UInt8(exponentText), "vector \(group.id): szx \(exponentText)")
                XCTAssertEqual(CoAPBlockOption(number: 0, more: false, sizeExponent: exponent).size, size, "szx \(exponent)")
                XCTAssertEqual(CoAPBlockOption(number: 0, more: false, size: size)?.sizeExponent, exponent, "size \(size)")
            }
        }
    }

    /// The URI is parsed (RFC 7252 6.4) into host, port and percent-decoded segments, which become
    /// repeated options: each run of Uri-Path or Uri-Query repeats one number, so every header
    /// after the first has delta 0.
    func testUriSegmentsBecomeRepeatedOptionsWithDeltaZeroAfterTheFirst() throws {
        let vectors = try CoAPVectorFile.load().vectors(kind: "uri-to-options")
        XCTAssertFalse(vectors.isEmpty)
        for vector in vectors {
            let path = try XCTUnwrap(vector.uriPath, "vector \(vector.id)")
            let query = vector.uriQuery ?? []
            let deltaZero = try XCTUnwrap(vector.optionsHexDelta0, "vector \(vector.id)")
            let uri = try CoAPURI(try XCTUnwrap(vector.uri, "vector \(vector.id)"))
            XCTAssertEqual(uri.path, path, "vector \(vector.id)")
            XCTAssertEqual(uri.query, query, "vector \(vector.id)")
            if let host = vector.uriHost { XCTAssertEqual(uri.host, host, "vector \(vector.id)") }
            if let port = vector.uriPort { XCTAssertEqual(Int(uri.port), port, "vector \(vector.id)") }
            var message = CoAPMessage(type: .confirmable, code: .get)
            uri.addOptions(to: &message.options)

            let pathNumber = Int(CoAPOptionNumber.uriPath.rawValue)
            let queryNumber = Int(CoAPOptionNumber.uriQuery.rawValue)
            let pathOptions = try settingFirstDelta(pathNumber, of: bytes(fromHex: deltaZero.uriPath, in: vector.id))
            let queryOptions = try settingFirstDelta(
                path.isEmpty ? queryNumber : queryNumber - pathNumber, of: bytes(fromHex: deltaZero.uriQuery, in: vector.id))
            let datagram = message.encoded()
            XCTAssertEqual(datagram.dropFirst(4).hexString, (pathOptions + queryOptions).hexString, "vector \(vector.id)")

            let decoded = try CoAPMessage.decode(datagram).get()
            XCTAssertEqual(decoded.uriPath, path, "vector \(vector.id)")
            XCTAssertEqual(decoded.uriQuery, query, "vector \(vector.id)")

            if let host = vector.uriHost, let port = vector.uriPort {
                message.options.append(.uriHost, string: host)
                message.options.append(.uriPort, uint: UInt64(port))
                let withAuthority = try CoAPMessage.decode(message.encoded()).get()
                XCTAssertEqual(withAuthority.uriHost, host, "vector \(vector.id)")
                XCTAssertEqual(withAuthority.uriPort.map(Int.init), port, "vector \(vector.id)")
                XCTAssertEqual(withAuthority.uriPath, path, "vector \(vector.id)")
                XCTAssertNil(withAuthority.firstUnacceptableOption, "vector \(vector.id)")
            }
        }
    }

    // MARK: Helpers

    /// `options`, a run of headers that all have delta 0, with the first header's delta set to `delta`.
    private func settingFirstDelta(_ delta: Int, of options: [UInt8]) -> [UInt8] {
        guard let first = options.first else { return [] }
        precondition(first >> 4 == 0 && delta < 269, "a delta-0 header and a delta with at most one extension byte")
        let rest = options.dropFirst()
        if delta < 13 { return [UInt8(delta) << 4 | first] + rest }
        return [0xD0 | first, UInt8(delta - 13)] + rest
    }

    private func assertMessage(_ message: CoAPMessage, matches fields: CoAPVector.Fields, _ id: String) throws {
        XCTAssertEqual(message.type.description, fields.type, "vector \(id): type")
        XCTAssertEqual(message.code, try XCTUnwrap(CoAPCode(fields.code), "vector \(id): code \(fields.code)"), "vector \(id): code")
        XCTAssertEqual(message.code.description, fields.code, "vector \(id): code text")
        XCTAssertEqual(Int(message.messageID), fields.messageId, "vector \(id): message ID")
        XCTAssertEqual(message.token.bytes.hexString, fields.tokenHex, "vector \(id): token")
        assertOptions(message.options, match: fields.options, id)
        XCTAssertEqual(message.payload.hexString, fields.payloadHex, "vector \(id): payload")
    }

    private func assertOptions(_ options: CoAPOptions, match expected: [CoAPVector.Option], _ id: String) {
        XCTAssertEqual(options.map { Int($0.number.rawValue) }, expected.map(\.number), "vector \(id): option numbers")
        for (index, (option, want)) in zip(options, expected).enumerated() {
            let label = "vector \(id), option \(index) (\(want.number))"
            XCTAssertEqual(option.value.hexString, want.valueHex, label)
            if let name = want.name { XCTAssertEqual(option.number.definition?.name, name, label) }
            if let string = want.string { XCTAssertEqual(option.stringValue, string, label) }
            if let uint = want.uint { XCTAssertEqual(option.uintValue, uint, label) }
            if let block = want.block {
                XCTAssertEqual(
                    option.uintValue.flatMap(CoAPBlockOption.init(value:)),
                    CoAPBlockOption(number: block.num, more: block.m, sizeExponent: block.szx), label)
            }
        }
    }

    /// The message described by `fields`, built through the public API with the raw option bytes.
    private func buildMessage(_ fields: CoAPVector.Fields, _ id: String) throws -> CoAPMessage {
        let type = try XCTUnwrap(CoAPMessageType.allCases.first { $0.description == fields.type }, "vector \(id): type")
        let code = try XCTUnwrap(CoAPCode(fields.code), "vector \(id): code \(fields.code)")
        let messageID = try XCTUnwrap(UInt16(exactly: fields.messageId), "vector \(id): message ID")
        let token = try XCTUnwrap(CoAPToken(bytes: bytes(fromHex: fields.tokenHex, in: id)), "vector \(id): token")
        var options = CoAPOptions()
        for option in fields.options {
            let number = try XCTUnwrap(UInt16(exactly: option.number), "vector \(id): option \(option.number)")
            options.append(CoAPOptionNumber(number), bytes: try bytes(fromHex: option.valueHex, in: id))
        }
        let payload = try bytes(fromHex: fields.payloadHex, in: id)
        return CoAPMessage(type: type, code: code, messageID: messageID, token: token, options: options, payload: payload[...])
    }
}

/// `coap-messages.json`: CoAP datagrams, option sequences and option value cases.
struct CoAPVectorFile: Decodable {
    var description: String
    var vectors: [CoAPVector]

    static func load() throws -> CoAPVectorFile {
        try SharedVectors.load("coap-messages.json", as: CoAPVectorFile.self)
    }

    func vectors(kind: String) -> [CoAPVector] {
        vectors.filter { $0.kind == kind }
    }

    /// The `message` vectors that must be rejected (`error: true`) or accepted.
    func messages(error: Bool) -> [CoAPVector] {
        vectors.filter { $0.kind == "message" && $0.error == error }
    }
}

/// One entry of `coap-messages.json`; which fields are set depends on `kind` (../shared/vectors/README.md).
struct CoAPVector: Decodable {
    var id: String
    var kind: String
    var source: String
    var error: Bool?
    var notes: String?

    // kind "message"
    var hex: String?
    var decoded: Fields?
    var errorReason: String?
    var errorLayer: String?
    var expectedResponse: String?

    // kind "option-sequence"
    var tokenLength: Int?
    var hexAfterHeader: String?
    var tokenHex: String?
    var options: [Option]?
    var payloadHex: String?

    // kinds "option-header-cases", "uint-option-values", "block-option-values"
    var cases: [Case]?
    var szxToSize: [String: Int]?

    // kind "uri-to-options"
    var uri: String?
    var uriHost: String?
    var uriPort: Int?
    var uriPath: [String]?
    var uriQuery: [String]?
    var optionsHexDelta0: DeltaZeroOptions?

    /// The decoded fields of a valid message.
    struct Fields: Decodable {
        var version: Int
        var type: String
        var code: String
        var messageId: Int
        var tokenHex: String
        var options: [Option]
        var payloadHex: String
    }

    struct Option: Decodable {
        var number: Int
        var name: String?
        var string: String?
        var uint: UInt64?
        var block: Block?
        var valueHex: String
    }

    struct Block: Decodable {
        var num: UInt32
        var m: Bool
        var szx: UInt8
    }

    /// One case of a grouped vector: an option header, a uint value or a block value.
    struct Case: Decodable {
        var hex: String?
        var sourceTest: String?
        var delta: Int?
        var length: Int?
        var headerLength: Int?
        var error: Bool?
        var reason: String?
        var uint: UInt64?
        var valueHex: String?
        var num: UInt32?
        var m: Bool?
        var szx: UInt8?
    }

    struct DeltaZeroOptions: Decodable {
        var uriPath: String
        var uriQuery: String
    }

    /// The datagram of a `message` vector, or an `option-sequence` behind a CON GET header with
    /// message ID 0.
    func datagram() throws -> [UInt8] {
        if let hex {
            return try bytes(fromHex: hex, in: id)
        }
        guard let hexAfterHeader, let tokenLength, (0...8).contains(tokenLength) else {
            throw VectorFileError("vector \(id): neither hex nor hex_after_header with a token_length of 0-8")
        }
        return [0x40 | UInt8(tokenLength), 0x01, 0x00, 0x00] + (try bytes(fromHex: hexAfterHeader, in: id))
    }
}
