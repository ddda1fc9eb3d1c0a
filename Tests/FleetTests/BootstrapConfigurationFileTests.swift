import Fleet
import Foundation
import LwM2M
import LwM2MServer
import XCTest

/// `serve --config FILE`: the embedded Bootstrap-Server's settings read from YAML by the fleet
/// file's reader, refused in the same style (file:line:column, key path, did-you-mean).
final class BootstrapConfigurationFileTests: XCTestCase {
    static let exampleYAML = """
        # bootstrap.yaml
        server-uri: coap://192.0.2.10:5683
        short-server-id: 7
        lifetime: 120
        binding: UQ
        lwm2m-version: "1.0"
        security-instance: 3
        minimum-period: 5
        maximum-period: 600
        discover: true
        delete: root
        read: false
        endpoints:
          - match: "meter-*"
            lifetime: 86400
            lwm2m-version: 1.1
            binding: U
          - match: "sim-00*"
            short-server-id: 9
            read: true
          - match: "sim-*"
            server-uri: coap://[2001:db8::1]:5683
        """

    func testYAMLFileSetsDefaultsAndRulesWhereTheFirstMatchWins() throws {
        let configuration = try BootstrapServerConfiguration(yaml: Self.exampleYAML, source: "bootstrap.yaml")

        let defaults = BootstrapServerConfiguration.Settings(
            serverURI: "coap://192.0.2.10:5683", shortServerID: 7, lifetimeSeconds: 120, binding: LwM2MBinding("UQ")!,
            lwm2mVersion: .v1_0, securityInstanceID: 3, defaultMinimumPeriodSeconds: 5, defaultMaximumPeriodSeconds: 600,
            discover: true, delete: .root, read: false)
        XCTAssertEqual(configuration.defaults, defaults)
        XCTAssertEqual(configuration.endpointRules.map(\.pattern), ["meter-*", "sim-00*", "sim-*"])

        var meter = defaults
        meter.lifetimeSeconds = 86400
        meter.lwm2mVersion = .v1_1
        meter.binding = .udp
        XCTAssertEqual(configuration.settings(forEndpoint: "meter-17"), meter)
        var early = defaults
        early.shortServerID = 9
        early.read = true
        XCTAssertEqual(configuration.settings(forEndpoint: "sim-000001"), early, "sim-00* comes before sim-*")
        var later = defaults
        later.serverURI = "coap://[2001:db8::1]:5683"
        XCTAssertEqual(configuration.settings(forEndpoint: "sim-100000"), later)
        XCTAssertEqual(configuration.settings(forEndpoint: "gateway-1"), defaults)
        XCTAssertEqual(configuration.settings(forEndpoint: "meter-"), meter, "* matches no character as well")
        XCTAssertEqual(configuration.settings(forEndpoint: "xmeter-1"), defaults, "a pattern matches the whole name")
    }

    func testEmptyYAMLGivesTheDefaults() throws {
        for text in ["", "# nothing set\n"] {
            XCTAssertEqual(try BootstrapServerConfiguration(yaml: text, source: "empty.yaml"), BootstrapServerConfiguration())
        }
        let defaults = BootstrapServerConfiguration().defaults
        XCTAssertEqual(defaults.serverURI, "coap://127.0.0.1:5683")
        XCTAssertEqual(defaults.shortServerID, 1)
        XCTAssertEqual(defaults.lifetimeSeconds, 300)
        XCTAssertEqual(defaults.binding, .udp)
        XCTAssertEqual(defaults.delete, .objects)
    }

    /// The problems `yaml` is refused with, one line each; fails when it loads.
    private func problems(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            _ = try BootstrapServerConfiguration(yaml: yaml, source: "bootstrap.yaml")
            XCTFail("loaded, expected an error", file: file, line: line)
            return []
        } catch {
            return error.lines
        }
    }

    func testYAMLErrorsNameFileLineColumnKeyAndWhatIsValid() {
        let keys = "server-uri, short-server-id, lifetime, binding, lwm2m-version, security-instance, minimum-period, "
            + "maximum-period, discover, delete, read"
        let uri = "use a coap:// URI such as coap://127.0.0.1:5683"
        let cases: [(yaml: String, expected: String)] = [
            ("server-uri: coap://h\nshort-server-id: 1\nbinding: U\ndelete: objects\ndiscover: false\nread: false\nlifetime: abc\n",
             "bootstrap.yaml:7:11: lifetime: 'abc' is not valid; use a whole number of seconds above 0, such as 300"),
            ("lifetime: 0\n", "bootstrap.yaml:1:11: lifetime: '0' is not valid; use a whole number of seconds above 0, such as 300"),
            ("lifetime: [1, 2]\n", "bootstrap.yaml:1:11: lifetime: expected a whole number of seconds above 0, such as 300, found a list"),
            ("\nlifetme: 300\n", "bootstrap.yaml:2:1: lifetme: unknown key 'lifetme'; did you mean 'lifetime'? valid keys: \(keys), endpoints"),
            ("short-server-id: 65535\n", "bootstrap.yaml:1:18: short-server-id: '65535' is not valid; use a Short Server ID, 1-65534"),
            ("server-uri: http://h\n",
             "bootstrap.yaml:1:13: server-uri: 'http://h' is not a CoAP URI: scheme 'http' is not coap or coaps; \(uri)"),
            ("server-uri: coaps://h\n",
             "bootstrap.yaml:1:13: server-uri: 'coaps://h' is not valid: the account written is NoSec (security mode 3); \(uri)"),
            ("binding: X\n",
             "bootstrap.yaml:1:10: binding: 'X' is not valid; use transport letters (U, T, S, N, M, H, Q) each once, such as U or UQ"),
            ("binding: UQ\n",
             "bootstrap.yaml:1:10: binding: 'UQ' does not suit lwm2m-version 1.1: Q is not a binding since LwM2M 1.1; queue mode is the separate valueless Q parameter"),
            ("lwm2m-version: 2.0\n", "bootstrap.yaml:1:16: lwm2m-version: '2.0' is not valid; use 1.0, 1.1 or 1.2"),
            ("delete: all\n", "bootstrap.yaml:1:9: delete: 'all' is not valid; use objects or root"),
            ("discover: yes\n", "bootstrap.yaml:1:11: discover: 'yes' is not valid; use true or false"),
            ("minimum-period: 10\nmaximum-period: 5\n",
             "bootstrap.yaml:2:17: maximum-period: maximum-period (5) is below minimum-period (10); use a maximum of at least the minimum"),
            ("lifetime: 1\nlifetime: 2\n",
             "bootstrap.yaml:1:1: lifetime: 'lifetime' appears more than once in the same mapping; give each key once"),
            ("- lifetime: 1\n", "bootstrap.yaml:1:1: expected a mapping of settings (key: value), found a list"),
            ("endpoints: sim-*\n",
             "bootstrap.yaml:1:12: endpoints: expected a list of rules, each starting with - match: PATTERN, found 'sim-*'"),
            ("endpoints:\n  - lifetime: 60\n",
             "bootstrap.yaml:2:5: endpoints[0].match: missing; add match: with an endpoint name pattern such as \"sim-*\" (`*` is any run of characters)"),
            ("endpoints:\n  - match: a*\n  - match: b*\n    lifetim: 60\n",
             "bootstrap.yaml:4:5: endpoints[1].lifetim: unknown key 'lifetim'; did you mean 'lifetime'? valid keys: match, \(keys)"),
            ("endpoints:\n  - match: a*\n    lifetime: -5\n",
             "bootstrap.yaml:3:15: endpoints[0].lifetime: '-5' is not valid; use a whole number of seconds above 0, such as 300"),
            ("endpoints:\n  - match: \"\"\n",
             "bootstrap.yaml:2:12: endpoints[0].match: an empty pattern matches no endpoint name; use an endpoint name pattern such as \"sim-*\" (`*` is any run of characters)"),
            ("binding: UQ\nlwm2m-version: \"1.0\"\nendpoints:\n  - match: a*\n    lwm2m-version: \"1.1\"\n",
             "bootstrap.yaml:5:20: endpoints[0].lwm2m-version: '1.1' does not suit the binding UQ: Q is not a binding since LwM2M 1.1; "
                 + "queue mode is the separate valueless Q parameter; give the rule a binding too"),
        ]
        for testCase in cases {
            XCTAssertEqual(problems(testCase.yaml), [testCase.expected], testCase.yaml)
        }
        // YAML syntax errors come from the same reader as the fleet file's.
        XCTAssertEqual(problems("server-uri: [coap://h\n").first?.hasPrefix("bootstrap.yaml:2:1: not valid YAML: "), true)
    }

    func testEveryProblemOfAFileIsListedInTheOrderItReads() {
        XCTAssertEqual(problems("endpoints:\n  - match: a*\n    discover: maybe\nlifetme: 300\nbinding: X\n"), [
            "bootstrap.yaml:3:15: endpoints[0].discover: 'maybe' is not valid; use true or false",
            "bootstrap.yaml:4:1: lifetme: unknown key 'lifetme'; did you mean 'lifetime'? valid keys: server-uri, short-server-id, lifetime, "
                + "binding, lwm2m-version, security-instance, minimum-period, maximum-period, discover, delete, read, endpoints",
            "bootstrap.yaml:5:10: binding: 'X' is not valid; use transport letters (U, T, S, N, M, H, Q) each once, such as U or UQ",
        ])
    }

    func testYAMLFileIsReadAndItsErrorsNameThePath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bootstrap-configuration-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("bootstrap.yaml")
        try Self.exampleYAML.write(to: good, atomically: true, encoding: .utf8)
        XCTAssertEqual(try BootstrapServerConfiguration(contentsOfFile: good.path),
                       try BootstrapServerConfiguration(yaml: Self.exampleYAML, source: "bootstrap.yaml"))

        let bad = directory.appendingPathComponent("bad.yaml")
        try "lifetime: 300\nbinding: Z\n".write(to: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BootstrapServerConfiguration(contentsOfFile: bad.path)) { error in
            XCTAssertEqual("\(error)", "\(bad.path):2:10: binding: 'Z' is not valid; use transport letters (U, T, S, N, M, H, Q) each once, such as U or UQ")
        }
        let missing = directory.appendingPathComponent("missing.yaml").path
        XCTAssertThrowsError(try BootstrapServerConfiguration(contentsOfFile: missing)) { error in
            XCTAssertEqual("\(error)", "\(missing): no such file")
        }
    }
}

/// The `serve --config` format is documented by an example file with every key.
extension BootstrapConfigurationFileTests {
    func testTheDocumentedExampleLoadsAndShowsEveryKey() throws {
        let example = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fleets/serve/bootstrap-config.yaml")
        let configuration = try BootstrapServerConfiguration(contentsOfFile: example.path)
        XCTAssertEqual(configuration.endpointRules.count, 2)
        let text = try String(contentsOf: example, encoding: .utf8)
        for key in BootstrapServerConfiguration.fileKeys {
            XCTAssertTrue(text.contains("\n\(key): ") || text.contains(" \(key): "), "the example documents \(key)")
        }
    }
}
