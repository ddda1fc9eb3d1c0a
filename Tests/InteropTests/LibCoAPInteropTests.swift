import CoAP
import EventLoop
import Foundation
import XCTest

/// Our EventLoop + CoAP endpoint against libcoap, a real implementation, in both directions.
final class LibCoAPInteropTests: XCTestCase {
    private func request(_ code: CoAPCode, _ path: String, payload: [UInt8] = []) -> CoAPMessage {
        var message = CoAPMessage(type: .confirmable, code: code)
        message.setPath(path)
        message.payload = payload[...]
        return message
    }

    /// Starts libcoap's coap-server on a free port and returns a client of ours connected to it.
    private func startLibCoAPServer() throws -> (Process, LoopbackCoAPClient) {
        let executable = try LibCoAPTools.find("coap-server")
        var lastError: Error = InteropFailure("coap-server did not start")
        for _ in 0..<3 {
            let port = try LibCoAPTools.freeUDPPort()
            // -d: PUT/POST may create resources, which is how we get a large one to GET back.
            let (process, _) = try LibCoAPTools.start(executable, ["-A", "127.0.0.1", "-p", "\(port)", "-d", "10", "-v", "0"])
            var quick = CoAPTransmissionParameters()
            quick.ackTimeoutMilliseconds = 100
            quick.maxRetransmit = 5
            let client = try LoopbackCoAPClient(server: try SocketAddress(ipAddress: "127.0.0.1", port: port), parameters: quick)
            do {
                _ = try client.perform(request(.get, "/"), seconds: 10)
                return (process, client)
            } catch {
                lastError = error
                process.terminate()
                process.waitUntilExit()
            }
        }
        throw lastError
    }

    func testOurClientAgainstLibCoAPServer() throws {
        let (server, client) = try startLibCoAPServer()
        defer {
            server.terminate()
            server.waitUntilExit()
        }

        let index = try client.perform(request(.get, "/"))
        XCTAssertEqual(index.code, .content)
        XCTAssertTrue(String(decoding: index.payload, as: UTF8.self).contains("libcoap"), "libcoap's index text")

        let created = try client.perform(request(.post, "/fleet-post", payload: Array("hello".utf8)))
        XCTAssertEqual(created.code, .created)
        XCTAssertEqual(created.locationPath, ["fleet-post"])

        // Over 4 KB: our client uploads with Block1, then reads it back with Block2.
        let large = (0..<4_500).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        let stored = try client.perform(request(.put, "/fleet-large", payload: large))
        XCTAssertEqual(stored.code, .created)

        let fetched = try client.perform(request(.get, "/fleet-large"))
        XCTAssertEqual(fetched.code, .content)
        XCTAssertEqual(fetched.payload.count, large.count)
        XCTAssertEqual(Array(fetched.payload), large, "Block2 reassembly returns exactly what was stored")

        let replaced = try client.perform(request(.put, "/fleet-large", payload: Array("small".utf8)))
        XCTAssertEqual(replaced.code, .changed)
        XCTAssertEqual(Array(try client.perform(request(.get, "/fleet-large")).payload), Array("small".utf8))

        let deleted = try client.perform(request(.delete, "/fleet-large"))
        XCTAssertEqual(deleted.code, .deleted)
        XCTAssertEqual(try client.perform(request(.get, "/fleet-large")).code, .notFound)
    }

    func testLibCoAPClientAgainstOurServer() throws {
        let clientTool = try LibCoAPTools.find("coap-client")
        let uploadLimit = 4_096
        let server = try LoopbackCoAPServer { request in
            switch (request.code, request.path) {
            case (.get, "/hello"):
                var content = CoAPMessage(type: .acknowledgement, code: .content)
                content.options.append(.contentFormat, uint: 0)
                content.payload = Array("world".utf8)[...]
                return content
            case (.put, "/upload"):
                return CoAPMessage(type: .acknowledgement, code: request.payload.count <= uploadLimit ? .changed : .requestEntityTooLarge)
            case (.get, "/large"):
                var content = CoAPMessage(type: .acknowledgement, code: .content)
                content.payload = Array(repeating: UInt8(ascii: "x"), count: 3_000)[...]
                return content
            default:
                return CoAPMessage(type: .acknowledgement, code: .notFound)
            }
        }
        let base = "coap://127.0.0.1:\(server.address.port)"

        func runClient(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let (process, outputFile) = try LibCoAPTools.start(clientTool, arguments)
            defer { try? FileManager.default.removeItem(at: outputFile) }
            let finished = server.runUntil(seconds: 20) { !process.isRunning }
            if !finished { process.terminate() }
            process.waitUntilExit()
            XCTAssertTrue(finished, "coap-client \(arguments) did not finish in time")
            return (process.terminationStatus, try String(contentsOf: outputFile, encoding: .utf8))
        }

        let hello = try runClient(["-m", "get", "\(base)/hello"])
        XCTAssertEqual(hello.status, 0)
        XCTAssertEqual(hello.output.trimmingCharacters(in: .whitespacesAndNewlines), "world")

        let upload = (0..<4_000).map { _ in "0123456789abcdef".randomElement()! }
        let uploadFile = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-fleet-upload-\(UUID().uuidString)")
        try String(upload).write(to: uploadFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: uploadFile) }
        // -b 256: libcoap sends the file as Block1 blocks of 256 bytes.
        let put = try runClient(["-m", "put", "-b", "256", "-f", uploadFile.path, "\(base)/upload"])
        XCTAssertEqual(put.status, 0)
        let received = try XCTUnwrap(server.requests.last { $0.path == "/upload" })
        XCTAssertEqual(String(decoding: received.payload, as: UTF8.self), String(upload), "Block1 reassembled byte-exact")
        XCTAssertEqual(server.requests.filter { $0.path == "/upload" }.count, 1, "delivered once, not per block")

        let large = try runClient(["-m", "get", "\(base)/large"])
        XCTAssertEqual(large.status, 0)
        XCTAssertEqual(large.output.trimmingCharacters(in: .whitespacesAndNewlines), String(repeating: "x", count: 3_000),
                       "libcoap reassembles our Block2 response")
    }
}
