import CLibUV

// A socket is a heap-allocated uv_udp_t plus a slot in `sockets`: no Swift object or closure
// per socket. The handle's `data` holds its slot index.
extension EventLoop {
    /// Opens a UDP socket bound to `local` (port 0 picks an ephemeral port) and starts
    /// receiving. With `remote`, the socket is connected: the kernel drops datagrams from
    /// anyone else, and `send` takes no address. `tag` comes back with every datagram.
    public func openUDPSocket(
        bindTo local: SocketAddress,
        connectTo remote: SocketAddress? = nil,
        tag: UInt64
    ) throws -> UDPSocketID {
        let handle = UnsafeMutablePointer<uv_udp_t>.allocate(capacity: 1)
        // With AF_UNSPEC uv_udp_init creates no socket yet (bind does) and cannot fail.
        uv_udp_init(loop, handle)
        let socket = sockets.insert(handle, tag: tag)
        handle.pointee.data = UnsafeMutableRawPointer(bitPattern: Int(socket.slot))
        do {
            try check(local.withSockAddr { uv_udp_bind(handle, $0, 0) }, "bind UDP socket to \(local)")
            if let remote {
                try check(remote.withSockAddr { uv_udp_connect(handle, $0) }, "connect UDP socket to \(remote)")
            }
            try check(uv_udp_recv_start(handle, allocateReceiveBuffer, udpReceived), "receive on UDP socket \(local)")
        } catch {
            close(socket)
            throw error
        }
        return socket
    }

    /// The address the socket is bound to (with the port the kernel picked); nil for a closed socket.
    public func localAddress(of socket: UDPSocketID) -> SocketAddress? {
        guard let handle = sockets.handle(for: socket) else {
            return nil
        }
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                uv_udp_getsockname(handle, address, &length) == 0 ? SocketAddress(address) : nil
            }
        }
    }

    /// Sends one datagram. `destination` must be nil on a connected socket and set on an
    /// unconnected one. Never blocks and allocates only when the kernel's send buffer is full;
    /// failures are counted in `sendErrorCount`.
    public func send(_ bytes: UnsafeRawBufferPointer, on socket: UDPSocketID, to destination: SocketAddress? = nil) {
        guard let handle = sockets.handle(for: socket) else {
            sendErrorCount += 1
            return
        }
        if let destination {
            destination.withSockAddr { send(bytes, on: handle, to: $0) }
        } else {
            send(bytes, on: handle, to: nil)
        }
    }

    /// Sends one datagram from an array; see `send(_:on:to:)` with a buffer.
    public func send(_ bytes: [UInt8], on socket: UDPSocketID, to destination: SocketAddress? = nil) {
        bytes.withUnsafeBytes { send($0, on: socket, to: destination) }
    }

    /// Starts closing the socket: no more datagrams arrive, and its ID is stale at once. The
    /// handle's memory and slot are released by libuv's close callback, on a later iteration.
    public func close(_ socket: UDPSocketID) {
        guard let handle = sockets.beginClosing(socket) else {
            return
        }
        uv_close(asHandle(handle), udpSocketClosed)
    }

    /// Asks the kernel for larger socket buffers, so a burst of datagrams to one busy socket
    /// (a responder, an embedded server) queues instead of being dropped. The kernel caps the
    /// sizes at `net.core.rmem_max` / `wmem_max`.
    public func setBufferSizes(of socket: UDPSocketID, receiveBytes: Int32, sendBytes: Int32) throws {
        guard let handle = sockets.handle(for: socket) else {
            throw EventLoopError("set buffer sizes", code: UV_EBADF.rawValue)
        }
        var receive = receiveBytes
        var send = sendBytes
        try check(uv_recv_buffer_size(asHandle(handle), &receive), "set the receive buffer size")
        try check(uv_send_buffer_size(asHandle(handle), &send), "set the send buffer size")
    }

    /// Makes room for `sockets` open at once (the timer queue too, for as many timers), so that a
    /// fleet's start does not regrow the tables and its steady state carries no unused half. No
    /// more than the open-file limit is reserved: a fleet of sessions has far fewer devices
    /// online than it has devices.
    public func reserveCapacity(sockets count: Int) {
        let capacity = min(count, Int(clamping: OpenFileLimit.current))
        sockets.reserveCapacity(capacity)
        timerQueue.reserveCapacity(capacity)
    }

    /// Sockets whose handle is still held: open ones and closed ones whose close callback has
    /// not run yet.
    public var openSocketCount: Int { sockets.count }

    private func check(_ status: Int32, _ operation: @autoclosure () -> String) throws {
        if status < 0 {
            throw EventLoopError(operation(), code: status)
        }
    }

    private func send(
        _ bytes: UnsafeRawBufferPointer,
        on handle: UnsafeMutablePointer<uv_udp_t>,
        to destination: UnsafePointer<sockaddr>?
    ) {
        // libuv only reads through `base`; the mutable pointer is its C signature.
        let base = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: CChar.self))
        var buffer = uv_buf_init(base, UInt32(bytes.count))
        let status = uv_udp_try_send(handle, &buffer, 1, destination)
        if status >= 0 {
            return
        }
        guard status == UV_EAGAIN.rawValue else {
            sendErrorCount += 1
            return
        }
        queuedSendCount += 1
        // One allocation holds the request followed by its own copy of the bytes; the send
        // callback frees both.
        let requestSize = MemoryLayout<uv_udp_send_t>.stride
        let memory = UnsafeMutableRawPointer.allocate(
            byteCount: requestSize + bytes.count,
            alignment: MemoryLayout<uv_udp_send_t>.alignment
        )
        let copy = memory + requestSize
        if let base = bytes.baseAddress {
            copy.copyMemory(from: base, byteCount: bytes.count)
        }
        let request = memory.bindMemory(to: uv_udp_send_t.self, capacity: 1)
        buffer = uv_buf_init(copy.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let queued = uv_udp_send(request, handle, &buffer, 1, destination) { request, status in
            guard let request else {
                return
            }
            if status < 0 {
                EventLoop.owning(request.pointee.handle.pointee.loop).sendErrorCount += 1
            }
            UnsafeMutableRawPointer(request).deallocate()
        }
        if queued < 0 {
            memory.deallocate()
            sendErrorCount += 1
        }
    }

    fileprivate func deliverDatagram(slot: Int, count: Int, from peerAddress: UnsafePointer<sockaddr>) {
        guard let peer = SocketAddress(peerAddress) else {
            receiveErrorCount += 1
            return
        }
        let (socket, tag) = sockets.socket(inSlot: slot)
        datagramReceived?(socket, tag, UnsafeRawBufferPointer(rebasing: receiveBuffer[..<count]), peer, uv_hrtime())
    }
}

private func allocateReceiveBuffer(
    _ handle: UnsafeMutablePointer<uv_handle_t>?,
    _ suggestedSize: Int,
    _ buffer: UnsafeMutablePointer<uv_buf_t>?
) {
    guard let handle, let buffer else {
        return
    }
    let receiveBuffer = EventLoop.owning(handle.pointee.loop).receiveBuffer
    let base = receiveBuffer.baseAddress?.assumingMemoryBound(to: CChar.self)
    buffer.pointee = uv_buf_init(base, UInt32(receiveBuffer.count))
}

private func udpReceived(
    _ handle: UnsafeMutablePointer<uv_udp_t>?,
    _ count: Int,
    _ buffer: UnsafePointer<uv_buf_t>?,
    _ peer: UnsafePointer<sockaddr>?,
    _ flags: UInt32
) {
    guard let handle else {
        return
    }
    let loop = EventLoop.owning(handle.pointee.loop)
    guard count >= 0 else {
        loop.receiveErrorCount += 1
        return
    }
    // libuv's "nothing more to read" (count 0, no address); an empty datagram has an address.
    guard let peer else {
        return
    }
    // Cannot happen with a 64 KiB buffer, which holds any UDP payload; a cut datagram is useless.
    guard flags & UV_UDP_PARTIAL.rawValue == 0 else {
        loop.receiveErrorCount += 1
        return
    }
    loop.deliverDatagram(slot: Int(bitPattern: handle.pointee.data), count: count, from: peer)
}

/// Close callback of every UDP handle: only now may its memory and slot be reused.
func udpSocketClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle else {
        return
    }
    EventLoop.owning(handle.pointee.loop).sockets.release(slot: Int(bitPattern: handle.pointee.data))
    UnsafeMutableRawPointer(handle).deallocate()
}
