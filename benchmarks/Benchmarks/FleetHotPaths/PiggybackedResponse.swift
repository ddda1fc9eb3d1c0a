import CoAP

/// A piggybacked response (an ACK carrying a response code, RFC 7252 5.2.1) kept as one
/// datagram and pointed at each new request by writing the request's message ID and token into
/// it in place: the peer side of a round trip, at no allocation, so the counts a benchmark
/// reports are those of the machine under test.
struct PiggybackedResponse {
    /// The response as sent; hand it to the machine under test.
    private(set) var datagram: [UInt8]
    private let tokenLength: UInt8

    /// An ACK with `code`, `locationPath` (as Location-Path options) and a token of `tokenLength` bytes.
    init(code: CoAPCode, locationPath: [String] = [], tokenLength: UInt8) {
        var response = CoAPMessage(
            type: .acknowledgement, code: code, messageID: 0, token: CoAPToken(value: 0, length: tokenLength))
        for segment in locationPath { response.options.append(.locationPath, string: segment) }
        datagram = response.encoded()
        self.tokenLength = tokenLength
    }

    /// Makes this the answer to `request` (an encoded CoAP request); false when the request's
    /// token length is not the one this response was built for.
    mutating func answer(_ request: [UInt8]) -> Bool {
        // Header (RFC 7252 3): byte 0 holds the token length in its low 4 bits, bytes 2-3 the
        // message ID, the token follows the 4-byte header.
        guard request.count >= 4 + Int(tokenLength), request[0] & 0x0F == tokenLength else { return false }
        datagram[2] = request[2]
        datagram[3] = request[3]
        for offset in 4..<4 + Int(tokenLength) { datagram[offset] = request[offset] }
        return true
    }
}
