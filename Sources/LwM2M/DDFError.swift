/// Why a DDF file (object definition XML) could not be loaded: the file, the line, and what is wrong.
public struct DDFError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file as the caller named it (a path, or "3.xml").
    public var source: String
    /// The 1-based line the problem was found on; nil when it concerns the file as a whole.
    public var line: Int?
    public var reason: String

    public init(source: String, line: Int?, reason: String) {
        self.source = source
        self.line = line
        self.reason = reason
    }

    public var description: String {
        source + (line.map { " line \($0)" } ?? "") + ": " + reason
    }
}
