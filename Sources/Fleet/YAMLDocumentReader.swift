import CoAP
import Foundation
import LwM2M
import Yams

/// Reads one YAML document into a value, collecting every problem with its place instead of
/// stopping at the first: the fleet file (`FleetSpec`) and `serve --config`
/// (`BootstrapServerConfiguration`) are read by the same helpers and refused in the same style,
/// `file:line:column: key.path: what was found; what would be valid` (`FleetSpecError`).
///
/// A reader keeps the problems and the places of the keys it read; the helpers below report
/// what they cannot read and give nil for it, so reading goes on with the next key.
protocol YAMLDocumentReader {
    /// A line and column, 1-based.
    typealias Place = (line: Int, column: Int)

    /// The file as the user named it.
    var source: String { get }
    var problems: [FleetSpecError.Problem] { get set }
    /// Where the value of each key path read so far starts, for checks that span keys.
    var marks: [String: Place] { get set }
}

extension YAMLDocumentReader {
    // MARK: The file

    /// The text of the file at `path`; an unreadable file is refused naming `path` as given.
    static func text(ofFile path: String) throws(FleetSpecError) -> String {
        do {
            return try TextFile.read(path)
        } catch {
            throw FleetSpecError(source: path, problems: [FleetSpecError.Problem(line: nil, column: nil, keyPath: nil, message: error.reason)])
        }
    }

    /// The root node of `yaml`, nil for a document with nothing in it; `source` names it in errors.
    static func root(of yaml: String, source: String) throws(FleetSpecError) -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw FleetSpecError(source: source, problems: [problem(from: error)])
        } catch {
            throw FleetSpecError(source: source, problems: [FleetSpecError.Problem(
                line: nil, column: nil, keyPath: nil, message: "is not valid YAML: \(error)")])
        }
    }

    /// Every problem found, as the file reads: checked key by key, reported top to bottom.
    var error: FleetSpecError {
        let ordered = problems.enumerated().sorted {
            ($0.element.line ?? 0, $0.element.column ?? 0, $0.offset) < ($1.element.line ?? 0, $1.element.column ?? 0, $1.offset)
        }
        return FleetSpecError(source: source, problems: ordered.map(\.element))
    }

    // MARK: Reporting

    static func problem(from error: YamlError) -> FleetSpecError.Problem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            // The context says where the unfinished construct began, often the line to fix.
            let started = context.map { " (\($0.text) started at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return FleetSpecError.Problem(line: mark.line, column: mark.column, keyPath: nil, message: "not valid YAML: \(problem)\(started)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return FleetSpecError.Problem(
                line: context.mark.line, column: context.mark.column, keyPath: duplicates.first,
                message: "\(names) appears more than once in the same mapping; give each key once")
        default:
            return FleetSpecError.Problem(line: nil, column: nil, keyPath: nil, message: "not valid YAML: \(error)")
        }
    }

    static func place(_ node: Node) -> Place? { node.mark.map { ($0.line, $0.column) } }

    mutating func report(_ place: Place?, _ keyPath: String?, _ message: String) {
        problems.append(FleetSpecError.Problem(line: place?.line, column: place?.column, keyPath: keyPath, message: message))
    }

    mutating func report(_ node: Node, _ keyPath: String?, _ message: String) {
        report(Self.place(node), keyPath, message)
    }

    /// Reports at the value of `keyPath`, or at `fallback`'s when the key was left out.
    mutating func report(at keyPath: String, orAt fallback: String, _ message: String) {
        report(marks[keyPath] ?? marks[fallback], marks[keyPath] == nil ? fallback : keyPath, message)
    }

    // MARK: Structure

    /// A mapping's keys; unknown ones are reported (with the closest valid name) and left out, as
    /// are missing required ones, each given with what to write.
    mutating func fields(
        _ node: Node, at path: String?, what: String, allowed: [String], required: [(key: String, hint: String)] = []
    ) -> YAMLFields? {
        guard let mapping = node.mapping else {
            report(node, path, "expected \(what), found \(Self.describe(node))")
            return nil
        }
        var fields = YAMLFields(node: node, path: path, values: [:])
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                report(keyNode, path, "a key must be a plain name; valid keys: \(allowed.joined(separator: ", "))")
                continue
            }
            guard allowed.contains(key) else {
                let suggestion = allowed.suggestion(for: key)
                report(keyNode, fields.path(key), "unknown key '\(key)'; \(suggestion)valid keys: \(allowed.joined(separator: ", "))")
                continue
            }
            fields.values[key] = value
            marks[fields.path(key)] = Self.place(value)
        }
        for (key, hint) in required where fields[key] == nil {
            report(node, fields.path(key), "missing; \(hint)")
        }
        return fields
    }

    /// The elements of a list, each with its key path (`devices[2]`).
    mutating func list(_ node: Node, at path: String, what: String) -> [(node: Node, path: String)]? {
        guard let sequence = node.sequence else {
            report(node, path, "expected a list of \(what), found \(Self.describe(node))")
            return nil
        }
        return sequence.enumerated().map { index, element in
            let elementPath = "\(path)[\(index)]"
            marks[elementPath] = Self.place(element)
            return (element, elementPath)
        }
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): isNull(scalar) ? "nothing" : "'\(scalar.string)'"
        case .sequence: "a list"
        case .mapping: "a mapping"
        case .alias: "an alias"
        }
    }

    static func isNull(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A scalar's text; a list, mapping or empty value is reported.
    mutating func text(_ node: Node, at path: String, expected: String) -> String? {
        guard let scalar = node.scalar, !Self.isNull(scalar) else {
            report(node, path, "expected \(expected), found \(Self.describe(node))")
            return nil
        }
        return scalar.string
    }

    /// A whole number in `range`, digits only (underscores may group them).
    mutating func whole(_ node: Node, at path: String, in range: ClosedRange<UInt64>, what: String) -> UInt64? {
        guard let text = text(node, at: path, expected: what) else { return nil }
        let digits = text.filter { $0 != "_" }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = UInt64(digits), range.contains(number) else {
            report(node, path, "'\(text)' is not valid; use \(what)")
            return nil
        }
        return number
    }

    /// A signed decimal number (`-70`, `21.5`, `1e3`), finite.
    mutating func decimal(_ node: Node, at path: String, what: String) -> Double? {
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let number = Self.decimal(text) else {
            report(node, path, "'\(text)' is not valid; use \(what)")
            return nil
        }
        return number
    }

    static func decimal(_ text: String) -> Double? {
        // Double(_:) alone would also take "nan", "inf" and hexadecimal.
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }), let number = Double(text), number.isFinite
        else { return nil }
        return number
    }

    /// A duration with a unit, above 0 (or 0 and above when `allowZero`).
    mutating func duration(_ node: Node, at path: String, allowZero: Bool = false) -> Double? {
        let what = "a duration with a unit, such as 500ms, 30s, 2m or 1h"
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let seconds = FleetSpec.seconds(inDuration: text) else {
            let found = FleetSpec.splitQuantity(text).map { $0.unit.isEmpty ? "has no unit" : "has unknown unit '\($0.unit)'" }
                ?? "is not a duration"
            report(node, path, "'\(text)' \(found); use \(what)")
            return nil
        }
        guard seconds > 0 || allowZero else {
            report(node, path, "'\(text)' is not valid; use a duration above 0, such as 30s")
            return nil
        }
        return seconds
    }

    mutating func boolean(_ node: Node, at path: String) -> Bool? {
        guard let text = text(node, at: path, expected: "true or false") else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            report(node, path, "'\(text)' is not valid; use true or false")
            return nil
        }
    }

    mutating func choice<Value>(_ node: Node, at path: String, _ choices: [(name: String, value: Value)]) -> Value? {
        let valid = "use " + choices.map(\.name).orList
        guard let text = text(node, at: path, expected: choices.map(\.name).orList) else { return nil }
        guard let value = choices.first(where: { $0.name == text })?.value else {
            report(node, path, "'\(text)' is not valid; \(valid)")
            return nil
        }
        return value
    }

    // MARK: LwM2M values

    /// The LwM2M versions a device can be given.
    static var lwm2mVersions: [LwM2MVersion] { [.v1_0, .v1_1, .v1_2] }

    /// Transport letters that a device of `version` can send as its binding.
    mutating func binding(_ node: Node, at path: String, version: LwM2MVersion) -> LwM2MBinding? {
        guard let text = text(node, at: path, expected: "transport letters such as U") else { return nil }
        guard let binding = LwM2MBinding(text) else {
            report(node, path, "'\(text)' is not valid; use transport letters (U, T, S, N, M, H, Q) each once, such as U or UQ")
            return nil
        }
        if let problem = binding.problem(forLwM2MVersion: version) {
            report(node, path, "'\(text)' does not suit lwm2m-version \(version): \(problem)")
            return nil
        }
        return binding
    }

    /// `PREFIX{index}` or `PREFIX{index:0N}`: names by global device index (`endpoint:`, a PSK `identity:`).
    mutating func endpointPattern(_ node: Node, at path: String, what: String) -> FleetSpec.EndpointPattern? {
        let valid = "use PREFIX{index} or PREFIX{index:0N} (N digits, zero-padded), such as sim-{index:06}"
        guard let text = text(node, at: path, expected: what) else { return nil }
        guard let open = text.range(of: "{index"), let close = text[open.upperBound...].firstIndex(of: "}") else {
            report(node, path, "'\(text)' has no {index}; \(valid)")
            return nil
        }
        let prefix = String(text[..<open.lowerBound])
        let format = text[open.upperBound..<close]
        guard text.index(after: close) == text.endIndex else {
            report(node, path, "'\(text)' goes on after {index...}; the index ends the name: \(valid)")
            return nil
        }
        guard !prefix.contains(where: { "{}*".contains($0) || $0.isWhitespace || !$0.isASCII || $0.asciiValue! < 0x20 }) else {
            report(node, path, "'\(text)' has a prefix with a space, brace, * or non-ASCII character; \(valid)")
            return nil
        }
        var width = 0
        if !format.isEmpty {
            let digits = format.dropFirst(2)
            guard format.hasPrefix(":0"), !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let parsed = Int(digits),
                  (1...20).contains(parsed)
            else {
                report(node, path, "'\(text)' has the index format '\(format)'; \(valid), N from 1 to 20")
                return nil
            }
            width = parsed
        }
        return FleetSpec.EndpointPattern(prefix: prefix, indexWidth: width)
    }

    /// A `coap://` URI, parsed, or a `coaps://` one unless `noSecurity` says why this key takes
    /// plain CoAP (NoSec) only.
    mutating func coapURI(_ node: Node, at path: String, what: String, noSecurity: String?) -> (text: String, uri: CoAPURI)? {
        guard let text = text(node, at: path, expected: what) else { return nil }
        let uri: CoAPURI
        do {
            uri = try CoAPURI(text)
        } catch {
            report(node, path, "\(error); use \(what)")
            return nil
        }
        if uri.isSecure, let noSecurity {
            report(node, path, "'\(text)' is not valid: \(noSecurity); use \(what)")
            return nil
        }
        return (text, uri)
    }
}

/// The keys of a mapping, checked against those valid in it.
struct YAMLFields {
    let node: Node
    let path: String?
    var values: [String: Node]

    subscript(key: String) -> Node? { values[key] }

    func path(_ key: String) -> String { path.map { "\($0).\(key)" } ?? key }
}
