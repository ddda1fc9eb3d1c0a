import DTLS
import Foundation
import LwM2MServer

/// The pre-shared keys the embedded servers accept over DTLS, as an `EmbeddedDTLSConfiguration`
/// describes them, with its key files read once: the one place both servers and the
/// Bootstrap-Server's account writer ask, so what a device is given is what the servers check.
struct EmbeddedServerKeys: Sendable {
    /// One group's identities and where their keys come from.
    private struct Group: Sendable {
        enum Source: Sendable {
            case fixed([UInt8])
            case table(PreSharedKeyTable)
            case derived(secret: [UInt8])
        }

        var identity: FleetSpec.EndpointPattern
        var source: Source
    }

    private let groups: [Group]
    private let accountSecret: [UInt8]

    /// Reads the key files `configuration` names; throws, naming the file, when one cannot be used.
    init(_ configuration: EmbeddedDTLSConfiguration) throws(EmbeddedServerKeysError) {
        var groups: [Group] = []
        for group in configuration.groupKeys {
            let source: Group.Source
            switch group.source {
            case .fixed(let key): source = .fixed(key)
            case .derived(let secret): source = .derived(secret: secret)
            case .file(let path): source = .table(try Self.readKeyFile(path))
            }
            groups.append(Group(identity: FleetSpec.EndpointPattern(prefix: group.identityPrefix, indexWidth: group.identityIndexWidth), source: source))
        }
        self.groups = groups
        accountSecret = configuration.accountSecret
    }

    private static func readKeyFile(_ path: String) throws(EmbeddedServerKeysError) -> PreSharedKeyTable {
        let text: String
        do {
            text = try TextFile.read(path)
        } catch {
            throw EmbeddedServerKeysError(reason: "the key file \(path): \(error.reason)")
        }
        do {
            return try PreSharedKeyTable(csv: text, source: path)
        } catch {
            let lines = error.problems.map { "\(path):\($0.line): \($0.message)" }
            let more = error.unlistedProblems > 0 ? ["\(path): \(error.unlistedProblems) more lines have problems"] : []
            throw EmbeddedServerKeysError(reason: (lines + more).joined(separator: "\n"))
        }
    }

    /// The key of `identity`: its group's when a group claims it (its identity pattern gives that
    /// name, or its key file lists it), else the one derived from the account secret. Never nil:
    /// the Bootstrap-Server writes accounts with any endpoint name.
    func key(forIdentity identity: [UInt8]) -> [UInt8] {
        let name = String(decoding: identity, as: UTF8.self)
        // Bytes that are no UTF-8 name no group's device.
        if Array(name.utf8) == identity {
            for group in groups {
                switch group.source {
                case .table(let table):
                    // A file names its identities: `serve --psk-file` has no pattern to give.
                    if let key = table.key(forIdentity: name) { return key }
                case .fixed(let key):
                    if group.identity.index(ofName: name) != nil { return key }
                case .derived(let secret):
                    if group.identity.index(ofName: name) != nil { return PreSharedKey.derived(secret: secret, identity: identity).key }
                }
            }
        }
        return PreSharedKey.derived(secret: accountSecret, identity: identity).key
    }

    /// How the DTLS server sessions find a client's key.
    var serverKeys: DTLSServerKeys {
        .lookup { identity in key(forIdentity: identity) }
    }

    /// The LwM2M Server accounts the Bootstrap-Server writes: endpoint E gets identity E and the
    /// key the servers will check for E. That is the account secret's key unless a group claims E
    /// (a group whose identity pattern is its endpoint pattern, the default): the servers cannot
    /// tell a factory handshake from an account one by the identity, so both get the group's key.
    var accountKeys: PreSharedKeySource {
        { endpoint in
            let identity = Array(endpoint.utf8)
            return PreSharedKeyMaterial(identity: identity, key: key(forIdentity: identity))
        }
    }
}

/// A key file of the embedded servers' DTLS configuration could not be used.
public struct EmbeddedServerKeysError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
