import CLibUV

/// What a scrape endpoint answers to one request.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

// A scrape endpoint (Prometheus, curl) on the loop's own thread: a TCP listener that reads one
// HTTP/1.1 request per connection, answers it and closes. Nothing of it runs per datagram or per
// device; a scrape costs the loop one callback per connection and one per read. The listener and
// its connections do not keep the loop running.
extension EventLoop {
    /// Requests larger than this are refused (431): a scrape is a request line and a few headers.
    static let largestHTTPRequest = 8_192

    /// Listens on `address` (port 0 picks a free one) and answers each request with `respond`'s
    /// response to its method and path; returns the address bound. One listener per loop.
    public func serveHTTP(on address: SocketAddress, respond: @escaping (_ method: String, _ path: String) -> HTTPResponse) throws -> SocketAddress {
        precondition(httpListener == nil, "one HTTP listener per loop")
        let listener = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop, listener)
        httpListener = listener
        httpResponder = respond
        do {
            try checkHTTP(address.withSockAddr { uv_tcp_bind(listener, $0, 0) }, "bind the metrics listener to \(address)")
            try checkHTTP(uv_listen(UnsafeMutableRawPointer(listener).assumingMemoryBound(to: uv_stream_t.self), 64, httpConnectionArrived),
                          "listen on \(address)")
        } catch {
            uv_close(asHandle(listener), deallocateClosedHandle)
            httpListener = nil
            httpResponder = nil
            throw error
        }
        uv_unref(asHandle(listener))
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let bound = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(listener, $0, &length) == 0 ? SocketAddress($0) : nil }
        }
        return bound ?? address
    }

    private func checkHTTP(_ status: Int32, _ operation: @autoclosure () -> String) throws {
        guard status == 0 else { throw EventLoopError(operation(), code: status) }
    }

    /// Bytes of a request read so far, until its header ends; then answers and closes.
    fileprivate func received(_ bytes: UnsafeRawBufferPointer, on connection: UnsafeMutablePointer<uv_tcp_t>) {
        let key = UnsafeMutableRawPointer(connection)
        var request = httpRequests[key, default: []]
        request.append(contentsOf: bytes)
        guard let end = Self.headerEnd(in: request) else {
            if request.count > Self.largestHTTPRequest {
                httpRequests[key] = nil
                answer(connection, HTTPResponse(status: 431, contentType: "text/plain", body: Array("request too large\n".utf8)))
            } else {
                httpRequests[key] = request
            }
            return
        }
        httpRequests[key] = nil
        let line = String(decoding: request[..<end].prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self).split(separator: " ")
        guard line.count == 3, line[2].hasPrefix("HTTP/1."), let responder = httpResponder else {
            return answer(connection, HTTPResponse(status: 400, contentType: "text/plain", body: Array("bad request\n".utf8)))
        }
        answer(connection, responder(String(line[0]), String(line[1])))
    }

    /// Where the request's header ends (the blank line), if it has arrived.
    private static func headerEnd(in request: [UInt8]) -> Int? {
        guard request.count >= 4 else { return nil }
        for index in 0...(request.count - 4)
        where request[index] == 13 && request[index + 1] == 10 && request[index + 2] == 13 && request[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// Writes the response and closes the connection once it is written.
    private func answer(_ connection: UnsafeMutablePointer<uv_tcp_t>, _ response: HTTPResponse) {
        uv_read_stop(UnsafeMutableRawPointer(connection).assumingMemoryBound(to: uv_stream_t.self))
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large"][response.status] ?? "Error"
        let head = "HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: \(response.contentType)\r\n"
            + "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + response.body
        // The bytes live until libuv says they were written (or the write was cancelled).
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        request.pointee.data = UnsafeMutableRawPointer(buffer.baseAddress)
        var description = uv_buf_init(buffer.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(buffer.count))
        let status = uv_write(request, UnsafeMutableRawPointer(connection).assumingMemoryBound(to: uv_stream_t.self), &description, 1, httpResponseWritten)
        if status != 0 {
            buffer.deallocate()
            request.deallocate()
            closeHTTPConnection(connection)
        }
    }

    fileprivate func closeHTTPConnection(_ connection: UnsafeMutablePointer<uv_tcp_t>) {
        httpRequests[UnsafeMutableRawPointer(connection)] = nil
        guard uv_is_closing(asHandle(connection)) == 0 else { return }
        uv_close(asHandle(connection), deallocateClosedHandle)
    }
}

private func httpConnectionArrived(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard let server, status == 0 else { return }
    let loop = EventLoop.owning(server.pointee.loop)
    guard !loop.isTearingDown else { return }
    let connection = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    uv_tcp_init(server.pointee.loop, connection)
    let stream = UnsafeMutableRawPointer(connection).assumingMemoryBound(to: uv_stream_t.self)
    guard uv_accept(server, stream) == 0, uv_read_start(stream, allocateHTTPBuffer, httpBytesRead) == 0 else {
        uv_close(asHandle(connection), deallocateClosedHandle)
        return
    }
    uv_unref(asHandle(connection))
}

/// The loop's one receive buffer: the read callback copies out of it before anything else runs.
private func allocateHTTPBuffer(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buffer: UnsafeMutablePointer<uv_buf_t>?) {
    guard let handle, let buffer else { return }
    let receive = EventLoop.owning(handle.pointee.loop).receiveBuffer
    buffer.pointee = uv_buf_init(receive.baseAddress?.assumingMemoryBound(to: CChar.self), UInt32(receive.count))
}

private func httpBytesRead(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ count: Int, _ buffer: UnsafePointer<uv_buf_t>?) {
    guard let stream else { return }
    let loop = EventLoop.owning(stream.pointee.loop)
    let connection = UnsafeMutableRawPointer(stream).assumingMemoryBound(to: uv_tcp_t.self)
    guard count >= 0, !loop.isTearingDown else {
        // The peer closed (UV_EOF) or the read failed.
        return loop.closeHTTPConnection(connection)
    }
    guard count > 0, let base = buffer?.pointee.base else { return }
    loop.received(UnsafeRawBufferPointer(start: base, count: count), on: connection)
}

private func httpResponseWritten(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let request else { return }
    UnsafeMutableRawPointer(request.pointee.data)?.deallocate()
    if let stream = request.pointee.handle {
        let loop = EventLoop.owning(stream.pointee.loop)
        loop.closeHTTPConnection(UnsafeMutableRawPointer(stream).assumingMemoryBound(to: uv_tcp_t.self))
    }
    request.deallocate()
}
