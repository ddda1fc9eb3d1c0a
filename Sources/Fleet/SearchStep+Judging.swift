import Foundation

extension SearchStep {
    /// The criterion a step fails when devices did not get where their profile aims.
    public static let everyDeviceFinished = "every device finished"

    /// Judges one step from its run's result: it passes when the run completed, every threshold
    /// of the file passed and every device finished, with the generator within the plan's limits;
    /// a step whose generator was not is generator-limited, whatever the server did.
    public init(
        number: Int, phase: CapacitySearch.Phase, load: Double, step: FleetSpec, plan: SearchPlan, result: ResultFile, replay: String
    ) {
        let metrics = result.metrics
        self.init(number: number, phase: phase, load: load, devices: step.deviceCount, verdict: .passed, replay: replay)
        thresholds = result.thresholds
        elapsedSeconds = result.elapsedSeconds
        let series = metrics.timeSeries
        peakRegistered = series.map(\.registeredDevices).max() ?? 0
        registerSucceeded = metrics.value(for: "register.succeeded") ?? 0
        let arrivalSeconds = step.stages.first?.durationSeconds ?? 1
        accepted = plan.load == .arrivalRate ? registerSucceeded / arrivalSeconds : Double(peakRegistered)
        registerLatencyP99Nanoseconds = metrics.value(for: "register.latency.p99")
        failedOperations = MetricCatalog.operations.reduce(0) { $0 + (metrics.value(for: "\($1).failed") ?? 0) }
        unfinishedDevices = metrics.unfinishedDeviceCount
        loopLagP99Nanoseconds = metrics.value(for: "loop_lag.p99")
        arrivalRateError = metrics.arrivalRateError

        var generatorReasons: [String] = []
        if let lag = loopLagP99Nanoseconds, lag > plan.loopLagLimitNanoseconds {
            generatorReasons.append("generator loop lag p99 \(Self.milliseconds(lag)) over its limit of \(Self.milliseconds(plan.loopLagLimitNanoseconds))")
        }
        if arrivalRateError > plan.arrivalRateErrorLimit {
            generatorReasons.append("generator arrival rate off by \(Self.percent(arrivalRateError)), over its limit of \(Self.percent(plan.arrivalRateErrorLimit))")
        }
        generatorHealthy = generatorReasons.isEmpty

        // The criteria that failed, each with the second it went bad in when the series tells.
        var failed: [(criterion: String, reason: String, interval: Int?)] = []
        for outcome in result.thresholds where !outcome.passed {
            let interval = (try? Threshold(outcome.expression)).flatMap { Self.firstBadInterval(of: $0, in: series) }
            failed.append((outcome.expression, "\(outcome.expression): \(Self.observed(outcome))", interval))
        }
        if unfinishedDevices > 0 {
            let states = metrics.unfinishedDevices.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            failed.append((Self.everyDeviceFinished, "\(unfinishedDevices) devices unfinished (\(states))",
                           series.firstIndex { $0.failures > 0 }))
        }
        reasons = failed.map(\.reason) + generatorReasons

        if metrics.endReason == .interrupted {
            verdict = .interrupted
        } else if !generatorHealthy {
            verdict = .generatorLimited
        } else if !failed.isEmpty {
            verdict = .failed
        } else if metrics.endReason != .completed {
            verdict = .failed
            reasons.append("the run ended early (\(metrics.endReason?.rawValue ?? "no end reason"))")
        }
        guard !failed.isEmpty else { return }
        let placed = failed.compactMap { entry in entry.interval.map { (entry.criterion, $0) } }
        if let (criterion, interval) = placed.min(by: { $0.1 < $1.1 }) {
            brokeFirst = criterion
            brokeAtSeconds = Double(series[interval].elapsedNanoseconds) / 1e9
            registeredAtBreak = series[interval].registeredDevices
        } else {
            if failed.count == 1 { brokeFirst = failed[0].criterion }
            registeredAtBreak = Self.registered(atSeconds: step.stagesDurationSeconds, in: series)
        }
    }

    /// The first interval of `series` in which the threshold's metric went bad, for the metrics
    /// the series holds per second: an operation's latency (the interval's own percentiles), its
    /// failures and timeouts (the first interval with any of that operation's), failures of any
    /// operation, violations and dropped arrivals (the first interval with any); nil for others.
    public static func firstBadInterval(of threshold: Threshold, in series: [FleetMetrics.TimeSeriesPoint]) -> Int? {
        let metric = threshold.metric
        if let (operation, field) = FleetMetrics.operationAndField(of: metric) {
            if field.hasPrefix("latency.") {
                let statistic = field.dropFirst("latency.".count)
                return series.firstIndex { point in
                    guard let window = point.window(of: operation),
                          let value = LatencyHistogram(window.latency).value(forStatistic: statistic)
                    else { return false }
                    return !threshold.comparator.holds(value, against: threshold.limit)
                }
            }
            if field == "failed" || field == "failed.rate" {
                return series.firstIndex { ($0.window(of: operation)?.failed ?? 0) > 0 }
            }
            if field == "timeouts" {
                return series.firstIndex { ($0.window(of: operation)?.timeouts ?? 0) > 0 }
            }
            return nil
        }
        switch metric {
        case "devices.failed": return series.firstIndex { $0.failures > 0 }
        case "violations": return series.firstIndex { $0.violations > 0 }
        case "dropped": return series.firstIndex { $0.droppedArrivals > 0 }
        default: return nil
        }
    }

    /// Devices registered at the last point of the series at or before `seconds` (the end of the
    /// step's stages, before the end of the run De-registers them).
    static func registered(atSeconds seconds: Double, in series: [FleetMetrics.TimeSeriesPoint]) -> Int {
        let limit = UInt64(seconds * 1e9)
        return (series.last { $0.elapsedNanoseconds <= limit } ?? series.first)?.registeredDevices ?? 0
    }

    static func observed(_ outcome: ThresholdResult) -> String {
        if outcome.observed.isNaN { return "no samples" }
        let field = FleetMetrics.operationAndField(of: outcome.metric)?.field ?? outcome.metric
        if MetricCatalog.isDuration(field) { return milliseconds(outcome.observed) }
        if MetricCatalog.isFraction(field) { return percent(outcome.observed) }
        return SearchPlan.number(outcome.observed)
    }

    static func milliseconds(_ nanoseconds: Double) -> String { "\(SearchPlan.number(nanoseconds / 1e6))ms" }

    static func percent(_ fraction: Double) -> String { "\(SearchPlan.number(fraction * 100))%" }
}
