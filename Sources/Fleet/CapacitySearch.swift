/// The decisions of a capacity search, with no I/O: the outcome of each step in, the next load to
/// run or the answer out (`FleetSearch` runs the steps).
///
/// Loads grow geometrically from `from` until the first step that does not pass (capped at
/// `to`); then the search bisects between the highest passing load and the lowest load that did
/// not pass until they are within `precision`; then it runs the highest passing load once more.
/// A repeat that fails steps down (to the next load that passed, or `precision` lower) and tries
/// again, up to `maxStepDowns` times. A generator-limited step bounds the search like a failure,
/// but is never taken for the server's knee.
public struct CapacitySearch: Sendable {
    /// The search's bounds and steps, in the plan's unit.
    public struct Configuration: Sendable {
        public var from: Double
        public var to: Double
        public var growth: Double
        public var precision: Double
        public var confirm: Bool
        public var plateauGrowth: Double
        /// Repeats that may fail before the search gives up confirming any load.
        public var maxStepDowns = 3
        /// Rounds a load to one the search can run (whole devices, say).
        public var round: @Sendable (Double) -> Double
        /// A load as the notes write it (`500/s`).
        public var describe: @Sendable (Double) -> String

        public init(
            from: Double, to: Double, growth: Double = 2, precision: Double = 0.1, confirm: Bool = true, plateauGrowth: Double = 0.05,
            round: @escaping @Sendable (Double) -> Double = { $0.rounded() },
            describe: @escaping @Sendable (Double) -> String = { SearchPlan.number($0) }
        ) {
            self.from = from
            self.to = to
            self.growth = growth
            self.precision = precision
            self.confirm = confirm
            self.plateauGrowth = plateauGrowth
            self.round = round
            self.describe = describe
        }

        public init(plan: SearchPlan) {
            self.init(
                from: plan.from, to: plan.to, growth: plan.growth, precision: plan.precision, confirm: plan.confirm,
                plateauGrowth: plan.plateauGrowth, round: { plan.rounded($0) },
                describe: { plan.text(ofLoad: $0) })
        }
    }

    /// Which part of the search a step belongs to.
    public enum Phase: String, Sendable, Codable {
        case growing, narrowing, confirming
    }

    /// How a step went.
    public enum Verdict: String, Sendable, Codable {
        /// Every threshold passed and every device finished.
        case passed
        /// A threshold failed or devices did not finish, with the generator healthy: the server's doing.
        case failed
        /// The generator itself was not healthy (loop lag, arrival rate error): the step says
        /// nothing about the server.
        case generatorLimited = "generator-limited"
    }

    /// A step that ran.
    public struct Step: Sendable, Equatable {
        public var load: Double
        public var phase: Phase
        public var verdict: Verdict
        /// Registrations the server accepted (per second, or devices held), for the plateau.
        public var accepted: Double?
    }

    /// What to do next.
    public enum Decision: Sendable, Equatable {
        case run(load: Double, phase: Phase)
        case finished(CapacityAnswer)
    }

    private enum State: Sendable {
        case growing(load: Double)
        case narrowing(load: Double)
        /// `candidate` must pass (again) to be the answer.
        case confirming(candidate: Double)
        case finished(CapacityAnswer)
    }

    public let configuration: Configuration
    public private(set) var steps: [Step] = []
    private var state: State
    /// Loads whose repeat failed.
    private var failedRepeats: [Double] = []
    private var notes: [String] = []

    public init(configuration: Configuration) {
        self.configuration = configuration
        state = .growing(load: configuration.round(configuration.from))
    }

    /// The step to run, or the answer once the search is done.
    public var next: Decision {
        switch state {
        case .growing(let load): .run(load: load, phase: .growing)
        case .narrowing(let load): .run(load: load, phase: .narrowing)
        case .confirming(let candidate): .run(load: candidate, phase: .confirming)
        case .finished(let answer): .finished(answer)
        }
    }

    /// Records how the step `next` asked for went, and decides the one after it.
    public mutating func record(_ verdict: Verdict, accepted: Double? = nil) {
        guard case .run(let load, let phase) = next else { return }
        steps.append(Step(load: load, phase: phase, verdict: verdict, accepted: accepted))
        switch phase {
        case .growing:
            guard verdict == .passed else { return narrowOrConfirm() }
            if load >= configuration.to { return startConfirming() }
            let grown = min(configuration.round(load * configuration.growth), configuration.to)
            state = grown > load ? .growing(load: grown) : .growing(load: configuration.to)
        case .narrowing:
            narrowOrConfirm()
        case .confirming:
            if verdict == .passed {
                if passes(at: load) >= 2 { finish(answer(confirmedAt: load)) }
                return
            }
            failedRepeats.append(load)
            stepDown(from: load, verdict: verdict)
        }
    }

    /// The answer so far, for a search stopped before it finished (`reason`: `interrupted`,
    /// `max-duration`); `next` gives the answer of a search that finished.
    public func answer(stoppedBy reason: String) -> CapacityAnswer {
        var answer = answer(confirmedAt: nil)
        answer.stoppedBy = reason
        if answer.lowestFailing == nil, answer.generatorLimitedAt == nil { answer.kind = .incomplete }
        return answer
    }

    // MARK: Deciding

    private mutating func narrowOrConfirm() {
        guard let pass = highestUnrefutedPass else {
            return finish(answer(confirmedAt: nil))
        }
        guard let bound = lowestNotPassing, bound > pass else { return startConfirming() }
        let middle = configuration.round((pass + bound) / 2)
        if bound <= pass * (1 + configuration.precision) || middle <= pass || middle >= bound { return startConfirming() }
        state = .narrowing(load: middle)
    }

    private mutating func startConfirming() {
        guard let best = highestUnrefutedPass else { return finish(answer(confirmedAt: nil)) }
        guard configuration.confirm else { return finish(answer(confirmedAt: nil)) }
        state = .confirming(candidate: best)
    }

    /// A repeat failed at `load`: try the next lower load that passed, or one `precision` lower
    /// when that is closer; a new load must pass twice.
    private mutating func stepDown(from load: Double, verdict: Verdict) {
        let what = verdict == .generatorLimited ? "was generator-limited" : "failed"
        guard failedRepeats.count <= configuration.maxStepDowns else {
            notes.append("the repeat of \(configuration.describe(load)) \(what); \(failedRepeats.count) repeats failed, no load is confirmed")
            return finish(answer(confirmedAt: nil))
        }
        let lower = configuration.round(load * (1 - configuration.precision))
        let passedBelow = Set(steps.filter { $0.verdict == .passed && $0.load < load && !failedRepeats.contains($0.load) }.map(\.load)).max()
        let candidates = [passedBelow, lower >= configuration.round(configuration.from) && lower < load ? lower : nil].compactMap { $0 }
        guard let candidate = candidates.max() else {
            notes.append("the repeat of \(configuration.describe(load)) \(what), and no lower load is left to try")
            return finish(answer(confirmedAt: nil))
        }
        notes.append("the repeat of \(configuration.describe(load)) \(what): stepped down to \(configuration.describe(candidate))")
        state = .confirming(candidate: candidate)
    }

    private mutating func finish(_ answer: CapacityAnswer) {
        state = .finished(answer)
    }

    // MARK: What the steps say

    private func passes(at load: Double) -> Int { steps.filter { $0.load == load && $0.verdict == .passed }.count }

    /// The highest load that passed every time it ran.
    private var highestUnrefutedPass: Double? {
        let refuted = Set(steps.filter { $0.verdict != .passed }.map(\.load))
        return steps.filter { $0.verdict == .passed && !refuted.contains($0.load) }.map(\.load).max()
    }

    /// The lowest load that failed or was generator-limited.
    private var lowestNotPassing: Double? { steps.filter { $0.verdict != .passed }.map(\.load).min() }

    private func answer(confirmedAt confirmed: Double?) -> CapacityAnswer {
        let lowestFailing = steps.filter { $0.verdict == .failed }.map(\.load).min()
        let generatorLimitedAt = steps.filter { $0.verdict == .generatorLimited }.map(\.load).min()
        let highest = confirmed ?? highestUnrefutedPass
        let kind: CapacityAnswer.Kind
        if highest == nil {
            if let failing = lowestFailing, failing < (generatorLimitedAt ?? .infinity) {
                kind = failedRepeats.isEmpty ? .noPassingStep : .unconfirmed
            } else {
                kind = generatorLimitedAt == nil ? .incomplete : .generatorLimited
            }
        } else if configuration.confirm, confirmed == nil, !failedRepeats.isEmpty {
            kind = .unconfirmed
        } else if let failing = lowestFailing, failing < (generatorLimitedAt ?? .infinity) {
            kind = .knee
        } else if generatorLimitedAt != nil {
            kind = .generatorLimited
        } else {
            kind = .reachedTo
        }
        return CapacityAnswer(
            kind: kind, highestPassing: highest, confirmed: confirmed != nil, lowestFailing: lowestFailing,
            generatorLimitedAt: generatorLimitedAt, plateau: Self.plateau(in: steps, growth: configuration.plateauGrowth), notes: notes)
    }

    /// The lowest offered load from which a load at least `2 * growth` higher got less than
    /// `growth` more accepted; nil when accepted kept up (or was not measured).
    public static func plateau(in steps: [Step], growth: Double) -> CapacityAnswer.Plateau? {
        // The best of each load's runs: a repeat that did worse does not make a plateau.
        // Steps the generator limited (or could not run) say nothing of what the server accepts.
        var accepted: [Double: Double] = [:]
        for step in steps where step.verdict != .generatorLimited {
            if let value = step.accepted { accepted[step.load] = max(accepted[step.load] ?? 0, value) }
        }
        let loads = accepted.keys.sorted()
        for (index, low) in loads.enumerated() {
            guard let base = accepted[low], base > 0 else { continue }
            let flat = loads[(index + 1)...].filter { $0 >= low * (1 + 2 * growth) && accepted[$0]! < base * (1 + growth) }
            if let high = flat.max() {
                return CapacityAnswer.Plateau(offeredFrom: low, offeredTo: high, acceptedFrom: base, acceptedTo: accepted[high]!)
            }
        }
        return nil
    }

}
