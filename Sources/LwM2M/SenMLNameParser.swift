/// Reads a SenML name (`bn` + `n`, RFC 8428 4.6) as an LwM2M path, fed in pieces: the base name
/// is parsed once where it appears and each record's name continues from that state, so no
/// string is ever joined.
struct SenMLNameParser {
    private var ids: (UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0)
    private var idCount = 0
    private var segment: UInt32 = 0
    private var segmentHasDigits = false
    private var started = false
    /// Set once the text cannot be the start of a path; stays set.
    private(set) var isInvalid = false

    /// Whether nothing has been fed yet (no base name, or an empty one).
    var isEmpty: Bool { !started && !isInvalid }

    /// Feeds more name text; afterwards `isInvalid` says whether the text so far can still be a path.
    mutating func feed(_ text: UnsafeBufferPointer<UInt8>) {
        for byte in text {
            guard !isInvalid else { return }
            if byte == UInt8(ascii: "/") {
                if !started {
                    started = true
                } else if segmentHasDigits {
                    endSegment()
                } else {
                    isInvalid = true  // an empty segment ("//", or "/" after a leading one)
                }
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                // Names are absolute paths; a missing leading "/" is tolerated as Leshan does.
                started = true
                segment = segment * 10 + UInt32(byte - UInt8(ascii: "0"))
                segmentHasDigits = true
                if segment > UInt32(LwM2MPath.maximumID) { isInvalid = true }
            } else {
                isInvalid = true
            }
        }
    }

    private mutating func endSegment() {
        // `feed` keeps a segment within 0...65534 while the text is valid.
        let id = UInt16(truncatingIfNeeded: segment)
        switch idCount {
        case 0: ids.0 = id
        case 1: ids.1 = id
        case 2: ids.2 = id
        case 3: ids.3 = id
        default: isInvalid = true
        }
        idCount += 1
        segment = 0
        segmentHasDigits = false
    }

    /// The path the text fed so far names; nil when it is not a path (or ends with "/" after an id).
    func path() -> LwM2MPath? {
        guard !isInvalid else { return nil }
        var complete = self
        if complete.segmentHasDigits {
            complete.endSegment()
        } else if complete.idCount > 0 || !complete.started {
            return nil
        }
        guard !complete.isInvalid else { return nil }
        let ids = complete.ids
        switch complete.idCount {
        case 0: return .root
        case 1: return LwM2MPath(objectID: ids.0)
        case 2: return LwM2MPath(objectID: ids.0, instanceID: ids.1)
        case 3: return LwM2MPath(objectID: ids.0, instanceID: ids.1, resourceID: ids.2)
        default: return LwM2MPath(objectID: ids.0, instanceID: ids.1, resourceID: ids.2, resourceInstanceID: ids.3)
        }
    }
}
