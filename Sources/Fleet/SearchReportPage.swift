import Foundation

/// The report of a capacity search: the answer first (the highest sustainable load, the lowest
/// failing one, what broke first and at which registry size, the plateau, the generator's health),
/// the plan, charts of the steps (the load each offered and how it went, accepted against offered,
/// each threshold's metric against its limit, the generator's lag and rate error against theirs,
/// the devices registered), a table of every step with its replay command, and the fleet file.
/// The search result alone is enough: the steps' own run results are named, not read.
struct SearchReportPage: ReportPage {
    let result: SearchResult
    /// The search result as the user named it.
    let path: String

    var title: String { "lwm2m-fleet search report: \(result.spec.path)" }

    func bodyHTML() -> String {
        [answer(), plan(), charts(), steps(), fleetFile()].joined(separator: "\n")
    }

    /// How each outcome of a step is marked in every chart of the steps, in the legend's order.
    private static let outcomes: [(verdict: SearchStep.Verdict, color: String, marker: SVGLineChart.Marker)] = [
        (.passed, "#2ca02c", .circle), (.failed, "#d62728", .cross), (.generatorLimited, "#ff7f0e", .diamond), (.interrupted, "#7f7f7f", .square),
    ]
    /// The colour of the line joining a chart's steps, apart from the outcomes' colours.
    private static let lineColor = SVGLineChart.palette[0]
    private static let limitColor = "#222222"
    /// The metric whose chart every search page has: the search's default threshold is on it, as most files' are.
    private static let registerLatencyMetric = "register.latency.p99"

    // MARK: Sections

    private func answer() -> String {
        let answer = result.answer
        let plan = result.plan
        let status = result.exitStatus
        let verdictClass = switch status {
        case RunExitStatus.passed.rawValue: "pass"
        case RunExitStatus.endedEarly.rawValue: "warn"
        default: "fail"
        }
        var facts: [(String, String)] = [("answer", "\(answer.kind.rawValue): \(Self.meaning(of: answer.kind))")]
        let confirmation = answer.confirmed ? "confirmed by a repeat" : plan.confirm ? "not confirmed by a repeat" : "no repeat asked (confirm: false)"
        facts.append(("highest sustainable load", answer.highestPassing.map { "\(plan.text(ofLoad: $0)) (\(confirmation))" } ?? "none: no load passed"))
        facts.append(("lowest failing load", answer.lowestFailing.map { plan.text(ofLoad: $0) } ?? "none failed"))
        if let step = breakingStep {
            let when = step.brokeAtSeconds.map { " after \(SearchPlan.number($0.rounded()))s of step \(step.number)" } ?? " in step \(step.number)"
            facts.append(("broke first", step.brokeFirst.map { $0 + when } ?? "not placed in time: see step \(step.number)'s reasons"))
            if let registered = step.registeredAtBreak {
                let moment = step.brokeAtSeconds == nil ? " (at the end of the step's stages)" : ""
                facts.append(("registered at the break", "\(registered) devices\(moment)"))
            }
        }
        if let load = answer.generatorLimitedAt { facts.append(("generator limited at", plan.text(ofLoad: load))) }
        facts.append(("plateau", answer.plateau.map(plateauText) ?? "none: accepted registrations grew with the offered load"))
        facts.append(("generator health", SearchSummaryTable.generatorHealth(result)))
        if let stoppedBy = answer.stoppedBy { facts.append(("stopped by", "\(stoppedBy): the answer is partial")) }
        if let failure = result.toolFailure { facts.append(("tool failure", failure)) }
        facts += answer.notes.map { ("note", $0) }
        facts += [
            ("exit status", "\(status)"), ("search result", path), ("fleet file", result.spec.path), ("seed", "\(result.seed)"),
            ("lwm2m-fleet", result.toolVersion), ("schema version", "\(result.schemaVersion)"), ("started", result.startedAt),
            ("finished", result.finishedAt), ("steps", "\(result.steps.count), \(Self.fixed(result.steps.reduce(0) { $0 + $1.elapsedSeconds }, 1)) s in all"),
        ]
        if let limit = result.maxDurationSeconds { facts.append(("max duration", "\(SearchPlan.number(limit)) s")) }
        return """
            <h1>\(HTMLText.escape(title))</h1>
            <p class="verdict"><span class="\(verdictClass)">\(HTMLText.escape(answer.kind.rawValue.uppercased()))</span>: \
            \(HTMLText.escape(SearchSummaryTable.sentence(result)))</p>
            <table class="facts">\(Self.facts(facts))</table>
            """
    }

    private func plan() -> String {
        let plan = result.plan
        var facts: [(String, String)] = [
            ("load", plan.load == .arrivalRate
                ? "arrival-rate: devices arrive at the step's rate, and stay or leave as the profile says"
                : "devices-held: each step registers its devices and holds them"),
            ("from", plan.text(ofLoad: plan.from)), ("to", plan.text(ofLoad: plan.to)), ("growth", "\(SearchPlan.number(plan.growth))x"),
            ("precision", "\(SearchPlan.number(plan.precision * 100))%"),
        ]
        if plan.load == .arrivalRate {
            facts.append(("step duration", "\(SearchPlan.number(plan.stepSeconds)) s of arrivals"))
        } else {
            facts.append(("fill rate", "\(SearchPlan.number(plan.fillRate))/s"))
        }
        facts += [
            ("hold", "\(SearchPlan.number(plan.holdSeconds)) s"), ("confirm", plan.confirm ? "yes: the best load runs once more" : "no"),
            ("plateau", "accepted growing less than \(SearchPlan.number(plan.plateauGrowth * 100))% while the offered load grew twice that"),
            ("generator limits", "loop lag p99 \(SearchStep.milliseconds(plan.loopLagLimitNanoseconds)), "
                + "arrival rate error \(SearchStep.percent(plan.arrivalRateErrorLimit))"),
            ("thresholds", result.thresholds.isEmpty ? "none" : result.thresholds.joined(separator: "; ")),
            ("defaults used", plan.defaultsUsed.isEmpty ? "none: the file set every key" : plan.defaultsUsed.joined(separator: "; ")),
        ]
        return """
            <h2 id="plan">Plan</h2>
            <p>\(HTMLText.escape(plan.summary))</p>
            <table class="facts">\(Self.facts(facts))</table>
            """
    }

    private func charts() -> String {
        let plan = result.plan
        let loadUnit = plan.load == .arrivalRate ? "devices per second" : "devices"
        var charts: [String] = []

        var bounds: [SVGLineChart.Series] = []
        if let load = result.answer.highestPassing { bounds.append(limitLine("highest sustained", load, color: Self.outcomes[0].color)) }
        if let load = result.answer.lowestFailing { bounds.append(limitLine("lowest failing", load, color: Self.outcomes[1].color)) }
        charts.append(stepChart(title: "Load offered per step", unit: loadUnit, name: "load", values: result.steps.map(\.load), extra: bounds,
                                note: "The steps in the order the search ran them (growing, narrowing, confirming); each marker is the step's outcome."))
        charts.append(acceptedChart())

        let registerLimit = thresholds.first { $0.metric == Self.registerLatencyMetric }
        charts.append(stepChart(
            title: "Register p99 per step", unit: "ms", name: "register p99", values: result.steps.map { $0.registerLatencyP99Nanoseconds.map { $0 / 1e6 } },
            extra: registerLimit.map { [limitLine("limit: \($0.comparator.rawValue) \(SearchStep.milliseconds($0.limit))", $0.limit / 1e6)] } ?? [],
            note: registerLimit == nil ? "No threshold is on register.latency.p99." : "Over the whole step, as its threshold is judged."))
        for threshold in thresholds where threshold.text != registerLimit?.text {
            charts.append(thresholdChart(threshold))
        }

        charts.append(stepChart(
            title: "Generator: loop lag p99 per step", unit: "ms", name: "loop lag p99", values: result.steps.map { $0.loopLagP99Nanoseconds.map { $0 / 1e6 } },
            extra: [limitLine("limit: \(SearchStep.milliseconds(plan.loopLagLimitNanoseconds))", plan.loopLagLimitNanoseconds / 1e6)],
            note: "A step past a generator limit is generator-limited: it says nothing about the server."))
        charts.append(stepChart(
            title: "Generator: arrival rate error per step", unit: "%", name: "rate error", values: result.steps.map { $0.arrivalRateError * 100 },
            extra: [limitLine("limit: \(SearchStep.percent(plan.arrivalRateErrorLimit))", plan.arrivalRateErrorLimit * 100)],
            note: "How far the achieved arrival rate was off the step's target."))

        let atBreak = SVGLineChart.Series(
            name: "at the break", color: Self.limitColor, points: result.steps.map { step in (Double(step.number), step.registeredAtBreak.map(Double.init)) },
            marker: .triangle, joined: false)
        charts.append(stepChart(
            title: "Registered devices per step", unit: "devices", name: "most at once", values: result.steps.map { Double($0.peakRegistered) },
            extra: [atBreak], note: "The most devices registered at once in each step, and in a failed step how many were registered when it broke."))
        return """
            <h2 id="charts">Charts</h2>
            <div class="charts">
            \(charts.joined())</div>
            """
    }

    private func steps() -> String {
        let plan = result.plan
        let keptResults = result.steps.contains { $0.resultFile != nil }
        func cell(_ text: String, _ cssClass: String? = nil) -> String {
            "<td\(cssClass.map { " class=\"\($0)\"" } ?? "")>\(HTMLText.escape(text))</td>"
        }
        func code(_ text: String?) -> String { "<td class=\"text\">\(text.map { "<code>\(HTMLText.escape($0))</code>" } ?? "-")</td>" }
        let rows = result.steps.map { step in
            let outcome = switch step.verdict {
            case .passed: "pass"
            case .failed: "fail"
            case .generatorLimited, .interrupted: "warn"
            }
            let brokeFirst = step.brokeFirst.map { criterion in criterion + (step.brokeAtSeconds.map { " after \(SearchPlan.number($0.rounded()))s" } ?? "") }
            let cells = [
                cell("\(step.number)"), cell(step.phase.rawValue, "text"), cell(plan.text(ofLoad: step.load)), cell("\(step.devices)"),
                cell(step.verdict.rawValue, outcome), cell(brokeFirst ?? "-", "text"),
                cell(step.registeredAtBreak.map { "\($0) at break" } ?? "\(step.peakRegistered) at most"),
                cell(plan.load == .arrivalRate ? "\(SearchPlan.number(step.accepted.rounded()))/s" : "\(Int(step.accepted))"),
                cell(step.registerLatencyP99Nanoseconds.map { SearchStep.milliseconds($0) } ?? "-"), cell(SearchPlan.number(step.failedOperations)),
                cell("\(step.unfinishedDevices)"), cell(step.loopLagP99Nanoseconds.map { SearchStep.milliseconds($0) } ?? "-"),
                cell(SearchStep.percent(step.arrivalRateError)), cell("\(Self.fixed(step.elapsedSeconds, 1)) s"),
                cell(step.reasons.isEmpty ? "-" : step.reasons.joined(separator: "; "), "text"), code(step.replay),
            ] + (keptResults ? [code(step.resultFile)] : [])
            return "<tr>\(cells.joined())</tr>"
        }
        let keptHeader = keptResults ? "<th class=\"text\">run result (--keep-steps)</th>" : ""
        return """
            <h2 id="steps">Steps</h2>
            <div class="wide"><table><tr><th>step</th><th class="text">phase</th><th>load</th><th>devices</th><th>outcome</th><th class="text">broke first</th>\
            <th>registered</th><th>accepted</th><th>register p99</th><th>failed ops</th><th>unfinished</th><th>lag p99</th>\
            <th>rate error</th><th>took</th><th class="text">reasons</th><th class="text">replay</th>\(keptHeader)</tr>\(rows.joined())</table></div>
            <p class="note">Accepted: Registers that succeeded per second of arrivals (devices-held: the most devices registered at once). \
            Each replay command runs that step again alone, with the search's seed.</p>
            """
    }

    private func fleetFile() -> String {
        """
        <h2 id="fleet-file">Fleet file</h2>
        <p class="note">\(HTMLText.escape(result.spec.path)), as it was when the search started.</p>
        <pre>\(HTMLText.escape(result.spec.text))</pre>
        """
    }

    // MARK: Charts

    /// Accepted against offered load, one marker per step: a server that takes all it is offered
    /// follows the diagonal, one that refuses above a limit flattens out (the plateau).
    private func acceptedChart() -> String {
        let plan = result.plan
        let ran = result.steps.filter { $0.verdict != .interrupted }.sorted { ($0.load, $0.number) < ($1.load, $1.number) }
        let highest = result.steps.map(\.load).max() ?? plan.to
        var series: [SVGLineChart.Series] = [
            .init(name: "all accepted", color: "#999999", points: [(0, 0), (highest, highest)], dashed: true),
            .init(name: "accepted", color: Self.lineColor, points: ran.map { ($0.load, $0.accepted) }),
        ]
        series += outcomeMarkers { step in (step.load, step.accepted) }
        if let plateau = result.answer.plateau {
            series.append(.init(
                name: "plateau", color: SVGLineChart.palette[4],
                points: [(plateau.offeredFrom, plateau.acceptedFrom), (plateau.offeredTo, plateau.acceptedTo)], dashed: true))
        }
        var chart = SVGLineChart(
            title: "Accepted vs offered", unit: plan.load == .arrivalRate ? "registrations per second" : "devices registered at once",
            series: series, note: result.answer.plateau.map { "Plateau: " + plateauText($0) } ?? "No plateau: accepted grew with the offered load.")
        chart.xLabel = plan.load == .arrivalRate ? "offered (devices per second)" : "offered (devices)"
        return chart.render()
    }

    /// A threshold's metric over each whole step, against its limit.
    private func thresholdChart(_ threshold: Threshold) -> String {
        let field = FleetMetrics.operationAndField(of: threshold.metric)?.field ?? threshold.metric
        let (unit, scale): (String, Double) = MetricCatalog.isDuration(field) ? ("ms", 1e-6) : MetricCatalog.isFraction(field) ? ("%", 100) : ("count", 1)
        let values = result.steps.map { step -> Double? in
            guard let observed = step.thresholds.first(where: { $0.expression == threshold.text })?.observed, observed.isFinite else { return nil }
            return observed * scale
        }
        let limit = threshold.limit * scale
        return stepChart(
            title: threshold.text, unit: unit, name: threshold.metric, values: values,
            extra: [limitLine("limit: \(threshold.comparator.rawValue) \(SearchPlan.number(limit))\(unit == "count" ? "" : unit)", limit)],
            note: "Observed over the whole step, as the threshold is judged; a step without samples has no marker.")
    }

    /// A chart with one point per step (x: the step's number): a line through the steps' values,
    /// each marked with the step's outcome, and `extra` series (limits) over it.
    private func stepChart(title: String, unit: String, name: String, values: [Double?], extra: [SVGLineChart.Series], note: String?) -> String {
        let valueOfStep = Dictionary(zip(result.steps.map(\.number), values)) { first, _ in first }
        let series = [SVGLineChart.Series(name: name, color: Self.lineColor, points: zip(result.steps, values).map { (Double($0.number), $1) })]
            + outcomeMarkers { step in (Double(step.number), valueOfStep[step.number] ?? nil) }
            + extra
        var chart = SVGLineChart(title: title, unit: unit, series: series, note: note)
        chart.xLabel = "step"
        return chart.render(xScale: stepScale, xTickLabel: { String(Int($0)) })
    }

    /// One series of markers per outcome the steps had, at the point `place` gives each step.
    private func outcomeMarkers(_ place: (SearchStep) -> (x: Double, y: Double?)) -> [SVGLineChart.Series] {
        Self.outcomes.compactMap { outcome in
            let steps = result.steps.filter { $0.verdict == outcome.verdict }
            guard !steps.isEmpty else { return nil }
            return SVGLineChart.Series(
                name: outcome.verdict.rawValue, color: outcome.color, points: steps.map(place), marker: outcome.marker, joined: false)
        }
    }

    /// A dashed horizontal line across every step at `value`.
    private func limitLine(_ name: String, _ value: Double, color: String = SearchReportPage.limitColor) -> SVGLineChart.Series {
        SVGLineChart.Series(name: name, color: color, points: [(stepScale.lower, value), (stepScale.upper, value)], dashed: true)
    }

    /// Steps 1 to N with half a step's room at either end, so no marker sits on the axis; at most
    /// about a dozen labels.
    private var stepScale: ChartScale {
        let last = max(result.steps.map(\.number).max() ?? 1, 1)
        let every = max(1, Int((Double(last) / 12).rounded(.up)))
        return ChartScale(lower: 0.5, upper: Double(last) + 0.5, ticks: stride(from: 1, through: last, by: every).map(Double.init))
    }

    // MARK: Data

    /// The thresholds every step was judged by, as the search parsed them.
    private var thresholds: [Threshold] {
        var seen: Set<String> = []
        return result.thresholds.compactMap { text in
            guard seen.insert(text).inserted else { return nil }
            return try? Threshold(text)
        }
    }

    /// The step at which the server broke: the failing step at the lowest failing load (the first
    /// failed step when none passed).
    private var breakingStep: SearchStep? {
        let failed = result.steps.filter { $0.verdict == .failed }
        if let load = result.answer.lowestFailing, let step = failed.first(where: { $0.load == load }) { return step }
        return result.answer.kind == .noPassingStep ? failed.first : nil
    }

    private func plateauText(_ plateau: CapacityAnswer.Plateau) -> String {
        let plan = result.plan
        let accepted = { (value: Double) in
            plan.load == .arrivalRate ? "\(SearchPlan.number(value.rounded()))/s" : "\(SearchPlan.number(value.rounded())) devices"
        }
        return "accepted stops growing at \(accepted(plateau.acceptedFrom)) from an offered \(plan.text(ofLoad: plateau.offeredFrom)) "
            + "(\(accepted(plateau.acceptedTo)) at \(plan.text(ofLoad: plateau.offeredTo)))"
    }

    private static func meaning(of kind: CapacityAnswer.Kind) -> String {
        switch kind {
        case .knee: "the server's limit lies between the highest sustained and the lowest failing load"
        case .reachedTo: "every step up to the search's upper bound passed"
        case .generatorLimited: "the generator was not healthy before the server failed"
        case .noPassingStep: "the lowest load failed"
        case .unconfirmed: "loads passed once, but none passed its repeat"
        case .incomplete: "the search stopped before any step failed"
        }
    }

    private static func facts(_ facts: [(String, String)]) -> String {
        facts.map { "<tr><th class=\"text\">\(HTMLText.escape($0.0))</th><td>\(HTMLText.escape($0.1))</td></tr>" }.joined()
    }

    private static func fixed(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
