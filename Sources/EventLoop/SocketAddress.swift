import CLibUV

/// An IPv4 or IPv6 address and port, stored inline in 24 bytes so device tables need no allocations.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    // The address exactly as the kernel stores it: the 16 bytes of an in6_addr in `high`/`low`,
    // or an in_addr's s_addr in `high`. Round-tripping the raw values keeps this endian-neutral.
    private var high: UInt64
    private var low: UInt64
    // Kept from received and resolved addresses so replies to link-local peers leave on the right interface.
    private var scopeID: UInt32
    /// Port in host byte order.
    public var port: UInt16
    /// Whether this is an IPv6 address.
    public let isIPv6: Bool

    /// Parses a numeric address such as "127.0.0.1" or "::1"; host names go through `EventLoop.resolve`.
    public init(ipAddress: String, port: UInt16) throws {
        var v4 = in_addr()
        if inet_pton(AF_INET, ipAddress, &v4) == 1 {
            self.init(v4, port: port)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, ipAddress, &v6) == 1 {
            self.init(v6, scopeID: 0, port: port)
            return
        }
        throw EventLoopError(
            "parse IP address \"\(ipAddress)\"",
            code: UV_EINVAL.rawValue,
            message: "not a numeric IPv4 or IPv6 address (expected e.g. 127.0.0.1 or ::1; resolve host names first)"
        )
    }

    /// Reads a kernel address; nil for families other than IPv4 and IPv6.
    init?(_ address: UnsafePointer<sockaddr>) {
        let raw = UnsafeRawPointer(address)
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let v4 = raw.loadUnaligned(as: sockaddr_in.self)
            self.init(v4.sin_addr, port: UInt16(bigEndian: v4.sin_port))
        case AF_INET6:
            let v6 = raw.loadUnaligned(as: sockaddr_in6.self)
            self.init(v6.sin6_addr, scopeID: v6.sin6_scope_id, port: UInt16(bigEndian: v6.sin6_port))
        default:
            return nil
        }
    }

    private init(_ address: in_addr, port: UInt16) {
        high = UInt64(address.s_addr)
        low = 0
        scopeID = 0
        self.port = port
        isIPv6 = false
    }

    private init(_ address: in6_addr, scopeID: UInt32, port: UInt16) {
        (high, low) = withUnsafeBytes(of: address) {
            ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
        self.scopeID = scopeID
        self.port = port
        isIPv6 = true
    }

    private var v4Address: in_addr { in_addr(s_addr: UInt32(truncatingIfNeeded: high)) }

    private var v6Address: in6_addr {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) {
            $0.storeBytes(of: high, toByteOffset: 0, as: UInt64.self)
            $0.storeBytes(of: low, toByteOffset: 8, as: UInt64.self)
        }
        return address
    }

    /// Lends libuv a sockaddr built on the stack, so sends and binds allocate nothing.
    func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>) -> Result) -> Result {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = v6Address
            address.sin6_scope_id = scopeID
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body)
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = v4Address
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body)
        }
    }

    public var description: String {
        if isIPv6 {
            let text = withUnsafeBytes(of: v6Address) { Self.text(of: $0, family: AF_INET6) }
            let scope = scopeID == 0 ? "" : "%\(scopeID)"
            return "[\(text)\(scope)]:\(port)"
        }
        let text = withUnsafeBytes(of: v4Address) { Self.text(of: $0, family: AF_INET) }
        return "\(text):\(port)"
    }

    private static func text(of address: UnsafeRawBufferPointer, family: Int32) -> String {
        // INET6_ADDRSTRLEN (46) covers the longest form, an IPv4-mapped IPv6 address.
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 46) { text in
            inet_ntop(family, address.baseAddress, text.baseAddress, socklen_t(text.count))
            return String(cString: text.baseAddress!)
        }
    }
}
