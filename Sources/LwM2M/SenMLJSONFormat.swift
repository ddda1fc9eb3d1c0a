/// SenML JSON (RFC 8428, content-format 110) as LwM2M 1.1 TS Core 7.4.4 uses it.
public enum SenMLJSONFormat {
    static let formatName = "SenML JSON"

    /// Decodes a pack into records in payload order; an empty payload is an empty pack.
    /// Error offsets count characters.
    public static func decode(_ payload: [UInt8], requestPath: LwM2MPath, model: LwM2MModel) -> Result<[LwM2MRecord], LwM2MDecodingError> {
        payload.withUnsafeBufferPointer { bytes in
            do throws(LwM2MDecodingError) {
                var resolver = SenMLPackResolver(format: formatName, requestPath: requestPath, model: model)
                var records: [LwM2MRecord] = []
                // A record takes at least ~16 characters; the cap keeps a padded payload from over-reserving.
                records.reserveCapacity(min(bytes.count / 16 + 1, 1024))
                try readPack(bytes) { (record) throws(LwM2MDecodingError) in
                    records.append(try resolver.record(from: record, in: bytes))
                }
                return .success(records)
            } catch {
                return .failure(JSONScanner.characterOffsets(error, in: bytes))
            }
        }
    }

    /// Decodes a path list, the payload of a Read-Composite or Observe-Composite request (LwM2M
    /// 1.1 TS Core 7.4.4 Table 7.4.4-6): records with names only, at any level inside `requestPath`.
    public static func decodePaths(_ payload: [UInt8], requestPath: LwM2MPath = .root) -> Result<[LwM2MPath], LwM2MDecodingError> {
        payload.withUnsafeBufferPointer { bytes in
            do throws(LwM2MDecodingError) {
                var resolver = SenMLPackResolver(format: formatName, requestPath: requestPath, model: LwM2MModel())
                var paths: [LwM2MPath] = []
                try readPack(bytes) { (record) throws(LwM2MDecodingError) in
                    paths.append(try resolver.path(from: record, in: bytes))
                }
                return .success(paths)
            } catch {
                return .failure(JSONScanner.characterOffsets(error, in: bytes))
            }
        }
    }

    /// Encodes records found under `requestPath` (see `SenMLPackLayout` for where bn, n and bt go).
    public static func encode(_ records: [LwM2MRecord], requestPath: LwM2MPath) -> Result<[UInt8], LwM2MEncodingError> {
        do {
            let layout = try SenMLPackLayout(records: records, requestPath: requestPath, format: formatName)
            var writer = JSONWriter(capacity: SenMLPackLayout.estimatedEncodedSize(of: records))
            writer.append("[")
            var baseTime: Double?
            for (index, record) in records.enumerated() {
                writer.append(index == 0 ? "{" : ",{")
                var needsComma = false
                if index == 0 {
                    writer.append("\"bn\":\"")
                    layout.appendBaseName(to: &writer.bytes)
                    writer.append("\"")
                    needsComma = true
                }
                if let time = SenMLPackLayout.baseTimeToWrite(for: record.time, current: &baseTime) {
                    writer.append(needsComma ? ",\"bt\":" : "\"bt\":")
                    writer.append(seconds: time)
                    needsComma = true
                }
                if layout.namesAreRelative {
                    writer.append(needsComma ? ",\"n\":\"" : "\"n\":\"")
                    layout.appendName(of: record.path, to: &writer.bytes)
                    writer.append("\"")
                    needsComma = true
                }
                if needsComma { writer.append(",") }
                try writer.appendValue(record, keys: .senml)
                writer.append("}")
            }
            writer.append("]")
            return .success(writer.bytes)
        } catch {
            return .failure(error)
        }
    }

    /// Encodes a path list for a Read-Composite or Observe-Composite request: one `n` per path.
    public static func encodePaths(_ paths: [LwM2MPath]) -> [UInt8] {
        var writer = JSONWriter(capacity: paths.count * 20 + 2)
        writer.append("[")
        for (index, path) in paths.enumerated() {
            writer.append(index == 0 ? "{\"n\":\"" : ",{\"n\":\"")
            SenMLPackLayout.appendPath(path, to: &writer.bytes)
            writer.append("\"}")
        }
        writer.append("]")
        return writer.bytes
    }

    // MARK: Reading

    /// Reads the records of a pack in order and hands each to `body`.
    private static func readPack(
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ body: (SenMLRecord) throws(LwM2MDecodingError) -> Void
    ) throws(LwM2MDecodingError) {
        var scanner = JSONScanner(bytes, format: formatName)
        // A zero-length payload is an empty pack (OMA_LwM2M_for_Developers issue 494).
        if scanner.isAtEnd { return }
        guard scanner.consume(UInt8(ascii: "[")) else { throw scanner.error("a SenML pack is a JSON array", at: scanner.offset) }
        if !scanner.consume(UInt8(ascii: "]")) {
            repeat {
                try body(try readRecord(&scanner))
            } while try scanner.continues(until: UInt8(ascii: "]"))
        }
        guard scanner.isAtEnd else { throw scanner.error("content after the end of the pack", at: scanner.offset) }
    }

    private static func readRecord(_ scanner: inout JSONScanner) throws(LwM2MDecodingError) -> SenMLRecord {
        guard scanner.peek() == UInt8(ascii: "{") else { throw scanner.error("a SenML record is a JSON object", at: scanner.offset) }
        var record = SenMLRecord(offset: scanner.offset)
        _ = scanner.consume(UInt8(ascii: "{"))
        if scanner.consume(UInt8(ascii: "}")) { return record }
        repeat {
            let keyOffset = scanner.offset
            let key = try scanner.readString()
            try scanner.expect(UInt8(ascii: ":"), "':' after a label")
            let label = key.withBytes(in: scanner.bytes) { SenMLLabel(text: $0, isCBOR: false) }
            let valueOffset = scanner.offset
            func duplicate() -> LwM2MDecodingError {
                scanner.error("label '\(key.string(in: scanner.bytes))' appears twice in a record", at: keyOffset)
            }
            switch label {
            case .baseName:
                guard record.baseName == nil else { throw duplicate() }
                record.baseName = try scanner.readString()
            case .name:
                guard record.name == nil else { throw duplicate() }
                record.name = try scanner.readString()
            case .baseTime:
                guard record.baseTime == nil else { throw duplicate() }
                record.baseTime = try scanner.readNumber()
            case .baseValue:
                guard record.baseValue == nil else { throw duplicate() }
                record.baseValue = try scanner.readNumber()
            case .baseVersion:
                guard record.baseVersion == nil else { throw duplicate() }
                record.baseVersion = try scanner.readNumber()
            case .time:
                guard record.time == nil else { throw duplicate() }
                record.time = try scanner.readNumber()
            case .value, .stringValue, .booleanValue, .dataValue, .objectLinkValue:
                guard record.value == nil else {
                    throw scanner.error("a record has at most one value (v, vs, vb, vd or vlo)", at: keyOffset)
                }
                record.value = try readValue(label, &scanner, at: valueOffset)
            case .unknown:
                try scanner.skipValue()
            case .mustUnderstand:
                throw scanner.error("label '\(key.string(in: scanner.bytes))' must be understood and is not (RFC 8428 4.4)", at: keyOffset)
            }
        } while try scanner.continues(until: UInt8(ascii: "}"))
        return record
    }

    private static func readValue(_ label: SenMLLabel, _ scanner: inout JSONScanner, at offset: Int) throws(LwM2MDecodingError) -> SenMLRecord.Value {
        switch label {
        case .value:
            return .number(try scanner.readNumber())
        case .booleanValue:
            return .boolean(try scanner.readBoolean())
        case .dataValue:
            let text = try scanner.readString()
            guard let data = text.withBytes(in: scanner.bytes, { Base64.decode($0) }) else {
                throw scanner.error("vd is not base64url (RFC 8428 4.3)", at: offset)
            }
            return .data(data)
        case .objectLinkValue:
            let text = try scanner.readString()
            guard let link = text.withBytes(in: scanner.bytes, { SenMLRecord.objectLink(from: $0) }) else {
                throw scanner.error("vlo is not an object link \"object:instance\"", at: offset)
            }
            return .objectLink(link)
        default:
            return .string(try scanner.readString().string(in: scanner.bytes))
        }
    }
}
