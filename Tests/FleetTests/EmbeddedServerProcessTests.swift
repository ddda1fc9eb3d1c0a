import CoAP
import Fleet
import Foundation
import LwM2M
import LwM2MServer
import XCTest

/// The typed handoff between `run` and its `serve` child: the configuration in as JSON, the
/// ready and summary reports out as JSON lines, and no counts (never zeros) from a server that
/// died before it reported.
final class EmbeddedServerProcessTests: XCTestCase {
    /// A configuration with every field away from its default, so a field lost on the way shows.
    private static func unusualConfiguration() throws -> EmbeddedServerConfiguration {
        var transmission = CoAPTransmissionParameters()
        transmission.ackTimeoutMilliseconds = 1_500
        transmission.ackRandomFactor = 1.25
        transmission.maxRetransmit = 2
        transmission.tokenLength = 8
        let registration = RegistrationServerConfiguration(
            transmission: transmission, expiryGraceSeconds: 9,
            afterRegistration: [
                AfterRegistrationAction(.read(try LwM2MPath(parsing: "/3/0"), accept: .senmlCBOR), endpointPrefix: "meter-"),
                AfterRegistrationAction(.observe(try LwM2MPath(parsing: "/3/0/9"))),
                AfterRegistrationAction(.writeAttributes(try LwM2MPath(parsing: "/3/0/9"), queryItems: ["pmin=10", "pmax=60"])),
                AfterRegistrationAction(.execute(try LwM2MPath(parsing: "/1/0/9"), arguments: "0='now'"), firstRegistrationOnly: true),
            ],
            violation: .duringBootstrap, violationAcknowledgementDelayMilliseconds: 250, diagnosticPayloads: false)
        let settings = BootstrapServerConfiguration.Settings(
            serverURI: "coap://192.0.2.1:5683", shortServerID: 7, lifetimeSeconds: 86_400, binding: LwM2MBinding("UQ")!,
            lwm2mVersion: .v1_0, securityInstanceID: 3, defaultMinimumPeriodSeconds: 5, defaultMaximumPeriodSeconds: 600,
            discover: true, delete: .root, read: true)
        var bootstrapTransmission = CoAPTransmissionParameters()
        bootstrapTransmission.preferredBlockSize = 256
        let bootstrap = BootstrapServerConfiguration(
            defaults: settings,
            endpointRules: [.init(pattern: "sim-00*", settings: .init(lifetimeSeconds: 20, lwm2mVersion: .v1_2))],
            transmission: bootstrapTransmission)
        return EmbeddedServerConfiguration(host: "::1", serverPort: 15683, bootstrapPort: 15783, registration: registration, bootstrap: bootstrap)
    }

    func testConfigurationSurvivesTheJSONTripToServeUnchanged() throws {
        let configuration = try Self.unusualConfiguration()
        let json = try JSONEncoder().encode(configuration)
        XCTAssertEqual(try JSONDecoder().decode(EmbeddedServerConfiguration.self, from: json), configuration)
        // Paths, bindings and versions travel as people write them.
        let text = String(decoding: json, as: UTF8.self)
        for written in [#""path":"\/3\/0\/9""#, #""binding":"UQ""#, #""lwm2mVersion":"1.0""#] {
            XCTAssertTrue(text.contains(written), "\(written) in \(text)")
        }
    }

    func testReportsAreOneJSONLineEachAndReadBack() throws {
        var counts = EmbeddedServerCounts()
        counts.registered = 3
        counts.retransmissions = 1
        for report in [EmbeddedServerReport.ready(
            bootstrapAddress: "[::1]:5783", serverAddress: "127.0.0.1:5683", controlAddress: "127.0.0.1:40000"), .summary(counts)] {
            let line = report.line
            XCTAssertEqual(line.last, UInt8(ascii: "\n"))
            XCTAssertEqual(line.filter { $0 == UInt8(ascii: "\n") }.count, 1, "one line")
            XCTAssertEqual(try EmbeddedServerReport(line: line.dropLast()), report)
        }
    }

    func testServeChildReportsItsRealPortsAndZeroCountsWhenNoDeviceCame() throws {
        let server = try EmbeddedServerProcess(executable: ServeProcess.executable, configuration: EmbeddedServerConfiguration())
        for uri in [server.bootstrapURI, server.serverURI] {
            let parsed = try CoAPURI(uri)
            XCTAssertEqual(parsed.host, "127.0.0.1", uri)
            XCTAssertNotEqual(parsed.port, 0, "the port the system picked: \(uri)")
        }
        XCTAssertNotEqual(server.bootstrapURI, server.serverURI)
        XCTAssertEqual(server.stop(), EmbeddedServerCounts(), "counts, all zero: not nil")
    }

    // MARK: Stand-ins for serve

    /// A shell script in place of `lwm2m-fleet`, so the test decides how the child behaves.
    private func standIn(_ body: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("serve-stand-in-\(UUID().uuidString).sh")
        try ("#!/bin/sh\n" + body).write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private static let readyLine = #"{"ready":{"bootstrapAddress":"127.0.0.1:5783","controlAddress":"127.0.0.1:40000","serverAddress":"127.0.0.1:5683"}}"#

    func testServerThatDiesBeforeReportingGivesNoCountsRatherThanZeros() throws {
        // Ready, then killed by the SIGINT meant to stop it, with no summary written.
        let executable = try standIn("cat > /dev/null\necho '\(Self.readyLine)'\nexec sleep 30\n")
        let server = try EmbeddedServerProcess(executable: executable, configuration: EmbeddedServerConfiguration())
        XCTAssertEqual(server.bootstrapURI, "coap://127.0.0.1:5783")
        XCTAssertEqual(server.serverURI, "coap://127.0.0.1:5683")
        XCTAssertNil(server.stop())
    }

    func testServerThatStopsOnItsOwnStillGivesTheCountsItWrote() throws {
        // As when a terminal's Ctrl-C reaches the whole process group: the child stops and reports
        // before the parent asks it to (and so pays no heed to the parent's SIGINT).
        var counts = EmbeddedServerCounts()
        counts.registered = 4
        let summary = String(decoding: EmbeddedServerReport.summary(counts).line.dropLast(), as: UTF8.self)
        let executable = try standIn("trap '' INT\ncat > /dev/null\necho '\(Self.readyLine)'\necho '\(summary)'\n")
        let server = try EmbeddedServerProcess(executable: executable, configuration: EmbeddedServerConfiguration())
        XCTAssertEqual(server.stop(), counts)
    }

    func testServerThatFailsToStartIsReportedWithWhatItSaidAndDoesNotEndTheRun() throws {
        // It reads none of its configuration, which is too long for the pipe's buffer: the parent's
        // write fails when the child exits, and must not end the parent with SIGPIPE.
        var configuration = EmbeddedServerConfiguration()
        configuration.bootstrap.endpointRules = (0..<4_000).map { .init(pattern: "group-\($0)-*", settings: .init()) }
        XCTAssertGreaterThan(try JSONEncoder().encode(configuration).count, 1 << 20, "more than a pipe holds")
        let executable = try standIn("sleep 0.2\necho 'Error: cannot bind 127.0.0.1:5683: address already in use' >&2\nexit 1\n")
        XCTAssertThrowsError(try EmbeddedServerProcess(executable: executable, configuration: configuration)) { error in
            XCTAssertEqual("\(error)", "the embedded server did not start: Error: cannot bind 127.0.0.1:5683: address already in use")
        }
    }
}
