import CMallocInfo
import CoAP
import DTLS
import Foundation
import XCTest

/// What a session costs: heap per session (mbedTLS's buffers included) and CPU per handshake.
final class DTLSSessionCostTests: XCTestCase {
    private let key = PreSharedKey(identity: "urn:dev:fleet:000001", key: Array("0123456789abcdef".utf8))

    private func heapInUse() -> Int { Int(mallinfo2().uordblks) }

    private func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// A client and a server session that completed a handshake and exchanged one record each
    /// way (until then the server keeps its last flight for a retransmission), with nothing
    /// else left allocated.
    private func establishedSessions(configuration: DTLSServerConfiguration, seed: UInt64) throws -> (DTLSClientSession, DTLSServerSession) {
        let pair = BackToBackSessions(
            client: try DTLSClientSession(key: key, seed: seed),
            server: DTLSServerSession(configuration: configuration, transportID: Array("10.0.\(seed % 256).1:5684".utf8)))
        pair.start()
        XCTAssertTrue(pair.run())
        XCTAssertTrue(pair.clientSends("up"))
        XCTAssertTrue(pair.serverSends("down"))
        pair.deliver()
        XCTAssertEqual(pair.clientReceived.count, 1)
        return (pair.client, pair.server)
    }

    func testHeapOfOneEstablishedClientAndServerSession() throws {
        // Means over `count` of each, after a first pair has made the runtime's and mbedTLS's
        // first-use allocations; glibc keeps small freed blocks in per-thread caches that
        // mallinfo2 counts as in use, so single measurements are off by a few KB.
        let count = 32
        let configuration = try DTLSServerConfiguration(keys: .fixed(key.key), seed: 1)
        _ = try establishedSessions(configuration: configuration, seed: 999)

        var configurations: [DTLSServerConfiguration] = []
        configurations.reserveCapacity(count)
        var before = heapInUse()
        for seed in 0..<count { configurations.append(try DTLSServerConfiguration(keys: .fixed(key.key), seed: UInt64(seed))) }
        let configurationBytes = (heapInUse() - before) / count
        configurations.removeAll(keepingCapacity: true)

        var idle: [DTLSClientSession] = []
        idle.reserveCapacity(count)
        before = heapInUse()
        for seed in 0..<count { idle.append(try DTLSClientSession(key: key, seed: UInt64(seed))) }
        let unstartedClientBytes = (heapInUse() - before) / count
        idle.removeAll(keepingCapacity: true)

        var clients: [DTLSClientSession] = []
        var servers: [DTLSServerSession] = []
        clients.reserveCapacity(count)
        servers.reserveCapacity(count)
        before = heapInUse()
        for seed in 0..<count {
            let (client, server) = try establishedSessions(configuration: configuration, seed: UInt64(seed))
            clients.append(client)
            servers.append(server)
        }
        let bothBytes = heapInUse() - before
        clients.removeAll(keepingCapacity: true)
        let serversBytes = heapInUse() - before
        servers.removeAll(keepingCapacity: true)
        let clientBytes = (bothBytes - serversBytes) / count
        let serverBytes = serversBytes / count

        print("""
            DTLS heap (mallinfo2, mean of \(count)): client established \(clientBytes) B, \
            server established \(serverBytes) B, client before start \(unstartedClientBytes) B, \
            server configuration \(configurationBytes) B
            """)
        // Two 16,717-byte record buffers each, always allocated by mbedtls_ssl_setup.
        XCTAssertGreaterThan(clientBytes, 2 * 16_717)
        XCTAssertLessThan(clientBytes, 40_000)
        XCTAssertGreaterThan(serverBytes, 2 * 16_717)
        XCTAssertLessThan(serverBytes, 40_000)
        XCTAssertLessThan((heapInUse() - before) / count, 512, "nothing left behind per session once it is gone")
    }

    func testHeapAndCPUOfParkedSessions() throws {
        let count = 32
        let configuration = try DTLSServerConfiguration(keys: .fixed(key.key), seed: 1)
        _ = try establishedSessions(configuration: configuration, seed: 999)
        var clients: [DTLSClientSession] = []
        var servers: [DTLSServerSession] = []
        clients.reserveCapacity(count)
        servers.reserveCapacity(count)
        for seed in 0..<count {
            let (client, server) = try establishedSessions(configuration: configuration, seed: UInt64(seed))
            clients.append(client)
            servers.append(server)
        }
        var before = heapInUse()
        var start = threadCPUNanoseconds()
        XCTAssertTrue(clients.allSatisfy { $0.park() })
        let parkNanoseconds = threadCPUNanoseconds() - start
        let clientFreed = (before - heapInUse()) / count
        before = heapInUse()
        XCTAssertTrue(servers.allSatisfy { $0.park() })
        let serverFreed = (before - heapInUse()) / count
        before = heapInUse()
        clients.removeAll(keepingCapacity: true)
        let parkedClientBytes = (before - heapInUse()) / count
        before = heapInUse()
        servers.removeAll(keepingCapacity: true)
        let parkedServerBytes = (before - heapInUse()) / count

        // Loading again: each parked client sends one record.
        for seed in 0..<count {
            let (client, _) = try establishedSessions(configuration: configuration, seed: UInt64(seed))
            XCTAssertTrue(client.park())
            clients.append(client)
        }
        var output = DTLSOutput()
        start = threadCPUNanoseconds()
        for client in clients { XCTAssertTrue(client.send([1], now: .zero, output: &output)) }
        let loadAndSendNanoseconds = threadCPUNanoseconds() - start
        print("""
            DTLS parking (mean of \(count)): frees \(clientFreed) B of a client and \(serverFreed) B of a server; \
            a parked client keeps \(parkedClientBytes) B and a parked server \(parkedServerBytes) B; park \(parkNanoseconds / UInt64(count) / 1_000) us, \
            load and send one record \(loadAndSendNanoseconds / UInt64(count) / 1_000) us (debug build of our code)
            """)
        XCTAssertGreaterThan(clientFreed, 30_000)
        XCTAssertGreaterThan(serverFreed, 30_000)
        // Measured: about 430 B of a client (its blob, its key and the session object; its
        // context and own config are freed) and 560 B of a server (blob, peer address and
        // identity), against 1,508 and 1,284 B while parking kept the context struct and config.
        XCTAssertLessThan(parkedClientBytes, 640, "a parked client keeps neither context nor config")
        XCTAssertLessThan(parkedServerBytes, 768, "a parked server keeps no context")
    }

    func testCPUOfFullHandshakesPerSide() throws {
        let configuration = try DTLSServerConfiguration(keys: .fixed(key.key), seed: 1)
        let handshakes = 100
        var clientNanoseconds: UInt64 = 0
        var serverNanoseconds: UInt64 = 0
        var output = DTLSOutput()
        for seed in 0..<handshakes {
            let client = try DTLSClientSession(key: key, seed: UInt64(seed))
            let server = DTLSServerSession(configuration: configuration, transportID: [1, 2, 3, 4])
            var start = threadCPUNanoseconds()
            client.start(now: .zero, output: &output)
            clientNanoseconds += threadCPUNanoseconds() - start
            var toServer = output.datagrams
            output.removeAll()
            for _ in 0..<4 where !toServer.isEmpty {
                start = threadCPUNanoseconds()
                for datagram in toServer { server.receive(datagram, now: .zero, output: &output) }
                serverNanoseconds += threadCPUNanoseconds() - start
                let toClient = output.datagrams
                output.removeAll()
                start = threadCPUNanoseconds()
                for datagram in toClient { client.receive(datagram, now: .zero, output: &output) }
                clientNanoseconds += threadCPUNanoseconds() - start
                toServer = output.datagrams
                output.removeAll()
            }
            XCTAssertEqual(client.state, .established(.pskWithAES128CCM8))
            XCTAssertEqual(server.state, .established(.pskWithAES128CCM8))
        }
        print("""
            DTLS CPU per full PSK handshake with cookie (CCM_8, debug build of our code): \
            client \(clientNanoseconds / UInt64(handshakes) / 1_000) us, \
            server \(serverNanoseconds / UInt64(handshakes) / 1_000) us
            """)
    }
}
