import Foundation
import XCTest

/// Finds and loads the language-neutral wire vectors kept next to the package in `../shared/vectors`.
public enum SharedVectors {
    /// `<package root>/../shared`; the root is three levels above this file
    /// (`Tests/SharedTestData/SharedVectors.swift`).
    public static var sharedDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("../shared")
            .standardizedFileURL
    }

    public static var directory: URL { sharedDirectory.appendingPathComponent("vectors") }

    /// Skips the whole test case when `../shared/vectors` is absent: tests that read vectors inside
    /// an assertion would otherwise report the skip as a failure.
    public static func requireVectors() throws {
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw XCTSkip("../shared/vectors not found at \(directory.path)")
        }
    }

    /// `../shared/lwm2m-registry` (the OMA DDF files); skips the calling test when it is absent.
    public static func registryDirectory() throws -> URL {
        let url = sharedDirectory.appendingPathComponent("lwm2m-registry")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("../shared/lwm2m-registry not found at \(url.path)")
        }
        return url
    }

    /// Decodes `name` (snake_case keys become camelCase properties). Skips the calling test when the
    /// file cannot be read, and throws naming the file and the JSON path when it does not match `type`.
    public static func load<File: Decodable>(_ name: String, as type: File.Type) throws -> File {
        let url = directory.appendingPathComponent(name)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw XCTSkip("../shared/vectors not found at \(url.path): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(File.self, from: data)
        } catch {
            throw VectorFileError(
                "\(url.path) does not match \(File.self): \(error). Fix the vector or the schema type.")
        }
    }
}

/// A vector file that exists but cannot be used as it is.
public struct VectorFileError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension Array where Element == UInt8 {
    /// Bytes from a hex string such as "40019334" (either case, no separators); nil for odd
    /// lengths or non-hex characters.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        self.init()
        reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            append(high << 4 | low)
            index += 2
        }
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Collection where Element == UInt8 {
    /// Lowercase hex with no separators, the form the vector files use.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Bytes of a hex field of a vector; throws naming the vector when the hex is broken.
public func bytes(fromHex hex: String, in vectorID: String) throws -> [UInt8] {
    guard let bytes = [UInt8](hex: hex) else {
        throw VectorFileError("vector \(vectorID): \"\(hex.prefix(40))\" is not a hex string")
    }
    return bytes
}
