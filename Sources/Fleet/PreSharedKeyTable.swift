/// The pre-shared keys of a `key-file:`, by PSK identity: a CSV of `identity,key-hex` lines,
/// `#` comment lines and blank lines. One entry per line, shared by every device and group that
/// uses the file: a fleet of 100,000 devices holds 100,000 entries, not a key per device.
public struct PreSharedKeyTable: Hashable, Sendable {
    /// Why a key file was refused: its first problems, each with its line.
    public struct FileError: Error, Hashable, Sendable {
        /// One line's problem; `line` is 1-based.
        public struct LineProblem: Hashable, Sendable {
            public var line: Int
            public var message: String
        }

        /// In line order, at most `reportedProblems` of them.
        public var problems: [LineProblem]
        /// Lines with a problem beyond those listed.
        public var unlistedProblems: Int
    }

    /// More would drown the first in a file that is wrong throughout (a header, another separator).
    static let reportedProblems = 10

    /// The file as the fleet file names it, for messages.
    public var source: String
    /// Where the fleet file's loader found the file (absolute), for `serve` to read it again; nil
    /// for a table read from text alone.
    public var path: String?
    /// Entry number by identity.
    private var entries: [String: Int32]
    /// The keys of all entries one after another: one allocation, not one per key. Entry `i`
    /// spans `keyEnds[i - 1]..<keyEnds[i]` (from 0 for the first).
    private var keyBytes: [UInt8]
    private var keyEnds: [Int32]

    /// Reads the CSV `text` of the file `source`.
    public init(csv text: String, source: String) throws(FileError) {
        self.source = source
        entries = [:]
        keyBytes = []
        keyEnds = []
        var firstLine: [Int32] = []
        var problems: [FileError.LineProblem] = []
        var problemCount = 0
        func refuse(_ line: Int, _ message: String) {
            problemCount += 1
            if problems.count < Self.reportedProblems { problems.append(FileError.LineProblem(line: line, message: message)) }
        }
        // Bytes, not Characters: a debug build reads 100,000 lines in well under a second this way.
        let bytes = Array(text.utf8)
        var lineStart = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0  // a byte order mark some editors write
        var lineNumber = 0
        while lineStart < bytes.count {
            lineNumber += 1
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            defer { lineStart = lineEnd + 1 }
            let line = Self.trimmed(bytes[lineStart..<lineEnd])
            guard let first = line.first, first != UInt8(ascii: "#") else { continue }
            guard let comma = line.lastIndex(of: UInt8(ascii: ",")) else {
                refuse(lineNumber, "has no comma; write IDENTITY,KEY-HEX, such as sim-000000,000102030405060708090a0b0c0d0e0f")
                continue
            }
            let identity = String(decoding: Self.trimmed(line[..<comma]), as: UTF8.self)
            guard !identity.isEmpty else {
                refuse(lineNumber, "the identity before the comma is empty; write IDENTITY,KEY-HEX")
                continue
            }
            let key: [UInt8]
            do {
                key = try DeviceSecurity.key(hex: Substring(decoding: Self.trimmed(line[(comma + 1)...]), as: UTF8.self))
            } catch {
                refuse(lineNumber, "the key of '\(identity)' \(error.reason)")
                continue
            }
            if let earlier = entries[identity] {
                refuse(lineNumber, "'\(identity)' has a key on line \(firstLine[Int(earlier)]) already; give each identity one line")
                continue
            }
            entries[identity] = Int32(keyEnds.count)
            keyBytes += key
            keyEnds.append(Int32(keyBytes.count))
            firstLine.append(Int32(lineNumber))
        }
        guard problems.isEmpty else { throw FileError(problems: problems, unlistedProblems: problemCount - problems.count) }
    }

    /// How many identities have a key.
    public var count: Int { keyEnds.count }

    /// The identities that have a key, in no particular order.
    var identities: Dictionary<String, Int32>.Keys { entries.keys }

    /// The key of `identity`; nil when the file has none.
    public func key(forIdentity identity: String) -> [UInt8]? {
        guard let entry = entries[identity].map(Int.init) else { return nil }
        let start = entry == 0 ? 0 : Int(keyEnds[entry - 1])
        return Array(keyBytes[start..<Int(keyEnds[entry])])
    }

    /// Without spaces, tabs and a carriage return (a file written on Windows) at either end.
    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
        guard let first = bytes.firstIndex(where: { !blank($0) }), let last = bytes.lastIndex(where: { !blank($0) }) else { return [] }
        return bytes[first...last]
    }
}
