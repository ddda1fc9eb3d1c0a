/// The recent message IDs received from one peer, with the reply each got (RFC 7252 4.5).
///
/// A duplicate is the same message again: a message ID seen before but with another token or
/// code is a new message, from a new sender that got the old one's address and port (a device
/// that rebooted, a NAT binding reused, a fleet recycling ports) and happened on a recent ID.
/// Answering it from the cache would hand it the other sender's reply.
///
/// A retransmitted CON or NON is recognised by its message ID within EXCHANGE_LIFETIME (or
/// NON_LIFETIME) and gets the same reply again instead of being processed twice. The cache holds
/// at most `capacity` entries: when full, the oldest is forgotten, which bounds the memory per
/// peer at the cost of missing a duplicate that arrives after that many newer messages.
struct DuplicateCache: Sendable {
    struct Entry: Sendable {
        var messageID: UInt16
        /// Token and code of the message, folded (`fingerprint(of:)`).
        var fingerprint: UInt32
        var expires: Timestamp
        /// The datagram we answered with: a piggybacked response, an empty ACK, an RST, or
        /// nil while the application has not answered yet.
        var reply: [UInt8]?
    }

    private(set) var entries: [Entry] = []

    /// What tells a retransmission from another message with the same ID.
    static func fingerprint(of message: CoAPMessage) -> UInt32 {
        let token = message.token
        return UInt32(truncatingIfNeeded: token.value ^ (token.value >> 32)) ^ (UInt32(token.length) << 24) ^ UInt32(message.code.rawValue)
    }

    func index(of messageID: UInt16, now: Timestamp) -> Int? {
        entries.firstIndex { $0.messageID == messageID && $0.expires > now }
    }

    /// The reply to an earlier copy of `message`: nil when it is new, `.some(nil)` when it is a
    /// duplicate not answered yet.
    func reply(to message: CoAPMessage, now: Timestamp) -> [UInt8]?? {
        guard let index = index(of: message.messageID, now: now), entries[index].fingerprint == Self.fingerprint(of: message) else {
            return nil
        }
        return .some(entries[index].reply)
    }

    func reply(for messageID: UInt16, now: Timestamp) -> [UInt8]?? {
        index(of: messageID, now: now).map { entries[$0].reply }
    }

    mutating func remember(_ message: CoAPMessage, until expires: Timestamp, now: Timestamp, capacity: Int) {
        let messageID = message.messageID
        entries.removeAll { $0.expires <= now || $0.messageID == messageID }
        if entries.count >= max(capacity, 1) { entries.removeFirst(entries.count - max(capacity, 1) + 1) }
        entries.append(Entry(messageID: messageID, fingerprint: Self.fingerprint(of: message), expires: expires, reply: nil))
    }

    mutating func setReply(_ reply: [UInt8], for messageID: UInt16) {
        if let index = entries.lastIndex(where: { $0.messageID == messageID }) {
            entries[index].reply = reply
        }
    }
}
