import Fleet
import Foundation
import XCTest

/// `security:` of a device group: each device's PSK identity and key from one key, a key file or
/// a secret; the mistakes, with their place in the fleet file or the key file; and the servers a
/// group with or without security may talk to.
final class SecuritySpecTests: XCTestCase {
    private static let key16: [UInt8] = Array(0..<16)
    private static let key16Hex = "000102030405060708090a0b0c0d0e0f"

    /// A fleet of one group of `count` devices with `group` lines added to it, `server` as given.
    private static func fleet(server: String = "server: embedded\n", count: Int = 10, group: String) -> String {
        server + "devices:\n  - count: \(count)\n" + group + "stages:\n  - { duration: 1s, rate: \(max(count, 10))/s }\n"
    }

    /// The problems `yaml` is refused with, one line each; fails when it loads.
    private func problems(_ yaml: String, baseDirectory: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            _ = try FleetSpec(yaml: yaml, source: "broken.yaml", baseDirectory: baseDirectory)
            XCTFail("loaded, expected an error", file: file, line: line)
            return []
        } catch {
            return error.lines
        }
    }

    /// A new directory holding `files` (name: text), removed after the test.
    private func directory(with files: [String: String]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("security-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        for (name, text) in files {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory.path
    }

    private func credentials(_ spec: FleetSpec, group: Int = 0, device: UInt32) throws -> DeviceSecurity.Credentials {
        let security = try XCTUnwrap(spec.devices[group].security)
        return try XCTUnwrap(security.credentials(forDevice: device))
    }

    private func identity(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// `sim-` and the index in six digits, the default endpoint name.
    private static func simName(_ index: Int) -> String { FleetSpec.EndpointPattern(prefix: "sim-", indexWidth: 6).name(index: UInt32(index)) }

    /// `value` in `digits` hex digits, zero-padded.
    private static func hex<Value: BinaryInteger>(_ value: Value, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    // MARK: Loading

    func testOneKeyServesEveryDeviceAndTheIdentityDefaultsToTheEndpointName() throws {
        let spec = try FleetSpec(yaml: Self.fleet(group: "    security: { mode: psk, key: 0x\(Self.key16Hex) }\n"), source: "psk.yaml")
        XCTAssertEqual(spec.devices[0].security, DeviceSecurity(
            mode: .psk, identity: FleetSpec.EndpointPattern(prefix: "sim-", indexWidth: 6), keySource: .fixed(Self.key16)))
        XCTAssertTrue(spec.devices[0].usesDTLS)
        for (device, name) in [(0, "sim-000000"), (1, "sim-000001"), (9, "sim-000009")] {
            XCTAssertEqual(try credentials(spec, device: UInt32(device)), .init(identity: identity(name), key: .fixed(Self.key16)))
        }
    }

    func testAGroupMayBootstrapOverPlainCoAPAndThenSpeakDTLS() throws {
        let yaml = """
            server: { bootstrap: coap://10.0.0.5:5783 }
            devices:
              - count: 5
                bootstrap: client-initiated
                security: { mode: psk, key: 00, bootstrap-over: coap }
            stages:
              - { duration: 1s, rate: 5/s }
            """
        let spec = try FleetSpec(yaml: yaml, source: "lab.yaml")
        XCTAssertEqual(spec.devices[0].security?.bootstrapsOverPlainCoAP, true)
        XCTAssertEqual(problems(yaml.replacingOccurrences(of: "coap://10.0.0.5", with: "coaps://10.0.0.5")), [
            "broken.yaml:5:53: devices[0].security.bootstrap-over: the group bootstraps over plain CoAP, and coaps://10.0.0.5:5783 "
                + "(server.bootstrap) is coaps://; use a coap:// URI or remove bootstrap-over",
        ])
    }

    func testHandshakeIsOnceByDefaultOrBeforeEveryUpdate() throws {
        let once = try FleetSpec(yaml: Self.fleet(group: "    security: { mode: psk, key: 00 }\n"), source: "psk.yaml")
        XCTAssertEqual(once.devices[0].security?.handshake, .once)
        let storm = try FleetSpec(yaml: Self.fleet(group: "    security: { mode: psk, key: 00, handshake: every-update }\n"), source: "psk.yaml")
        XCTAssertEqual(storm.devices[0].security?.handshake, .everyUpdate)
        XCTAssertEqual(problems(Self.fleet(group: "    security: { mode: psk, key: 00, handshake: always }\n")), [
            "broken.yaml:4:48: devices[0].security.handshake: 'always' is not valid; use once or every-update",
        ])
    }

    func testResumeIsOffByDefaultAndOnWithTrue() throws {
        let once = try FleetSpec(yaml: Self.fleet(group: "    security: { mode: psk, key: 00 }\n"), source: "psk.yaml")
        XCTAssertEqual(once.devices[0].security?.resume, false)
        let resuming = try FleetSpec(yaml: Self.fleet(group: "    security: { mode: psk, key: 00, resume: true }\n"), source: "psk.yaml")
        XCTAssertEqual(resuming.devices[0].security?.resume, true)
        XCTAssertEqual(problems(Self.fleet(group: "    security: { mode: psk, key: 00, resume: yes }\n")), [
            "broken.yaml:4:45: devices[0].security.resume: 'yes' is not valid; use true or false",
        ])
    }

    func testTheIdentityPatternTakesTheGlobalDeviceIndexAsEndpointDoes() throws {
        let spec = try FleetSpec(yaml: """
            server: embedded
            devices:
              - count: 10
              - name: meters
                count: 5
                security: { mode: psk, identity: "psk-{index:03}", key: 0A0b }
            stages:
              - { duration: 1s, rate: 15/s }
            """, source: "groups.yaml")
        XCTAssertFalse(spec.devices[0].usesDTLS, "a group without security speaks plain CoAP")
        XCTAssertNil(spec.devices[0].security)
        let indices = spec.deviceIndexRanges[1]
        XCTAssertEqual(indices, 10..<15)
        for (device, name) in [(indices.lowerBound, "psk-010"), (indices.lowerBound + 1, "psk-011"), (indices.upperBound - 1, "psk-014")] {
            XCTAssertEqual(try credentials(spec, group: 1, device: device), .init(identity: identity(name), key: .fixed([0x0a, 0x0b])))
        }
        let named = try FleetSpec(yaml: Self.fleet(group: "    name: meters\n    security: { mode: psk, key-secret: s }\n"), source: "named.yaml")
        XCTAssertEqual(try credentials(named, device: 3).identity, identity("meters-000003"), "the default is the group's endpoint pattern")
    }

    func testAKeyFileGivesEachIdentityItsOwnKey() throws {
        let lines = (0..<10).map { "\(Self.simName($0)),\(Self.hex($0, digits: 2))0102" }
        let csv = "# identity,key\r\n" + lines[0] + "\r\n\n" + lines[1...].joined(separator: "\n") + "\n  \n# the end\n"
        let base = try directory(with: ["keys.csv": csv])
        let spec = try FleetSpec(yaml: Self.fleet(group: "    security: { mode: psk, key-file: keys.csv }\n"), source: "file.yaml",
                                 baseDirectory: base)
        guard case .file(let table)? = spec.devices[0].security?.keySource else {
            return XCTFail("\(String(describing: spec.devices[0].security))")
        }
        XCTAssertEqual(table.count, 10)
        XCTAssertEqual(table.source, "keys.csv")
        XCTAssertEqual(try credentials(spec, device: 0), .init(identity: identity("sim-000000"), key: .fixed([0x00, 0x01, 0x02])))
        XCTAssertEqual(try credentials(spec, device: 1), .init(identity: identity("sim-000001"), key: .fixed([0x01, 0x01, 0x02])))
        XCTAssertEqual(try credentials(spec, device: 9), .init(identity: identity("sim-000009"), key: .fixed([0x09, 0x01, 0x02])))
        XCTAssertNil(spec.devices[0].security?.credentials(forDevice: 10), "no key for an identity the file lacks")
    }

    func testAKeySecretLeavesEachDevicesKeyToBeDerivedFromItsIdentity() throws {
        let spec = try FleetSpec(
            yaml: Self.fleet(group: "    security: { mode: psk, identity: \"dev{index}\", key-secret: \"fleet secret\" }\n"), source: "secret.yaml")
        let secret = Array("fleet secret".utf8)
        XCTAssertEqual(spec.devices[0].security?.keySource, .derived(secret: secret))
        for (device, name) in [(0, "dev0"), (1, "dev1"), (9, "dev9")] {
            XCTAssertEqual(try credentials(spec, device: UInt32(device)), .init(identity: identity(name), key: .derived(secret: secret)))
        }
    }

    func testAHundredThousandLineKeyFileLoadsAndResolvesTheLastDevice() throws {
        let count = 100_000
        // 16 bytes, each device's own: its index, then the index times an odd constant.
        func key(_ index: Int) -> (high: UInt64, low: UInt64) { (UInt64(index), UInt64(index) &* 0x9E37_79B9_7F4A_7C15) }
        var csv = "# 100,000 devices\n"
        csv.reserveCapacity(count * 45)
        for index in 0..<count {
            let (high, low) = key(index)
            csv += "\(Self.simName(index)),\(Self.hex(high, digits: 16))\(Self.hex(low, digits: 16))\n"
        }
        let base = try directory(with: ["keys.csv": csv])
        let spec = try FleetSpec(yaml: Self.fleet(count: count, group: "    security: { mode: psk, key-file: ./keys.csv }\n"),
                                 source: "large.yaml", baseDirectory: base)
        let last = try credentials(spec, device: 99_999)
        XCTAssertEqual(last.identity, identity("sim-099999"))
        let (high, low) = key(99_999)
        XCTAssertEqual(last.key, .fixed(withUnsafeBytes(of: high.bigEndian, Array.init) + withUnsafeBytes(of: low.bigEndian, Array.init)))
        XCTAssertEqual(try credentials(spec, device: 0).key, .fixed([UInt8](repeating: 0, count: 16)))
    }

    // MARK: Mistakes

    func testSecurityMistakesNameTheLineColumnKeyAndWhatIsValid() {
        let sources = "give one of key: HEX (one key for every device), key-file: FILE.csv (a key per identity) or key-secret: TEXT (a key derived per device)"
        let cases: [(group: String, expected: String)] = [
            ("    security: { mode: psk, key: 00, identty: \"x-{index}\" }\n",
             "broken.yaml:4:37: devices[0].security.identty: unknown key 'identty'; did you mean 'identity'? valid keys: mode, identity, key, key-file, key-secret, handshake, bootstrap-over, resume"),
            ("    security: { mode: psk, key: 00, key-secret: s }\n",
             "broken.yaml:4:49: devices[0].security.key-secret: cannot be combined with key; \(sources)"),
            ("    security: { mode: psk }\n",
             "broken.yaml:4:15: devices[0].security: has no key; \(sources)"),
            ("    security: { key: 00 }\n",
             "broken.yaml:4:15: devices[0].security.mode: missing; add mode: psk (pre-shared keys, the one mode supported so far)"),
            ("    security: { mode: psk, key: 0x00zz }\n",
             "broken.yaml:4:33: devices[0].security.key: the key has 'z' at character 5, not a hex digit; write the key in hex (0-9, a-f), two digits per byte"),
            ("    security: { mode: psk, key: 0x123 }\n",
             "broken.yaml:4:33: devices[0].security.key: the key has an odd number of hex digits (3); write two digits per byte, such as 0f for 15"),
            ("    security: { mode: psk, key: \(String(repeating: "ab", count: 33)) }\n",
             "broken.yaml:4:33: devices[0].security.key: the key is 33 bytes; a pre-shared key is 1 to 32 bytes (the most mbedTLS takes)"),
            ("    security: { mode: psk, key: \"0x\" }\n",
             "broken.yaml:4:33: devices[0].security.key: the key is empty; give 1 to 32 bytes in hex (0x optional), such as 000102030405060708090a0b0c0d0e0f"),
            ("    security: { mode: rpk, key: 00 }\n",
             "broken.yaml:4:23: devices[0].security.mode: 'rpk': RPK and X.509 are not supported yet; use psk (pre-shared keys)"),
            ("    security: { mode: tls, key: 00 }\n",
             "broken.yaml:4:23: devices[0].security.mode: 'tls' is not valid; use psk (pre-shared keys; RPK and X.509 are not supported yet)"),
            ("    security: { mode: psk, identity: psk, key: 00 }\n",
             "broken.yaml:4:38: devices[0].security.identity: 'psk' has no {index}; use PREFIX{index} or PREFIX{index:0N} (N digits, zero-padded), such as sim-{index:06}"),
            ("    security: { mode: psk, key-secret: \"\" }\n",
             "broken.yaml:4:40: devices[0].security.key-secret: the secret is empty; give the text each device's key is derived from"),
            ("    security: psk\n",
             "broken.yaml:4:15: devices[0].security: expected a mapping such as { mode: psk, key: 000102030405060708090a0b0c0d0e0f }, found 'psk'"),
        ]
        for (group, expected) in cases {
            XCTAssertEqual(problems(Self.fleet(group: group)), [expected], group)
        }
    }

    func testKeyFileMistakesNameTheCSVFileAndLine() throws {
        let csv = """
            # identity,key
            sim-000000,00112233
            sim-000001 00112233
            sim-000002,xyz
            sim-000000,0011
            ,0011
            sim-000003,\(String(repeating: "0", count: 66))
            sim-000004,
            """
        let base = try directory(with: ["keys.csv": csv])
        let field = "broken.yaml:4:38: devices[0].security.key-file: "
        XCTAssertEqual(problems(Self.fleet(group: "    security: { mode: psk, key-file: keys.csv }\n"), baseDirectory: base), [
            field + "keys.csv:3: has no comma; write IDENTITY,KEY-HEX, such as sim-000000,000102030405060708090a0b0c0d0e0f",
            field + "keys.csv:4: the key of 'sim-000002' has 'x' at character 1, not a hex digit; write the key in hex (0-9, a-f), two digits per byte",
            field + "keys.csv:5: 'sim-000000' has a key on line 2 already; give each identity one line",
            field + "keys.csv:6: the identity before the comma is empty; write IDENTITY,KEY-HEX",
            field + "keys.csv:7: the key of 'sim-000003' is 33 bytes; a pre-shared key is 1 to 32 bytes (the most mbedTLS takes)",
            field + "keys.csv:8: the key of 'sim-000004' is empty; give 1 to 32 bytes in hex (0x optional), such as 000102030405060708090a0b0c0d0e0f",
        ])
        XCTAssertEqual(problems(Self.fleet(group: "    security: { mode: psk, key-file: none.csv }\n"), baseDirectory: base), [
            field + "'none.csv' does not exist (looked for \(base)/none.csv); name a CSV file relative to the fleet file's directory",
        ])
    }

    func testAKeyFileWrongThroughoutListsItsFirstTenProblems() throws {
        let base = try directory(with: ["keys.csv": (0..<25).map { "sim-\($0);00" }.joined(separator: "\n")])
        let lines = problems(Self.fleet(group: "    security: { mode: psk, key-file: keys.csv }\n"), baseDirectory: base)
        XCTAssertEqual(lines.count, 11)
        XCTAssertEqual(lines.last, "broken.yaml:4:38: devices[0].security.key-file: keys.csv: 15 more lines have problems; "
            + "mend the ones above and validate again")
    }

    func testEveryDeviceOfTheGroupMustFindItsIdentityInTheKeyFile() throws {
        let base = try directory(with: ["keys.csv": (0..<5).map { "sim-00000\($0),01" }.joined(separator: "\n") + "\nother,02\n"])
        XCTAssertEqual(problems(Self.fleet(group: "    security: { mode: psk, key-file: keys.csv }\n"), baseDirectory: base), [
            "broken.yaml:4:38: devices[0].security.key-file: keys.csv has no key for 5 of the group's 10 identities "
                + "(sim-000005, sim-000006, sim-000007, ...); add a line IDENTITY,KEY-HEX for each",
        ])
        // Counted from the file's side: a million devices against five keys is found at once.
        XCTAssertEqual(problems(Self.fleet(count: 1_000_000, group: "    security: { mode: psk, identity: \"sim-00000{index}\", key-file: keys.csv }\n"),
                                baseDirectory: base), [
            "broken.yaml:4:68: devices[0].security.key-file: keys.csv has no key for 999995 of the group's 1000000 identities "
                + "(sim-000005, sim-000006, sim-000007, ...); add a line IDENTITY,KEY-HEX for each",
        ])
        let two = try directory(with: ["keys.csv": "sim-000001,01\nsim-000003,03\n"])
        XCTAssertEqual(problems(Self.fleet(count: 3, group: "    security: { mode: psk, key-file: keys.csv }\n"), baseDirectory: two), [
            "broken.yaml:4:38: devices[0].security.key-file: keys.csv has no key for 2 of the group's 3 identities "
                + "(sim-000000, sim-000002); add a line IDENTITY,KEY-HEX for each",
        ])
    }

    // MARK: Servers

    func testACoapsServerNeedsSecurityAndSecurityNeedsACoapsServer() throws {
        let coaps = "server: { server: coaps://10.0.0.5, bootstrap: coap://10.0.0.5:5783 }\n"
        XCTAssertEqual(problems(Self.fleet(server: coaps, group: "")), [
            "broken.yaml:3:5: devices[0]: the group talks to coaps://10.0.0.5 (server.server), which needs DTLS, and has no security; "
                + "add security: { mode: psk, key: HEX } (or key-file: FILE.csv, key-secret: TEXT), or use a coap:// URI",
        ])
        XCTAssertEqual(problems(Self.fleet(server: coaps, group: "    bootstrap: client-initiated\n    security: { mode: psk, key: 00 }\n")), [
            "broken.yaml:5:15: devices[0].security: the group talks to coap://10.0.0.5:5783 (server.bootstrap), plain CoAP; "
                + "use a coaps:// URI for DTLS, or remove security",
        ])
        let secure = try FleetSpec(yaml: Self.fleet(server: coaps, group: "    security: { mode: psk, key: 00 }\n"), source: "coaps.yaml")
        XCTAssertEqual(secure.server, .external(serverURI: "coaps://10.0.0.5", bootstrapURI: "coap://10.0.0.5:5783"))
        XCTAssertTrue(secure.devices[0].usesDTLS)
        let bootstrapping = try FleetSpec(
            yaml: Self.fleet(server: "server: { bootstrap: coaps://10.0.0.5:5784 }\n",
                             group: "    bootstrap: server-initiated\n    security: { mode: psk, key-secret: s }\n"),
            source: "coaps.yaml")
        XCTAssertTrue(bootstrapping.devices[0].usesDTLS, "a bootstrapping group's handshake is with the Bootstrap-Server")
    }

    func testTheEmbeddedServersTakeGroupsWithAndWithoutSecurity() throws {
        let spec = try FleetSpec(yaml: """
            server: embedded
            devices:
              - { name: plain, count: 5 }
              - { name: secure, count: 5, bootstrap: client-initiated, security: { mode: psk, key: 00 } }
            stages:
              - { duration: 1s, rate: 10/s }
            """, source: "embedded.yaml")
        XCTAssertEqual(spec.devices.map(\.usesDTLS), [false, true])
    }
}
