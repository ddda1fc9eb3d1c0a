/// LwM2M JSON (LwM2M 1.0 TS 6.4.4, application/vnd.oma.lwm2m+json, content-format 11543; the
/// pre-release code 1543 is read the same way): `{"bn":"/3/0/","bt":...,"e":[{"n":"0","sv":"..."}]}`.
///
/// An entry's name is bn + n and its time bt + t, as in SenML; values are `v` (numbers), `sv`
/// (strings, core links, and opaque data in base64), `bv` (booleans) and `ov` (object links).
public enum LwM2MJSONFormat {
    static let formatName = "LwM2M JSON"

    /// Decodes the entries into records in payload order; an empty payload has no records.
    /// Error offsets count characters.
    public static func decode(_ payload: [UInt8], requestPath: LwM2MPath, model: LwM2MModel) -> Result<[LwM2MRecord], LwM2MDecodingError> {
        payload.withUnsafeBufferPointer { bytes in
            do throws(LwM2MDecodingError) {
                return .success(try decodeRecords(bytes, requestPath: requestPath, model: model))
            } catch {
                return .failure(JSONScanner.characterOffsets(error, in: bytes))
            }
        }
    }

    /// Encodes records found under `requestPath`: bn is the request path ("/" appended when the
    /// records lie below it), each entry's n is relative to it, and a timed entry has its time
    /// in seconds as `t` (no `bt`), as Leshan writes it.
    public static func encode(_ records: [LwM2MRecord], requestPath: LwM2MPath) -> Result<[UInt8], LwM2MEncodingError> {
        do throws(LwM2MEncodingError) {
            let layout = try SenMLPackLayout(records: records, requestPath: requestPath, format: formatName)
            var writer = JSONWriter(capacity: SenMLPackLayout.estimatedEncodedSize(of: records))
            writer.append("{\"bn\":\"")
            layout.appendBaseName(to: &writer.bytes)
            writer.append("\",\"e\":[")
            for (index, record) in records.enumerated() {
                writer.append(index == 0 ? "{" : ",{")
                if layout.namesAreRelative {
                    writer.append("\"n\":\"")
                    layout.appendName(of: record.path, to: &writer.bytes)
                    writer.append("\",")
                }
                try writer.appendValue(record, keys: .lwm2m)
                if let time = record.time, time != 0 {
                    writer.append(",\"t\":")
                    writer.append(seconds: time)
                }
                writer.append("}")
            }
            writer.append("]}")
            return .success(writer.bytes)
        } catch {
            return .failure(error)
        }
    }

    // MARK: Reading

    private static func decodeRecords(
        _ bytes: UnsafeBufferPointer<UInt8>, requestPath: LwM2MPath, model: LwM2MModel
    ) throws(LwM2MDecodingError) -> [LwM2MRecord] {
        var scanner = JSONScanner(bytes, format: formatName)
        if scanner.isAtEnd { return [] }
        guard scanner.consume(UInt8(ascii: "{")) else { throw scanner.error("LwM2M JSON is a JSON object", at: scanner.offset) }
        var baseName: PayloadText?
        var baseTime: SenMLNumber?
        var entriesOffset: Int?
        var records: [LwM2MRecord] = []
        // Members may come in any order. Entries are read where they stand when bn came first (the
        // usual order); otherwise they are skipped and read at the end, and a bt after them means
        // reading them again for their times.
        var entriesRead = false
        if !scanner.consume(UInt8(ascii: "}")) {
            repeat {
                let keyOffset = scanner.offset
                let key = try scanner.readString()
                try scanner.expect(UInt8(ascii: ":"), "':' after a member name")
                switch key.withBytes(in: bytes, { Member(text: $0) }) {
                case .baseName?:
                    guard baseName == nil else { throw scanner.error("bn appears twice", at: keyOffset) }
                    baseName = try scanner.readString()
                case .baseTime?:
                    guard baseTime == nil else { throw scanner.error("bt appears twice", at: keyOffset) }
                    baseTime = try scanner.readNumber()
                    entriesRead = false
                case .entries?:
                    guard entriesOffset == nil else { throw scanner.error("e appears twice", at: keyOffset) }
                    entriesOffset = scanner.offset
                    if baseName != nil {
                        records = try readEntries(&scanner, baseName, baseTime, requestPath, model)
                        entriesRead = true
                    } else {
                        try scanner.skipValue()
                    }
                default:
                    try scanner.skipValue()
                }
            } while try scanner.continues(until: UInt8(ascii: "}"))
        }
        guard scanner.isAtEnd else { throw scanner.error("content after the end of the object", at: scanner.offset) }
        guard let entriesOffset else { throw scanner.error("LwM2M JSON has no entries (e)", at: 0) }
        if !entriesRead {
            var again = JSONScanner(bytes, format: formatName, offset: entriesOffset)
            records = try readEntries(&again, baseName, baseTime, requestPath, model)
        }
        return records
    }

    /// The members LwM2M JSON defines (LwM2M 1.0 TS Table 20).
    private enum Member {
        case baseName, baseTime, entries, name, time, value, stringValue, booleanValue, objectLinkValue

        init?(text: UnsafeBufferPointer<UInt8>) {
            let a = text.count > 0 ? text[0] : 0
            let b = text.count > 1 ? text[1] : 0
            switch (text.count, a, b) {
            case (1, UInt8(ascii: "e"), _): self = .entries
            case (1, UInt8(ascii: "n"), _): self = .name
            case (1, UInt8(ascii: "t"), _): self = .time
            case (1, UInt8(ascii: "v"), _): self = .value
            case (2, UInt8(ascii: "b"), UInt8(ascii: "n")): self = .baseName
            case (2, UInt8(ascii: "b"), UInt8(ascii: "t")): self = .baseTime
            case (2, UInt8(ascii: "s"), UInt8(ascii: "v")): self = .stringValue
            case (2, UInt8(ascii: "b"), UInt8(ascii: "v")): self = .booleanValue
            case (2, UInt8(ascii: "o"), UInt8(ascii: "v")): self = .objectLinkValue
            default: return nil
            }
        }
    }

    private static func readEntries(
        _ scanner: inout JSONScanner, _ baseName: PayloadText?, _ baseTime: SenMLNumber?,
        _ requestPath: LwM2MPath, _ model: LwM2MModel
    ) throws(LwM2MDecodingError) -> [LwM2MRecord] {
        guard scanner.consume(UInt8(ascii: "[")) else { throw scanner.error("e is a JSON array", at: scanner.offset) }
        var resolver = SenMLPackResolver(format: formatName, requestPath: requestPath, model: model, opaqueStringsAreBase64: true)
        var records: [LwM2MRecord] = []
        records.reserveCapacity(min(scanner.bytes.count / 16 + 1, 1024))
        if scanner.consume(UInt8(ascii: "]")) { return records }
        repeat {
            var entry = try readEntry(&scanner)
            if records.isEmpty {
                // bn and bt are the base of every entry: give them to the first, as SenML would.
                entry.baseName = baseName
                entry.baseTime = baseTime
            }
            records.append(try resolver.record(from: entry, in: scanner.bytes))
        } while try scanner.continues(until: UInt8(ascii: "]"))
        return records
    }

    private static func readEntry(_ scanner: inout JSONScanner) throws(LwM2MDecodingError) -> SenMLRecord {
        guard scanner.peek() == UInt8(ascii: "{") else { throw scanner.error("an entry is a JSON object", at: scanner.offset) }
        var entry = SenMLRecord(offset: scanner.offset)
        _ = scanner.consume(UInt8(ascii: "{"))
        if scanner.consume(UInt8(ascii: "}")) { return entry }
        repeat {
            let keyOffset = scanner.offset
            let key = try scanner.readString()
            try scanner.expect(UInt8(ascii: ":"), "':' after a member name")
            let valueOffset = scanner.offset
            let member = key.withBytes(in: scanner.bytes) { Member(text: $0) }
            func duplicate() -> LwM2MDecodingError {
                scanner.error("member '\(key.string(in: scanner.bytes))' appears twice in an entry", at: keyOffset)
            }
            switch member {
            case .name?:
                guard entry.name == nil else { throw duplicate() }
                entry.name = try scanner.readString()
            case .time?:
                guard entry.time == nil else { throw duplicate() }
                entry.time = try scanner.readNumber()
            case .value?, .stringValue?, .booleanValue?, .objectLinkValue?:
                guard entry.value == nil else {
                    throw scanner.error("an entry has at most one value (v, sv, bv or ov)", at: keyOffset)
                }
                switch member {
                case .value?: entry.value = .number(try scanner.readNumber())
                case .booleanValue?: entry.value = .boolean(try scanner.readBoolean())
                case .objectLinkValue?:
                    let text = try scanner.readString()
                    guard let link = text.withBytes(in: scanner.bytes, { SenMLRecord.objectLink(from: $0) }) else {
                        throw scanner.error("ov is not an object link \"object:instance\"", at: valueOffset)
                    }
                    entry.value = .objectLink(link)
                default: entry.value = .string(try scanner.readString().string(in: scanner.bytes))
                }
            default:
                try scanner.skipValue()
            }
        } while try scanner.continues(until: UInt8(ascii: "}"))
        return entry
    }
}
