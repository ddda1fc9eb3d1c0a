import CoAP
import DTLS

/// A client and a server session of the DTLS module handshaking back to back in memory (PSK,
/// AES-128-CCM-8, cookie exchange included), on a manual clock: what one handshake costs the
/// two sides together, session creation included, without sockets or a loop.
final class HandshakePair {
    let key = PreSharedKey(identity: "sim-000001", key: Array("0123456789abcdef".utf8))
    let configuration: DTLSServerConfiguration
    var parameters = DTLSParameters()
    /// A session saved by an earlier full handshake, for the resumed ones.
    private(set) var saved: [UInt8]?
    var output = DTLSOutput()
    let now = Timestamp.seconds(1_000)
    private var seed: UInt64 = 1

    init(resuming: Bool) {
        // The key and the parameters are valid: a failure here is a broken benchmark.
        configuration = try! DTLSServerConfiguration(keys: .fixed(key.key), seed: 2)
        parameters.requestsSessionTicket = resuming
        if resuming {
            let client = handshake()
            saved = client?.resumableSession
        }
    }

    /// One handshake from a new client session to a new server session; the client when both
    /// ended established (resumed, when `saved` is set and the server took it), else nil.
    func handshake() -> DTLSClientSession? {
        seed &+= 1
        let client = try! DTLSClientSession(key: key, parameters: parameters, seed: seed, resuming: saved)
        let server = DTLSServerSession(configuration: configuration, transportID: Array("127.0.0.1:56830".utf8))
        output.removeAll()
        client.start(now: now, output: &output)
        for _ in 0..<4 {
            pass(to: server)
            pass(to: client)
        }
        output.removeAll()
        guard case .established = client.state, case .established = server.state else { return nil }
        return client
    }

    private func pass(to receiver: DTLSSession) {
        let datagrams = output.datagrams
        output.removeAll()
        for datagram in datagrams { receiver.receive(datagram, now: now, output: &output) }
    }
}
