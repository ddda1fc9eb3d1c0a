import CoAP
import EventLoop
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Glue for the interop tests: our CoAP endpoints on a real libuv loop and real sockets.
///
/// Each peer owns its loop; `runUntil` drives it until a condition holds or a time limit
/// passes, so no test can hang.
class LoopbackPeer {
    let loop: EventLoop
    var output = CoAPEndpointOutput()
    private var guardTimer: TimerHandle?
    private var isDone: () -> Bool = { true }
    private static let guardTag = UInt64.max
    private static let pollTag = UInt64.max - 1

    init() throws {
        loop = try EventLoop()
        loop.timerFired = { [unowned self] tag, now in
            switch tag {
            case Self.guardTag:
                loop.stop()
            case Self.pollTag:
                if isDone() { loop.stop() } else { _ = loop.schedule(at: now + 10_000_000, tag: Self.pollTag) }
            default:
                deadlineReached(tag: tag, now: Timestamp(nanoseconds: now))
            }
        }
    }

    func deadlineReached(tag: UInt64, now: Timestamp) {}

    /// Runs the loop until `condition` holds (checked every 10 ms) or `seconds` pass; returns
    /// whether the condition held.
    @discardableResult
    func runUntil(seconds: Double, _ condition: @escaping () -> Bool) -> Bool {
        isDone = condition
        let limit = loop.schedule(at: loop.now + UInt64(seconds * 1e9), tag: Self.guardTag)
        let poll = loop.schedule(at: loop.now + 10_000_000, tag: Self.pollTag)
        if !condition() { loop.run() }
        loop.cancel(limit)
        loop.cancel(poll)
        return condition()
    }
}

/// A CoAP client: one connected socket and one endpoint towards `server`.
final class LoopbackCoAPClient: LoopbackPeer {
    private var endpoint: CoAPEndpoint
    private var socket: UDPSocketID!
    private var retransmissionTimer: TimerHandle?
    private var outcomes: [CoAPRequestID: Result<CoAPMessage, CoAPRequestFailure>] = [:]

    init(server: SocketAddress, parameters: CoAPTransmissionParameters = CoAPTransmissionParameters()) throws {
        endpoint = CoAPEndpoint(parameters: parameters, seed: 42)
        try super.init()
        let local = try SocketAddress(ipAddress: server.isIPv6 ? "::1" : "127.0.0.1", port: 0)
        socket = try loop.openUDPSocket(bindTo: local, connectTo: server, tag: 0)
        loop.datagramReceived = { [unowned self] _, _, bytes, _, now in
            endpoint.receive(Array(bytes), now: Timestamp(nanoseconds: now), output: &output)
            flush()
        }
    }

    deinit {
        loop.close(socket)
    }

    override func deadlineReached(tag: UInt64, now: Timestamp) {
        retransmissionTimer = nil
        endpoint.handleDeadline(now: now, output: &output)
        flush()
    }

    private func flush() {
        for datagram in output.datagrams { loop.send(datagram, on: socket) }
        for event in output.events {
            switch event {
            case .response(let id, let message): outcomes[id] = .success(message)
            case .failed(let id, let failure): outcomes[id] = .failure(failure)
            case .request, .rejected, .notificationFailed: break
            }
        }
        output.removeAll()
        if let timer = retransmissionTimer { loop.cancel(timer) }
        retransmissionTimer = endpoint.nextDeadline.map { loop.schedule(at: $0.nanoseconds, tag: 0) }
    }

    /// Sends `request` and waits for its outcome, at most `seconds`.
    func perform(_ request: CoAPMessage, seconds: Double = 20) throws -> CoAPMessage {
        let id = endpoint.send(request, now: Timestamp(nanoseconds: loop.now), output: &output)
        flush()
        guard runUntil(seconds: seconds, { self.outcomes[id] != nil }) else {
            throw InteropFailure("no outcome for \(request) within \(seconds) s")
        }
        return try outcomes.removeValue(forKey: id)!.mapError { InteropFailure("\(request): \($0)") }.get()
    }
}

/// A minimal CoAP server from our modules: one unconnected socket, one endpoint per peer.
final class LoopbackCoAPServer: LoopbackPeer {
    private var socket: UDPSocketID!
    private var peers: [SocketAddress] = []
    private var endpoints: [CoAPEndpoint] = []
    private var timers: [TimerHandle?] = []
    private let handler: (CoAPMessage) -> CoAPMessage
    private(set) var requests: [CoAPMessage] = []
    private(set) var address: SocketAddress!

    init(handler: @escaping (CoAPMessage) -> CoAPMessage) throws {
        self.handler = handler
        try super.init()
        socket = try loop.openUDPSocket(bindTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), tag: 0)
        address = loop.localAddress(of: socket)
        loop.datagramReceived = { [unowned self] _, _, bytes, peer, now in
            let index = peers.firstIndex(of: peer) ?? {
                peers.append(peer)
                endpoints.append(CoAPEndpoint(seed: UInt64(peers.count)))
                timers.append(nil)
                return peers.count - 1
            }()
            let time = Timestamp(nanoseconds: now)
            endpoints[index].receive(Array(bytes), now: time, output: &output)
            flush(peerAt: index, now: time)
        }
    }

    deinit {
        loop.close(socket)
    }

    override func deadlineReached(tag: UInt64, now: Timestamp) {
        let index = Int(tag)
        timers[index] = nil
        endpoints[index].handleDeadline(now: now, output: &output)
        flush(peerAt: index, now: now)
    }

    private func flush(peerAt index: Int, now: Timestamp) {
        var pending = output.events
        output.events.removeAll()
        while !pending.isEmpty {
            if case .request(let incoming) = pending.removeFirst() {
                requests.append(incoming.message)
                endpoints[index].respond(to: incoming, with: handler(incoming.message), now: now, output: &output)
                pending += output.events
                output.events.removeAll()
            }
        }
        for datagram in output.datagrams { loop.send(datagram, on: socket, to: peers[index]) }
        output.removeAll()
        if let timer = timers[index] { loop.cancel(timer) }
        timers[index] = endpoints[index].nextDeadline.map { loop.schedule(at: $0.nanoseconds, tag: UInt64(index)) }
    }
}

/// A failed interop step, with what was expected.
struct InteropFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// libcoap's command-line tools, found on PATH under the names Debian gives them.
enum LibCoAPTools {
    static func find(_ tool: String) throws -> URL {
        let names = [tool, "\(tool)-notls", "\(tool)-gnutls", "\(tool)-openssl"]
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        for name in names {
            for directory in directories {
                let url = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
        }
        throw XCTSkip("libcoap's \(tool) is not installed (Debian package libcoap3-bin; `make test` installs it)")
    }

    /// A UDP port on 127.0.0.1 that was free a moment ago (libcoap's server takes no port 0).
    static func freeUDPPort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw InteropFailure("socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw InteropFailure("bind() failed") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Starts a tool with `arguments`; its standard output is collected in a file.
    static func start(_ executable: URL, _ arguments: [String]) throws -> (Process, URL) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let outputFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("lwm2m-fleet-interop-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, outputFile)
    }
}
