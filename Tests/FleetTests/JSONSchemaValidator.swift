import Foundation

/// A JSON document as values, with booleans, integers and other numbers told apart (as JSON
/// Schema's types need, and `JSONSerialization`'s `NSNumber` does not).
indirect enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Double)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .integer(Double(value))
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(Double(value))
        } else if let value = try? container.decode(Double.self) {
            self = value.rounded() == value ? .integer(value) : .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// JSON Schema's name of the value's type.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    var numberValue: Double? {
        switch self {
        case .integer(let value), .number(let value): value
        default: nil
        }
    }
}

/// Checks a JSON document against a JSON Schema (draft 2020-12), for the subset of keywords our
/// schemas use: `type`, `properties`, `required`, `additionalProperties`, `propertyNames`,
/// `items`, `prefixItems`, `minItems`, `maxItems`, `enum`, `const`, `minimum`, `maximum`,
/// `pattern`, `anyOf`, `oneOf`, and `$ref` into `$defs`. A schema with any other keyword is
/// refused, so a schema can never rely on a check this validator would skip.
struct JSONSchemaValidator {
    private let root: JSONValue
    private static let annotations: Set<String> = ["$schema", "$id", "$comment", "$defs", "title", "description"]
    private static let keywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "propertyNames", "items", "prefixItems", "minItems", "maxItems",
        "enum", "const", "minimum", "maximum", "pattern", "anyOf", "oneOf", "$ref",
    ]

    init(schema: JSONValue) {
        root = schema
    }

    init(schemaFile path: String) throws {
        root = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every place where `document` breaks the schema, as `$.metrics.stages[0].index: ...`; empty when valid.
    func problems(in document: JSONValue, limit: Int = 20) -> [String] {
        var problems: [String] = []
        check(document, against: root, at: "$", problems: &problems, limit: limit)
        return problems
    }

    private func check(_ value: JSONValue, against schema: JSONValue, at path: String, problems: inout [String], limit: Int) {
        guard problems.count < limit else { return }
        guard case .object(let rules) = schema else {
            if schema == .bool(false) { problems.append("\(path): not allowed here") }
            return
        }
        for key in rules.keys where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
            problems.append("schema at \(path) uses '\(key)', which this validator does not check")
        }
        if case .string(let reference)? = rules["$ref"] {
            guard let target = resolve(reference) else {
                problems.append("schema at \(path): cannot resolve \(reference)")
                return
            }
            check(value, against: target, at: path, problems: &problems, limit: limit)
        }
        checkType(value, rules, at: path, problems: &problems)
        if case .array(let allowed)? = rules["enum"], !allowed.contains(value) {
            problems.append("\(path): \(describe(value)) is not one of \(allowed.map(describe).joined(separator: ", "))")
        }
        if let constant = rules["const"], constant != value {
            problems.append("\(path): \(describe(value)) is not \(describe(constant))")
        }
        if let number = value.numberValue {
            if let minimum = rules["minimum"]?.numberValue, number < minimum { problems.append("\(path): \(describe(value)) is below \(minimum)") }
            if let maximum = rules["maximum"]?.numberValue, number > maximum { problems.append("\(path): \(describe(value)) is above \(maximum)") }
        }
        if case .string(let text) = value, case .string(let pattern)? = rules["pattern"], !matches(text, pattern) {
            problems.append("\(path): \(describe(value)) does not match \(pattern)")
        }
        if case .object(let members) = value { checkObject(members, rules, at: path, problems: &problems, limit: limit) }
        if case .array(let elements) = value { checkArray(elements, rules, at: path, problems: &problems, limit: limit) }
        for (keyword, exactlyOne) in [("anyOf", false), ("oneOf", true)] {
            guard case .array(let alternatives)? = rules[keyword] else { continue }
            let passing = alternatives.filter { alternative in
                var scratch: [String] = []
                check(value, against: alternative, at: path, problems: &scratch, limit: 1)
                return scratch.isEmpty
            }.count
            if passing == 0 || (exactlyOne && passing > 1) {
                problems.append("\(path): \(describe(value)) matches \(passing) of the \(keyword) alternatives")
            }
        }
    }

    private func checkType(_ value: JSONValue, _ rules: [String: JSONValue], at path: String, problems: inout [String]) {
        let allowed: [String]
        switch rules["type"] {
        case .string(let name)?: allowed = [name]
        case .array(let names)?: allowed = names.compactMap { if case .string(let name) = $0 { name } else { nil } }
        default: return
        }
        // An integer is a number too.
        let accepted = allowed.contains(value.typeName) || (value.typeName == "integer" && allowed.contains("number"))
        if !accepted { problems.append("\(path): expected \(allowed.joined(separator: " or ")), found \(value.typeName) \(describe(value))") }
    }

    private func checkObject(
        _ members: [String: JSONValue], _ rules: [String: JSONValue], at path: String, problems: inout [String], limit: Int
    ) {
        if case .array(let required)? = rules["required"] {
            for case .string(let key) in required where members[key] == nil { problems.append("\(path): missing required key '\(key)'") }
        }
        var properties: [String: JSONValue] = [:]
        if case .object(let defined)? = rules["properties"] { properties = defined }
        for (key, member) in members.sorted(by: { $0.key < $1.key }) {
            let memberPath = "\(path).\(key)"
            if let names = rules["propertyNames"] { check(.string(key), against: names, at: "\(path) key '\(key)'", problems: &problems, limit: limit) }
            if let property = properties[key] {
                check(member, against: property, at: memberPath, problems: &problems, limit: limit)
            } else if let additional = rules["additionalProperties"] {
                if additional == .bool(false) {
                    problems.append("\(path): unexpected key '\(key)'")
                } else {
                    check(member, against: additional, at: memberPath, problems: &problems, limit: limit)
                }
            }
        }
    }

    private func checkArray(
        _ elements: [JSONValue], _ rules: [String: JSONValue], at path: String, problems: inout [String], limit: Int
    ) {
        if let minimum = rules["minItems"]?.numberValue, Double(elements.count) < minimum {
            problems.append("\(path): \(elements.count) items, fewer than \(Int(minimum))")
        }
        if let maximum = rules["maxItems"]?.numberValue, Double(elements.count) > maximum {
            problems.append("\(path): \(elements.count) items, more than \(Int(maximum))")
        }
        var prefix: [JSONValue] = []
        if case .array(let schemas)? = rules["prefixItems"] { prefix = schemas }
        for (index, element) in elements.enumerated() {
            if index < prefix.count {
                check(element, against: prefix[index], at: "\(path)[\(index)]", problems: &problems, limit: limit)
            } else if let items = rules["items"] {
                check(element, against: items, at: "\(path)[\(index)]", problems: &problems, limit: limit)
            }
        }
    }

    /// `#/$defs/NAME`, the only references our schemas make.
    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/$defs/"), case .object(let top) = root, case .object(let definitions)? = top["$defs"] else { return nil }
        return definitions[String(reference.dropFirst("#/$defs/".count))]
    }

    private func matches(_ text: String, _ pattern: String) -> Bool {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return false }
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .integer(let number): String(format: "%.0f", number)
        case .number(let number): "\(number)"
        case .string(let text): "\"\(text.prefix(60))\""
        case .array(let elements): "an array of \(elements.count)"
        case .object: "an object"
        }
    }
}
