extension CoAPEndpoint {
    /// Largest body accepted through Block1 before answering 4.13, to bound memory per peer.
    static let maximumUploadSize = 1 << 20

    /// A new (not duplicate) request from the peer, or the retransmission of one the application
    /// ignored: refuse it, continue a block-wise transfer, or deliver it to the application.
    mutating func receiveRequest(
        _ request: CoAPMessage, repeatsIgnoredRequest: Bool = false, now: Timestamp, output: inout CoAPEndpointOutput
    ) {
        if let problem = request.firstUnacceptableOption {
            output.events.append(.rejected(.badOption(problem)))
            // RFC 7252 5.4.1: 4.02 for a CON request; a NON one is silently rejected.
            if request.type == .confirmable {
                refuse(request, code: .badOption, output: &output)
            }
            return
        }
        var delivered = CoAPIncomingRequest(message: request, repeatsIgnoredRequest: repeatsIgnoredRequest)
        if let block1 = request.block1 {
            guard let whole = receiveUploadBlock(block1, of: request, output: &output) else { return }
            delivered.message.payload = whole[...]
            delivered.block1Echo = CoAPBlockOption(number: block1.number, more: false, sizeExponent: block1.sizeExponent)
        } else if let block2 = request.block2, block2.number > 0,
                  var response = servedResponse(forKey: Self.transferKey(request), now: now) {
            // RFC 7959 2.4: a later block of a body we already produced.
            response.token = request.token
            sendResponse(response, to: CoAPIncomingRequest(message: request), now: now, output: &output)
            return
        }
        output.events.append(.request(delivered))
    }

    /// Adds one Block1 block to the upload in progress; returns the whole body once the last
    /// block arrived, nil after answering the peer itself (2.31 Continue or an error).
    private mutating func receiveUploadBlock(
        _ block: CoAPBlockOption, of request: CoAPMessage, output: inout CoAPEndpointOutput
    ) -> [UInt8]? {
        guard !block.isReservedSize else {
            refuse(request, code: .badRequest, output: &output)
            return nil
        }
        let key = Self.transferKey(request)
        let upload = takeUpload()
        var body: [UInt8]
        if block.number == 0 {
            body = Array(request.payload)
        } else if let upload, upload.key == key, upload.body.count == block.offset {
            body = upload.body
            body.append(contentsOf: request.payload)
        } else {
            // RFC 7959 2.5: a block that does not continue the body we hold.
            refuse(request, code: .requestEntityIncomplete, output: &output)
            return nil
        }
        guard body.count <= Self.maximumUploadSize else {
            refuse(request, code: .requestEntityTooLarge, output: &output)
            return nil
        }
        guard block.more else { return body }
        peerTransfers.append(.upload(key: key, body: body))
        var response = CoAPMessage(type: .acknowledgement, code: .continue)
        response.setBlock1(block)
        answer(request, with: response, output: &output)
        return nil
    }

    /// Answers a request at once with a bare response code.
    private mutating func refuse(_ request: CoAPMessage, code: CoAPCode, output: inout CoAPEndpointOutput) {
        answer(request, with: CoAPMessage(type: .acknowledgement, code: code), output: &output)
    }

    /// Sends `response` as the immediate answer to `request`: piggybacked on the ACK of a CON
    /// request, or as a NON response to a NON request.
    private mutating func answer(_ request: CoAPMessage, with response: CoAPMessage, output: inout CoAPEndpointOutput) {
        var response = response
        response.token = request.token
        if request.type == .confirmable {
            response.type = .acknowledgement
            response.messageID = request.messageID
        } else {
            response.type = .nonConfirmable
            response.messageID = takeMessageID()
        }
        reply(response, to: request.messageID, output: &output)
    }

    /// The Block2 size to serve: what the peer asked for, at most our preferred size.
    private func blockSize(for request: CoAPMessage) -> Int {
        let asked = request.block2.map { $0.isReservedSize ? 1024 : $0.size } ?? .max
        return min(asked, Int(parameters.preferredBlockSize))
    }

    /// Removes and returns the upload in progress, if any.
    private mutating func takeUpload() -> (key: String, body: [UInt8])? {
        for (index, transfer) in peerTransfers.enumerated() {
            if case .upload(let key, let body) = transfer {
                peerTransfers.remove(at: index)
                return (key, body)
            }
        }
        return nil
    }

    /// The large response kept for `key`, unless it expired.
    private func servedResponse(forKey key: String, now: Timestamp) -> CoAPMessage? {
        for case .served(let servedKey, let response, let expires) in peerTransfers
        where servedKey == key && expires > now {
            return response
        }
        return nil
    }

    /// Identifies a block-wise transfer: the same method on the same resource (RFC 7959 2.4).
    static func transferKey(_ request: CoAPMessage) -> String {
        "\(request.code.rawValue) \(request.path)?\(request.uriQuery.joined(separator: "&"))"
    }

    // MARK: Answering delivered requests

    /// Answers a request delivered by `.request`. The endpoint sets type, message ID and token:
    /// piggybacked on the ACK when the request is a CON not yet acknowledged, a separate CON
    /// response (retransmitted until acknowledged) after `acknowledge(_:)`, NON for NON. A
    /// payload larger than a block is served with Block2.
    public mutating func respond(
        to request: CoAPIncomingRequest, with response: CoAPMessage, now: Timestamp,
        output: inout CoAPEndpointOutput
    ) {
        var response = response
        response.token = request.message.token
        if let echo = request.block1Echo { response.setBlock1(echo) }
        if response.payload.count > blockSize(for: request.message) || (request.message.block2?.number ?? 0) > 0 {
            peerTransfers.removeAll { if case .served = $0 { true } else { false } }
            peerTransfers.append(.served(
                key: Self.transferKey(request.message), response: response,
                expires: now.adding(nanoseconds: parameters.exchangeLifetimeNanoseconds)))
        }
        sendResponse(response, to: request, now: now, output: &output)
    }

    /// Sends the block of `response` the request asks for (all of it when it fits).
    private mutating func sendResponse(
        _ response: CoAPMessage, to request: CoAPIncomingRequest, now: Timestamp,
        output: inout CoAPEndpointOutput
    ) {
        var response = response
        let requested = request.message.block2
        let size = blockSize(for: request.message)
        if response.payload.count > size || (requested?.number ?? 0) > 0 {
            let body = response.payload
            let number = requested?.number ?? 0
            let block = CoAPBlockOption(number: number, more: false, size: size)!
            guard block.offset < body.count || body.isEmpty && number == 0 else {
                response = CoAPMessage(type: .acknowledgement, code: .badOption, token: request.message.token)
                return deliverAnswer(response, to: request.message, now: now, output: &output)
            }
            let start = body.startIndex + block.offset
            let end = min(start + size, body.endIndex)
            response.setBlock2(CoAPBlockOption(number: number, more: end < body.endIndex, size: size)!)
            if number == 0 { response.options.set(.size2, uint: UInt64(body.count)) }
            response.payload = body[start..<end]
        }
        deliverAnswer(response, to: request.message, now: now, output: &output)
    }

    private mutating func deliverAnswer(
        _ response: CoAPMessage, to request: CoAPMessage, now: Timestamp, output: inout CoAPEndpointOutput
    ) {
        let alreadyAcknowledged = duplicates.reply(for: request.messageID, now: now).map { $0 != nil } ?? false
        if request.type == .confirmable && alreadyAcknowledged {
            // RFC 7252 5.2.2: a separate response is a CON of its own, retransmitted until ACKed.
            var separate = response
            separate.type = .confirmable
            separate.messageID = takeMessageID()
            let datagram = separate.encoded()
            output.datagrams.append(datagram)
            trackConfirmable(messageID: separate.messageID, datagram: datagram, exchange: nil, now: now)
        } else {
            answer(request, with: response, output: &output)
        }
    }

    /// Sends a notification for an observation (RFC 7641 4.2): `notification` carries the
    /// observation's token, an Observe option, the code and payload; the endpoint sets the
    /// message ID. A CON notification is retransmitted until acknowledged; its Reset or timeout
    /// is reported as `.notificationFailed`.
    public mutating func notify(_ notification: CoAPMessage, confirmable: Bool, now: Timestamp, output: inout CoAPEndpointOutput) {
        var message = notification
        message.type = confirmable ? .confirmable : .nonConfirmable
        message.messageID = takeMessageID()
        let datagram = message.encoded()
        output.datagrams.append(datagram)
        guard confirmable else { return }
        if let index = confirmables.firstIndex(where: { $0.notification == message.token }) {
            // RFC 7641 4.5.2: a newer CON notification replaces one still being retransmitted and
            // inherits its retransmission counter and timeout, so an observer that stopped
            // acknowledging is given up on when it would have been, however often values change.
            confirmables[index].messageID = message.messageID
            confirmables[index].datagram = datagram
        } else {
            trackConfirmable(messageID: message.messageID, datagram: datagram, exchange: nil, now: now, notification: message.token)
        }
    }

    /// Leaves a request delivered by `.request` unanswered on purpose: no ACK, no response, as a
    /// device does with requests it may not take yet. Its retransmissions are then no duplicates to
    /// drop: each is delivered again, with `repeatsIgnoredRequest` set, so the application answers
    /// it once it may and counts it only once.
    public mutating func ignore(_ request: CoAPIncomingRequest, now: Timestamp) {
        duplicates.markIgnored(request.message.messageID, now: now)
    }

    /// Acknowledges a CON request now and promises a separate response later (RFC 7252 5.2.2).
    public mutating func acknowledge(_ request: CoAPIncomingRequest, now: Timestamp, output: inout CoAPEndpointOutput) {
        guard request.message.type == .confirmable,
              duplicates.reply(for: request.message.messageID, now: now) == .some(nil)
        else { return }
        reply(.empty(.acknowledgement, messageID: request.message.messageID), output: &output)
    }
}
