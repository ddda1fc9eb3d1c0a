extension CoAPEndpoint {
    /// Processes one datagram from the peer.
    public mutating func receive(_ datagram: [UInt8], now: Timestamp, output: inout CoAPEndpointOutput) {
        defer { releaseIdleStorage() }
        let message: CoAPMessage
        switch CoAPMessage.decode(datagram) {
        case .success(let decoded):
            message = decoded
        case .failure(let error):
            output.events.append(.rejected(.malformed(error)))
            // RFC 7252 4.2: a CON message we cannot process is rejected with a Reset.
            if datagram.count >= 4, datagram[0] >> 6 == 1, (datagram[0] >> 4) & 0x3 == 0 {
                let messageID = UInt16(datagram[2]) << 8 | UInt16(datagram[3])
                output.datagrams.append(CoAPMessage.empty(.reset, messageID: messageID).encoded())
            }
            return
        }
        if message.code.isResponse, let problem = message.firstUnacceptableOption {
            // RFC 7252 5.4.1: a response with a critical option we cannot honour is rejected:
            // a CON one with a Reset; a piggybacked one is ignored, so our request is retried.
            output.events.append(.rejected(.badOption(problem)))
            if message.type == .confirmable {
                output.datagrams.append(CoAPMessage.empty(.reset, messageID: message.messageID).encoded())
            }
            return
        }
        switch message.type {
        case .acknowledgement, .reset:
            receiveAcknowledgementOrReset(message, now: now, output: &output)
        case .confirmable, .nonConfirmable:
            switch duplicates.recall(message, now: now) {
            case .duplicate(let reply):
                // A retransmission: answer as before, deliver nothing twice.
                if let reply {
                    output.datagrams.append(reply)
                    output.repliesRepeated += 1
                }
                return
            case .ignoredRequestRepeated:
                return receiveRequest(message, repeatsIgnoredRequest: true, now: now, output: &output)
            case .new:
                break
            }
            let lifetime = message.type == .confirmable
                ? parameters.exchangeLifetimeNanoseconds : parameters.nonLifetimeNanoseconds
            duplicates.remember(
                message, until: now.adding(nanoseconds: lifetime), now: now,
                capacity: Int(parameters.duplicateCacheCapacity))
            if message.code.isRequest {
                receiveRequest(message, now: now, output: &output)
            } else if message.code.isResponse {
                receiveSeparateResponse(message, now: now, output: &output)
            } else {
                // An Empty CON is a "ping" (RFC 7252 4.3): the answer is a Reset.
                if message.type == .confirmable { reply(.empty(.reset, messageID: message.messageID), output: &output) }
            }
        }
    }

    private mutating func receiveAcknowledgementOrReset(
        _ message: CoAPMessage, now: Timestamp, output: inout CoAPEndpointOutput
    ) {
        guard let index = confirmables.firstIndex(where: { $0.messageID == message.messageID }) else {
            output.events.append(.rejected(.unexpected(message.type, message.code)))
            return
        }
        let exchangeID = confirmables[index].exchange
        guard let id = exchangeID, let exchangeIndex = exchanges.firstIndex(where: { $0.id == id }) else {
            // The ACK or RST of a separate response or notification we sent. RFC 7641 3.6: a
            // Reset to a notification ends the observation.
            let acknowledged = confirmables.remove(at: index)
            if message.type == .reset, let token = acknowledged.notification {
                output.events.append(.notificationFailed(token, .reset))
            }
            return
        }
        if message.type == .reset {
            fail(id, .reset, output: &output)
            return
        }
        if message.code.isEmpty {
            // RFC 7252 5.2.2: an empty ACK promises a separate response later.
            confirmables.remove(at: index)
            exchanges[exchangeIndex].responseDeadline = now.adding(nanoseconds: parameters.responseTimeoutNanoseconds)
            return
        }
        guard message.token == exchanges[exchangeIndex].token else {
            output.events.append(.rejected(.unexpected(message.type, message.code)))
            return
        }
        confirmables.remove(at: index)
        handleResponse(message, exchangeAt: exchangeIndex, now: now, output: &output)
    }

    private mutating func receiveSeparateResponse(
        _ message: CoAPMessage, now: Timestamp, output: inout CoAPEndpointOutput
    ) {
        guard let exchangeIndex = exchanges.firstIndex(where: { $0.token == message.token }) else {
            output.events.append(.rejected(.unexpected(message.type, message.code)))
            // RFC 7252 5.3.2: a CON response that matches no request is rejected with a Reset.
            if message.type == .confirmable { reply(.empty(.reset, messageID: message.messageID), output: &output) }
            return
        }
        if message.type == .confirmable { reply(.empty(.acknowledgement, messageID: message.messageID), output: &output) }
        // The response implies our request arrived even if its ACK got lost.
        let id = exchanges[exchangeIndex].id
        confirmables.removeAll { $0.exchange == id }
        handleResponse(message, exchangeAt: exchangeIndex, now: now, output: &output)
    }

    /// Sends a reply to a message just received and remembers it for that message's duplicates.
    mutating func reply(_ message: CoAPMessage, to requestMessageID: UInt16? = nil, output: inout CoAPEndpointOutput) {
        let datagram = message.encoded()
        duplicates.setReply(datagram, for: requestMessageID ?? message.messageID)
        output.datagrams.append(datagram)
    }

    /// A response for one of our exchanges: continue a block-wise transfer or deliver it.
    private mutating func handleResponse(
        _ response: CoAPMessage, exchangeAt index: Int, now: Timestamp, output: inout CoAPEndpointOutput
    ) {
        let id = exchanges[index].id
        if let sent = exchanges[index].block1, sent.more, response.code == .continue {
            // RFC 7959 2.5: the server may ask for smaller blocks in its 2.31 answer.
            let size = response.block1.map { min($0.size, sent.size) } ?? sent.size
            let sentBytes = sent.offset + sent.size
            guard let next = CoAPBlockOption(number: UInt32(sentBytes / size), more: true, size: size) else {
                fail(id, .blockwiseMismatch, output: &output)
                return
            }
            exchanges[index].block1 = next
            transmit(exchangeAt: index, now: now, output: &output)
            return
        }
        if let block2 = response.block2, response.code.isSuccess {
            guard !block2.isReservedSize, block2.offset == exchanges[index].download.count else {
                fail(id, .blockwiseMismatch, output: &output)
                return
            }
            exchanges[index].download.append(contentsOf: response.payload)
            if block2.more {
                exchanges[index].block1 = nil
                exchanges[index].upload = []
                exchanges[index].nextBlock2 = CoAPBlockOption(
                    number: UInt32(exchanges[index].download.count / block2.size), more: false,
                    sizeExponent: block2.sizeExponent)
                transmit(exchangeAt: index, now: now, output: &output)
                return
            }
            var whole = response
            whole.payload = ArraySlice(exchanges[index].download)
            deliver(whole, exchangeAt: index, output: &output)
            return
        }
        deliver(response, exchangeAt: index, output: &output)
    }

    private mutating func deliver(_ response: CoAPMessage, exchangeAt index: Int, output: inout CoAPEndpointOutput) {
        let id = exchanges.remove(at: index).id
        output.events.append(.response(id, response))
    }
}
