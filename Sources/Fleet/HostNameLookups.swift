import EventLoop

/// The host names of server URIs, each looked up once per run, and the device connections that
/// wait for a lookup under way.
///
/// Fleet files give addresses, but a Bootstrap-Server may write a name, and then the same one to
/// every device: the first device starts the lookup (`EventLoop.resolve`, off the loop thread),
/// the others wait for that answer, and later ones get it from here at once.
struct HostNameLookups {
    /// A device connection waiting for its host name: its socket tag (device and role) and URI.
    struct WaitingConnection {
        var tag: UInt64
        var uri: String
    }

    private var answers: [String: Result<[SocketAddress], EventLoopError>] = [:]
    private var waitingByHost: [String: [WaitingConnection]] = [:]
    /// The URI each waiting tag opens; a tag closed meanwhile is no longer here.
    private var waitingURIByTag: [UInt64: String] = [:]
    /// Datagrams a device sent while its connection waited, by tag: they go out once it opens.
    private var heldDatagrams: [UInt64: [[UInt8]]] = [:]

    /// The addresses `host` resolved to (or why it did not); nil before its lookup ended.
    func answer(for host: String) -> Result<[SocketAddress], EventLoopError>? {
        answers[host]
    }

    /// Lets `connection` wait for `host`; true when nobody waited for it yet, so the caller starts
    /// the lookup.
    mutating func wait(_ connection: WaitingConnection, for host: String) -> Bool {
        waitingURIByTag[connection.tag] = connection.uri
        let isFirst = waitingByHost[host] == nil
        waitingByHost[host, default: []].append(connection)
        return isFirst
    }

    /// Whether the connection with `tag` waits for a lookup.
    func isWaiting(_ tag: UInt64) -> Bool {
        waitingURIByTag[tag] != nil
    }

    mutating func hold(_ datagram: [UInt8], for tag: UInt64) {
        heldDatagrams[tag, default: []].append(datagram)
    }

    /// The connection with `tag` was closed: it waits no more, and what it held is dropped.
    mutating func cancel(_ tag: UInt64) {
        waitingURIByTag[tag] = nil
        heldDatagrams[tag] = nil
    }

    /// Keeps the answer for `host` and returns the connections still waiting for it, with the
    /// datagrams each held.
    mutating func record(
        _ answer: Result<[SocketAddress], EventLoopError>, for host: String
    ) -> [(connection: WaitingConnection, held: [[UInt8]])] {
        answers[host] = answer
        let waiting = waitingByHost.removeValue(forKey: host) ?? []
        return waiting.compactMap { connection in
            guard waitingURIByTag[connection.tag] == connection.uri else { return nil }
            waitingURIByTag[connection.tag] = nil
            return (connection, heldDatagrams.removeValue(forKey: connection.tag) ?? [])
        }
    }

    /// The first address of the family of `local` (a socket bound to IPv4 connects to IPv4 only),
    /// with `port`; nil when the name has none of that family.
    static func address(among addresses: [SocketAddress], like local: SocketAddress, port: UInt16) -> SocketAddress? {
        guard var address = addresses.first(where: { $0.isIPv6 == local.isIPv6 }) else { return nil }
        address.port = port
        return address
    }
}

/// A host name that resolved to no address a device's socket can reach.
struct HostNameError: Error, CustomStringConvertible {
    var host: String
    var family: String

    var description: String { "resolve \"\(host)\": no \(family) address" }
}
