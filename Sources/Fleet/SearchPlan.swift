import Foundation

/// A capacity search with every setting decided: the file's `search:` keys, and for the keys it
/// leaves out defaults drawn from its busiest stage, each named in `defaultsUsed` so the search
/// can say what it used.
public struct SearchPlan: Hashable, Sendable, Codable {
    public var load: SearchSpec.Load
    /// Devices per second (arrival-rate) or devices (devices-held), as every load of the plan.
    public var from: Double
    public var to: Double
    public var growth: Double
    public var precision: Double
    /// arrival-rate: how long devices arrive at the step's rate.
    public var stepSeconds: Double
    /// devices-held: the arrival rate that fills the registry.
    public var fillRate: Double
    public var holdSeconds: Double
    public var confirm: Bool
    public var plateauGrowth: Double
    /// The generator's health limits: a step above either is generator-limited.
    public var loopLagLimitNanoseconds: Double
    public var arrivalRateErrorLimit: Double
    /// The settings the file left out, with the value each got and why (`from: 250/s (half the
    /// busiest stage's 500/s)`).
    public var defaultsUsed: [String]

    /// What a step must meet when the fleet file has no thresholds: Registers answered within a
    /// second, none failing (a step also fails when devices do not finish).
    public static let defaultThresholds = ["register.latency.p99 < 1s", "register.failed.rate == 0"]

    /// The text of a load: `500/s` or `2000 devices`.
    public func text(ofLoad load: Double) -> String {
        switch self.load {
        case .arrivalRate: "\(Self.number(load))/s"
        case .devicesHeld: "\(Self.number(load)) devices"
        }
    }

    /// A load as `run --step` and the search's `from:`/`to:` take it: a rate such as `500/s` for
    /// arrival-rate, a whole number of devices for devices-held.
    public static func load(parsing text: String, as kind: SearchSpec.Load) -> Double? {
        switch kind {
        case .arrivalRate:
            guard let rate = FleetSpec.perSecond(inRate: text), rate > 0, rate.isFinite else { return nil }
            return rate
        case .devicesHeld:
            let digits = text.hasSuffix(" devices") ? String(text.dropLast(" devices".count)) : text
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int(digits), count > 0 else { return nil }
            return Double(count)
        }
    }

    /// The load a step runs at: whole devices, and whole devices per second above 10/s (a tenth
    /// below), so the steps and the answer read as the user would write them.
    public func rounded(_ load: Double) -> Double {
        switch self.load {
        case .devicesHeld: max(load.rounded(), 1)
        case .arrivalRate: load >= 10 ? load.rounded() : max((load * 10).rounded() / 10, 0.1)
        }
    }

    /// Devices one step at `load` runs: every device arrives once.
    public func devices(atLoad load: Double) -> Int {
        switch self.load {
        case .arrivalRate: max(Int((load * stepSeconds).rounded(.down)), 1)
        case .devicesHeld: max(Int(load.rounded()), 1)
        }
    }

    /// One line for the start of a search and the result file.
    public var summary: String {
        let steps = switch load {
        case .arrivalRate: "devices arrive for \(Self.seconds(stepSeconds)) a step"
        case .devicesHeld: "filled at \(Self.number(fillRate))/s"
        }
        let hold = holdSeconds > 0 ? ", then held \(Self.seconds(holdSeconds))" : ""
        return "\(load.rawValue) from \(text(ofLoad: from)) to \(text(ofLoad: to)), growth \(Self.number(growth))x, "
            + "precision \(Self.number(precision * 100))%, \(steps)\(hold)\(confirm ? ", best load confirmed" : "")"
    }

    /// A number without a trailing `.0`, with at most two decimals.
    public static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.2f", value).replacingOccurrences(of: #"\.?0+$"#, with: "", options: .regularExpression)
    }

    static func seconds(_ value: Double) -> String { "\(number(value))s" }
}

extension FleetSpec {
    /// The search this file asks for: its `search:` section, and defaults from its busiest stage
    /// for what the section leaves out (or for all of it, without one).
    public var searchPlan: SearchPlan {
        let written = search ?? SearchSpec()
        let load = written.load ?? .arrivalRate
        let peak = max(arrivalSchedule.peakRate, 1)
        var defaults: [String] = []
        if written.load == nil { defaults.append("load: arrival-rate") }
        var plan = SearchPlan(
            load: load, from: 0, to: 0, growth: written.growth ?? 2, precision: written.precision ?? 0.1,
            stepSeconds: written.stepSeconds ?? 20, fillRate: written.fillRate ?? peak, holdSeconds: written.holdSeconds ?? 10,
            confirm: written.confirm ?? true, plateauGrowth: written.plateauGrowth ?? 0.05,
            loopLagLimitNanoseconds: written.loopLagLimitNanoseconds ?? 5e6, arrivalRateErrorLimit: written.arrivalRateErrorLimit ?? 0.01,
            defaultsUsed: [])
        // The file's own load is a fair guess of what the server takes: start below it, end far above.
        let base = load == .arrivalRate ? peak : Double(max(deviceCount, 1))
        let baseText = load == .arrivalRate ? "the busiest stage's \(plan.text(ofLoad: peak))" : "the file's \(plan.text(ofLoad: base))"
        if let from = written.from {
            plan.from = from
        } else if let to = written.to {
            plan.from = plan.rounded(to / 32)
            defaults.append("from: \(plan.text(ofLoad: plan.from)) (to / 32)")
        } else {
            plan.from = plan.rounded(base / 2)
            defaults.append("from: \(plan.text(ofLoad: plan.from)) (half \(baseText))")
        }
        if let to = written.to {
            plan.to = to
        } else {
            plan.to = plan.rounded(plan.from * 32)
            defaults.append("to: \(plan.text(ofLoad: plan.to)) (32 x from)")
        }
        if written.growth == nil { defaults.append("growth: 2x") }
        if written.precision == nil { defaults.append("precision: 10%") }
        if load == .arrivalRate, written.stepSeconds == nil { defaults.append("step-duration: 20s") }
        if load == .devicesHeld, written.fillRate == nil { defaults.append("rate: \(SearchPlan.number(peak))/s (the busiest stage's)") }
        if written.holdSeconds == nil { defaults.append("hold: 10s") }
        if written.loopLagLimitNanoseconds == nil { defaults.append("generator.loop-lag: 5ms") }
        if written.arrivalRateErrorLimit == nil { defaults.append("generator.rate-error: 1%") }
        if thresholds.isEmpty { defaults.append("thresholds: \(SearchPlan.defaultThresholds.joined(separator: ", ")) (the file has none)") }
        plan.defaultsUsed = defaults
        return plan
    }

    /// The fleet as one step of its search runs it at `load`: the file's groups (scaled to the
    /// step's device count, each keeping its share), server, security, faults, end and thresholds
    /// (`SearchPlan.defaultThresholds` when it has none),
    /// with the stages replaced by the step's arrivals and hold. The step has no duration limit (the
    /// search bounds itself), and against external servers it ends by De-registering, so the next
    /// step starts from an empty registry.
    public func searchStep(atLoad load: Double, plan: SearchPlan) -> FleetSpec {
        var step = self
        step.devices = Self.scale(devices, to: plan.devices(atLoad: load))
        let rate = plan.load == .arrivalRate ? load : plan.fillRate
        // At least as long as it takes to start every device at the rate (the groups may need one each).
        let arrivalSeconds = max(plan.load == .arrivalRate ? plan.stepSeconds : 0, Double(step.deviceCount) / rate)
        step.stages = [Stage(durationSeconds: arrivalSeconds, arrivals: .constant(perSecond: rate))]
        if plan.holdSeconds > 0 { step.stages.append(Stage(durationSeconds: plan.holdSeconds, arrivals: .hold)) }
        step.durationLimitSeconds = nil
        if thresholds.isEmpty {
            // Constants that parse: a failure here is a mistake in this file, not the user's.
            step.thresholds = SearchPlan.defaultThresholds.map { try! Threshold($0) }
        }
        if case .external = server { step.end = .deregister }
        return step
    }

    /// Groups with their counts scaled to add up to `total` (more where each group needs its one
    /// device), in the shares they have in the file; the largest remainders get the devices
    /// rounding leaves over.
    static func scale(_ groups: [DeviceGroup], to total: Int) -> [DeviceGroup] {
        let fileTotal = Double(groups.reduce(0) { $0 + $1.count })
        let exact = groups.map { Double($0.count) / fileTotal * Double(total) }
        var counts = exact.map { max(Int($0.rounded(.down)), 1) }
        let byRemainder = exact.indices.sorted { exact[$0] - exact[$0].rounded(.down) > exact[$1] - exact[$1].rounded(.down) }
        var index = 0
        while counts.reduce(0, +) < total {
            counts[byRemainder[index % byRemainder.count]] += 1
            index += 1
        }
        return zip(groups, counts).map { group, count in
            var scaled = group
            scaled.count = count
            return scaled
        }
    }
}
