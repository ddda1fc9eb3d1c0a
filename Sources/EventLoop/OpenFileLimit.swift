#if canImport(Glibc)
import Glibc
#endif

/// The process's limit on open files, which caps how many sockets one process can hold.
public enum OpenFileLimit {
    /// Raises the soft limit to the hard limit (no privilege needed) and returns both, so a
    /// fleet of 19,000 sockets does not stop at the usual soft limit of 1,024.
    @discardableResult
    public static func raiseToHardLimit() -> (soft: UInt64, hard: UInt64) {
        guard var limit = read() else { return (0, 0) }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }

    /// The soft limit now: the most files (sockets) this process may hold open at once.
    public static var current: UInt64 {
        read().map { UInt64($0.rlim_cur) } ?? 0
    }

    private static func read() -> rlimit? {
        var limit = rlimit()
        return getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? limit : nil
    }
}
