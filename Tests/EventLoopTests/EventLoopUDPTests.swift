import EventLoop
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class EventLoopUDPTests: XCTestCase {
    func testConnectedClientAndUnconnectedServerExchangeDatagramsOverIPv4() throws {
        try exchangeDatagrams(host: "127.0.0.1")
    }

    func testConnectedClientAndUnconnectedServerExchangeDatagramsOverIPv6() throws {
        let loop = try EventLoop()
        do {
            loop.close(try loop.openUDPSocket(bindTo: SocketAddress(ipAddress: "::1", port: 0), tag: 0))
        } catch {
            throw XCTSkip("IPv6 loopback is unavailable here: \(error)")
        }
        try exchangeDatagrams(host: "::1")
    }

    private func exchangeDatagrams(host: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let loop = try EventLoop()
        let server = try loop.openUDPSocket(bindTo: SocketAddress(ipAddress: host, port: 0), tag: 1)
        let serverAddress = try XCTUnwrap(loop.localAddress(of: server))
        XCTAssertNotEqual(serverAddress.port, 0, "the kernel picks a port for port 0", file: file, line: line)
        let client = try loop.openUDPSocket(
            bindTo: SocketAddress(ipAddress: host, port: 0), connectTo: serverAddress, tag: 2
        )
        let clientAddress = try XCTUnwrap(loop.localAddress(of: client))
        let timeLimit = loop.scheduleTimeLimit()
        loop.timerFired = { [unowned loop] tag, _ in _ = loop.reachedTimeLimit(tag, file: file, line: line) }

        var serverGot: [String] = []
        var clientGot: [String] = []
        loop.datagramReceived = { [unowned loop] socket, tag, bytes, peer, _ in
            let text = String(decoding: bytes, as: UTF8.self)
            switch tag {
            case 1:
                XCTAssertEqual(socket, server, file: file, line: line)
                XCTAssertEqual(peer, clientAddress, file: file, line: line)
                serverGot.append(text)
                loop.send(Array("pong \(serverGot.count)".utf8), on: server, to: peer)
            default:
                XCTAssertEqual(socket, client, file: file, line: line)
                XCTAssertEqual(peer, serverAddress, file: file, line: line)
                clientGot.append(text)
                if clientGot.count < 3 {
                    loop.send(Array("ping \(clientGot.count + 1)".utf8), on: client)
                } else {
                    loop.close(client)
                    loop.close(server)
                    loop.cancel(timeLimit)
                }
            }
        }
        loop.send(Array("ping 1".utf8), on: client)
        loop.runUntilIdle()

        XCTAssertEqual(serverGot, ["ping 1", "ping 2", "ping 3"], file: file, line: line)
        XCTAssertEqual(clientGot, ["pong 1", "pong 2", "pong 3"], file: file, line: line)
        XCTAssertEqual(loop.sendErrorCount, 0, file: file, line: line)
        XCTAssertEqual(loop.receiveErrorCount, 0, file: file, line: line)
        XCTAssertEqual(loop.openSocketCount, 0, file: file, line: line)
        // A closed socket's ID is stale: sending on it is counted, not a crash.
        loop.send([1], on: client)
        XCTAssertEqual(loop.sendErrorCount, 1, file: file, line: line)
        XCTAssertNil(loop.localAddress(of: client), file: file, line: line)
    }

    func testConnectedSocketIgnoresDatagramsFromStrangers() throws {
        let loop = try EventLoop()
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        let server = try loop.openUDPSocket(bindTo: loopback, tag: 1)
        let serverAddress = try XCTUnwrap(loop.localAddress(of: server))
        let client = try loop.openUDPSocket(bindTo: loopback, connectTo: serverAddress, tag: 2)
        let clientAddress = try XCTUnwrap(loop.localAddress(of: client))
        let stranger = try loop.openUDPSocket(bindTo: loopback, tag: 3)
        let timeLimit = loop.scheduleTimeLimit()

        var received: [UInt64: [String]] = [:]
        loop.datagramReceived = { [unowned loop] _, tag, bytes, _, _ in
            received[tag, default: []].append(String(decoding: bytes, as: UTF8.self))
            if received[1] != nil, received[2] != nil {
                // Both expected datagrams are in; linger so a leaked stranger datagram would show.
                _ = loop.schedule(at: loop.now + 50_000_000, tag: 0)
            }
        }
        loop.timerFired = { [unowned loop] tag, _ in
            guard !loop.reachedTimeLimit(tag) else {
                return
            }
            loop.cancel(timeLimit)
            loop.close(server)
            loop.close(client)
            loop.close(stranger)
        }
        // The stranger's datagram goes first, so it would arrive before the peer's if not dropped.
        loop.send(Array("from stranger".utf8), on: stranger, to: clientAddress)
        loop.send(Array("stranger to server".utf8), on: stranger, to: serverAddress)
        loop.send(Array("from peer".utf8), on: server, to: clientAddress)
        loop.runUntilIdle()

        XCTAssertEqual(received[2], ["from peer"])
        // The stranger's datagram to the server arrived, so the one to the client was dropped, not lost.
        XCTAssertEqual(received[1], ["stranger to server"])
        XCTAssertEqual(loop.sendErrorCount, 0)
        XCTAssertEqual(loop.openSocketCount, 0)
    }

    func testTwoThousandConnectedClientsEachGetAnEchoAndCloseReleasesEverySlot() throws {
        let clientCount = 2_000
        try ensureFileDescriptors(clientCount + 100)
        let loop = try EventLoop()
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        let serverTag = UInt64(clientCount)
        let server = try loop.openUDPSocket(bindTo: loopback, tag: serverTag)
        let serverAddress = try XCTUnwrap(loop.localAddress(of: server))
        let clients = try (0..<clientCount).map {
            try loop.openUDPSocket(bindTo: loopback, connectTo: serverAddress, tag: UInt64($0))
        }
        XCTAssertEqual(loop.openSocketCount, clientCount + 1)
        XCTAssertEqual(Set(clients).count, clientCount)

        let batchSize = 25
        let retryTag = UInt64.max - 1
        let timeLimit = loop.scheduleTimeLimit()
        var retry = loop.schedule(at: loop.now + 200_000_000, tag: retryTag)
        var echoed = [Bool](repeating: false, count: clientCount)
        var echoedCount = 0

        let sendRequest = { [unowned loop] (client: Int) in
            withUnsafeBytes(of: UInt32(client).littleEndian) { loop.send($0, on: clients[client]) }
        }
        // Paced (25 per ms) and retried, because one server socket's receive buffer holds only
        // about 250 small datagrams and a slow host (gVisor: ~30 per ms) drains it slowly; the
        // test is about the loop, not about loopback drops.
        loop.timerFired = { [unowned loop] tag, now in
            guard !loop.reachedTimeLimit(tag) else {
                return
            }
            if tag == retryTag {
                (0..<clientCount).filter { !echoed[$0] }.forEach(sendRequest)
                retry = loop.schedule(at: now + 200_000_000, tag: retryTag)
                return
            }
            let first = Int(tag) * batchSize
            (first..<min(first + batchSize, clientCount)).forEach(sendRequest)
        }
        loop.datagramReceived = { [unowned loop] socket, tag, bytes, peer, _ in
            if tag == serverTag {
                loop.send(bytes, on: server, to: peer)
                return
            }
            let client = Int(tag)
            XCTAssertEqual(socket, clients[client])
            XCTAssertEqual(peer, serverAddress)
            XCTAssertEqual(bytes.loadUnaligned(as: UInt32.self), UInt32(client).littleEndian)
            guard !echoed[client] else {
                return
            }
            echoed[client] = true
            echoedCount += 1
            if echoedCount == clientCount {
                clients.forEach(loop.close)
                loop.close(server)
                // The handles live until their close callbacks run on a later iteration.
                XCTAssertEqual(loop.openSocketCount, clientCount + 1)
                loop.cancel(retry)
                loop.cancel(timeLimit)
            }
        }
        let start = loop.now
        for batch in 0..<(clientCount + batchSize - 1) / batchSize {
            _ = loop.schedule(at: start + UInt64(batch) * 1_000_000, tag: UInt64(batch))
        }
        loop.runUntilIdle()

        XCTAssertEqual(echoedCount, clientCount)
        XCTAssertEqual(loop.openSocketCount, 0)
        XCTAssertEqual(loop.sendErrorCount, 0)
        XCTAssertEqual(loop.receiveErrorCount, 0)
    }

    func testBindingATakenPortThrowsAndReleasesTheSlot() throws {
        let loop = try EventLoop()
        let first = try loop.openUDPSocket(bindTo: SocketAddress(ipAddress: "127.0.0.1", port: 0), tag: 1)
        let taken = try XCTUnwrap(loop.localAddress(of: first))
        XCTAssertThrowsError(try loop.openUDPSocket(bindTo: taken, tag: 2)) { error in
            let error = error as? EventLoopError
            XCTAssertEqual(error?.code, -EADDRINUSE)
            XCTAssertEqual(error?.operation, "bind UDP socket to \(taken)")
        }
        loop.close(first)
        loop.runUntilIdle()
        XCTAssertEqual(loop.openSocketCount, 0)
    }

    func testLoopDeinitClosesOpenSocketsAndWatchers() throws {
        // Libuv opens a process-wide pipe on first signal use; let that happen before counting.
        try EventLoop().watchSignals([SIGUSR2])
        let before = try openFileDescriptorCount()
        do {
            let loop = try EventLoop()
            try loop.watchSignals([SIGUSR2])
            let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
            let server = try loop.openUDPSocket(bindTo: loopback, tag: 0)
            for tag in 1...10 as ClosedRange<UInt64> {
                let serverAddress = loop.localAddress(of: server)
                let client = try loop.openUDPSocket(bindTo: loopback, connectTo: serverAddress, tag: tag)
                loop.send([1, 2, 3], on: client)
            }
            _ = loop.schedule(at: loop.now + 1_000_000_000, tag: 0)
            XCTAssertGreaterThan(try openFileDescriptorCount(), before)
        }
        XCTAssertEqual(try openFileDescriptorCount(), before)
    }

    private func openFileDescriptorCount() throws -> Int {
        let directory = try XCTUnwrap(opendir("/proc/self/fd"), "needs /proc/self/fd")
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil {
            count += 1
        }
        return count
    }

    private func ensureFileDescriptors(_ needed: Int) throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < rlim_t(needed), limit.rlim_max >= rlim_t(needed) {
            limit.rlim_cur = rlim_t(needed)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        guard limit.rlim_cur >= rlim_t(needed) else {
            throw XCTSkip("needs \(needed) file descriptors; the hard limit is \(limit.rlim_max)")
        }
    }
}
