/// Why a fleet file (or another YAML file the tool reads, such as `serve --config`) was refused:
/// every problem found in it, each naming the file, line, column, key path, what was found and
/// what would be valid:
///
///     quickstart.yaml:12:15: devices[0].bootstrap: 'client' is not valid; use none, client-initiated or server-initiated
public struct FleetSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One mistake at one place in the file.
    public struct Problem: Hashable, Sendable {
        /// 1-based, as editors count; nil only when the file as a whole is at fault (unreadable).
        public var line: Int?
        /// 1-based, in Unicode scalars.
        public var column: Int?
        /// Where in the document (`devices[0].lifetime`, `stages[2]`); nil for YAML syntax errors.
        public var keyPath: String?
        public var message: String

        public init(line: Int?, column: Int?, keyPath: String?, message: String) {
            self.line = line
            self.column = column
            self.keyPath = keyPath
            self.message = message
        }
    }

    /// The file as the user named it.
    public var source: String
    /// In document order; never empty.
    public var problems: [Problem]

    public init(source: String, problems: [Problem]) {
        self.source = source
        self.problems = problems
    }

    /// One line per problem: `file:line:column: key.path: message`.
    public var lines: [String] {
        problems.map { problem in
            var place = source
            if let line = problem.line {
                place += ":\(line)"
                if let column = problem.column { place += ":\(column)" }
            }
            return place + ": " + (problem.keyPath.map { "\($0): " } ?? "") + problem.message
        }
    }

    public var description: String { lines.joined(separator: "\n") }
}

extension Array where Element == String {
    /// "did you mean 'x'? " (or 'x' or 'y' when equally close) for the names close enough to
    /// `name` to be a likely typo; empty when none is.
    func suggestion(for name: String) -> String {
        let typed = [Character](name)
        let distances = map { (name: $0, distance: Self.editDistance(typed, [Character]($0))) }
        guard let best = distances.map(\.distance).min(), best <= Swift.max(2, typed.count / 3) else { return "" }
        let closest = distances.filter { $0.distance == best }.map { "'\($0.name)'" }
        return "did you mean \(closest.orList)? "
    }

    /// Levenshtein distance: insertions, deletions and substitutions of one character each.
    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = [Int](0...b.count)
        for (i, left) in a.enumerated() {
            var current = [i + 1] + [Int](repeating: 0, count: b.count)
            for (j, right) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (left == right ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// "a, b or c", for messages that list what would be valid.
    var orList: String {
        count > 1 ? dropLast().joined(separator: ", ") + " or " + last! : first ?? ""
    }
}
