import ArgumentParser
import CoAP
import EventLoop

/// Keeps one request in flight on each of N connected sockets and counts completed round trips.
///
/// Raw mode sends fixed bytes and counts every echo. CoAP mode runs a `CoAPEndpoint` per
/// socket exactly as a device would: each round trip is a CON request encoded by the endpoint,
/// a retransmission deadline put in the loop's timer queue, the ACK decoded and matched, and
/// the deadline cancelled.
final class LoadGenerator {
    /// What travels on each socket.
    enum Mode: String, ExpressibleByArgument, CustomStringConvertible {
        case raw, coap
        var description: String { rawValue }
    }

    /// Round trips per second over the measured window, how many requests were lost, and the
    /// CPU time of this process per round trip.
    struct Result {
        var roundTripsPerSecond: Double
        var lost: Int
        var cpuPerRoundTrip: ProcessCPUTime
    }

    private let mode: Mode
    private let loop: EventLoop
    private var sockets: [UDPSocketID] = []
    private var lastSent: [UInt64] = []
    private var endpoints: [CoAPEndpoint] = []
    private var timers: [TimerHandle?] = []
    private var output = CoAPEndpointOutput()
    private let request: CoAPMessage
    private let rawDatagram: [UInt8]
    private var completed = 0
    private var lost = 0

    private static let warmUpTag = UInt64.max
    private static let endTag = UInt64.max - 1
    private static let resendScanTag = UInt64.max - 2
    /// A raw datagram unanswered this long is taken as lost and sent again.
    private static let rawResendNanoseconds: UInt64 = 500_000_000

    init(mode: Mode, sockets count: Int, port: UInt16) throws {
        self.mode = mode
        loop = try EventLoop()
        var request = CoAPMessage(type: .confirmable, code: .post)
        request.setPath("/rd")
        request.options.append(.uriQuery, string: "ep=sim-000001")
        self.request = request
        var raw = request.encoded()
        raw[0] = 0 // not CoAP version 1: the responder echoes it
        rawDatagram = raw

        let server = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        for index in 0..<count {
            sockets.append(try loop.openUDPSocket(bindTo: local, connectTo: server, tag: UInt64(index)))
        }
        lastSent = Array(repeating: 0, count: count)
        if mode == .coap {
            endpoints = (0..<count).map { CoAPEndpoint(seed: UInt64($0) + 1) }
            timers = Array(repeating: nil, count: count)
        }
    }

    func measure(seconds: Double) throws -> Result {
        var measuring = false
        var windowStart: UInt64 = 0
        var windowEnd: UInt64 = 0
        var cpuAtStart = ProcessCPUTime.now()
        var cpuAtEnd = cpuAtStart
        loop.datagramReceived = { [unowned self] _, tag, bytes, _, now in
            let index = Int(tag)
            switch mode {
            case .raw:
                completed += 1
                sendRaw(index, now: now)
            case .coap:
                endpoints[index].receive(Array(bytes), now: Timestamp(nanoseconds: now), output: &output)
                flushCoAP(index, now: now)
            }
        }
        loop.timerFired = { [unowned self] tag, now in
            switch tag {
            case Self.warmUpTag:
                measuring = true
                completed = 0
                lost = 0
                windowStart = now
                cpuAtStart = ProcessCPUTime.now()
            case Self.endTag:
                windowEnd = now
                cpuAtEnd = ProcessCPUTime.now()
                loop.stop()
            case Self.resendScanTag:
                for index in sockets.indices where now - lastSent[index] > Self.rawResendNanoseconds {
                    lost += 1
                    sendRaw(index, now: now)
                }
                _ = loop.schedule(at: now + Self.rawResendNanoseconds / 2, tag: Self.resendScanTag)
            default:
                let index = Int(tag)
                timers[index] = nil
                endpoints[index].handleDeadline(now: Timestamp(nanoseconds: now), output: &output)
                flushCoAP(index, now: now)
            }
        }
        let start = loop.now
        _ = loop.schedule(at: start + 1_000_000_000, tag: Self.warmUpTag)
        _ = loop.schedule(at: start + 1_000_000_000 + UInt64(seconds * 1e9), tag: Self.endTag)
        if mode == .raw { _ = loop.schedule(at: start + Self.rawResendNanoseconds, tag: Self.resendScanTag) }
        for index in sockets.indices {
            switch mode {
            case .raw: sendRaw(index, now: start)
            case .coap: sendCoAP(index, now: start)
            }
        }
        loop.run()
        precondition(measuring, "the measurement window never started")
        let elapsed = Double(windowEnd - windowStart) / 1e9
        if loop.sendErrorCount + loop.queuedSendCount + loop.receiveErrorCount > 0 {
            print("\(mode): send errors \(loop.sendErrorCount), queued sends \(loop.queuedSendCount), receive errors \(loop.receiveErrorCount)")
        }
        return Result(
            roundTripsPerSecond: Double(completed) / elapsed, lost: lost,
            cpuPerRoundTrip: cpuAtEnd.perOperation(since: cpuAtStart, operations: completed))
    }

    private func sendRaw(_ index: Int, now: UInt64) {
        lastSent[index] = now
        loop.send(rawDatagram, on: sockets[index])
    }

    private func sendCoAP(_ index: Int, now: UInt64) {
        _ = endpoints[index].send(request, now: Timestamp(nanoseconds: now), output: &output)
        flushCoAP(index, now: now)
    }

    private func flushCoAP(_ index: Int, now: UInt64) {
        for datagram in output.datagrams { loop.send(datagram, on: sockets[index]) }
        lost += output.retransmissions
        var sendNext = false
        for event in output.events {
            if case .response = event {
                completed += 1
                sendNext = true
            } else if case .failed = event {
                sendNext = true
            }
        }
        output.removeAll()
        if sendNext {
            _ = endpoints[index].send(request, now: Timestamp(nanoseconds: now), output: &output)
            for datagram in output.datagrams { loop.send(datagram, on: sockets[index]) }
            output.removeAll()
        }
        let deadline = endpoints[index].nextDeadline?.nanoseconds
        if let timer = timers[index] {
            loop.cancel(timer)
        }
        timers[index] = deadline.map { loop.schedule(at: $0, tag: UInt64(index)) }
    }
}
