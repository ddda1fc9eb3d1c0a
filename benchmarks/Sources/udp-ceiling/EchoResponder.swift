import EventLoop
import Foundation

/// The other end of the ceiling measurement: as cheap as a UDP responder can be.
///
/// A raw datagram is echoed. A CoAP CON request (version 1, type CON, a request code) gets
/// the ACK 2.01 with its message ID and token and nothing else, built by flipping header bytes,
/// so the responder costs the same in both modes and the difference is the client's.
struct EchoResponder {
    let port: UInt16

    func run() throws {
        let loop = try EventLoop()
        let socket = try loop.openUDPSocket(bindTo: try SocketAddress(ipAddress: "127.0.0.1", port: port), tag: 0)
        try loop.setBufferSizes(of: socket, receiveBytes: 64 << 20, sendBytes: 64 << 20)
        var reply = [UInt8](repeating: 0, count: 12)
        loop.datagramReceived = { socket, _, bytes, peer, _ in
            guard bytes.count >= 4, bytes[0] >> 6 == 1, (bytes[0] >> 4) & 0x3 == 0, bytes[1] >> 5 == 0, bytes[1] != 0 else {
                loop.send(bytes, on: socket, to: peer)
                return
            }
            let tokenLength = min(Int(bytes[0] & 0x0F), 8, bytes.count - 4)
            reply[0] = 0x60 | UInt8(tokenLength)
            reply[1] = 0x41
            for index in 2..<(4 + tokenLength) { reply[index] = bytes[index] }
            reply.withUnsafeBytes { loop.send(UnsafeRawBufferPointer(rebasing: $0[0..<(4 + tokenLength)]), on: socket, to: peer) }
        }
        try loop.watchSignals([SIGINT, SIGTERM])
        loop.signalReceived = { _ in loop.stop() }
        // The parent reads this line from a pipe, so it must not wait in stdio's buffer.
        FileHandle.standardOutput.write(Data("port \(loop.localAddress(of: socket)!.port)\n".utf8))
        loop.run()
        FileHandle.standardError.write(Data(
            "responder: send errors \(loop.sendErrorCount), queued sends \(loop.queuedSendCount), receive errors \(loop.receiveErrorCount)\n".utf8))
    }
}
