import Foundation

/// What `lwm2m-fleet search` prints: a table of every step and the answer in words, on stdout;
/// and a line per step on stderr as the search goes.
public enum SearchSummaryTable {
    /// The table of the steps, then the answer, the plateau and the generator's health.
    public static func render(_ result: SearchResult) -> String {
        let plan = result.plan
        let header = ["step", "phase", "load", "devices", "result", "broke first", "register p99", "failed ops", "registered", "accepted",
                      "lag p99", "rate err"]
        let rows = result.steps.map { step in
            [
                "\(step.number)", step.phase.rawValue, plan.text(ofLoad: step.load), "\(step.devices)", step.verdict.rawValue,
                step.brokeFirst ?? (step.verdict == .failed ? "(see reasons)" : "-"),
                step.registerLatencyP99Nanoseconds.map { SearchStep.milliseconds($0) } ?? "-",
                SearchPlan.number(step.failedOperations),
                step.registeredAtBreak.map { "\($0) at break" } ?? "\(step.peakRegistered) peak",
                plan.load == .arrivalRate ? "\(SearchPlan.number(step.accepted.rounded()))/s" : "\(Int(step.accepted))",
                step.loopLagP99Nanoseconds.map { SearchStep.milliseconds($0) } ?? "-",
                SearchStep.percent(step.arrivalRateError),
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression)
        }
        var lines = ["search: \(plan.summary)", line(header)] + rows.map(line)
        for step in result.steps where !step.reasons.isEmpty {
            lines.append("  step \(step.number): " + step.reasons.joined(separator: "; "))
        }
        lines.append("answer: " + sentence(result))
        if let plateau = result.answer.plateau {
            let unit = plan.load == .arrivalRate ? "/s" : " devices"
            lines.append("plateau: accepted registrations stop growing at \(SearchPlan.number(plateau.acceptedFrom.rounded()))\(unit): "
                + "offered \(plan.text(ofLoad: plateau.offeredFrom)) to \(plan.text(ofLoad: plateau.offeredTo)) got "
                + "\(SearchPlan.number(plateau.acceptedFrom.rounded())) to \(SearchPlan.number(plateau.acceptedTo.rounded()))\(unit) "
                + "(a server that refuses above a limit)")
        }
        lines.append("generator: " + generatorHealth(result))
        lines += result.answer.notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// The answer in one sentence.
    public static func sentence(_ result: SearchResult) -> String {
        let answer = result.answer
        let plan = result.plan
        let text = { (load: Double?) in load.map { plan.text(ofLoad: $0) } ?? "-" }
        let confirmed = answer.confirmed ? " (confirmed by a repeat)" : plan.confirm ? " (not confirmed)" : ""
        var sentence: String
        switch answer.kind {
        case .knee:
            sentence = "the server sustains \(text(answer.highestPassing))\(confirmed) and fails at \(text(answer.lowestFailing))"
            if let step = result.steps.first(where: { $0.verdict == .failed && $0.load == answer.lowestFailing }) {
                sentence += breakDescription(step)
            }
        case .reachedTo:
            sentence = "the server sustains at least \(text(answer.highestPassing))\(confirmed), the search's upper bound (raise search.to to go further)"
        case .generatorLimited:
            sentence = answer.highestPassing.map { "the server sustains at least \(plan.text(ofLoad: $0))\(confirmed); " } ?? ""
            sentence += "the generator could not load it harder: it was not healthy at \(text(answer.generatorLimitedAt)) "
                + "(more workers, a bigger machine or shards on several machines go further)"
        case .noPassingStep:
            sentence = "no step passed: the server does not sustain even \(plan.text(ofLoad: plan.from)) (lower search.from)"
            if let step = result.steps.first(where: { $0.verdict == .failed }) { sentence += breakDescription(step) }
        case .unconfirmed:
            sentence = "no load passed its repeat: the server's results are not stable (highest single pass \(text(answer.highestPassing)))"
        case .incomplete:
            sentence = answer.highestPassing.map { "no step failed before the search stopped: the server sustains at least \(plan.text(ofLoad: $0))" }
                ?? "the search stopped before any step ended"
        }
        if let reason = answer.stoppedBy { sentence = "PARTIAL (\(reason)): " + sentence }
        if let failure = result.toolFailure { sentence += "; the search stopped: \(failure)" }
        return sentence
    }

    /// `: register.latency.p99 < 200ms broke first, at 12s with 23456 devices registered`.
    private static func breakDescription(_ step: SearchStep) -> String {
        guard let criterion = step.brokeFirst else {
            return step.registeredAtBreak.map { ", with \($0) devices registered at the end of the step" } ?? ""
        }
        let when = step.brokeAtSeconds.map { " after \(SearchPlan.number($0.rounded()))s" } ?? ""
        let registered = step.registeredAtBreak.map { ", with \($0) devices registered" } ?? ""
        return ": \(criterion) broke first\(when)\(registered)"
    }

    /// The generator's health over the search: healthy at every step, or the loads it was not, and its worst lag and rate error.
    static func generatorHealth(_ result: SearchResult) -> String {
        let ran = result.steps.filter { $0.verdict != .interrupted }
        let lag = ran.compactMap(\.loopLagP99Nanoseconds).max()
        let error = ran.map(\.arrivalRateError).max() ?? 0
        let limited = ran.filter { $0.verdict == .generatorLimited }.map { result.plan.text(ofLoad: $0.load) }
        let worst = "loop lag p99 at most \(lag.map { SearchStep.milliseconds($0) } ?? "-"), arrival rate error at most \(SearchStep.percent(error))"
        guard limited.isEmpty else { return "not healthy at \(limited.joined(separator: ", ")) (those steps say nothing of the server); \(worst)" }
        return "healthy at every step (\(worst))"
    }
}

extension SearchStep {
    /// The step's outcome on one line, for standard error as the search goes.
    public func progressLine(plan: SearchPlan) -> String {
        var line = "\(verdict.rawValue.uppercased()) at \(plan.text(ofLoad: load))"
        if let criterion = brokeFirst {
            line += ": \(criterion) broke first" + (brokeAtSeconds.map { " after \(SearchPlan.number($0.rounded()))s" } ?? "")
                + (registeredAtBreak.map { " with \($0) registered" } ?? "")
        }
        line += "; register p99 \(registerLatencyP99Nanoseconds.map { Self.milliseconds($0) } ?? "-"), \(SearchPlan.number(failedOperations)) failed, "
            + "\(peakRegistered) registered at peak; generator lag p99 \(loopLagP99Nanoseconds.map { Self.milliseconds($0) } ?? "-"), "
            + "rate error \(Self.percent(arrivalRateError))"
        if !reasons.isEmpty { line += " (" + reasons.joined(separator: "; ") + ")" }
        return line
    }
}
