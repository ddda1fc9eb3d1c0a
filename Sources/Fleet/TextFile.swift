import Foundation

/// Reads a file the user named (fleet file, key file, configuration) as text, with a reason a
/// person can act on when it cannot be: Foundation's own messages name an error domain and a
/// number rather than the problem.
enum TextFile {
    /// Why a file cannot be read, in the words an error message uses after the file's name.
    struct Unreadable: Error {
        var reason: String
    }

    /// The UTF-8 text of the file at `path`.
    static func read(_ path: String) throws(Unreadable) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Unreadable(reason: "no such file")
        }
        if isDirectory.boolValue { throw Unreadable(reason: "is a directory, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Unreadable(reason: FileManager.default.isReadableFile(atPath: path) ? "cannot be read" : "cannot be read: permission denied")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Unreadable(reason: "is not UTF-8 text")
        }
        return text
    }
}
