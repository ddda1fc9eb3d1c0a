/// SenML CBOR (RFC 8428 section 6, content-format 112) as LwM2M 1.1 TS Core 7.4.5 uses it.
public enum SenMLCBORFormat {
    static let formatName = "SenML CBOR"

    /// Decodes a pack into records in payload order; an empty payload is an empty pack.
    /// Error offsets are byte offsets.
    public static func decode(_ payload: [UInt8], requestPath: LwM2MPath, model: LwM2MModel) -> Result<[LwM2MRecord], LwM2MDecodingError> {
        payload.withUnsafeBufferPointer { bytes in
            do throws(LwM2MDecodingError) {
                var resolver = SenMLPackResolver(format: formatName, requestPath: requestPath, model: model)
                var records: [LwM2MRecord] = []
                try readPack(bytes, reserve: { records.reserveCapacity($0) }) { (record) throws(LwM2MDecodingError) in
                    records.append(try resolver.record(from: record, in: bytes))
                }
                return .success(records)
            } catch {
                return .failure(error)
            }
        }
    }

    /// Decodes a path list, the payload of a Read-Composite or Observe-Composite request (LwM2M
    /// 1.1 TS Core 7.4.5): records with names only, at any level inside `requestPath`.
    public static func decodePaths(_ payload: [UInt8], requestPath: LwM2MPath = .root) -> Result<[LwM2MPath], LwM2MDecodingError> {
        payload.withUnsafeBufferPointer { bytes in
            do throws(LwM2MDecodingError) {
                var resolver = SenMLPackResolver(format: formatName, requestPath: requestPath, model: LwM2MModel())
                var paths: [LwM2MPath] = []
                try readPack(bytes, reserve: { paths.reserveCapacity($0) }) { (record) throws(LwM2MDecodingError) in
                    paths.append(try resolver.path(from: record, in: bytes))
                }
                return .success(paths)
            } catch {
                return .failure(error)
            }
        }
    }

    /// Encodes records found under `requestPath` (see `SenMLPackLayout` for where bn, n and bt go),
    /// with integer labels, definite lengths and the shortest integers and floats.
    public static func encode(_ records: [LwM2MRecord], requestPath: LwM2MPath) -> Result<[UInt8], LwM2MEncodingError> {
        do throws(LwM2MEncodingError) {
            let layout = try SenMLPackLayout(records: records, requestPath: requestPath, format: formatName)
            var writer = CBORWriter(capacity: SenMLPackLayout.estimatedEncodedSize(of: records))
            writer.appendHead(major: 4, UInt64(records.count))
            var baseTime: Double?
            for (index, record) in records.enumerated() {
                let baseTimeToWrite = SenMLPackLayout.baseTimeToWrite(for: record.time, current: &baseTime)
                let pairs = 1 + (index == 0 ? 1 : 0) + (baseTimeToWrite == nil ? 0 : 1) + (layout.namesAreRelative ? 1 : 0)
                writer.appendHead(major: 5, UInt64(pairs))
                if index == 0 {
                    writer.append(integer: -2)
                    writer.appendHead(major: 3, UInt64(layout.baseNameLength))
                    layout.appendBaseName(to: &writer.bytes)
                }
                if let baseTimeToWrite {
                    writer.append(integer: -3)
                    writer.append(seconds: baseTimeToWrite)
                }
                if layout.namesAreRelative {
                    writer.append(integer: 0)
                    writer.appendHead(major: 3, UInt64(layout.nameLength(of: record.path)))
                    layout.appendName(of: record.path, to: &writer.bytes)
                }
                appendValue(record.value, to: &writer)
            }
            return .success(writer.bytes)
        } catch {
            return .failure(error)
        }
    }

    /// Encodes a path list for a Read-Composite or Observe-Composite request: one `n` per path.
    public static func encodePaths(_ paths: [LwM2MPath]) -> [UInt8] {
        var writer = CBORWriter(capacity: paths.count * 16 + 9)
        writer.appendHead(major: 4, UInt64(paths.count))
        for path in paths {
            writer.appendHead(major: 5, 1)
            writer.append(integer: 0)
            writer.appendHead(major: 3, UInt64(SenMLPackLayout.pathLength(path)))
            SenMLPackLayout.appendPath(path, to: &writer.bytes)
        }
        return writer.bytes
    }

    // MARK: Reading

    /// Reads the records of a pack in order and hands each to `body`; `reserve` learns the
    /// record count of a definite-length pack.
    private static func readPack(
        _ bytes: UnsafeBufferPointer<UInt8>,
        reserve: (Int) -> Void,
        _ body: (SenMLRecord) throws(LwM2MDecodingError) -> Void
    ) throws(LwM2MDecodingError) {
        // A zero-length payload is an empty pack (OMA_LwM2M_for_Developers issue 494).
        guard !bytes.isEmpty else { return }
        var reader = CBORReader(bytes, format: formatName)
        guard case .array(let count) = try reader.read() else {
            throw reader.error("a SenML pack is a CBOR array", at: reader.itemOffset)
        }
        if let count {
            // A record takes at least a few bytes: never reserve more than the payload could hold.
            reserve(min(count, bytes.count / 4))
            for _ in 0..<count {
                let item = try reader.read()
                try body(try readRecord(item, &reader))
            }
        } else {
            while true {
                let item = try reader.read()
                if case .break = item { break }
                try body(try readRecord(item, &reader))
            }
        }
        guard reader.isAtEnd else { throw reader.error("data after the end of the pack", at: reader.offset) }
    }

    private static func readRecord(_ item: CBORReader.Item, _ reader: inout CBORReader) throws(LwM2MDecodingError) -> SenMLRecord {
        guard case .map(let pairs) = item else { throw reader.error("a SenML record is a CBOR map", at: reader.itemOffset) }
        var record = SenMLRecord(offset: reader.itemOffset)
        var remaining = pairs
        while remaining != 0 {
            let key = try reader.read()
            let keyOffset = reader.itemOffset
            let label: SenMLLabel
            switch key {
            case .break where pairs == nil:
                return record
            case .unsigned(let value):
                label = value <= UInt64(Int64.max) ? SenMLLabel(cborKey: Int64(value)) : .unknown
            case .negative(let value):
                label = value < UInt64(Int64.max) ? SenMLLabel(cborKey: -1 - Int64(value)) : .unknown
            case .text(let text):
                label = text.withBytes(in: reader.bytes) { SenMLLabel(text: $0, isCBOR: true) }
                if label == .mustUnderstand {
                    throw reader.error(
                        "label '\(text.string(in: reader.bytes))' must be understood and is not (RFC 8428 4.4)", at: keyOffset)
                }
            default:
                throw reader.error("a SenML label is an integer or a text string", at: keyOffset)
            }
            try readField(label, into: &record, &reader, keyOffset: keyOffset)
            if let count = remaining { remaining = count - 1 }
        }
        return record
    }

    private static func readField(
        _ label: SenMLLabel, into record: inout SenMLRecord, _ reader: inout CBORReader, keyOffset: Int
    ) throws(LwM2MDecodingError) {
        let item = try reader.read()
        let valueOffset = reader.itemOffset
        func duplicate() -> LwM2MDecodingError { reader.error("a label appears twice in a record", at: keyOffset) }
        func mismatch(_ expected: String) -> LwM2MDecodingError { reader.error("\(expected) expected", at: valueOffset) }
        switch label {
        case .baseName, .name:
            guard case .text(let text) = item else { throw mismatch(label == .name ? "n: a text string" : "bn: a text string") }
            if label == .name {
                guard record.name == nil else { throw duplicate() }
                record.name = text
            } else {
                guard record.baseName == nil else { throw duplicate() }
                record.baseName = text
            }
        case .baseTime:
            guard record.baseTime == nil else { throw duplicate() }
            record.baseTime = try number(item, reader, "bt")
        case .baseValue:
            guard record.baseValue == nil else { throw duplicate() }
            record.baseValue = try number(item, reader, "bv")
        case .baseVersion:
            guard record.baseVersion == nil else { throw duplicate() }
            record.baseVersion = try number(item, reader, "bver")
        case .time:
            guard record.time == nil else { throw duplicate() }
            record.time = try number(item, reader, "t")
        case .value, .stringValue, .booleanValue, .dataValue, .objectLinkValue:
            guard record.value == nil else {
                throw reader.error("a record has at most one value (v, vs, vb, vd or vlo)", at: keyOffset)
            }
            record.value = try value(label, item, reader)
        case .unknown, .mustUnderstand:
            try reader.skipContents(of: item)
        }
    }

    private static func number(_ item: CBORReader.Item, _ reader: CBORReader, _ label: String) throws(LwM2MDecodingError) -> SenMLNumber {
        switch item {
        case .unsigned(let value): return .unsigned(value)
        case .negative(let value):
            // -1 - UInt64.max is one beyond what a 64-bit magnitude holds: keep it as a double.
            return value < UInt64.max ? .decimal(negative: true, significand: value + 1, exponent: 0) : .binary(-0x1p64)
        case .float(let value): return .binary(value)
        case .decimalFraction(let value): return value
        default: throw reader.error("\(label): a number expected", at: reader.itemOffset)
        }
    }

    private static func value(_ label: SenMLLabel, _ item: CBORReader.Item, _ reader: CBORReader) throws(LwM2MDecodingError) -> SenMLRecord.Value {
        switch (label, item) {
        case (.value, _):
            return .number(try number(item, reader, "v"))
        case (.stringValue, .text(let text)):
            return .string(text.string(in: reader.bytes))
        case (.booleanValue, .boolean(let flag)):
            return .boolean(flag)
        case (.dataValue, .bytes(let data)):
            switch data {
            case .range(let range): return .data(Array(reader.bytes[range]))
            case .rebuilt(let joined): return .data(joined)
            }
        case (.objectLinkValue, .text(let text)):
            guard let link = text.withBytes(in: reader.bytes, { SenMLRecord.objectLink(from: $0) }) else {
                throw reader.error("vlo is not an object link \"object:instance\"", at: reader.itemOffset)
            }
            return .objectLink(link)
        case (.stringValue, _): throw reader.error("vs: a text string expected", at: reader.itemOffset)
        case (.booleanValue, _): throw reader.error("vb: true or false expected", at: reader.itemOffset)
        case (.dataValue, _): throw reader.error("vd: a byte string expected", at: reader.itemOffset)
        default: throw reader.error("vlo: a text string expected", at: reader.itemOffset)
        }
    }

    // MARK: Writing

    private static func appendValue(_ value: LwM2MValue, to writer: inout CBORWriter) {
        switch value {
        case .string(let text), .coreLink(let text):
            writer.append(integer: 3)
            writer.append(text: text)
        case .integer(let number), .time(let number):
            writer.append(integer: 2)
            writer.append(integer: number)
        case .unsignedInteger(let number):
            writer.append(integer: 2)
            writer.append(unsigned: number)
        case .float(let number):
            writer.append(integer: 2)
            writer.append(double: number)
        case .boolean(let flag):
            writer.append(integer: 4)
            writer.append(boolean: flag)
        case .opaque(let bytes):
            writer.append(integer: 8)
            writer.append(data: bytes)
        case .objectLink(let link):
            // LwM2M 1.1 TS Core 7.4.5: vlo has no integer label.
            writer.append(text: "vlo")
            writer.appendHead(major: 3, UInt64(DecimalDigits.count(UInt64(link.objectID)) + 1 + DecimalDigits.count(UInt64(link.instanceID))))
            DecimalDigits.append(UInt64(link.objectID), to: &writer.bytes)
            writer.bytes.append(UInt8(ascii: ":"))
            DecimalDigits.append(UInt64(link.instanceID), to: &writer.bytes)
        }
    }
}
