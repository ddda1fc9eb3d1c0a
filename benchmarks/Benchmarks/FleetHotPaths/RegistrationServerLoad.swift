import Benchmark
import BenchmarkDevices
import CoAP
import LwM2MClient
import LwM2MServer

/// The embedded LwM2M Server (`LwM2MRegistrationServer`, default configuration) holding a number
/// of registrations, each made by a device of the default profile from a peer address of its own,
/// fed prepared datagrams on a manual clock.
///
/// Every Register is the one `LwM2MClient` sends, with the endpoint name changed per device. The
/// server lives across the samples of a benchmark, as it does in a run: its maps, heaps and the
/// duplicate caches of its peers are in their steady state when measuring starts.
final class RegistrationServerLoad {
    private var server = LwM2MRegistrationServer<Int>(configuration: RegistrationServerConfiguration(), seed: 1)
    /// Reused for every datagram, as `ServerDriver` reuses its output.
    private var output = ServerOutput<Int>()
    private let now = Timestamp.seconds(1_000)
    /// A device's Register, as decoded: path, query, content format and object links.
    private let template: CoAPMessage
    /// The Register of each held device, by peer; its message ID is rewritten in place before each use.
    private var registers: [[UInt8]] = []
    /// The next message ID each peer sends, so no message is taken for a retransmission.
    private var messageIDs: [UInt16] = []
    /// The held device whose turn it is to register again.
    private var nextHeld = 0
    /// Devices beyond the held ones registered so far, for endpoint names never used before.
    private var extraDevices: UInt32 = 0
    /// De-registers prepared by `prepareDeregisters`, one per peer after the held ones.
    private var deregisters: [[UInt8]] = []

    var registrationCount: Int { server.registrationCount }

    /// A server holding `held` registrations, each refreshed by as many Registers again as the
    /// duplicate cache of its peer holds, so that cache is full.
    init(held: Int) {
        guard let register = DefaultDevice.firstRegister(index: 1), let decoded = try? CoAPMessage.decode(register).get() else {
            fatalError("the default device sent no Register")
        }
        template = decoded
        messageIDs = Array(repeating: 0, count: held)
        registers = (0..<held).map { peer in
            registerDatagram(endpoint: DefaultDevice.configuration.endpointName(index: UInt32(peer)), messageID: 0)
        }
        let capacity = Int(RegistrationServerConfiguration().transmission.duplicateCacheCapacity)
        for _ in 0...capacity {
            for _ in 0..<held where !registerNextHeldAgain() {
                fatalError("the server did not answer a Register with 2.01 while filling")
            }
        }
        guard server.registrationCount == held else { fatalError("the server holds \(server.registrationCount), not \(held)") }
    }

    /// The next held device sends its Register again from its address (a new message ID), as a
    /// rebooted device does; the server replaces its registration. True when answered 2.01 Created.
    func registerNextHeldAgain() -> Bool {
        let peer = nextHeld
        nextHeld = (nextHeld + 1) % registers.count
        let messageID = takeMessageID(peer)
        registers[peer][2] = UInt8(messageID >> 8)
        registers[peer][3] = UInt8(messageID & 0xFF)
        return receive(registers[peer], from: peer, answeredWith: .created)
    }

    /// Registers `count` devices never seen before, each from a peer of its own after the held
    /// ones, and prepares their De-registers. True when all were registered.
    func prepareDeregisters(count: Int) -> Bool {
        deregisters.removeAll(keepingCapacity: true)
        let held = registers.count
        if messageIDs.count < held + count { messageIDs += Array(repeating: 0, count: held + count - messageIDs.count) }
        for peer in held..<held + count {
            extraDevices += 1
            let endpoint = DefaultDevice.configuration.endpointName(index: UInt32(held) + extraDevices)
            output.removeAll()
            server.receive(registerDatagram(endpoint: endpoint, messageID: takeMessageID(peer)), from: peer, now: now, output: &output)
            guard let answer = output.datagrams.first, let created = try? CoAPMessage.decode(answer.bytes).get(),
                  created.code == .created
            else { return false }
            var delete = CoAPMessage(
                type: .confirmable, code: .delete, messageID: takeMessageID(peer), token: CoAPToken(value: UInt64(extraDevices), length: 4))
            for segment in created.locationPath { delete.options.append(.uriPath, string: segment) }
            deregisters.append(delete.encoded())
        }
        return server.registrationCount == held + count
    }

    /// The `index`th prepared De-register arrives; true when answered 2.02 Deleted.
    func deregister(_ index: Int) -> Bool {
        receive(deregisters[index], from: registers.count + index, answeredWith: .deleted)
    }

    private func receive(_ datagram: [UInt8], from peer: Int, answeredWith code: CoAPCode) -> Bool {
        output.removeAll()
        server.receive(datagram, from: peer, now: now, output: &output)
        guard output.datagrams.count == 1, let answer = output.datagrams.first, answer.peer == peer,
              answer.bytes.count >= 2, answer.bytes[1] == code.rawValue
        else { return false }
        blackHole(answer.bytes)
        return true
    }

    private func takeMessageID(_ peer: Int) -> UInt16 {
        defer { messageIDs[peer] &+= 1 }
        return messageIDs[peer]
    }

    /// The device's Register with `endpoint` as its endpoint name.
    private func registerDatagram(endpoint: String, messageID: UInt16) -> [UInt8] {
        var register = CoAPMessage(type: .confirmable, code: .post, messageID: messageID, token: template.token)
        for segment in template.uriPath { register.options.append(.uriPath, string: segment) }
        for item in template.uriQuery {
            register.options.append(.uriQuery, string: item.hasPrefix("ep=") ? "ep=" + endpoint : item)
        }
        if let format = template.contentFormat { register.options.append(.contentFormat, uint: UInt64(format)) }
        register.payload = template.payload
        return register.encoded()
    }
}
