extension CoAPMessage {
    /// The message as one datagram, built in a single allocation of the exact size.
    public func encoded() -> [UInt8] {
        let size = encodedSize
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = write(into: buffer)
        }
    }

    /// Appends the encoded message to `buffer` (for callers that reuse one buffer).
    public func encode(into buffer: inout [UInt8]) {
        let start = buffer.count
        let size = encodedSize
        buffer.append(contentsOf: repeatElement(0, count: size))
        buffer.withUnsafeMutableBufferPointer { all in
            _ = write(into: UnsafeMutableBufferPointer(rebasing: all[start..<start + size]))
        }
    }

    /// The exact number of bytes `encoded()` produces.
    public var encodedSize: Int {
        var size = 4 + Int(token.length)
        var previous = 0
        for entry in options.entries {
            let number = Int(entry.number)
            let length = Int(entry.length)
            size += 1 + Self.extensionSize(number - previous) + Self.extensionSize(length) + length
            previous = number
        }
        if !payload.isEmpty { size += 1 + payload.count }
        return size
    }

    private static func extensionSize(_ value: Int) -> Int {
        value < 13 ? 0 : value < 269 ? 1 : 2
    }

    private static func nibble(_ value: Int) -> UInt8 {
        value < 13 ? UInt8(value) : value < 269 ? 13 : 14
    }

    private static func writeExtension(_ value: Int, _ buffer: UnsafeMutableBufferPointer<UInt8>, _ position: inout Int) {
        if value >= 269 {
            let extended = value - 269
            buffer[position] = UInt8(truncatingIfNeeded: extended >> 8)
            buffer[position + 1] = UInt8(truncatingIfNeeded: extended)
            position += 2
        } else if value >= 13 {
            buffer[position] = UInt8(value - 13)
            position += 1
        }
    }

    /// Writes the message into a buffer of at least `encodedSize` bytes; returns the bytes written.
    private func write(into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        buffer[0] = 0x40 | type.rawValue << 4 | token.length
        buffer[1] = code.rawValue
        buffer[2] = UInt8(truncatingIfNeeded: messageID >> 8)
        buffer[3] = UInt8(truncatingIfNeeded: messageID)
        var position = 4
        var remaining = Int(token.length)
        while remaining > 0 {
            remaining -= 1
            buffer[position] = UInt8(truncatingIfNeeded: token.value >> UInt64(remaining * 8))
            position += 1
        }
        var previous = 0
        options.storage.withUnsafeBufferPointer { storage in
            for entry in options.entries {
                let number = Int(entry.number)
                let length = Int(entry.length)
                let delta = number - previous
                buffer[position] = Self.nibble(delta) << 4 | Self.nibble(length)
                position += 1
                Self.writeExtension(delta, buffer, &position)
                Self.writeExtension(length, buffer, &position)
                if length > 0 {
                    let source = UnsafeBufferPointer(rebasing: storage[Int(entry.start)..<Int(entry.start) + length])
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[position..<position + length]).initialize(from: source)
                    position += length
                }
                previous = number
            }
        }
        if !payload.isEmpty {
            buffer[position] = 0xFF
            position += 1
            payload.withUnsafeBufferPointer { source in
                _ = UnsafeMutableBufferPointer(rebasing: buffer[position..<position + source.count]).initialize(from: source)
            }
            position += payload.count
        }
        return position
    }
}
