import Foundation
import XCTest

/// `lwm2m-fleet decode` run as users run it: the built executable, its stdout, stderr and exit status.
final class DecodeCommandTests: XCTestCase {
    private struct Run {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The directory holding the built products (the test bundle sits in it).
    private var executable: URL {
        var directory = Bundle(for: Self.self).bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("lwm2m-fleet").path),
              directory.pathComponents.count > 1 {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("lwm2m-fleet")
    }

    private func run(_ arguments: [String], standardInput: Data? = nil) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let standardInput { input.fileHandleForWriting.write(standardInput) }
        try input.fileHandleForWriting.close()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus,
                   standardOutput: String(decoding: outputData, as: UTF8.self),
                   standardError: String(decoding: errorData, as: UTF8.self))
    }

    func testTLVDeviceResourcesAreTypedByTheBuiltInDefinition() throws {
        // /3/0: resource 0 "Open Mobile Alliance" (String), resource 9 = 100 (Integer), 13 = time.
        let hex = "c8 00 14 4f70656e204d6f62696c6520416c6c69616e6365 c1 09 64 c4 0d 5182428f"
        let result = try run(["decode", "--format", "tlv", "--path", "/3/0", hex])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput.trimmingCharacters(in: .newlines), """
            {"records":[{"path":"/3/0/0","type":"string","value":"Open Mobile Alliance"},\
            {"path":"/3/0/9","type":"integer","value":100},\
            {"path":"/3/0/13","type":"time","value":1367491215}]}
            """)
    }

    func testTLVWithoutDefinitionIsOpaque() throws {
        let result = try run(["decode", "--format", "tlv", "--path", "/42000/0", "c1 05 2a"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput.trimmingCharacters(in: .newlines),
                       #"{"records":[{"path":"/42000/0/5","type":"opaque","value":"2a"}]}"#)
    }

    func testSenMLJSONFromStandardInput() throws {
        let payload = Data(#"[{"bn":"/3/0/","n":"0","vs":"ACME"},{"n":"9","v":87}]"#.utf8)
        let result = try run(["decode", "--format", "senml-json", "--path", "/3/0", "-"], standardInput: payload)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput.trimmingCharacters(in: .newlines), """
            {"records":[{"path":"/3/0/0","type":"string","value":"ACME"},{"path":"/3/0/9","type":"integer","value":87}]}
            """)
    }

    func testLinkFormatPrintsAttributesWithoutQuotes() throws {
        let text = #"</1/0>;ssid=1;ver=1.1,</3/0>;uri="coap://h:5683";x"#
        let hex = Array(text.utf8).map { String(format: "%02x", $0) }.joined()
        let result = try run(["decode", "--format", "link", hex])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput.trimmingCharacters(in: .newlines), """
            {"links":[{"uri":"/1/0","attributes":{"ssid":"1","ver":"1.1"}},\
            {"uri":"/3/0","attributes":{"uri":"coap://h:5683","x":null}}]}
            """)
    }

    func testCoAPMessageFields() throws {
        // CON POST mid 1 token 0xab, Uri-Path "rd", payload "x".
        let result = try run(["decode", "--format", "coap", "41 02 00 01 ab b2 72 64 ff 78"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput.trimmingCharacters(in: .newlines), """
            {"type":"CON","code":"0.02","code_name":"POST","message_id":1,"token":"ab","options":[{"number":11,"name":"Uri-Path","value":"rd"}],"payload":"78","payload_text":"x"}
            """)
    }

    func testCoAPOptionsAreNamedWithTheirValuesReadByFormat() throws {
        // ACK 2.05, token 0xab, Content-Format 11542 (TLV), Block2 num 1 more size 64, an
        // unknown elective option 2048 with opaque bytes; a binary payload has no text form.
        let result = try run(["decode", "--format", "coap", "61 45 00 07 ab c2 2d 16 b1 1a e2 06 dc be ef ff 01 02"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput.trimmingCharacters(in: .newlines), """
            {"type":"ACK","code":"2.05","code_name":"2.05 Content","message_id":7,"token":"ab","options":[\
            {"number":12,"name":"Content-Format","value":11542,"format":"application/vnd.oma.lwm2m+tlv"},\
            {"number":23,"name":"Block2","value":26,"block":{"num":1,"more":true,"size":64}},\
            {"number":2048,"name":"Option-2048","value_hex":"beef"}],"payload":"0102"}
            """)
    }

    func testInvalidInputExitsOneWithOneLineAndNoOutput() throws {
        for (arguments, expected) in [
            (["decode", "--format", "tlv", "--path", "/3/0", "c8 00 14 4f"], "TLV"),
            (["decode", "--format", "coap", "40"], "CoAP"),
            (["decode", "--format", "tlv", "zz"], "character 0"),
            (["decode", "--format", "senml-json", "--path", "/3/0", "5b7b"], "SenML JSON"),
        ] {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments)")
            XCTAssertEqual(result.standardOutput, "", "\(arguments)")
            let lines = result.standardError.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains(expected), "\(arguments): \(result.standardError)")
        }
    }

    func testInvalidArgumentsExit104() throws {
        let badFormat = try run(["decode", "--format", "xml", "00"])
        XCTAssertEqual(badFormat.status, 104, badFormat.standardError)
        let badPath = try run(["decode", "--format", "tlv", "--path", "/3/x", "00"])
        XCTAssertEqual(badPath.status, 104, badPath.standardError)
        XCTAssertTrue(badPath.standardError.contains("/3/x"), badPath.standardError)
    }

    func testVersionAndHelp() throws {
        XCTAssertEqual(try run(["--version"]).status, 0)
        let help = try run(["decode", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.standardOutput.contains("--format"))
    }
}
