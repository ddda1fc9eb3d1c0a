import CoAP
import DTLS

/// A client and a server session of the DTLS module, established back to back in memory (PSK,
/// AES-128-CCM-8, cookie exchange included) and past their first application record each way,
/// so that both can be parked; on a manual clock, without sockets.
final class EstablishedSessions {
    let client: DTLSClientSession
    let server: DTLSServerSession
    /// Reused for every call, as drivers keep one output per loop.
    var output = DTLSOutput()
    /// 100 bytes: an LwM2M Update with a few options, or a small Notify.
    let payload = [UInt8](repeating: 0x5A, count: 100)
    let now = Timestamp.seconds(1_000)

    init() {
        let key = PreSharedKey(identity: "sim-000001", key: Array("0123456789abcdef".utf8))
        // The key and the parameters are valid: a failure here is a broken benchmark.
        client = try! DTLSClientSession(key: key, seed: 1)
        server = DTLSServerSession(
            configuration: try! DTLSServerConfiguration(keys: .fixed(key.key), seed: 2), transportID: Array("127.0.0.1:56830".utf8))
        client.start(now: now, output: &output)
        for _ in 0..<4 {
            pass(from: client, to: server)
            pass(from: server, to: client)
        }
        client.send(payload, now: now, output: &output)
        pass(from: client, to: server)
        server.send(payload, now: now, output: &output)
        pass(from: server, to: client)
        output.removeAll()
    }

    var isEstablished: Bool {
        if case .established = client.state, case .established = server.state { return true }
        return false
    }

    /// Delivers what the last calls produced, which `sender` sent, to `receiver`.
    private func pass(from sender: DTLSSession, to receiver: DTLSSession) {
        let datagrams = output.datagrams
        output.removeAll()
        for datagram in datagrams { receiver.receive(datagram, now: now, output: &output) }
    }

    /// Records of `payload` sealed by the client, for the server to open one at a time (each
    /// once: the server drops a replayed record).
    func sealedByClient(count: Int) -> [[UInt8]] {
        output.removeAll()
        for _ in 0..<count { client.send(payload, now: now, output: &output) }
        let records = output.datagrams
        output.removeAll()
        return records
    }
}
