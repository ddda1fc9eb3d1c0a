import Glibc

/// An HTTP exchange with a server on 127.0.0.1, over a blocking socket, for the tests of the
/// scrape endpoint; run it on a thread of its own when the server's loop runs on the test's.
public enum LoopbackHTTP {
    /// Sends `request` to `port` (in two pieces 20 ms apart when `inTwoPieces`, as a slow client
    /// might) and reads until the server closes the connection, at most 5 s between reads; nil
    /// when it cannot connect.
    public static func exchange(_ request: [UInt8], port: UInt16, inTwoPieces: Bool = false) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { Glibc.close(descriptor) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let half = inTwoPieces ? request.count / 2 : request.count
        _ = request[..<half].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        if half < request.count {
            usleep(20_000)
            _ = request[half...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            response += chunk[..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }
}
