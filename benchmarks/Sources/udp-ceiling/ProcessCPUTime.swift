import Foundation

/// This process's CPU time so far, user and system, in microseconds: what a measured window cost
/// the generator whatever else the machine was doing.
struct ProcessCPUTime {
    var userMicroseconds: Double
    var systemMicroseconds: Double

    static func now() -> ProcessCPUTime {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func microseconds(_ time: timeval) -> Double { Double(time.tv_sec) * 1e6 + Double(time.tv_usec) }
        return ProcessCPUTime(userMicroseconds: microseconds(usage.ru_utime), systemMicroseconds: microseconds(usage.ru_stime))
    }

    /// The CPU time spent between `earlier` and this reading, per operation.
    func perOperation(since earlier: ProcessCPUTime, operations: Int) -> ProcessCPUTime {
        let count = Double(max(operations, 1))
        return ProcessCPUTime(
            userMicroseconds: (userMicroseconds - earlier.userMicroseconds) / count,
            systemMicroseconds: (systemMicroseconds - earlier.systemMicroseconds) / count)
    }

    var totalMicroseconds: Double { userMicroseconds + systemMicroseconds }
}
