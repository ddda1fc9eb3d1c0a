/// Where names and times go when LwM2M records are written as SenML (JSON or CBOR) or LwM2M JSON.
///
/// Leshan style: the first record carries `bn`, the request path followed by "/", and every
/// record's `n` is its path relative to it ("/3/0/" + "6/0"); when every record is at the request
/// path itself (a single resource, or one resource at several times) `bn` is that path and no
/// record has `n`. SenML times are written as `bt` on the records where the time changes.
struct SenMLPackLayout {
    /// Whether the records sit below the request path (so names are relative) or all at it.
    let namesAreRelative: Bool
    let requestPath: LwM2MPath

    /// Checks the records against the request path: each is a resource or resource instance
    /// inside it with a finite time, and none is at the request path when others are below it.
    init(records: [LwM2MRecord], requestPath: LwM2MPath, format: String) throws(LwM2MEncodingError) {
        self.requestPath = requestPath
        var atRequestPath = 0
        for record in records {
            guard record.path.level >= .resource else {
                throw LwM2MEncodingError(format: format, reason: "\(record.path) is not a resource or resource-instance path")
            }
            guard SenMLPackResolver.path(record.path, isInside: requestPath) else {
                throw LwM2MEncodingError(format: format, reason: "\(record.path) is outside the request path \(requestPath)")
            }
            if let time = record.time, !time.isFinite {
                throw LwM2MEncodingError(format: format, reason: "time \(time) of \(record.path) is not a number of seconds")
            }
            if record.path == requestPath { atRequestPath += 1 }
        }
        guard atRequestPath == 0 || atRequestPath == records.count else {
            throw LwM2MEncodingError(
                format: format, reason: "a record at the request path \(requestPath) cannot share a pack with records below it")
        }
        namesAreRelative = atRequestPath == 0
    }

    /// The base name: the request path, with a trailing "/" when names are relative to it.
    func appendBaseName(to bytes: inout [UInt8]) {
        Self.appendPath(requestPath, to: &bytes)
        if namesAreRelative, requestPath.level > .root { bytes.append(UInt8(ascii: "/")) }
    }

    var baseNameLength: Int {
        Self.pathLength(requestPath) + (namesAreRelative && requestPath.level > .root ? 1 : 0)
    }

    /// A record's name relative to the base name ("6/0"); only when `namesAreRelative`.
    func appendName(of path: LwM2MPath, to bytes: inout [UInt8]) {
        for index in requestPath.level.rawValue..<path.level.rawValue {
            if index > requestPath.level.rawValue { bytes.append(UInt8(ascii: "/")) }
            DecimalDigits.append(UInt64(Self.id(of: path, at: index)), to: &bytes)
        }
    }

    func nameLength(of path: LwM2MPath) -> Int {
        var length = path.level.rawValue - requestPath.level.rawValue - 1
        for index in requestPath.level.rawValue..<path.level.rawValue {
            length += DecimalDigits.count(UInt64(Self.id(of: path, at: index)))
        }
        return length
    }

    /// A path written out ("/3/0/1", "/" for the root).
    static func appendPath(_ path: LwM2MPath, to bytes: inout [UInt8]) {
        if path.level == .root { bytes.append(UInt8(ascii: "/")) }
        for index in 0..<path.level.rawValue {
            bytes.append(UInt8(ascii: "/"))
            DecimalDigits.append(UInt64(id(of: path, at: index)), to: &bytes)
        }
    }

    static func pathLength(_ path: LwM2MPath) -> Int {
        var length = max(path.level.rawValue, 1)
        for index in 0..<path.level.rawValue { length += DecimalDigits.count(UInt64(id(of: path, at: index))) }
        return length
    }

    /// The id at depth `index` (0 = object), which the path must have.
    private static func id(of path: LwM2MPath, at index: Int) -> UInt16 {
        switch index {
        case 0: path.objectID ?? 0
        case 1: path.instanceID ?? 0
        case 2: path.resourceID ?? 0
        default: path.resourceInstanceID ?? 0
        }
    }

    /// An estimate of the encoded size in any of these formats (exceeded only by strings full of
    /// escapes), so the output buffer is usually allocated once.
    static func estimatedEncodedSize(of records: [LwM2MRecord]) -> Int {
        var size = 64
        for record in records {
            size += 48
            switch record.value {
            case .string(let text), .coreLink(let text): size += text.utf8.count * 2
            case .opaque(let bytes): size += bytes.count * 2
            default: break
            }
        }
        return size
    }

    /// The `bt` to write on a record whose time is `time`, given the base time in force (updated);
    /// nil when it stays. A record without a time after timed ones gets `bt` 0, which RFC 8428
    /// 4.5.3 reads as "now", as the decoder does.
    static func baseTimeToWrite(for time: Double?, current: inout Double?) -> Double? {
        let time = time == 0 ? nil : time
        guard time != current else { return nil }
        current = time
        return time ?? 0
    }
}
