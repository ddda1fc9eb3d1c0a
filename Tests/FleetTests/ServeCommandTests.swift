import Foundation
import XCTest

/// `lwm2m-fleet serve` as a person runs it: against libcoap's coap-client, a real peer, and with a bad `--config` file.
final class ServeCommandTests: XCTestCase {
    private func coapClient() throws -> URL {
        for name in ["coap-client", "coap-client-notls", "coap-client-gnutls", "coap-client-openssl"] {
            for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
                let url = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
        }
        throw XCTSkip("libcoap's coap-client is not installed (Debian libcoap3-bin; `make test` installs it)")
    }

    /// Runs coap-client with verbose logging, which prints the response header and options.
    private func run(_ tool: URL, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = tool
        process.arguments = ["-v", "6"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func testCoAPClientRegistersAndDeregistersWithServe() throws {
        let tool = try coapClient()
        let serve = try ServeProcess()
        let base = "coap://127.0.0.1:\(serve.serverAddress.port)"
        let register = try run(tool, ["-m", "post", "-t", "40", "-e", "</1/0>,</3/0>", "\(base)/rd?ep=probe&lt=60&lwm2m=1.1&b=U"])
        XCTAssertTrue(register.contains("c:2.01"), register)
        let locationLine = try XCTUnwrap(register.split(separator: "\n").first { $0.contains("c:2.01") && $0.contains("Location-Path") })
        // "[ Location-Path:rd, Location-Path:xyz ]"
        let segments = locationLine.components(separatedBy: "Location-Path:").dropFirst().map {
            $0.prefix { $0 != "," && $0 != " " && $0 != "]" }
        }
        XCTAssertEqual(segments.first, "rd")
        let location = segments.joined(separator: "/")

        let delete = try run(tool, ["-m", "delete", "\(base)/\(location)"])
        XCTAssertTrue(delete.contains("c:2.02"), delete)
        let again = try run(tool, ["-m", "delete", "\(base)/\(location)"])
        XCTAssertTrue(again.contains("c:4.04"), "the registration is gone: \(again)")

        let summary = serve.stop()
        XCTAssertTrue(summary.contains("registered-total=1 "), summary)
        XCTAssertTrue(summary.contains("deregistered=1 "), summary)
        XCTAssertTrue(summary.contains("held-now=0 "), summary)
    }

    func testServesLiveMetricsThatAgreeWithItsSummary() throws {
        let tool = try coapClient()
        let serve = try ServeProcess(arguments: ["--metrics-port", "0"])
        let deadline = Date().addingTimeInterval(10)
        var line: String?
        while line == nil, Date() < deadline {
            line = serve.status.first { $0.hasPrefix("metrics: http://") }
            if line == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let address = try XCTUnwrap(line, "\(serve.status)").dropFirst("metrics: http://".count).dropLast("/metrics".count)
        let base = "coap://127.0.0.1:\(serve.serverAddress.port)"
        for endpoint in ["probe-1", "probe-2"] {
            let register = try run(tool, ["-m", "post", "-t", "40", "-e", "</1/0>,</3/0>", "\(base)/rd?ep=\(endpoint)&lt=60&lwm2m=1.1&b=U"])
            XCTAssertTrue(register.contains("c:2.01"), register)
        }
        // The metrics follow serve's status line, once a second.
        var scraped: [String: Double] = [:]
        while Date() < deadline {
            Thread.sleep(forTimeInterval: 0.3)
            scraped = try LiveMetricsTests.scrape(String(address))
            if scraped["lwm2m_server_registered_total"] == 2 { break }
        }
        XCTAssertEqual(scraped["lwm2m_server_registrations_held"], 2)
        XCTAssertEqual(scraped["lwm2m_server_registered_total"], 2)
        XCTAssertEqual(scraped["lwm2m_server_deregistered_total"], 0)
        let summary = serve.stop()
        XCTAssertTrue(summary.contains("held-now=2 registered-total=2 "), summary)
    }

    func testBadConfigFileIsRefusedWithFileLineColumnAndTheKeyItMeant() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bootstrap-\(UUID().uuidString).yaml")
        try "lifetime: 60\nlifetme: 300\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["serve", "--port", "0", "--bootstrap-port", "0", "--config", file.path]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 104, "an invalid file, as for run and validate: \(said)")
        XCTAssertTrue(said.contains("\(file.path):2:1: lifetme: unknown key 'lifetme'; did you mean 'lifetime'? valid keys: "), said)
    }
}
