/// Text found in a payload: a range of the payload's own bytes when it could be used as it is,
/// or bytes that had to be rebuilt (JSON escapes, CBOR indefinite-length chunks).
///
/// Keeping a range lets a decoder read names and keys without allocating.
enum PayloadText {
    case range(Range<Int>)
    case rebuilt([UInt8])

    /// Calls `body` with the text's UTF-8 bytes; `payload` is the buffer a range refers to.
    func withBytes<Result>(
        in payload: UnsafeBufferPointer<UInt8>,
        _ body: (UnsafeBufferPointer<UInt8>) -> Result
    ) -> Result {
        switch self {
        case .range(let range): body(UnsafeBufferPointer(rebasing: payload[range]))
        case .rebuilt(let bytes): bytes.withUnsafeBufferPointer(body)
        }
    }

    /// The text as a String; the bytes were checked to be UTF-8 when they were read.
    func string(in payload: UnsafeBufferPointer<UInt8>) -> String {
        switch self {
        case .range(let range): String(decoding: UnsafeBufferPointer(rebasing: payload[range]), as: UTF8.self)
        case .rebuilt(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }
}
