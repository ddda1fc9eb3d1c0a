import LwM2MClient

/// The live progress of a run over all its workers, sans I/O: takes each worker's report of each
/// interval and, once every worker still running has reported an interval, combines them into one
/// `ProgressLine`. Counts since the start are added over the latest report of every worker (one
/// that ended keeps its last counts); interval register latencies are merged bucket by bucket from
/// the reports of that interval; loop lag is the worst worker's. A run in one process is its own
/// only worker.
public struct FleetProgress: Sendable {
    /// The fleet's arrival schedule: the targets, and where each stage starts and ends.
    private let schedule: ArrivalSchedule
    /// The part of the fleet's arrivals the workers together run: 1 for the whole fleet, 1/N for
    /// a shard I/N (every Nth device).
    private let share: Double
    /// Per worker: reports received but not yet on a line, oldest first.
    private var pending: [[ProgressReport]]
    /// Per worker: its latest report on a line; nil before its first.
    private var latest: [ProgressReport?]
    private var ended: [Bool]
    /// Where the last line left off, for the rates of the next interval.
    private var lastElapsedNanoseconds: UInt64 = 0
    private var lastArrivals: UInt64 = 0
    private var lastOperationsCompleted: UInt64 = 0
    private var notesShown: Set<String> = []

    public init(workers: Int, schedule: ArrivalSchedule, share: Double = 1) {
        precondition(workers > 0, "a run has at least one worker")
        self.schedule = schedule
        self.share = share
        pending = Array(repeating: [], count: workers)
        latest = Array(repeating: nil, count: workers)
        ended = Array(repeating: false, count: workers)
    }

    /// Takes `worker`'s next report; returns the lines it completes, oldest first.
    public mutating func receive(_ report: ProgressReport, from worker: Int) -> [ProgressLine] {
        pending[worker].append(report)
        return completedLines()
    }

    /// `worker` sends no more reports (it exited): lines no longer wait for it.
    public mutating func workerEnded(_ worker: Int) -> [ProgressLine] {
        ended[worker] = true
        return completedLines()
    }

    /// Whether `note` is new: every worker sends the same ones, and the user reads each once.
    public mutating func shouldShow(note: String) -> Bool {
        notesShown.insert(note).inserted
    }

    /// The lines of every interval each running worker has reported.
    private mutating func completedLines() -> [ProgressLine] {
        var lines: [ProgressLine] = []
        while pending.indices.allSatisfy({ ended[$0] || !pending[$0].isEmpty }),
              let interval = pending.compactMap({ $0.first?.interval }).min() {
            var reportsOfInterval: [ProgressReport] = []
            for worker in pending.indices where pending[worker].first?.interval == interval {
                let report = pending[worker].removeFirst()
                latest[worker] = report
                reportsOfInterval.append(report)
            }
            lines.append(line(of: reportsOfInterval))
        }
        return lines
    }

    /// The line of one interval, from the reports of that interval and every worker's latest.
    private mutating func line(of reportsOfInterval: [ProgressReport]) -> ProgressLine {
        let reports = latest.compactMap { $0 }
        // Workers start within milliseconds of each other: the latest end stands for them all.
        let elapsedNanoseconds = reportsOfInterval.reduce(0) { max($0, $1.elapsedNanoseconds) }
        let elapsed = Double(elapsedNanoseconds) / 1e9
        // Not before the last line's end, were one worker's clock to lag the others' by a second.
        let intervalStart = Double(min(lastElapsedNanoseconds, elapsedNanoseconds)) / 1e9
        let intervalSeconds = elapsed - intervalStart
        let arrivals = reports.reduce(0) { $0 + $1.arrivals }
        let operationsCompleted = reports.reduce(0) { $0 + $1.operationsCompleted }

        var line = ProgressLine()
        line.elapsedSeconds = elapsed
        if intervalSeconds > 0 {
            line.arrivalRate = Double(arrivals - lastArrivals) / intervalSeconds
            line.targetRate = arrivalsDue(from: intervalStart, to: elapsed) / intervalSeconds
            line.operationRate = Double(operationsCompleted - lastOperationsCompleted) / intervalSeconds
        }
        if !schedule.segments.isEmpty {
            // Ticks fall just after whole seconds, as stage boundaries do: the interval's middle
            // names the stage it is about, not the one that began a moment before its end.
            let stage = schedule.segmentIndex(at: (intervalStart + elapsed) / 2)
            line.stage = "stage \(stage + 1)/\(schedule.segments.count)"
            let stageStart = schedule.startSeconds(ofSegment: stage)
            let stageEnd = min(elapsed, stageStart + schedule.segments[stage].durationSeconds)
            if stageEnd > stageStart {
                let started = reports.reduce(0) { $0 + ($1.arrivalsByStage.indices.contains(stage) ? $1.arrivalsByStage[stage] : 0) }
                line.stageMeanRate = Double(started) / (stageEnd - stageStart)
                line.stageTargetMeanRate = arrivalsDue(from: stageStart, to: stageEnd) / (stageEnd - stageStart)
            }
        }
        line.registeredDevices = reports.reduce(0) { $0 + $1.registeredDevices }
        line.bootstrappingDevices = reports.reduce(0) { $0 + $1.bootstrappingDevices }
        line.waitingDevices = reports.reduce(0) { $0 + $1.waitingDevices }
        line.operationsFailed = reports.reduce(0) { $0 + $1.operationsFailed }
        line.violations = reports.reduce(0) { $0 + $1.violations }
        line.retransmissions = reports.reduce(0) { $0 + $1.retransmissions }
        var registerLatency = LatencyHistogram(significantDigits: FleetMetrics.intervalSignificantDigits)
        for report in reportsOfInterval {
            if let window = report.intervalOperations[LwM2MOperation.register.rawValue] { registerLatency.merge(LatencyHistogram(window.latency)) }
        }
        if !registerLatency.isEmpty {
            line.registerLatencyP50Nanoseconds = registerLatency.value(atPercentile: 50)
            line.registerLatencyP99Nanoseconds = registerLatency.value(atPercentile: 99)
        }
        line.loopLagP99Nanoseconds = reports.map(\.loopLagP99Nanoseconds).max() ?? 0

        lastElapsedNanoseconds = elapsedNanoseconds
        lastArrivals = arrivals
        lastOperationsCompleted = operationsCompleted
        return line
    }

    /// Arrivals the schedule asks of the workers' part of the fleet between two times.
    private func arrivalsDue(from start: Double, to end: Double) -> Double {
        Double(schedule.arrivalsDue(by: end) - schedule.arrivalsDue(by: start)) * share
    }
}
