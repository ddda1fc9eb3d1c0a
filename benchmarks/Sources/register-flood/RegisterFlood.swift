import CoAP
import EventLoop
import Fleet
import Foundation

/// How many registrations per second `lwm2m-fleet serve` takes from a flood of distinct
/// endpoints while it holds 1,000 registrations, and again while it holds 150,000.
///
/// The server first gets `held` registrations that stay. Then every socket runs Register (a
/// new endpoint name each time), De-register, Register, ... so the count held stays within
/// `held` and `held` + sockets while the rate is measured over `seconds` after one second of
/// warm-up. The generator is as tight as it can be, so the server is what is measured.
@main
enum RegisterFlood {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            print("usage: register-flood PATH-TO-lwm2m-fleet [sockets=10000] [seconds=5] [second-mark=150000]")
            exit(2)
        }
        let socketCount = arguments.count > 2 ? Int(arguments[2]) ?? 10_000 : 10_000
        let window = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5
        let secondMark = arguments.count > 4 ? Int(arguments[4]) ?? 150_000 : 150_000
        OpenFileLimit.raiseToHardLimit()

        let serve = try EmbeddedServerProcess(executable: URL(fileURLWithPath: arguments[1]), configuration: EmbeddedServerConfiguration())
        defer { _ = serve.stop() }
        let port = try CoAPURI(serve.serverURI).port

        let loop = try EventLoop()
        let server = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        var sockets: [UDPSocketID] = []
        for index in 0..<socketCount {
            let socket = try loop.openUDPSocket(bindTo: local, connectTo: server, tag: UInt64(index))
            try? loop.setBufferSizes(of: socket, receiveBytes: 4096, sendBytes: 4096)
            sockets.append(socket)
        }
        var nextEndpoint = 0
        var lastSent = [UInt64](repeating: 0, count: socketCount)
        var pending = [[UInt8]](repeating: [], count: socketCount)
        var registered = 0
        var resent = 0
        /// Register with a new endpoint name, or (when `location` is set) De-register it.
        func send(on index: Int, now: UInt64, deleting location: [String]? = nil) {
            var request = CoAPMessage(type: .confirmable, code: location == nil ? .post : .delete,
                                      messageID: UInt16(truncatingIfNeeded: nextEndpoint), token: CoAPToken(value: UInt64(nextEndpoint), length: 4))
            if let location {
                for segment in location { request.options.append(.uriPath, string: segment) }
            } else {
                request.setPath("/rd")
                request.options.append(.contentFormat, uint: 40)
                request.options.append(.uriQuery, string: "ep=flood-\(nextEndpoint)")
                request.options.append(.uriQuery, string: "lt=86400")
                request.options.append(.uriQuery, string: "lwm2m=1.1")
                request.options.append(.uriQuery, string: "b=U")
                request.payload = Array("</1/0>,</3/0>".utf8)[...]
            }
            nextEndpoint += 1
            lastSent[index] = now
            pending[index] = request.encoded()
            loop.send(pending[index], on: sockets[index])
        }

        // Phases: fill to 1,000 held, measure; fill to `secondMark`, measure.
        enum Phase { case filling(target: Int), warming(until: UInt64), measuring(since: UInt64, from: Int), done }
        var phase = Phase.filling(target: 1_000)
        var results: [Double] = []
        let cycling = { () -> Bool in if case .filling = phase { false } else { true } }
        let scanTag = UInt64.max
        loop.datagramReceived = { _, tag, bytes, _, now in
            let index = Int(tag)
            guard let response = try? CoAPMessage.decode(Array(bytes)).get() else { return }
            if response.code == .created {
                registered += 1
                if case .filling(let target) = phase, registered >= target {
                    phase = .warming(until: now + 1_000_000_000)
                }
                // While cycling, every registration is undone at once, so the count held stays put.
                if cycling() { return send(on: index, now: now, deleting: response.locationPath) }
                if case .filling(let target) = phase, registered + socketCount > target { lastSent[index] = .max; return }
            }
            if case .done = phase { return }
            send(on: index, now: now)
        }
        loop.timerFired = { _, now in
            for index in sockets.indices where lastSent[index] != .max && now - lastSent[index] > 2_000_000_000 {
                resent += 1
                lastSent[index] = now
                loop.send(pending[index], on: sockets[index])
            }
            switch phase {
            case .warming(let until) where now >= until:
                phase = .measuring(since: now, from: registered)
                for index in sockets.indices where lastSent[index] == .max { send(on: index, now: now) }
            case .measuring(let since, let from) where now - since >= UInt64(window) * 1_000_000_000:
                results.append(Double(registered - from) / (Double(now - since) / 1e9))
                if results.count == 2 {
                    phase = .done
                    return loop.stop()
                }
                // Cycling sockets deregister what they register: fill up to the second mark.
                phase = .filling(target: registered + secondMark - 1_000)
            default:
                break
            }
            _ = loop.schedule(at: now + 100_000_000, tag: scanTag)
        }
        _ = loop.schedule(at: loop.now + 100_000_000, tag: scanTag)
        // Only as many sockets as the first fill needs start; the others join when measuring starts.
        let start = loop.now
        for index in sockets.indices {
            if index < 1_000 { send(on: index, now: start) } else { lastSent[index] = .max }
        }
        loop.run()
        print("held 1000: \(Int(results[0])) registrations/s (each followed by a De-register)")
        print("held \(secondMark): \(Int(results[1])) registrations/s")
        print(String(format: "ratio (held %d / held 1000): %.2f", secondMark, results[1] / results[0]))
        print("registers re-sent after 2 s without answer: \(resent)")
    }
}
