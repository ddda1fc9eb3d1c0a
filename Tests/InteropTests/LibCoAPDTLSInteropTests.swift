import CoAP
import DTLS
import EventLoop
import Foundation
import XCTest

/// Our DTLS sessions, on our loop and real sockets, against libcoap built on OpenSSL: a DTLS
/// stack that shares no code with mbedTLS.
final class LibCoAPDTLSInteropTests: XCTestCase {
    private let key = PreSharedKey(identity: "urn:dev:fleet:000001", key: Array("fleet-interop-k1".utf8))

    private func get(_ path: String) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: .get)
        message.setPath(path)
        return message
    }

    /// Starts libcoap's OpenSSL server with our key; it listens for DTLS one port above `-p`.
    private func startLibCoAPServer() throws -> (Process, dtlsPort: UInt16) {
        let executable = URL(fileURLWithPath: "/usr/bin/coap-server-openssl")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw XCTSkip("coap-server-openssl is not installed (Debian package libcoap3-bin; `make test` installs it)")
        }
        var lastError: Error = InteropFailure("coap-server-openssl did not start")
        for _ in 0..<3 {
            let port = try LibCoAPTools.freeUDPPort()
            guard port < UInt16.max else { continue }
            let keyText = String(decoding: key.key, as: UTF8.self)
            let (process, _) = try LibCoAPTools.start(
                executable, ["-A", "127.0.0.1", "-p", "\(port)", "-k", keyText, "-h", "CoAP", "-v", "0"])
            // Ready when a CCM_8 handshake goes through; also proves the port pair was free.
            var parameters = DTLSParameters()
            parameters.handshakeTimeoutMinimumMilliseconds = 200
            parameters.cipherSuites = [.pskWithAES128CCM8]
            let probe = try LoopbackCoAPSClient(
                server: try SocketAddress(ipAddress: "127.0.0.1", port: port + 1), key: key, parameters: parameters, seed: 1)
            if case .established = probe.handshake(seconds: 5) { return (process, port + 1) }
            lastError = InteropFailure("no DTLS handshake with coap-server-openssl on port \(port + 1): \(probe.session.state)")
            process.terminate()
            process.waitUntilExit()
        }
        throw lastError
    }

    func testOurDTLSClientGetsACoAPAnswerFromLibCoAPServerForEachSuiteItAccepts() throws {
        let (server, dtlsPort) = try startLibCoAPServer()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        var accepted: [DTLSCipherSuite] = []
        for (index, suite) in DTLSCipherSuite.allCases.enumerated() {
            var parameters = DTLSParameters()
            parameters.cipherSuites = [suite]
            let client = try LoopbackCoAPSClient(
                server: try SocketAddress(ipAddress: "127.0.0.1", port: dtlsPort), key: key, parameters: parameters,
                seed: UInt64(index + 10))
            switch client.handshake() {
            case .established(let negotiated):
                XCTAssertEqual(negotiated, suite)
                let index = try client.perform(get("/"))
                XCTAssertEqual(index.code, .content, "\(suite)")
                XCTAssertTrue(String(decoding: index.payload, as: UTF8.self).contains("libcoap"), "\(suite): libcoap's index text")
                let time = try client.perform(get("/time"))
                XCTAssertEqual(time.code, .content, "\(suite)")
                accepted.append(suite)
            case .failed(let failure):
                // OpenSSL refuses a suite it does not enable with the alert handshake_failure.
                XCTAssertEqual(failure, .handshakeFailure, "\(suite): refused by name, not timed out")
            case let state:
                XCTFail("\(suite): handshake ended in \(state)")
            }
        }
        print("coap-server-openssl accepted: \(accepted)")
        XCTAssertTrue(accepted.contains(.pskWithAES128CCM8), "the suite LwM2M mandates")
        XCTAssertTrue(accepted.contains(.pskWithAES128GCMSHA256))
    }

    func testOurDTLSClientWithWrongKeyFailsAgainstLibCoAPServer() throws {
        let (server, dtlsPort) = try startLibCoAPServer()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let wrong = PreSharedKey(identity: key.identity, key: Array("not-the-right-k1".utf8))
        var parameters = DTLSParameters()
        parameters.handshakeTimeoutMinimumMilliseconds = 200
        parameters.handshakeTimeoutMaximumMilliseconds = 800
        let client = try LoopbackCoAPSClient(
            server: try SocketAddress(ipAddress: "127.0.0.1", port: dtlsPort), key: wrong, parameters: parameters, seed: 3)
        // OpenSSL drops a record that fails its MAC, our Finished included (RFC 6347 4.1.2.7):
        // the client hears nothing more and gives up on its own clock, 0.2 + 0.4 + 0.8 s after.
        XCTAssertEqual(client.handshake(seconds: 10), .failed(.timeout))
    }

    func testLibCoAPClientGetsACoAPAnswerFromOurDTLSServer() throws {
        let clientTool = URL(fileURLWithPath: "/usr/bin/coap-client-openssl")
        guard FileManager.default.isExecutableFile(atPath: clientTool.path) else {
            throw XCTSkip("coap-client-openssl is not installed (Debian package libcoap3-bin; `make test` installs it)")
        }
        let server = try LoopbackCoAPSServer(keys: .table([key.identity: key.key])) { request in
            guard request.code == .get, request.path == "/hello" else {
                return CoAPMessage(type: .acknowledgement, code: .notFound)
            }
            var content = CoAPMessage(type: .acknowledgement, code: .content)
            content.options.append(.contentFormat, uint: 0)
            content.payload = Array("world over DTLS".utf8)[...]
            return content
        }
        let identity = String(decoding: key.identity, as: UTF8.self)
        let arguments = ["-u", identity, "-k", String(decoding: key.key, as: UTF8.self), "-m", "get",
                         "coaps://127.0.0.1:\(server.address.port)/hello"]
        let (process, outputFile) = try LibCoAPTools.start(clientTool, arguments)
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let finished = server.runUntil(seconds: 20) { !process.isRunning }
        if !finished { process.terminate() }
        process.waitUntilExit()
        XCTAssertTrue(finished, "coap-client-openssl did not finish in time")
        XCTAssertEqual(process.terminationStatus, 0)
        let printed = try String(contentsOf: outputFile, encoding: .utf8)
        XCTAssertEqual(printed.trimmingCharacters(in: .whitespacesAndNewlines), "world over DTLS")
        let established = server.events.compactMap { event, identity -> [UInt8]? in
            if case .established = event { return identity ?? [] }
            return nil
        }
        XCTAssertEqual(established, [key.identity], "one handshake, with the client's identity")
        print("coap-client-openssl against our server: \(server.events.map { "\($0.0)" })")
        XCTAssertEqual(server.requests.map(\.path), ["/hello"])
    }
}
