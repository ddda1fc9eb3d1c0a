extension FleetMetrics {
    /// One closed interval (about a second) of the time series: arrivals, devices by state when
    /// it closed, and per operation what ended in it, with the loop's lag and the arrivals'
    /// lateness in it.
    ///
    /// Latencies are kept packed at two significant digits (`OperationWindow.Packed`): an hour
    /// of seconds of every operation stays a few MB, and merging the points of workers stays exact.
    public struct TimeSeriesPoint: Sendable, Equatable {
        /// From the start of the run to the end of the interval, by the worker's clock (the latest
        /// of them after a merge).
        public internal(set) var elapsedNanoseconds: UInt64
        /// Devices started on schedule, and those the generator could not start when due.
        public internal(set) var arrivals: UInt64
        public internal(set) var droppedArrivals: UInt64
        /// Proven violations caught in the interval.
        public internal(set) var violations: UInt64
        /// Registered devices when the interval closed (`registered` and `updating`).
        public internal(set) var registeredDevices: Int
        /// How late the event loop ran its timers in the interval, in nanoseconds.
        public internal(set) var loopLag: LatencyHistogram.Sparse
        /// How late the interval's scheduled arrivals started, in nanoseconds.
        public internal(set) var arrivalLateness: LatencyHistogram.Sparse
        private var deviceCountsByState: NamedCounts<Int>
        /// Sorted by name, each name once: a dictionary of a few windows takes about twice the memory.
        private var operationWindows: [NamedWindow]

        private struct NamedWindow: Sendable, Equatable {
            var name: String
            var window: OperationWindow.Packed
        }

        init(
            elapsedNanoseconds: UInt64, interval: OpenInterval, registeredDevices: Int, devicesByState: [String: Int]
        ) {
            self.elapsedNanoseconds = elapsedNanoseconds
            arrivals = interval.arrivals
            droppedArrivals = interval.droppedArrivals
            violations = interval.violations
            self.registeredDevices = registeredDevices
            loopLag = interval.loopLag.sparse
            arrivalLateness = interval.arrivalLateness.sparse
            deviceCountsByState = NamedCounts(devicesByState)
            operationWindows = interval.operations.map { NamedWindow(name: $0.key, window: $0.value.packed) }.sorted { $0.name < $1.name }
        }

        /// Devices in each state when the interval closed; states with none are left out.
        public var devicesByState: [String: Int] { deviceCountsByState.dictionary }

        /// What each operation did in the interval; operations with nothing are left out.
        public var operations: [String: OperationWindow.Packed] {
            Dictionary(uniqueKeysWithValues: operationWindows.lazy.map { ($0.name, $0.window) })
        }

        /// What `operation` did in the interval, without building the dictionary; nil for nothing.
        public func window(of operation: String) -> OperationWindow.Packed? {
            operationWindows.first { $0.name == operation }?.window
        }

        /// Operations of `operation` that ended, or its requests answered, in the interval.
        public func completed(_ operation: String) -> UInt64 { window(of: operation)?.count ?? 0 }

        /// Operations that ended and requests answered, every operation together.
        public var completed: UInt64 { operationWindows.reduce(0) { $0 + $1.window.count } }

        /// Of `completed`, the ones that failed.
        public var failures: UInt64 { operationWindows.reduce(0) { $0 + $1.window.failed } }

        /// Adds the same interval of another worker: counts and histograms exactly, devices by state.
        mutating func merge(_ other: TimeSeriesPoint) {
            elapsedNanoseconds = max(elapsedNanoseconds, other.elapsedNanoseconds)
            arrivals += other.arrivals
            droppedArrivals += other.droppedArrivals
            violations += other.violations
            registeredDevices += other.registeredDevices
            loopLag = Self.merged(loopLag, other.loopLag)
            arrivalLateness = Self.merged(arrivalLateness, other.arrivalLateness)
            deviceCountsByState = NamedCounts(FleetMetrics.adding(devicesByState, other.devicesByState))
            var windows = Dictionary(uniqueKeysWithValues: operationWindows.lazy.map { ($0.name, OperationWindow($0.window)) })
            for theirs in other.operationWindows { windows[theirs.name, default: OperationWindow()].merge(OperationWindow(theirs.window)) }
            operationWindows = windows.map { NamedWindow(name: $0.key, window: $0.value.packed) }.sorted { $0.name < $1.name }
        }

        /// Adds the devices of a worker whose series ended before this point: they stay in the
        /// states its last point saw, and add nothing to the interval's counts.
        mutating func addDevices(of ended: TimeSeriesPoint) {
            registeredDevices += ended.registeredDevices
            deviceCountsByState.add(ended.deviceCountsByState)
        }

        private static func merged(_ mine: LatencyHistogram.Sparse, _ theirs: LatencyHistogram.Sparse) -> LatencyHistogram.Sparse {
            var histogram = LatencyHistogram(mine)
            histogram.merge(LatencyHistogram(theirs))
            return histogram.sparse
        }
    }

    /// What the interval being counted has seen so far; `closeInterval` turns it into a point.
    struct OpenInterval: Sendable, Equatable {
        var arrivals: UInt64 = 0
        var droppedArrivals: UInt64 = 0
        var violations: UInt64 = 0
        var operations: [String: OperationWindow] = [:]
        var loopLag = LatencyHistogram(significantDigits: FleetMetrics.intervalSignificantDigits)
        var arrivalLateness = LatencyHistogram(significantDigits: FleetMetrics.intervalSignificantDigits)

        mutating func merge(_ other: OpenInterval) {
            arrivals += other.arrivals
            droppedArrivals += other.droppedArrivals
            violations += other.violations
            operations.merge(other.operations) { mine, theirs in
                var merged = mine
                merged.merge(theirs)
                return merged
            }
            loopLag.merge(other.loopLag)
            arrivalLateness.merge(other.arrivalLateness)
        }
    }
}

extension FleetMetrics.TimeSeriesPoint: Codable {
    private enum CodingKeys: String, CodingKey {
        case elapsedNanoseconds, arrivals, droppedArrivals, violations, registeredDevices, devicesByState, operations
        case loopLag, arrivalLateness
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        elapsedNanoseconds = try container.decode(UInt64.self, forKey: .elapsedNanoseconds)
        arrivals = try container.decode(UInt64.self, forKey: .arrivals)
        droppedArrivals = try container.decode(UInt64.self, forKey: .droppedArrivals)
        violations = try container.decode(UInt64.self, forKey: .violations)
        registeredDevices = try container.decode(Int.self, forKey: .registeredDevices)
        deviceCountsByState = try container.decode(NamedCounts<Int>.self, forKey: .devicesByState)
        operationWindows = try container.decode([String: OperationWindow.Packed].self, forKey: .operations)
            .map { NamedWindow(name: $0.key, window: $0.value) }.sorted { $0.name < $1.name }
        loopLag = try container.decode(LatencyHistogram.Sparse.self, forKey: .loopLag)
        arrivalLateness = try container.decode(LatencyHistogram.Sparse.self, forKey: .arrivalLateness)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(elapsedNanoseconds, forKey: .elapsedNanoseconds)
        try container.encode(arrivals, forKey: .arrivals)
        try container.encode(droppedArrivals, forKey: .droppedArrivals)
        try container.encode(violations, forKey: .violations)
        try container.encode(registeredDevices, forKey: .registeredDevices)
        try container.encode(deviceCountsByState, forKey: .devicesByState)
        try container.encode(operations, forKey: .operations)
        try container.encode(loopLag, forKey: .loopLag)
        try container.encode(arrivalLateness, forKey: .arrivalLateness)
    }
}
