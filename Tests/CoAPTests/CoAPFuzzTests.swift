import CoAP
import SharedTestData
import XCTest

/// Hostile datagrams against the decoder and a live endpoint: nothing may trap, every message that
/// decodes re-encodes to the same bytes, and every datagram the endpoint sends is valid CoAP.
final class CoAPFuzzTests: XCTestCase {
    func testTwoHundredThousandHostileDatagramsNeverTrapAndDecodedOnesRoundTrip() throws {
        let seeds = try FuzzSeed.fromVectors(CoAPVectorFile.load())
        var fuzzer = EndpointFuzzer(seeds: seeds, seed: 0xC0A9_F022)
        let datagrams = 200_000
        let elapsed = ContinuousClock().measure { fuzzer.run(datagrams: datagrams) }
        print("CoAPFuzzTests: \(datagrams) datagrams in \(elapsed); \(fuzzer.statistics)")

        XCTAssertEqual(fuzzer.problemCount, 0, "first problems:\n" + fuzzer.problems.joined(separator: "\n"))
        // The mix must keep reaching every path, or the fuzzer has quietly become useless.
        let statistics = fuzzer.statistics
        XCTAssertGreaterThan(statistics.decoded, datagrams / 10, "decodable share")
        XCTAssertGreaterThan(statistics.decodingFailures, datagrams / 10, "malformed share")
        XCTAssertGreaterThan(statistics.requestsDelivered, 0)
        XCTAssertGreaterThan(statistics.responsesDelivered, 0)
        XCTAssertGreaterThan(statistics.timeouts, 0)
        XCTAssertGreaterThan(statistics.resets, 0)
        XCTAssertGreaterThan(statistics.blockwiseMismatches, 0)
        XCTAssertGreaterThan(statistics.rejectedMalformed, 0)
        XCTAssertGreaterThan(statistics.rejectedBadOption, 0)
        XCTAssertGreaterThan(statistics.rejectedUnexpected, 0)
        XCTAssertGreaterThan(statistics.retransmissions, 0)
    }

    func testEveryPrefixOfEveryValidVectorDecodesOrFailsCleanly() throws {
        let file = try CoAPVectorFile.load()
        let valid = file.messages(error: false) + file.vectors(kind: "option-sequence")
        XCTAssertFalse(valid.isEmpty)
        var prefixes = 0
        for vector in valid {
            let datagram = try vector.datagram()
            var endpoint = CoAPEndpoint(seed: 3)
            var output = CoAPEndpointOutput()
            for length in 0...datagram.count {
                let prefix = Array(datagram[..<length])
                let label = "vector \(vector.id), first \(length) of \(datagram.count) bytes"
                switch CoAPMessage.decode(prefix) {
                case .success(let message):
                    XCTAssertEqual(message.encoded(), prefix, label)
                case .failure(let error):
                    XCTAssertNotEqual(length, datagram.count, "\(label): \(error)")
                    XCTAssertFalse(error.description.isEmpty, label)
                    XCTAssertTrue((0...length).contains(error.offset), "\(label): offset \(error.offset)")
                }
                output.removeAll()
                endpoint.receive(prefix, now: .seconds(UInt64(length)), output: &output)
                for reply in output.datagrams {
                    XCTAssertNoThrow(try CoAPMessage.decode(reply).get(), "\(label): the endpoint's reply")
                }
                prefixes += 1
            }
        }
        XCTAssertGreaterThan(prefixes, valid.count)
    }
}

/// A datagram to mutate, with the offsets of its option headers and payload marker.
struct FuzzSeed {
    var bytes: [UInt8]
    /// Where an option header (or the payload marker) starts; empty when the seed does not decode.
    var headerOffsets: [Int]

    /// Every message vector, valid or not, and every option sequence.
    static func fromVectors(_ file: CoAPVectorFile) throws -> [FuzzSeed] {
        try (file.vectors(kind: "message") + file.vectors(kind: "option-sequence")).map { vector in
            let bytes = try vector.datagram()
            guard case .success(let message) = CoAPMessage.decode(bytes) else {
                return FuzzSeed(bytes: bytes, headerOffsets: [])
            }
            return FuzzSeed(bytes: bytes, headerOffsets: headerOffsets(of: message))
        }
    }

    /// Option header offsets found by encoding ever longer prefixes of the option list.
    static func headerOffsets(of message: CoAPMessage) -> [Int] {
        var partial = message
        partial.options = CoAPOptions()
        partial.payload = []
        var offsets: [Int] = []
        for option in message.options {
            offsets.append(partial.encodedSize)
            partial.options.append(option.number, bytes: option.value)
        }
        if !message.payload.isEmpty { offsets.append(partial.encodedSize) }
        return offsets
    }
}

/// What a fuzz run reached, so a test can insist every path was exercised.
struct FuzzStatistics: CustomStringConvertible {
    var decoded = 0
    var decodingFailures = 0
    var sentByEndpoint = 0
    var requestsDelivered = 0
    var responsesDelivered = 0
    var timeouts = 0
    var resets = 0
    var blockwiseMismatches = 0
    var rejectedMalformed = 0
    var rejectedBadOption = 0
    var rejectedUnexpected = 0
    var notificationsFailed = 0
    var retransmissions = 0

    var description: String {
        "decoded \(decoded), malformed \(decodingFailures), endpoint sent \(sentByEndpoint), "
            + "requests \(requestsDelivered), responses \(responsesDelivered), timeouts \(timeouts), "
            + "resets \(resets), block-wise mismatches \(blockwiseMismatches), rejected: malformed "
            + "\(rejectedMalformed) bad option \(rejectedBadOption) unexpected \(rejectedUnexpected), "
            + "retransmissions \(retransmissions)"
    }
}

/// Drives one endpoint with random, mutated and forged datagrams on a manual clock, acting as both
/// its application (sending requests, answering requests) and a hostile peer.
struct EndpointFuzzer {
    private var random: SeededRandom
    private let seeds: [FuzzSeed]
    private var endpoint: CoAPEndpoint
    private var output = CoAPEndpointOutput()
    private var now = Timestamp.seconds(1)
    /// Requests and separate responses the endpoint sent lately, to forge answers to.
    private var sentLately: [CoAPMessage] = []
    /// Requests delivered to the application and not answered yet.
    private var heldRequests: [CoAPIncomingRequest] = []
    private var previousInput: [UInt8] = []
    private(set) var statistics = FuzzStatistics()
    /// The first few property violations, as replayable hex.
    private(set) var problems: [String] = []
    private(set) var problemCount = 0

    init(seeds: [FuzzSeed], seed: UInt64) {
        random = SeededRandom(seed: seed)
        self.seeds = seeds
        var parameters = CoAPTransmissionParameters()
        // Small blocks so that block-wise transfers start and finish within a few forged messages.
        parameters.block1Threshold = 48
        parameters.preferredBlockSize = 16
        endpoint = CoAPEndpoint(parameters: parameters, seed: seed)
    }

    mutating func run(datagrams: Int) {
        for _ in 0..<datagrams {
            keepTwoRequestsInFlight()
            let input = nextInput()
            checkDecoding(input)
            endpoint.receive(input, now: now, output: &output)
            drainOutput()
            previousInput = input

            if !heldRequests.isEmpty, random.below(20) == 0 {
                respond(to: heldRequests.removeFirst())
            }
            now = now.adding(milliseconds: UInt64(random.below(500)))
            if let deadline = endpoint.nextDeadline, deadline <= now || random.below(32) == 0 {
                endpoint.handleDeadline(now: now, output: &output)
                drainOutput()
            }
        }
    }

    // MARK: Inputs

    private mutating func nextInput() -> [UInt8] {
        switch random.below(100) {
        case 0..<20:
            return random.bytes(random.below(65))
        case 20..<60:
            let seed = seeds[random.below(seeds.count)]
            return mutated(seed.bytes, headerOffsets: seed.headerOffsets)
        case 60..<80 where !sentLately.isEmpty:
            let forged = forgedAnswer(to: sentLately[random.below(sentLately.count)]).encoded()
            return random.below(2) == 0 ? forged : mutated(forged, headerOffsets: [])
        case 60..<92:
            let forged = forgedPeerRequest()
            return random.below(2) == 0 ? forged.encoded() : mutated(forged.encoded(), headerOffsets: FuzzSeed.headerOffsets(of: forged))
        default:
            return previousInput
        }
    }

    /// One to three of: bit flips, byte replacement, truncation, extension, splicing with another
    /// seed, and setting an option header nibble to 13, 14 or 15.
    private mutating func mutated(_ original: [UInt8], headerOffsets: [Int]) -> [UInt8] {
        var bytes = original
        for _ in 0...random.below(3) {
            switch random.below(6) {
            case 0 where !bytes.isEmpty:
                for _ in 0...random.below(3) { bytes[random.below(bytes.count)] ^= 1 << random.below(8) }
            case 1 where !bytes.isEmpty:
                bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
            case 2:
                bytes.removeLast(random.below(bytes.count + 1))
            case 3:
                bytes += random.bytes(1 + random.below(16))
            case 4:
                let other = seeds[random.below(seeds.count)].bytes
                bytes = Array(bytes.prefix(random.below(bytes.count + 1)) + other.suffix(random.below(other.count + 1)))
            case 5:
                let inRange = headerOffsets.filter { $0 < bytes.count }
                let offset = inRange.isEmpty ? (bytes.count > 4 ? 4 + random.below(bytes.count - 4) : nil) : inRange[random.below(inRange.count)]
                guard let offset else { continue }
                let nibble = UInt8(13 + random.below(3))
                bytes[offset] = random.below(2) == 0 ? nibble << 4 | bytes[offset] & 0x0F : bytes[offset] & 0xF0 | nibble
            default:
                bytes.append(UInt8(truncatingIfNeeded: random.next()))
            }
        }
        return bytes
    }

    /// An ACK, RST or response to a message the endpoint sent; mostly matching it, sometimes not.
    private mutating func forgedAnswer(to sent: CoAPMessage) -> CoAPMessage {
        if sent.code.isResponse || random.below(8) == 0 {
            return .empty(random.below(3) == 0 ? .reset : .acknowledgement, messageID: sent.messageID)
        }
        let codes: [CoAPCode] = [.content, .changed, .created, .continue, .continue, .notFound, .badOption, .serviceUnavailable]
        var answer = CoAPMessage(type: .acknowledgement, code: codes[random.below(codes.count)], messageID: sent.messageID, token: sent.token)
        switch random.below(10) {
        case 0: answer.token = CoAPToken(value: random.next(), length: 4)
        case 1, 2: answer.type = .confirmable; answer.messageID = UInt16(truncatingIfNeeded: random.next())
        case 3: answer.type = .nonConfirmable; answer.messageID = UInt16(truncatingIfNeeded: random.next())
        default: break
        }
        if let block1 = sent.block1, random.below(4) != 0 {
            let exponent = random.below(4) == 0 ? UInt8(random.below(8)) : block1.sizeExponent
            answer.setBlock1(CoAPBlockOption(number: block1.number, more: block1.more, sizeExponent: exponent))
        }
        if random.below(3) == 0 {
            let number = random.below(5) == 0 ? UInt32(random.below(4)) : sent.block2?.number ?? 0
            let block = CoAPBlockOption(number: number, more: random.below(3) != 0, sizeExponent: UInt8(random.below(8) == 0 ? 7 : random.below(3)))
            answer.setBlock2(block)
            answer.payload = random.bytes(block.more ? block.size : random.below(block.size))[...]
        } else {
            answer.payload = random.bytes(random.below(3) == 0 ? random.below(40) : 0)[...]
        }
        return answer
    }

    /// A request from the peer, sometimes block-wise, sometimes with an option the endpoint must refuse.
    private mutating func forgedPeerRequest() -> CoAPMessage {
        let codes: [CoAPCode] = [.get, .put, .post]
        var request = CoAPMessage(
            type: random.below(4) == 0 ? .nonConfirmable : .confirmable,
            code: codes[random.below(codes.count)],
            messageID: UInt16(truncatingIfNeeded: random.next()),
            token: CoAPToken(value: random.next(), length: UInt8(random.below(9))))
        request.setPath(random.below(2) == 0 ? "/3/0" : "/5/0/1")
        switch random.below(6) {
        case 0, 1:
            let block = CoAPBlockOption(number: UInt32(random.below(3)), more: random.below(2) == 0, sizeExponent: UInt8(random.below(8)))
            request.setBlock1(block)
            request.payload = random.bytes(block.more ? block.size : random.below(block.size))[...]
        case 2:
            request.setBlock2(CoAPBlockOption(number: UInt32(random.below(4)), more: false, sizeExponent: UInt8(random.below(8))))
        case 3:
            request.options.append(CoAPOptionNumber(UInt16(2 * random.below(400) + 61)), bytes: random.bytes(random.below(3)))
        default:
            request.payload = random.bytes(random.below(30))[...]
        }
        return request
    }

    // MARK: The endpoint's application side

    private mutating func keepTwoRequestsInFlight() {
        while endpoint.requestsInFlight < 2 {
            var request = CoAPMessage(type: random.below(4) == 0 ? .nonConfirmable : .confirmable, code: .get)
            request.setPath(random.below(2) == 0 ? "/rd" : "/bs")
            if random.below(2) == 0 {
                request.code = .post
                request.payload = random.bytes(random.below(100))[...]
            }
            _ = endpoint.send(request, now: now, output: &output)
            drainOutput()
        }
    }

    private mutating func respond(to request: CoAPIncomingRequest) {
        let codes: [CoAPCode] = [.content, .changed, .created, .notFound]
        var response = CoAPMessage(type: .acknowledgement, code: codes[random.below(codes.count)])
        response.payload = random.bytes(random.below(3) == 0 ? random.below(80) : random.below(8))[...]
        endpoint.respond(to: request, with: response, now: now, output: &output)
        drainOutput()
    }

    /// Checks what the endpoint sent and plays the application for the events it produced.
    private mutating func drainOutput() {
        let datagrams = output.datagrams
        let events = output.events
        statistics.retransmissions += output.retransmissions
        output.removeAll()
        for datagram in datagrams {
            statistics.sentByEndpoint += 1
            switch CoAPMessage.decode(datagram) {
            case .failure(let error):
                report("the endpoint sent \(datagram.hexString), which does not decode: \(error)")
            case .success(let message):
                if message.encoded() != datagram { report("the endpoint sent \(datagram.hexString), which re-encodes differently") }
                if message.type == .confirmable || message.type == .nonConfirmable, !message.code.isEmpty {
                    sentLately.append(message)
                    if sentLately.count > 6 { sentLately.removeFirst() }
                }
            }
        }
        for event in events {
            switch event {
            case .request(let request):
                statistics.requestsDelivered += 1
                switch random.below(4) {
                case 0, 1:
                    respond(to: request)
                case 2:
                    endpoint.acknowledge(request, now: now, output: &output)
                    drainOutput()
                    heldRequests.append(request)
                    if heldRequests.count > 4 { heldRequests.removeFirst() }
                default:
                    // Treat it as an observation: a CON notification the fuzzed peer may Reset.
                    var notification = CoAPMessage(type: .confirmable, code: .content, token: request.message.token)
                    notification.options.append(.observe, uint: UInt64(random.below(1 << 24)))
                    endpoint.notify(notification, confirmable: true, now: now, output: &output)
                    drainOutput()
                }
            case .response:
                statistics.responsesDelivered += 1
            case .failed(_, .timeout):
                statistics.timeouts += 1
            case .failed(_, .reset):
                statistics.resets += 1
            case .failed(_, .blockwiseMismatch):
                statistics.blockwiseMismatches += 1
            case .rejected(.malformed):
                statistics.rejectedMalformed += 1
            case .rejected(.badOption):
                statistics.rejectedBadOption += 1
            case .rejected(.unexpected):
                statistics.rejectedUnexpected += 1
            case .notificationFailed:
                statistics.notificationsFailed += 1
            }
        }
    }

    // MARK: Properties

    private mutating func checkDecoding(_ input: [UInt8]) {
        switch CoAPMessage.decode(input) {
        case .success(let message):
            statistics.decoded += 1
            // Every field encoding of RFC 7252 3 is canonical, so a decodable datagram re-encodes exactly.
            let reencoded = message.encoded()
            if reencoded != input {
                report("\(input.hexString) re-encodes as \(reencoded.hexString)")
            } else if (try? CoAPMessage.decode(reencoded).get()) != message {
                report("\(input.hexString) decodes differently after re-encoding")
            }
            // Reading every typed view of hostile options must not trap either.
            _ = (message.description, message.firstUnacceptableOption, message.path, message.uriQuery, message.uriHost)
            _ = (message.block1, message.block2, message.contentFormat, message.observe, message.size1, message.eTag)
        case .failure(let error):
            statistics.decodingFailures += 1
            if error.description.isEmpty || !(0...input.count).contains(error.offset) {
                report("\(input.hexString) fails with \(error), offset outside the datagram")
            }
        }
    }

    private mutating func report(_ problem: String) {
        problemCount += 1
        if problems.count < 10 { problems.append(problem) }
    }
}

private extension SeededRandom {
    /// A number in 0..<bound (modulo bias is irrelevant for fuzzing).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            var word = next()
            for _ in 0..<min(8, count - bytes.count) {
                bytes.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return bytes
    }
}
