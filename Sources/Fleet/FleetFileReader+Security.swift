import CoAP
import Foundation
import Yams

// `security:` of a device group (DTLS with pre-shared keys), and the check that ties it to the
// servers the group talks to.
extension FleetFileReader {
    /// The keys of a `security:` mapping.
    static var securityKeys: [String] { ["mode", "identity", "key", "key-file", "key-secret", "handshake", "bootstrap-over", "resume"] }

    static var keySources: String {
        "key: HEX (one key for every device), key-file: FILE.csv (a key per identity) or key-secret: TEXT (a key derived per device)"
    }

    /// `{ mode: psk, identity: PATTERN, key: HEX }`, with `key-file: FILE.csv` or `key-secret: TEXT`
    /// instead of `key`; the identity pattern defaults to `endpoint`, the group's.
    mutating func security(_ node: Node, at path: String, endpoint: FleetSpec.EndpointPattern) -> DeviceSecurity? {
        guard let fields = fields(
            node, at: path, what: "a mapping such as { mode: psk, key: 000102030405060708090a0b0c0d0e0f }", allowed: Self.securityKeys,
            required: [("mode", "add mode: psk (pre-shared keys, the one mode supported so far)")])
        else { return nil }
        let before = problems.count
        let mode = fields["mode"].flatMap { securityMode($0, at: fields.path("mode")) }
        var identity: FleetSpec.EndpointPattern? = endpoint
        if let node = fields["identity"] {
            identity = endpointPattern(node, at: fields.path("identity"), what: "a PSK identity pattern such as sim-{index:06}")
        }
        let given = ["key", "key-file", "key-secret"].filter { fields[$0] != nil }
        guard let kind = given.first, let kindNode = fields[kind] else {
            report(node, path, "has no key; give one of \(Self.keySources)")
            return nil
        }
        for extra in given.dropFirst() {
            report(fields[extra]!, fields.path(extra), "cannot be combined with \(kind); give one of \(Self.keySources)")
        }
        let keySource: DeviceSecurity.KeySource? = switch kind {
        case "key": fixedKey(kindNode, at: fields.path(kind))
        case "key-file": keyFile(kindNode, at: fields.path(kind))
        default: keySecret(kindNode, at: fields.path(kind))
        }
        let handshake = fields["handshake"].map {
            choice($0, at: fields.path("handshake"), DeviceSecurity.HandshakePolicy.allCases.map { ($0.rawValue, $0) })
        } ?? .once
        let resume = fields["resume"].map { boolean($0, at: fields.path("resume")) } ?? false
        guard problems.count == before, let mode, let identity, let keySource, let handshake, let resume else { return nil }
        var security = DeviceSecurity(mode: mode, identity: identity, keySource: keySource)
        security.handshake = handshake
        if let node = fields["bootstrap-over"] {
            security.bootstrapsOverPlainCoAP = choice(node, at: fields.path("bootstrap-over"), [("coap", true), ("coaps", false)]) ?? false
        }
        security.resume = resume
        return security
    }

    mutating func securityMode(_ node: Node, at path: String) -> DeviceSecurity.Mode? {
        guard let text = text(node, at: path, expected: "psk") else { return nil }
        if let mode = DeviceSecurity.Mode(rawValue: text) { return mode }
        if ["rpk", "x509", "x.509", "certificate"].contains(text.lowercased()) {
            report(node, path, "'\(text)': RPK and X.509 are not supported yet; use psk (pre-shared keys)")
        } else {
            report(node, path, "'\(text)' is not valid; use psk (pre-shared keys; RPK and X.509 are not supported yet)")
        }
        return nil
    }

    mutating func fixedKey(_ node: Node, at path: String) -> DeviceSecurity.KeySource? {
        guard let text = text(node, at: path, expected: "a key in hex, such as 000102030405060708090a0b0c0d0e0f") else { return nil }
        do {
            return .fixed(try DeviceSecurity.key(hex: text))
        } catch {
            report(node, path, "the key \(error.reason)")
            return nil
        }
    }

    mutating func keySecret(_ node: Node, at path: String) -> DeviceSecurity.KeySource? {
        guard let text = text(node, at: path, expected: "a secret text the device keys are derived from") else { return nil }
        guard !text.isEmpty else {
            report(node, path, "the secret is empty; give the text each device's key is derived from")
            return nil
        }
        return .derived(secret: Array(text.utf8))
    }

    /// A CSV of `identity,key-hex` lines, relative to the fleet file; read once per file.
    mutating func keyFile(_ node: Node, at path: String) -> DeviceSecurity.KeySource? {
        guard let name = text(node, at: path, expected: "a CSV file of IDENTITY,KEY-HEX lines, such as keys.csv") else { return nil }
        let file = URL(fileURLWithPath: name, relativeTo: URL(fileURLWithPath: baseDirectory, isDirectory: true)).standardizedFileURL.path
        if keyFiles[file] == nil { keyFiles[file] = .some(loadKeyFile(file, named: name, node, path)) }
        return (keyFiles[file] ?? nil).map { .file($0) }
    }

    private mutating func loadKeyFile(_ file: String, named name: String, _ node: Node, _ path: String) -> PreSharedKeyTable? {
        guard FileManager.default.fileExists(atPath: file) else {
            report(node, path, "'\(name)' does not exist (looked for \(file)); name a CSV file relative to the fleet file's directory")
            return nil
        }
        let text: String
        do {
            text = try TextFile.read(file)
        } catch {
            report(node, path, "'\(name)': \(error.reason)")
            return nil
        }
        do {
            var table = try PreSharedKeyTable(csv: text, source: name)
            table.path = file
            return table
        } catch {
            for problem in error.problems { report(node, path, "\(name):\(problem.line): \(problem.message)") }
            if error.unlistedProblems > 0 {
                report(node, path, "\(name): \(error.unlistedProblems) more lines have problems; mend the ones above and validate again")
            }
            return nil
        }
    }

    /// A group that talks to a coaps:// server has security, one that talks to a coap:// server
    /// has none (the embedded servers take either), and a key file has a key for every device.
    mutating func checkSecurity(_ spec: FleetSpec) {
        for (index, (group, indices)) in zip(spec.devices, spec.deviceIndexRanges).enumerated() {
            let path = "devices[\(index)]"
            if case .external(let serverURI, let bootstrapURI) = spec.server {
                // A bootstrapping group's first handshake is with the Bootstrap-Server, unless it
                // bootstraps over plain CoAP.
                let (key, uri) = group.bootstrap == .none ? ("server.server", serverURI) : ("server.bootstrap", bootstrapURI)
                let wantsDTLS = group.security.map { !($0.bootstrapsOverPlainCoAP && group.bootstrap != .none) } ?? false
                if let uri, let parsed = try? CoAPURI(uri) {
                    if parsed.isSecure, !wantsDTLS, group.security?.bootstrapsOverPlainCoAP == true {
                        report(at: "\(path).security.bootstrap-over", orAt: path,
                               "the group bootstraps over plain CoAP, and \(uri) (\(key)) is coaps://; use a coap:// URI or remove bootstrap-over")
                    } else if parsed.isSecure, group.security == nil {
                        report(at: "\(path).security", orAt: path,
                               "the group talks to \(uri) (\(key)), which needs DTLS, and has no security; add security: "
                                   + "{ mode: psk, key: HEX } (or key-file: FILE.csv, key-secret: TEXT), or use a coap:// URI")
                    } else if !parsed.isSecure, wantsDTLS {
                        report(at: "\(path).security", orAt: path,
                               "the group talks to \(uri) (\(key)), plain CoAP; use a coaps:// URI for DTLS, or remove security")
                    }
                }
            }
            if let security = group.security, case .file(let table) = security.keySource {
                checkKeyFile(table, covers: security.identity, of: indices, at: "\(path).security.key-file")
            }
        }
    }

    /// Every device of `indices` finds the key of its identity in `table`. Counted from the
    /// table's side, so a group far larger than its key file costs no more than the file.
    private mutating func checkKeyFile(
        _ table: PreSharedKeyTable, covers identity: FleetSpec.EndpointPattern, of indices: Range<UInt32>, at path: String
    ) {
        let found = table.identities.count { identity.index(ofName: $0).map(indices.contains) == true }
        guard found < indices.count else { return }
        var firstMissing: [String] = []
        for device in indices {
            let name = identity.name(index: device)
            if table.key(forIdentity: name) == nil { firstMissing.append(name) }
            if firstMissing.count == 3 { break }
        }
        let missing = indices.count - found
        let listed = firstMissing.joined(separator: ", ") + (missing > firstMissing.count ? ", ..." : "")
        report(marks[path], path, "\(table.source) has no key for \(missing) of the group's \(indices.count) identities (\(listed)); "
            + "add a line IDENTITY,KEY-HEX for each")
    }
}
