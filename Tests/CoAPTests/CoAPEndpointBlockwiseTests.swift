import CoAP
import XCTest

/// Block-wise transfers (RFC 7959) between two endpoints in lockstep, with no sockets.
final class CoAPEndpointBlockwiseTests: XCTestCase {
    /// A client and a server endpoint wired back to back; the server answers with `handler`.
    private struct Lockstep {
        var client = CoAPEndpoint(seed: 1)
        var server = CoAPEndpoint(seed: 2)
        var clientEvents: [CoAPEndpointEvent] = []
        var serverRequests: [CoAPMessage] = []
        var datagramsToServer = 0
        var datagramsToClient = 0

        /// Sends `request` and shuttles datagrams until both sides are quiet.
        mutating func run(_ request: CoAPMessage, handler: (CoAPMessage) -> CoAPMessage) {
            var output = CoAPEndpointOutput()
            _ = client.send(request, now: .zero, output: &output)
            var toServer = output.datagrams
            clientEvents += output.events
            var rounds = 0
            while !toServer.isEmpty, rounds < 10_000 {
                rounds += 1
                var toClient: [[UInt8]] = []
                for datagram in toServer {
                    datagramsToServer += 1
                    output.removeAll()
                    server.receive(datagram, now: .zero, output: &output)
                    toClient += output.datagrams
                    for case .request(let incoming) in output.events {
                        serverRequests.append(incoming.message)
                        var answer = CoAPEndpointOutput()
                        server.respond(to: incoming, with: handler(incoming.message), now: .zero, output: &answer)
                        toClient += answer.datagrams
                    }
                }
                toServer = []
                for datagram in toClient {
                    datagramsToClient += 1
                    output.removeAll()
                    client.receive(datagram, now: .zero, output: &output)
                    toServer += output.datagrams
                    clientEvents += output.events
                }
            }
        }
    }

    private func body(_ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
    }

    func testBlock2DownloadOf5KBIsReassembled() throws {
        let resource = body(5_000)
        var lockstep = Lockstep()
        var request = CoAPMessage(type: .confirmable, code: .get)
        request.setPath("/3/0")
        lockstep.run(request) { _ in
            var content = CoAPMessage(type: .acknowledgement, code: .content)
            content.options.append(.contentFormat, uint: 112)
            content.payload = resource[...]
            return content
        }
        XCTAssertEqual(lockstep.clientEvents.count, 1)
        guard case .response(_, let response) = try XCTUnwrap(lockstep.clientEvents.first) else {
            return XCTFail("no response: \(lockstep.clientEvents)")
        }
        XCTAssertEqual(response.code, .content)
        XCTAssertEqual(Array(response.payload), resource)
        XCTAssertEqual(response.contentFormat, 112)
        XCTAssertEqual(lockstep.datagramsToServer, 5, "5 blocks of 1024 bytes")
        XCTAssertEqual(lockstep.serverRequests.count, 1, "later blocks are served from the produced body")
        XCTAssertTrue(lockstep.client.isIdle)
    }

    func testBlock2FollowsSmallerBlockSizeAskedByClient() throws {
        let resource = body(5_000)
        var lockstep = Lockstep()
        var request = CoAPMessage(type: .confirmable, code: .get)
        request.setPath("/big")
        request.setBlock2(CoAPBlockOption(number: 0, more: false, size: 256)!)
        lockstep.run(request) { _ in
            var content = CoAPMessage(type: .acknowledgement, code: .content)
            content.payload = resource[...]
            return content
        }
        guard case .response(_, let response) = lockstep.clientEvents.first else { return XCTFail("no response") }
        XCTAssertEqual(Array(response.payload), resource)
        XCTAssertEqual(lockstep.datagramsToServer, 20, "ceil(5000 / 256) blocks")
    }

    func testBlock1UploadOf5KBArrivesWhole() throws {
        let upload = body(5_000)
        var lockstep = Lockstep()
        var request = CoAPMessage(type: .confirmable, code: .post)
        request.setPath("/rd")
        request.options.append(.uriQuery, string: "ep=sim-000001")
        request.options.append(.contentFormat, uint: 40)
        request.payload = upload[...]
        lockstep.run(request) { _ in CoAPMessage(type: .acknowledgement, code: .created) }

        XCTAssertEqual(lockstep.serverRequests.count, 1, "delivered once, whole")
        let received = try XCTUnwrap(lockstep.serverRequests.first)
        XCTAssertEqual(Array(received.payload), upload)
        XCTAssertEqual(received.uriQuery, ["ep=sim-000001"])
        XCTAssertEqual(lockstep.datagramsToServer, 5)
        guard case .response(_, let response) = lockstep.clientEvents.first else { return XCTFail("no response") }
        XCTAssertEqual(response.code, .created)
        XCTAssertEqual(response.block1?.more, false, "the final response echoes the last block")
        XCTAssertEqual(response.block1?.number, 4)
    }

    func testBlock1FirstBlockCarriesSize1() throws {
        var client = CoAPEndpoint(seed: 3)
        var output = CoAPEndpointOutput()
        var request = CoAPMessage(type: .confirmable, code: .post)
        request.payload = body(3_000)[...]
        _ = client.send(request, now: .zero, output: &output)
        let first = try CoAPMessage.decode(output.datagrams[0]).get()
        XCTAssertEqual(first.size1, 3_000)
        XCTAssertEqual(first.block1, CoAPBlockOption(number: 0, more: true, size: 1024))
        XCTAssertEqual(first.payload.count, 1024)
    }

    func testBlock1OutOfSequenceGetsRequestEntityIncomplete() throws {
        var server = CoAPEndpoint(seed: 4)
        var output = CoAPEndpointOutput()
        var block = CoAPMessage(type: .confirmable, code: .put, messageID: 10, token: CoAPToken(value: 1, length: 1))
        block.setPath("/upload")
        block.setBlock1(CoAPBlockOption(number: 3, more: true, size: 64)!)
        block.payload = body(64)[...]
        server.receive(block.encoded(), now: .zero, output: &output)
        let answer = try CoAPMessage.decode(XCTUnwrap(output.datagrams.first)).get()
        XCTAssertEqual(answer.code, .requestEntityIncomplete)
        XCTAssertTrue(output.events.isEmpty)
    }

    func testBlock2OutOfSequenceFailsTheRequest() throws {
        var client = CoAPEndpoint(seed: 5)
        var output = CoAPEndpointOutput()
        let id = client.send(CoAPMessage(type: .confirmable, code: .get), now: .zero, output: &output)
        let request = try CoAPMessage.decode(output.datagrams.removeFirst()).get()
        var wrongBlock = CoAPMessage(type: .acknowledgement, code: .content, messageID: request.messageID, token: request.token)
        wrongBlock.setBlock2(CoAPBlockOption(number: 2, more: true, size: 16)!)
        wrongBlock.payload = body(16)[...]
        client.receive(wrongBlock.encoded(), now: .zero, output: &output)
        XCTAssertEqual(output.events, [.failed(id, .blockwiseMismatch)])
    }
}
