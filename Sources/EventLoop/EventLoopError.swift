import CLibUV

/// A failed loop operation, saying what the loop was doing and why libuv refused.
///
/// The description alone tells a user what went wrong, e.g.
/// `bind UDP socket to 127.0.0.1:80: permission denied (EACCES)`.
public struct EventLoopError: Error, Hashable, CustomStringConvertible {
    /// What the loop was doing, naming the address or host involved.
    public let operation: String
    /// The negative libuv error code (`UV_EADDRINUSE`, `UV_EAI_NONAME`, ...), for callers that branch on it.
    public let code: Int32
    /// Human-readable cause.
    public let message: String

    public var description: String { "\(operation): \(message)" }

    init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
        self.message = "\(String(cString: uv_strerror(code))) (\(String(cString: uv_err_name(code))))"
    }

    init(_ operation: String, code: Int32, message: String) {
        self.operation = operation
        self.code = code
        self.message = message
    }
}
