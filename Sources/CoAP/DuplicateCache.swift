/// The recent message IDs received from one peer, with the reply each got (RFC 7252 4.5).
///
/// A retransmitted CON or NON is recognised by its message ID within EXCHANGE_LIFETIME (or
/// NON_LIFETIME) and gets the same reply again instead of being processed twice. The cache holds
/// at most `capacity` entries: when full, the oldest is forgotten, which bounds the memory per
/// peer at the cost of missing a duplicate that arrives after that many newer messages.
struct DuplicateCache: Sendable {
    struct Entry: Sendable {
        var messageID: UInt16
        var expires: Timestamp
        /// The datagram we answered with: a piggybacked response, an empty ACK, an RST, or
        /// nil while the application has not answered yet.
        var reply: [UInt8]?
    }

    private(set) var entries: [Entry] = []

    func index(of messageID: UInt16, now: Timestamp) -> Int? {
        entries.firstIndex { $0.messageID == messageID && $0.expires > now }
    }

    func reply(for messageID: UInt16, now: Timestamp) -> [UInt8]?? {
        index(of: messageID, now: now).map { entries[$0].reply }
    }

    mutating func remember(_ messageID: UInt16, until expires: Timestamp, now: Timestamp, capacity: Int) {
        entries.removeAll { $0.expires <= now || $0.messageID == messageID }
        if entries.count >= max(capacity, 1) { entries.removeFirst(entries.count - max(capacity, 1) + 1) }
        entries.append(Entry(messageID: messageID, expires: expires, reply: nil))
    }

    mutating func setReply(_ reply: [UInt8], for messageID: UInt16) {
        if let index = entries.lastIndex(where: { $0.messageID == messageID }) {
            entries[index].reply = reply
        }
    }
}
