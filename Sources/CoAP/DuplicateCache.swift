/// The recent message IDs received from one peer, with the reply each got (RFC 7252 4.5).
///
/// A duplicate is the same message again: a message ID seen before but with another token or
/// code is a new message, from a new sender that got the old one's address and port (a device
/// that rebooted, a NAT binding reused, a fleet recycling ports) and happened on a recent ID.
/// Answering it from the cache would hand it the other sender's reply.
///
/// A retransmitted CON or NON is recognised by its message ID within EXCHANGE_LIFETIME (or
/// NON_LIFETIME) and gets the same reply again instead of being processed twice. A request the
/// application ignored on purpose (`CoAPEndpoint.ignore`) is remembered as such until it expires,
/// so that each of its retransmissions is delivered again, marked as one, however many messages
/// came in between. The other entries are at most `capacity`: when full, the oldest of them is
/// forgotten, which bounds the memory per peer at the cost of missing a duplicate that arrives
/// after that many newer messages (a peer keeping NSTART = 1, RFC 7252 4.7, has moved on by then).
struct DuplicateCache: Sendable {
    struct Entry: Sendable {
        var messageID: UInt16
        /// The application left this request unanswered on purpose; cleared once it answers.
        var isIgnored = false
        /// Token and code of the message, folded (`fingerprint(of:)`).
        var fingerprint: UInt32
        var expires: Timestamp
        /// The datagram we answered with: a piggybacked response, an empty ACK, an RST, or
        /// nil while the application has not answered yet.
        var reply: [UInt8]?
    }

    /// What a message from the peer is, as far as the cache knows.
    enum Recall: Equatable {
        /// Not seen within its lifetime: process it.
        case new
        /// The same message again: send `reply` again when there is one, deliver nothing.
        case duplicate(reply: [UInt8]?)
        /// A retransmission of a request the application ignored: deliver it again.
        case ignoredRequestRepeated
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

    func recall(_ message: CoAPMessage, now: Timestamp) -> Recall {
        guard let index = index(of: message.messageID, now: now), entries[index].fingerprint == Self.fingerprint(of: message) else {
            return .new
        }
        return entries[index].isIgnored ? .ignoredRequestRepeated : .duplicate(reply: entries[index].reply)
    }

    /// The reply to message `messageID`: nil when it is unknown, `.some(nil)` when not answered yet.
    func reply(for messageID: UInt16, now: Timestamp) -> [UInt8]?? {
        index(of: messageID, now: now).map { entries[$0].reply }
    }

    mutating func remember(_ message: CoAPMessage, until expires: Timestamp, now: Timestamp, capacity: Int) {
        let messageID = message.messageID
        entries.removeAll { $0.expires <= now || $0.messageID == messageID }
        var counted = entries.count { !$0.isIgnored }
        while counted >= max(capacity, 1), let oldest = entries.firstIndex(where: { !$0.isIgnored }) {
            entries.remove(at: oldest)
            counted -= 1
        }
        entries.append(Entry(messageID: messageID, fingerprint: Self.fingerprint(of: message), expires: expires, reply: nil))
    }

    mutating func setReply(_ reply: [UInt8], for messageID: UInt16) {
        if let index = entries.lastIndex(where: { $0.messageID == messageID }) {
            entries[index].reply = reply
            entries[index].isIgnored = false
        }
    }

    mutating func markIgnored(_ messageID: UInt16, now: Timestamp) {
        if let index = index(of: messageID, now: now), entries[index].reply == nil {
            entries[index].isIgnored = true
        }
    }
}
