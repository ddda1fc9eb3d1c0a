import ArgumentParser
import CoAP
import Foundation
import LwM2M

/// `lwm2m-fleet decode`: shows what a captured payload or datagram holds, as JSON.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a CoAP datagram or an LwM2M payload and print it as JSON.",
        discussion: """
            INPUT is hex (spaces allowed) or '-' to read raw bytes from standard input. \
            LwM2M formats print {"records": [{"path", "type", "value"}]}, typed by the object \
            definitions (built-in core objects plus --ddf); link prints {"links": [...]}; \
            coap prints the message fields, the code and option names and option values read by \
            their format (the payload also as text when it is text). Undecodable input exits with status 1 and one line \
            on standard error saying what is wrong and where.
            """
    )

    /// The payload formats this command reads.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case coap, tlv, senmlJSON = "senml-json", senmlCBOR = "senml-cbor", lwm2mJSON = "lwm2m-json"
        case text, opaque, link
    }

    @Option(name: .long, help: "One of: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: Format

    @Option(name: .long, help: "The request path the payload belongs to (/o, /o/i, /o/i/r, /o/i/r/ri).")
    var path: String = "/"

    @Option(name: .long, help: "A directory of DDF XML files defining objects beyond the core ones.")
    var ddf: String?

    @Argument(help: "Hex bytes (spaces allowed), or '-' for raw bytes on standard input.")
    var input: String

    func validate() throws {
        do {
            _ = try LwM2MPath(parsing: path)
        } catch {
            throw ValidationError("--path: \(error)")
        }
    }

    func run() throws {
        let bytes = try readInput()
        let output: JSONOutput
        switch format {
        case .coap:
            output = try decodeCoAP(bytes)
        case .link:
            output = try decodeLinks(bytes)
        case .tlv, .senmlJSON, .senmlCBOR, .lwm2mJSON, .text, .opaque:
            output = try decodeRecords(bytes)
        }
        print(output.serialized)
    }

    private func readInput() throws(DecodeFailure) -> [UInt8] {
        if input == "-" {
            return Array(FileHandle.standardInput.readDataToEndOfFile())
        }
        var bytes: [UInt8] = []
        var high: UInt8?
        for (index, character) in input.enumerated() where !character.isWhitespace {
            guard let nibble = character.hexDigitValue.map(UInt8.init) else {
                throw DecodeFailure("input is not hex: '\(character)' at character \(index)")
            }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil else { throw DecodeFailure("input has an odd number of hex digits") }
        return bytes
    }

    private func decodeCoAP(_ bytes: [UInt8]) throws -> JSONOutput {
        switch CoAPMessage.decode(bytes) {
        case .failure(let error):
            throw DecodeFailure("not a CoAP message: \(error)")
        case .success(let message):
            var fields: [(String, JSONOutput)] = [
                ("type", .string("\(message.type)")),
                ("code", .string("\(message.code)")),
                ("code_name", message.code.name.map(JSONOutput.string) ?? .null),
                ("message_id", .integer(message.messageID)),
                ("token", .string(message.token.description)),
                ("options", .array(message.options.map { describe($0.number, $0.value) })),
                ("payload", .string(hex(message.payload))),
            ]
            // A payload people can read (link-format, SenML JSON, plain text) also as text.
            if !message.payload.isEmpty, let text = String(validating: message.payload, as: UTF8.self),
               text.unicodeScalars.allSatisfy({ $0.value >= 0x20 || $0 == "\n" || $0 == "\r" || $0 == "\t" }) {
                fields.append(("payload_text", .string(text)))
            }
            return .object(fields)
        }
    }

    private func decodeLinks(_ bytes: [UInt8]) throws -> JSONOutput {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DecodeFailure("link-format: the payload is not UTF-8 text")
        }
        switch LinkFormat.parse(text) {
        case .failure(let error):
            throw DecodeFailure("\(error)")
        case .success(let links):
            return .object([("links", .array(links.map { link in
                .object([
                    ("uri", .string(link.uri)),
                    ("attributes", .object(link.attributes.map { ($0.name, $0.value.map(JSONOutput.string) ?? .null) })),
                ])
            }))])
        }
    }

    private func decodeRecords(_ bytes: [UInt8]) throws -> JSONOutput {
        let requestPath = try LwM2MPath(parsing: path)
        var model = LwM2MModel.core
        if let ddf {
            do {
                model.add(try LwM2MModel.loadingDirectory(URL(fileURLWithPath: ddf)) { file, reason in
                    FileHandle.standardError.write(Data("note: --ddf: skipped \(file): \(reason)\n".utf8))
                })
            } catch {
                throw ValidationError("--ddf: \(error)")
            }
        }
        let contentFormat: LwM2MContentFormat = switch format {
        case .tlv: .tlv
        case .senmlJSON: .senmlJSON
        case .senmlCBOR: .senmlCBOR
        case .lwm2mJSON: .lwm2mJSON
        case .text: .plainText
        case .opaque: .opaque
        case .coap, .link: preconditionFailure("not an LwM2M value format")
        }
        switch LwM2MPayloadCodec.decode(bytes, format: contentFormat, requestPath: requestPath, model: model) {
        case .failure(let error):
            throw DecodeFailure("\(error)")
        case .success(let records):
            return .object([("records", .array(records.map(recordJSON)))])
        }
    }

    private func recordJSON(_ record: LwM2MRecord) -> JSONOutput {
        let value: JSONOutput = switch record.value {
        case .string(let text), .coreLink(let text): .string(text)
        case .integer(let number), .time(let number): .integer(number)
        case .unsignedInteger(let number): .integer(number)
        case .float(let number): .float(number)
        case .boolean(let flag): .bool(flag)
        case .opaque(let bytes): .string(hex(bytes))
        case .objectLink(let link): .string(link.description)
        }
        var members: [(String, JSONOutput)] = [
            ("path", .string(record.path.description)),
            ("type", .string(record.value.type.rawValue)),
            ("value", value),
        ]
        if let time = record.time { members.append(("time", .float(time))) }
        return .object(members)
    }

    /// An option with its name and its value as its format reads (RFC 7252 3.2): a string, a
    /// number (with the media type of a Content-Format or Accept, the parts of a Block option),
    /// hex for opaque bytes and for options this tool does not know.
    private func describe(_ number: CoAPOptionNumber, _ value: some Collection<UInt8>) -> JSONOutput {
        var fields: [(String, JSONOutput)] = [("number", .integer(number.rawValue)), ("name", .string(number.description))]
        switch number.definition?.format {
        case .string?:
            if let text = String(validating: Array(value), as: UTF8.self) {
                fields.append(("value", .string(text)))
            } else {
                fields.append(("value_hex", .string(hex(value))))
            }
        case .uint? where value.count <= 8:
            let number64 = value.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            fields.append(("value", .number(String(number64))))
            if number == .contentFormat || number == .accept {
                fields.append(("format", .string(LwM2MContentFormat(rawValue: UInt16(truncatingIfNeeded: number64)).description)))
            } else if number == .block1 || number == .block2, let block = CoAPBlockOption(value: number64) {
                fields.append(("block", .object([
                    ("num", .number(String(block.number))), ("more", .bool(block.more)), ("size", .integer(block.size)),
                ])))
            }
        case .empty? where value.isEmpty:
            fields.append(("value", .null))
        default:
            fields.append(("value_hex", .string(hex(value))))
        }
        return .object(fields)
    }

    private func hex(_ bytes: some Collection<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// Input that does not decode: reported on one line of standard error, exit status 1.
struct DecodeFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
