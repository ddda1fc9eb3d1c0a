import CoAP
import DTLS
import Foundation
import XCTest

/// Garbage and mutated records, seeded: nothing crashes, nothing hangs, and an established
/// session ignores whatever does not authenticate (RFC 6347 4.1.2.7).
final class DTLSGarbageTests: XCTestCase {
    private let key = PreSharedKey(identity: "urn:dev:fleet:000001", key: Array("0123456789abcdef".utf8))

    private func establishedPair(seed: UInt64) throws -> BackToBackSessions {
        let pair = try BackToBackSessions(key: key, serverKeys: .fixed(key.key), seed: seed)
        pair.start()
        XCTAssertTrue(pair.run())
        XCTAssertTrue(pair.clientSends("up"))
        XCTAssertTrue(pair.serverSends("down"))
        pair.deliver()
        return pair
    }

    /// A datagram made up from nothing, or from one of `valid` by mutation.
    private func garbage(from valid: [[UInt8]], random: inout SeededRandom) -> [UInt8] {
        func byte() -> UInt8 { UInt8(truncatingIfNeeded: random.next()) }
        switch random.next() % 6 {
        case 0:
            return (0..<Int(random.next() % 200)).map { _ in byte() }
        case 1:
            // A plausible record header (type 20-23, DTLS 1.2, epoch 0 or 1) over random content.
            let length = Int(random.next() % 120)
            let header: [UInt8] = [20 + byte() % 4, 0xFE, 0xFD, 0, byte() % 2] + (0..<6).map { _ in byte() }
                + [UInt8(length >> 8), UInt8(length & 0xFF)]
            return header + (0..<length).map { _ in byte() }
        case 2:
            // A valid datagram again, verbatim: a duplicate or a replay.
            return valid[Int(random.next() % UInt64(valid.count))]
        case 3:
            var datagram = valid[Int(random.next() % UInt64(valid.count))]
            datagram.removeLast(Int(random.next() % UInt64(datagram.count)))
            return datagram
        default:
            var datagram = valid[Int(random.next() % UInt64(valid.count))]
            for _ in 0...(random.next() % 4) {
                datagram[Int(random.next() % UInt64(datagram.count))] ^= 1 << UInt8(random.next() % 8)
            }
            return datagram
        }
    }

    func testHundredThousandGarbageDatagramsCrashNothingAndEstablishedSessionsSurvive() throws {
        // Records of another session (other keys, other cookie key) and of the very session
        // under test (right keys: a mutation must fail the MAC, a copy the replay check).
        let reference = try establishedPair(seed: 7)
        var established = try establishedPair(seed: 8)
        let valid = reference.sentByClient + reference.sentByServer + established.sentByClient + established.sentByServer
        let configuration = try DTLSServerConfiguration(keys: .fixed(key.key), seed: 11)
        var handshakingClient = try DTLSClientSession(key: key, seed: 12)
        var handshakingServer = DTLSServerSession(configuration: configuration, transportID: [1, 2, 3])
        var output = DTLSOutput()
        var now = established.now
        handshakingClient.start(now: now, output: &output)
        var random = SeededRandom(seed: 0xD7_15)
        var handshakesEnded: [String: Int] = [:]
        var restarts = 0
        let started = Date()

        for index in 0..<100_000 {
            let datagram = garbage(from: valid, random: &random)
            now = now.adding(milliseconds: 1)
            output.removeAll()
            if index % 1_000 == 0 {
                // Garbage also finds parked sessions, which load themselves to read it.
                XCTAssertTrue(established.client.park())
                XCTAssertTrue(established.server.park())
            }
            switch index % 4 {
            case 0:
                established.inject(datagram, intoServer: false)
                established.dropQueued()
                XCTAssertEqual(established.client.state, .established(.pskWithAES128CCM8), "datagram \(index): \(datagram)")
            case 1:
                established.inject(datagram, intoServer: true)
                established.dropQueued()
                if established.serverEvents.contains(.restartedByPeer) {
                    // A ClientHello with a cookie still valid for this address: the peer may
                    // have restarted, and RFC 6347 4.2.8 wants a new handshake, which mbedTLS
                    // starts by resetting the session (and fails if the rest of the hello is
                    // malformed). Only a copy of this session's second ClientHello has one.
                    XCTAssertEqual(DTLSRecordPeek.handshakeType(datagram), 1, "datagram \(index)")
                    restarts += 1
                    established = try establishedPair(seed: 8)
                } else {
                    XCTAssertEqual(established.server.state, .established(.pskWithAES128CCM8), "datagram \(index): \(datagram)")
                }
            case 2:
                handshakingClient.receive(datagram, now: now, output: &output)
                handshakingClient.handleDeadline(now: now, output: &output)
                if case .handshaking = handshakingClient.state { break }
                handshakesEnded["client \(handshakingClient.state)", default: 0] += 1
                handshakingClient = try DTLSClientSession(key: key, seed: UInt64(index))
                handshakingClient.start(now: now, output: &output)
            default:
                handshakingServer.receive(datagram, now: now, output: &output)
                if case .handshaking = handshakingServer.state { break }
                handshakesEnded["server \(handshakingServer.state)", default: 0] += 1
                handshakingServer = DTLSServerSession(configuration: configuration, transportID: [1, 2, 3])
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), 120, "bounded in time")
            if Date().timeIntervalSince(started) > 120 { break }
        }
        print("garbage: handshakes ended \(handshakesEnded.sorted { $0.key < $1.key }), established server restarted \(restarts) times")

        XCTAssertTrue(established.clientSends("still here"))
        XCTAssertTrue(established.serverSends("me too"))
        established.deliver()
        XCTAssertEqual(established.serverReceived.last, Array("still here".utf8))
        XCTAssertEqual(established.clientReceived.last, Array("me too".utf8))
    }

    func testDeviceRestartedOnTheSameAddressGetsANewHandshake() throws {
        let pair = try establishedPair(seed: 3)
        // The device rebooted and talks from the same address and port with a fresh session:
        // its ClientHello gets a HelloVerifyRequest, and the one with the cookie restarts the
        // server session (RFC 6347 4.2.8).
        let rebooted = BackToBackSessions(client: try DTLSClientSession(key: key, seed: 99), server: pair.server)
        rebooted.start()
        XCTAssertTrue(rebooted.run())
        XCTAssertEqual(rebooted.client.state, .established(.pskWithAES128CCM8))
        XCTAssertEqual(rebooted.server.state, .established(.pskWithAES128CCM8))
        XCTAssertEqual(rebooted.serverEvents, [.restartedByPeer, .established(.pskWithAES128CCM8, resumed: false)])
        XCTAssertEqual(pair.server.clientIdentity, key.identity)
        XCTAssertTrue(rebooted.clientSends("after the reboot"))
        rebooted.deliver()
        XCTAssertEqual(rebooted.serverReceived, [Array("after the reboot".utf8)])
    }

    func testDatagramLargerThanMbedTLSInputBufferIsDropped() throws {
        let pair = try establishedPair(seed: 6)
        // 1,500 empty application records: 19,500 bytes, which mbedTLS's 16,717-byte buffer
        // would cut inside a record header.
        let header: [UInt8] = [23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0]
        let oversized = Array([[UInt8]](repeating: header, count: 1_500).joined())
        pair.inject(oversized, intoServer: true)
        pair.inject(oversized, intoServer: false)
        XCTAssertEqual(pair.server.state, .established(.pskWithAES128CCM8))
        XCTAssertEqual(pair.client.state, .established(.pskWithAES128CCM8))
    }

    func testEmptyDatagramIsIgnored() throws {
        let pair = try establishedPair(seed: 5)
        pair.inject([], intoServer: true)
        pair.inject([], intoServer: false)
        XCTAssertEqual(pair.server.state, .established(.pskWithAES128CCM8))
        XCTAssertEqual(pair.client.state, .established(.pskWithAES128CCM8))
    }
}
