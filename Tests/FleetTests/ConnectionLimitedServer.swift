import CoAP
import Foundation
import Synchronization

/// A stand-in LwM2M Server with a known, low capacity, for searches: it holds at most `limit`
/// registrations at once and answers a Register beyond them 5.03 Service Unavailable, as a
/// server at its connection limit does; Updates get 2.04 and De-registers free a place (2.02).
/// One UDP socket on 127.0.0.1, served by a thread of its own until `stop()`.
final class ConnectionLimitedServer: Sendable {
    /// What the server did, for the test to check against the search's answer.
    struct Counts: Sendable {
        var accepted = 0
        var refused = 0
        var held = 0
        var mostHeld = 0
    }

    let port: UInt16
    private let socket: Int32
    private let limit: Int
    private let state = Mutex<(counts: Counts, locations: [String: String], running: Bool)>((Counts(), [:], true))
    private let finished = DispatchSemaphore(value: 0)

    init(limit: Int) throws {
        self.limit = limit
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw ServerError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ServerError("bind: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        socket = descriptor
        port = UInt16(bigEndian: address.sin_port)
        // A receive that waits at most 100 ms, so the thread sees `stop()`.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var uri: String { "coap://127.0.0.1:\(port)" }

    var counts: Counts { state.withLock { $0.counts } }

    func stop() {
        state.withLock { $0.running = false }
        finished.wait()
        close(socket)
    }

    private func serve() {
        defer { finished.signal() }
        var buffer = [UInt8](repeating: 0, count: 2048)
        while state.withLock({ $0.running }) {
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let received = withUnsafeMutablePointer(to: &peer) { peerPointer in
                peerPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &peerLength) }
            }
            guard received > 0, case .success(let request) = CoAPMessage.decode(Array(buffer[0..<received])), request.type == .confirmable
            else { continue }
            let answer = respond(to: request).encoded()
            _ = withUnsafePointer(to: &peer) { peerPointer in
                peerPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, answer, answer.count, 0, $0, peerLength) }
            }
        }
    }

    /// The piggybacked answer to a Register, Update or De-register.
    private func respond(to request: CoAPMessage) -> CoAPMessage {
        var response = CoAPMessage(type: .acknowledgement, code: .badRequest, messageID: request.messageID, token: request.token)
        let path = request.uriPath
        guard path.first == "rd" else {
            response.code = .notFound
            return response
        }
        state.withLock { state in
            if path.count == 1, request.code == .post {
                guard let endpoint = request.uriQuery.first(where: { $0.hasPrefix("ep=") })?.dropFirst(3) else { return }
                let location = "r\(endpoint)"
                if state.locations[location] == nil {
                    guard state.locations.count < limit else {
                        state.counts.refused += 1
                        response.code = .serviceUnavailable
                        return
                    }
                    state.locations[location] = String(endpoint)
                    state.counts.accepted += 1
                }
                response.code = .created
                response.options.append(.locationPath, string: "rd")
                response.options.append(.locationPath, string: location)
            } else if path.count == 2, request.code == .post {
                response.code = state.locations[path[1]] == nil ? .notFound : .changed
            } else if path.count == 2, request.code == .delete {
                response.code = state.locations.removeValue(forKey: path[1]) == nil ? .notFound : .deleted
            }
            state.counts.held = state.locations.count
            state.counts.mostHeld = max(state.counts.mostHeld, state.counts.held)
        }
        return response
    }

    struct ServerError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
