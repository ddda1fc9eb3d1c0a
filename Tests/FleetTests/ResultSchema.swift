import Fleet
import Foundation
import XCTest

/// `schemas/result.schema.json`, against which the tests check every result file they make: a
/// writer that drifts from the schema fails the test that wrote the file.
enum ResultSchema {
    /// The repository's schema file.
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schemas/result.schema.json").path

    static let validator: JSONSchemaValidator = {
        do {
            return try JSONSchemaValidator(schemaFile: path)
        } catch {
            fatalError("cannot read the result schema at \(path): \(error)")
        }
    }()

    /// Where the JSON text `data` breaks the schema; empty when it keeps it.
    static func problems(in data: Data) -> [String] {
        do {
            return validator.problems(in: try JSONDecoder().decode(JSONValue.self, from: data))
        } catch {
            return ["not JSON: \(error)"]
        }
    }

    /// Fails the calling test when the file at `path` breaks the schema.
    static func assertValid(file path: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let found = problems(in: data)
        XCTAssertTrue(found.isEmpty, "\(path) breaks schemas/result.schema.json:\n" + found.joined(separator: "\n"), file: file, line: line)
    }

    /// Fails the calling test when `result`, as `write(to:)` would write it, breaks the schema.
    static func assertValid(_ result: ResultFile, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let found = problems(in: try result.jsonData())
            XCTAssertTrue(found.isEmpty, "the result breaks schemas/result.schema.json:\n" + found.joined(separator: "\n"), file: file, line: line)
        } catch {
            XCTFail("cannot encode the result: \(error)", file: file, line: line)
        }
    }

    /// The result file at `path`, checked against the schema first; nil when there is none or it
    /// does not read.
    static func read(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> ResultFile? {
        assertValid(file: path, file: file, line: line)
        return try? ResultFile.read(from: path)
    }
}
