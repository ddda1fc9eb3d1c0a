import CLibUV

// getaddrinfo blocks, so libuv runs it on its thread pool and calls back on the loop thread.
extension EventLoop {
    /// Resolves `host` to its addresses (IPv4 and IPv6, in the resolver's order), each with
    /// `port`. `completion` runs on the loop thread; immediately if the lookup cannot even
    /// start, and never if the loop is deinitialized first.
    public func resolve(
        host: String,
        port: UInt16,
        completion: @escaping (Result<[SocketAddress], EventLoopError>) -> Void
    ) {
        let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        let pending = Unmanaged.passRetained(PendingResolution(host: host, port: port, completion: completion))
        request.pointee.data = pending.toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        let status = uv_getaddrinfo(loop, request, { request, status, results in
            guard let request else {
                return
            }
            let pending = Unmanaged<PendingResolution>.fromOpaque(request.pointee.data).takeRetainedValue()
            let loop = EventLoop.owning(request.pointee.loop)
            request.deallocate()
            defer { uv_freeaddrinfo(results) }
            guard !loop.isTearingDown else {
                return
            }
            guard status == 0 else {
                pending.completion(.failure(EventLoopError("resolve \"\(pending.host)\"", code: status)))
                return
            }
            var addresses: [SocketAddress] = []
            var next = results
            while let result = next {
                if let sockaddr = result.pointee.ai_addr, var address = SocketAddress(sockaddr) {
                    address.port = pending.port
                    // The resolver lists an address once per matching /etc/hosts line or protocol.
                    if !addresses.contains(address) {
                        addresses.append(address)
                    }
                }
                next = result.pointee.ai_next
            }
            pending.completion(.success(addresses))
        }, host, nil, &hints)
        if status != 0 {
            pending.release()
            request.deallocate()
            completion(.failure(EventLoopError("resolve \"\(host)\"", code: status)))
        }
    }
}

// Carries the completion through libuv's void* across the thread-pool round trip.
private final class PendingResolution {
    let host: String
    let port: UInt16
    let completion: (Result<[SocketAddress], EventLoopError>) -> Void

    init(host: String, port: UInt16, completion: @escaping (Result<[SocketAddress], EventLoopError>) -> Void) {
        self.host = host
        self.port = port
        self.completion = completion
    }
}
