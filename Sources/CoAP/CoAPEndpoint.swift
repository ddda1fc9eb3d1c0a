/// The CoAP messaging layer towards one peer, sans I/O (RFC 7252, RFC 7959).
///
/// Feed it datagrams with `receive`, requests with `send`, answers with `respond`, and call
/// `handleDeadline` when `nextDeadline` has passed. Each call appends the datagrams to send and
/// the events for the application to a `CoAPEndpointOutput`. It owns CON retransmission,
/// duplicate detection, token and message-ID matching, separate responses and block-wise
/// transfers in both directions; it never reads a clock or touches a socket.
public struct CoAPEndpoint: Sendable {
    private var sharedParameters: SharedTransmissionParameters
    var random: SeededRandom
    var nextMessageID: UInt16
    var nextRequestID: UInt32 = 0
    /// Our CON messages still waiting for their ACK.
    var confirmables: [PendingConfirmable] = []
    /// Our requests still waiting for their final response.
    var exchanges: [Exchange] = []
    var duplicates = DuplicateCache()
    /// Block-wise transfers the peer drives: at most one upload and one served body. An array,
    /// so the many endpoints that never see one pay 8 bytes for it.
    var peerTransfers: [PeerTransfer] = []

    public init(parameters: CoAPTransmissionParameters = CoAPTransmissionParameters(), seed: UInt64) {
        self.init(sharedParameters: SharedTransmissionParameters(parameters), seed: seed)
    }

    /// An endpoint that shares its parameters with others: what a fleet of devices uses.
    public init(sharedParameters: SharedTransmissionParameters, seed: UInt64) {
        self.sharedParameters = sharedParameters
        random = SeededRandom(seed: seed)
        nextMessageID = UInt16(truncatingIfNeeded: random.next())
    }

    public var parameters: CoAPTransmissionParameters {
        get { sharedParameters.value }
        set { sharedParameters = SharedTransmissionParameters(newValue) }
    }

    /// The earliest time at which `handleDeadline` has work to do, nil when nothing waits.
    public var nextDeadline: Timestamp? {
        var earliest = confirmables.lazy.map(\.deadline).min()
        for exchange in exchanges {
            if let deadline = exchange.responseDeadline, earliest.map({ deadline < $0 }) ?? true {
                earliest = deadline
            }
        }
        return earliest
    }

    /// How many of our requests are waiting for a final outcome.
    public var requestsInFlight: Int { exchanges.count }

    /// Whether nothing is in flight in either direction, so the endpoint can be dropped.
    public var isIdle: Bool { exchanges.isEmpty && confirmables.isEmpty }

    // MARK: Sending requests

    /// Sends a request (CON or NON, as `request.type` says) and returns the ID its outcome will
    /// carry. The endpoint assigns the message ID, and the token unless the request has one (an
    /// Observe cancellation must reuse the observation's token, RFC 7641 3.6); payloads above
    /// `block1Threshold` go in Block1 blocks.
    public mutating func send(_ request: CoAPMessage, now: Timestamp, output: inout CoAPEndpointOutput) -> CoAPRequestID {
        nextRequestID &+= 1
        let id = CoAPRequestID(rawValue: nextRequestID)
        var exchange = Exchange(id: id, request: request)
        if request.payload.count > Int(parameters.block1Threshold) {
            exchange.upload = Array(request.payload)
            exchange.block1 = CoAPBlockOption(number: 0, more: true, size: Int(parameters.preferredBlockSize))
                ?? CoAPBlockOption(number: 0, more: true, sizeExponent: 6)
        }
        exchanges.append(exchange)
        transmit(exchangeAt: exchanges.count - 1, now: now, output: &output)
        return id
    }

    /// Sends the next message of an exchange: the request itself, its next Block1 block, or a
    /// request for the next Block2 block.
    mutating func transmit(exchangeAt index: Int, now: Timestamp, output: inout CoAPEndpointOutput) {
        var message = exchanges[index].request
        message.messageID = takeMessageID()
        // The caller's token is used once; later blocks of a transfer get fresh ones.
        let isFirstMessage = exchanges[index].token == .empty
        message.token = isFirstMessage && message.token.length > 0 ? message.token : makeToken()
        if let block1 = exchanges[index].block1 {
            let body = exchanges[index].upload
            let start = min(block1.offset, body.count)
            let end = min(start + block1.size, body.count)
            var block = block1
            block.more = end < body.count
            exchanges[index].block1 = block
            message.setBlock1(block)
            if block.number == 0 { message.options.set(.size1, uint: UInt64(body.count)) }
            message.payload = body[start..<end]
        } else if let block2 = exchanges[index].nextBlock2 {
            message.payload = []
            message.options.remove(.block1)
            message.options.remove(.size1)
            message.setBlock2(block2)
        }
        exchanges[index].token = message.token
        exchanges[index].responseDeadline = nil
        let datagram = message.encoded()
        output.datagrams.append(datagram)
        if message.type == .confirmable {
            trackConfirmable(messageID: message.messageID, datagram: datagram, exchange: exchanges[index].id, now: now)
        } else {
            exchanges[index].responseDeadline = now.adding(nanoseconds: parameters.nonLifetimeNanoseconds)
        }
    }

    mutating func trackConfirmable(
        messageID: UInt16, datagram: [UInt8], exchange: CoAPRequestID?, now: Timestamp, notification: CoAPToken? = nil
    ) {
        // RFC 7252 4.2: the first timeout is random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR].
        let base = Double(parameters.ackTimeoutNanoseconds)
        let spread = base * max(Double(parameters.ackRandomFactor) - 1, 0)
        let timeout = UInt64(base + spread * Double(random.next() >> 11) / Double(1 << 53))
        confirmables.append(PendingConfirmable(
            messageID: messageID,
            datagram: datagram,
            retransmissions: 0,
            timeoutNanoseconds: timeout,
            deadline: now.adding(nanoseconds: timeout),
            exchange: exchange,
            notification: notification))
    }

    mutating func takeMessageID() -> UInt16 {
        defer { nextMessageID &+= 1 }
        return nextMessageID
    }

    mutating func makeToken() -> CoAPToken {
        CoAPToken(value: random.next(), length: min(parameters.tokenLength, 8))
    }

    // MARK: Deadlines

    /// Retransmits CON messages whose timeout passed and ends the exchanges that ran out of time.
    public mutating func handleDeadline(now: Timestamp, output: inout CoAPEndpointOutput) {
        defer { releaseIdleStorage() }
        var index = 0
        while index < confirmables.count {
            guard confirmables[index].deadline <= now else {
                index += 1
                continue
            }
            if confirmables[index].retransmissions < Int(parameters.maxRetransmit) {
                // RFC 7252 4.2: the timeout doubles with each retransmission.
                confirmables[index].retransmissions += 1
                confirmables[index].timeoutNanoseconds &*= 2
                confirmables[index].deadline = now.adding(nanoseconds: confirmables[index].timeoutNanoseconds)
                output.datagrams.append(confirmables[index].datagram)
                output.retransmissions += 1
                index += 1
            } else {
                let expired = confirmables.remove(at: index)
                if let id = expired.exchange { fail(id, .timeout, output: &output) }
                if let token = expired.notification { output.events.append(.notificationFailed(token, .timeout)) }
            }
        }
        var exchangeIndex = 0
        while exchangeIndex < exchanges.count {
            if let deadline = exchanges[exchangeIndex].responseDeadline, deadline <= now {
                let id = exchanges[exchangeIndex].id
                fail(id, .timeout, output: &output)
            } else {
                exchangeIndex += 1
            }
        }
    }

    mutating func fail(_ id: CoAPRequestID, _ failure: CoAPRequestFailure, output: inout CoAPEndpointOutput) {
        exchanges.removeAll { $0.id == id }
        confirmables.removeAll { $0.exchange == id }
        output.events.append(.failed(id, failure))
    }

    /// Gives back the storage of lists that emptied: most endpoints sit idle between rare
    /// exchanges, and thousands of them keeping spare capacity would cost more than reallocating.
    mutating func releaseIdleStorage() {
        if exchanges.isEmpty, exchanges.capacity > 0 { exchanges = [] }
        if confirmables.isEmpty, confirmables.capacity > 0 { confirmables = [] }
        if peerTransfers.isEmpty, peerTransfers.capacity > 0 { peerTransfers = [] }
    }

    /// Forgets a request without waiting for its outcome (its late response will be refused).
    public mutating func cancel(_ id: CoAPRequestID) {
        exchanges.removeAll { $0.id == id }
        confirmables.removeAll { $0.exchange == id }
    }
}

/// One of our CON messages waiting for its ACK.
struct PendingConfirmable: Sendable {
    var messageID: UInt16
    var datagram: [UInt8]
    var retransmissions: Int
    var timeoutNanoseconds: UInt64
    var deadline: Timestamp
    /// The request exchange this message belongs to; nil for a separate response or notification.
    var exchange: CoAPRequestID?
    /// The observation token of a CON notification, whose Reset or timeout ends the observation.
    var notification: CoAPToken?
}

/// One of our requests, across all the messages a block-wise transfer needs.
struct Exchange: Sendable {
    var id: CoAPRequestID
    /// The request as the application gave it, the template of every message of the exchange.
    var request: CoAPMessage
    /// The token of the message in flight; a response must carry it.
    var token: CoAPToken = .empty
    /// The whole payload of a Block1 upload, and the block in flight.
    var upload: [UInt8] = []
    var block1: CoAPBlockOption?
    /// The Block2 block to ask for next, and the body gathered so far.
    var nextBlock2: CoAPBlockOption?
    var download: [UInt8] = []
    /// Set once the request is acknowledged (or sent NON): the response must come by then.
    var responseDeadline: Timestamp?

    init(id: CoAPRequestID, request: CoAPMessage) {
        self.id = id
        self.request = request
    }
}

/// A block-wise transfer driven by the peer, keyed by method, path and query (RFC 7959 2.4).
enum PeerTransfer: Sendable {
    /// A Block1 upload being reassembled (RFC 7959 2.5).
    case upload(key: String, body: [UInt8])
    /// A response too large for one datagram, kept so the peer can fetch it block by block.
    case served(key: String, response: CoAPMessage, expires: Timestamp)
}
